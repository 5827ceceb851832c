"""The real app in a subprocess, for the HTTP and browser tests and the load bench.

`start_app` runs `python app.py` on a free loopback port with its own data directory, its output
going to a log file (never to a pipe nobody reads), and returns once the app answers HTTP and says its
start-up (the lesson index, the models) is done.
Every proxy variable points at an `OutboundRecorder`, so any attempt to reach the internet
through an HTTP library is written down instead of leaving the machine; loopback is exempt.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
# The app serves its page within seconds and prepares the lesson index behind it (a chat waits for that); without
# the prebuilt index (`make install`) the first start embeds the docs, minutes on a busy machine.
START_TIMEOUT_S = float(os.environ.get("TUTOR_TEST_APP_START_TIMEOUT", "300"))
# What app.py prints once its background start-up has ended (knowledge.startup), either way.
_STARTED = re.compile(r"^(Ready to answer|Start-up failed)", re.MULTILINE)
_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
_LOOPBACK = "127.0.0.1,localhost,::1"
# Variables of the developer's shell that would change what the app does.
_CLEARED = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "TUTOR_MODEL", "TUTOR_BACKEND", "TUTOR_LOCAL_MODEL", "CHROMA_HOST", "SPACE_ID")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _RecordingHandler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        try:
            line = self.rfile.readline(2048).decode("latin-1").strip()
        except OSError:
            line = ""
        self.server.requests.append(line or "(connection without a request line)")  # type: ignore[attr-defined]
        try:
            self.wfile.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        except OSError:
            pass


class OutboundRecorder(socketserver.ThreadingTCPServer):
    """A loopback 'proxy' that refuses everything and remembers what was asked (e.g. `CONNECT huggingface.co:443`)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _RecordingHandler)
        self.requests: list[str] = []
        threading.Thread(target=self.serve_forever, name="outbound-recorder", daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def close(self) -> None:
        self.shutdown()
        self.server_close()


@dataclass
class AppServer:
    url: str
    data_dir: Path
    log_path: Path
    process: subprocess.Popen
    outbound: OutboundRecorder
    model_cache: Path
    started_s: float = 0.0
    startup_log: str = ""  # the log up to the moment the app first answered (later requests log on)
    _log_handle: object = field(default=None, repr=False)

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def learner_ids(self) -> set[str]:
        """Learners the app has saved state for (one folder each under learners/)."""
        folder = self.data_dir / "learners"
        return {path.name for path in folder.iterdir() if path.is_dir()} if folder.is_dir() else set()

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        # The app runs in its own session: end it and any worker it started, by process group.
        if self.process.poll() is None:
            _signal_group(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                _signal_group(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.outbound.close()
        if self._log_handle is not None:
            self._log_handle.close()  # type: ignore[attr-defined]


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def app_environment(data_dir: Path, model_cache: Path, port: int, proxy_url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in _CLEARED and name.upper() not in {p.upper() for p in _PROXY_VARIABLES}}
    env.update({
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_SERVER_PORT": str(port),
        "TUTOR_DATA_DIR": str(data_dir),
        "TUTOR_MODEL_CACHE": str(model_cache),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "ANONYMIZED_TELEMETRY": "False",
        "PYTHONUNBUFFERED": "1",
        "NO_PROXY": _LOOPBACK,
        "no_proxy": _LOOPBACK,
    })
    env.update({name: proxy_url for name in _PROXY_VARIABLES})
    env.update(extra or {})
    return env


def start_app(
    data_dir: Path,
    log_path: Path,
    *,
    model_cache: Path,
    extra_env: dict[str, str] | None = None,
    timeout_s: float = START_TIMEOUT_S,
) -> AppServer:
    """Start `python app.py` and wait until it answers; raise with the log's tail if it dies or never answers."""
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    port = free_port()
    recorder = OutboundRecorder()
    log = open(log_path, "w", encoding="utf-8")
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "app.py"],
        cwd=ROOT,
        env=app_environment(data_dir, model_cache, port, recorder.url, extra_env),
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = AppServer(f"http://127.0.0.1:{port}/", data_dir, log_path, process, recorder, model_cache, _log_handle=log)
    try:
        _wait_until_serving(server, timeout_s)
    except BaseException:
        server.stop()
        raise
    server.started_s = time.monotonic() - started
    server.startup_log = server.log_text()
    return server


def _wait_until_serving(server: AppServer, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=5, trust_env=False) as client:
        while time.monotonic() < deadline:
            if not server.alive():
                raise RuntimeError(f"app.py exited with {server.process.returncode}; log {server.log_path}:\n{server.log_text()[-3000:]}")
            try:
                # 401: the app is up and asks for a sign-in (TUTOR_AUTH_FILE). The page serves before the lesson
                # side is ready; tests and the load bench want answers at their own speed, so wait for that too.
                if client.get(server.url + "gradio_api/info").status_code in (200, 401) and _STARTED.search(server.log_text()):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(1)
    raise TimeoutError(f"app.py did not answer within {timeout_s:.0f} s; log {server.log_path}:\n{server.log_text()[-3000:]}")
