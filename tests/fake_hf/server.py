"""A fake Hugging Face Hub on loopback: the paths `huggingface_hub`'s HfApi uses for repos, files and Jobs.

A real `ThreadingHTTPServer` on a background thread, so the real client is exercised end to end: point
it here with `HfApi(endpoint=hub.url)` or `HF_ENDPOINT`. Every request needs `Authorization: Bearer
<token>` (else 401, as the Hub answers a bad token) and is logged in `requests` without its headers.

- Identity: `GET /api/whoami-v2`.
- Repos: `POST /api/repos/create`; `POST /api/validate-yaml` (a README's metadata); commits with `POST /api/models/{repo}/preupload/{rev}` (every file
  "regular", so contents come inline) and `POST /api/models/{repo}/commit/{rev}` (NDJSON, base64 files);
  `GET /api/models/{repo}/revision/{rev}` (siblings), `GET /api/models/{repo}/tree/{rev}` (the recursive
  listing `snapshot_download` reads), `HEAD|GET /{repo}/resolve/{rev}/{path}`.
- Jobs: `POST /api/jobs/{ns}` really runs the job's command (bash, in a scratch folder) with the job's
  environment and secrets, `HF_ENDPOINT` pointing here; `pip` is a no-op shim (nothing is reachable
  offline; the project is already importable) and `python` is this interpreter. Its stdout is the job's
  log (`GET /api/jobs/{ns}/{id}/logs`, server-sent events); it ends COMPLETED, ERROR ("Job failed with exit
  code: N") or, after `POST .../cancel` (SIGTERM to its process group), CANCELED. `GET /api/jobs/{ns}/{id}`
  inspects it.
- Hiccups: `fail_next(status, times, path=regex)` answers matching requests with that status.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

ROOT = Path(__file__).resolve().parents[2]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Repo:
    repo_id: str
    private: bool
    files: dict[str, bytes] = field(default_factory=dict)
    sha: str = "0" * 40

    def commit(self, files: dict[str, bytes]) -> str:
        self.files.update(files)
        self.sha = hashlib.sha1(json.dumps(sorted((p, hashlib.sha1(c).hexdigest()) for p, c in self.files.items())).encode()).hexdigest()
        return self.sha


@dataclass
class RemoteJob:
    id: str
    namespace: str
    spec: dict[str, Any]
    created_at: str = field(default_factory=_now)
    stage: str = "SCHEDULING"
    message: str | None = None
    logs: list[tuple[str, str]] = field(default_factory=list)  # (timestamp, line)
    process: subprocess.Popen | None = None
    cancelled: bool = False

    def to_json(self, endpoint: str) -> dict[str, Any]:
        spec = self.spec
        return {
            "id": self.id, "createdAt": self.created_at, "dockerImage": spec.get("dockerImage"), "spaceId": spec.get("spaceId"),
            "command": spec.get("command"), "arguments": spec.get("arguments", []), "environment": spec.get("environment", {}),
            # The Hub never returns secret values, only their names.
            "secrets": {name: None for name in (spec.get("secrets") or {})}, "flavor": spec.get("flavor"),
            "labels": spec.get("labels"), "status": {"stage": self.stage, "message": self.message},
            "owner": {"id": "0" * 24, "name": self.namespace, "type": "user"},
        }


class FakeHub:
    """The fake Hub's state and server. `url` to point clients at; `token` the one token it accepts."""

    def __init__(self, token: str = "hf_fake0123456789abcdefghijklmnopqrstuv", user: str = "learner",
                 job_home: Path | None = None) -> None:
        self.token, self.user = token, user
        self.repos: dict[str, Repo] = {}
        self.jobs: dict[str, RemoteJob] = {}
        self.requests: list[dict[str, Any]] = []
        self._failures: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._scratch = tempfile.TemporaryDirectory(prefix="fake-hf-")
        # HOME of every job's process: the converted base model is kept there between jobs, as an image would.
        self.job_home = job_home or Path(self._scratch.name) / "home"
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> "FakeHub":
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="fake-hf")
        self._thread.start()
        return self

    def stop(self) -> None:
        for job in self.jobs.values():
            if job.process is not None and job.process.poll() is None:
                os.killpg(job.process.pid, signal.SIGKILL)
        self._server.shutdown()
        self._server.server_close()
        self._scratch.cleanup()

    def __enter__(self) -> "FakeHub":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def fail_next(self, status: int, times: int = 1, path: str | None = None) -> None:
        """Answer the next `times` requests whose path matches the regex `path` (any, if None) with `status`."""
        with self._lock:
            self._failures.append({"status": status, "times": times, "path": path})

    # -- jobs -----------------------------------------------------------------------------------

    def _run(self, job: RemoteJob) -> None:
        spec = job.spec
        folder = Path(self._scratch.name) / "jobs" / job.id
        folder.mkdir(parents=True)
        shims = folder / "bin"
        shims.mkdir()
        (shims / "pip").write_text("#!/bin/sh\necho \"pip $* (skipped: the fake Hub's jobs run the local project)\"\n")
        (shims / "pip").chmod(0o755)
        # A script, not a link: a virtual environment's python finds its packages from its own path.
        (shims / "python").write_text(f"#!/bin/sh\nexec {sys.executable} \"$@\"\n")
        (shims / "python").chmod(0o755)
        self.job_home.mkdir(parents=True, exist_ok=True)
        env = {"PATH": f"{shims}:/usr/bin:/bin", "HOME": str(self.job_home), "PYTHONPATH": str(ROOT), "LANG": "C.UTF-8",
               "HF_ENDPOINT": self.url, "JOB_ID": job.id}
        env.update({k: str(v) for k, v in (spec.get("environment") or {}).items()})
        env.update({k: str(v) for k, v in (spec.get("secrets") or {}).items()})
        command = [*spec["command"], *spec.get("arguments", [])]
        job.process = subprocess.Popen(command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True, text=True, bufsize=1)
        job.stage = "RUNNING"
        assert job.process.stdout is not None
        for line in job.process.stdout:  # the job's log: read as it comes, so it never blocks on a full pipe
            job.logs.append((_now(), line.rstrip("\n")))
        code = job.process.wait()
        if job.cancelled:
            job.stage = "CANCELED"
        elif code == 0:
            job.stage = "COMPLETED"
        else:
            job.stage, job.message = "ERROR", f"Job failed with exit code: {code}"

    def _cancel(self, job: RemoteJob) -> None:
        job.cancelled = True
        if job.process is not None and job.process.poll() is None:
            os.killpg(job.process.pid, signal.SIGTERM)
        elif job.stage == "SCHEDULING":
            job.stage = "CANCELED"

    # -- HTTP -----------------------------------------------------------------------------------

    def respond(self, method: str, path: str, query: dict[str, list[str]], body: bytes, auth: str | None) -> tuple[int, dict[str, str], Any]:
        """(status, headers, body: dict/list for JSON, bytes, or a list of SSE events under key 'sse')."""
        with self._lock:
            self.requests.append({"method": method, "path": path, "at": time.monotonic()})
            for failure in self._failures:
                if failure["times"] > 0 and (failure["path"] is None or re.search(failure["path"], path)):
                    failure["times"] -= 1
                    return failure["status"], {}, {"error": f"scripted failure {failure['status']}"}
        if auth != f"Bearer {self.token}":
            return 401, {"X-Error-Code": "InvalidCredentials"}, {"error": "Invalid credentials in Authorization header"}
        if method == "GET" and path == "/api/whoami-v2":
            return 200, {}, {"type": "user", "name": self.user, "fullname": self.user, "orgs": [],
                             "auth": {"type": "access_token", "accessToken": {"displayName": "fake", "role": "write"}}}
        if method == "POST" and path == "/api/repos/create":
            request = json.loads(body)
            repo_id = f"{request.get('organization') or self.user}/{request['name']}"
            if repo_id in self.repos:
                return 409, {}, {"error": "You already created this model repo", "url": f"{self.url}/{repo_id}"}
            private = request.get("visibility", "private" if request.get("private") else "public") != "public"
            self.repos[repo_id] = Repo(repo_id, private)
            return 200, {}, {"url": f"{self.url}/{repo_id}", "name": repo_id}
        if method == "POST" and path == "/api/validate-yaml":  # a README.md's metadata, checked before its commit
            content = json.loads(body).get("content", "")
            ok = not content.startswith("---") or content.count("\n---") >= 1
            return (200, {}, {"errors": [], "warnings": []}) if ok else (400, {}, {"errors": [{"message": "unterminated metadata"}]})
        match = re.fullmatch(r"/api/models/([^/]+/[^/]+)/(preupload|commit|revision|tree)/(.+)", path)
        if match:
            return self._repo_api(method, match.group(1), match.group(2), body)
        match = re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path)
        if match and method in ("GET", "HEAD"):
            repo = self.repos.get(match.group(1))
            content = repo.files.get(unquote(match.group(3))) if repo else None
            if content is None:
                return 404, {"X-Error-Code": "EntryNotFound"}, {"error": "Entry not found"}
            return 200, {"X-Repo-Commit": repo.sha, "ETag": f'"{hashlib.sha1(content).hexdigest()}"',
                         "Content-Type": "application/octet-stream"}, content
        match = re.fullmatch(r"/api/jobs/([^/]+)(?:/([^/]+))?(?:/(logs|cancel))?", path)
        if match:
            return self._jobs_api(method, match.group(1), match.group(2), match.group(3), body)
        return 404, {}, {"error": f"the fake Hub does not serve {method} {path}"}

    def _repo_api(self, method: str, repo_id: str, action: str, body: bytes) -> tuple[int, dict[str, str], Any]:
        repo = self.repos.get(repo_id)
        if repo is None:
            return 404, {"X-Error-Code": "RepoNotFound"}, {"error": "Repository not found"}
        if action == "preupload" and method == "POST":
            files = json.loads(body)["files"]
            return 200, {}, {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files]}
        if action == "commit" and method == "POST":
            added: dict[str, bytes] = {}
            for line in body.decode().splitlines():
                item = json.loads(line)
                if item["key"] == "file":
                    added[item["value"]["path"]] = base64.b64decode(item["value"]["content"])
                elif item["key"] != "header":
                    return 400, {}, {"error": f"the fake Hub does not take {item['key']} operations"}
            sha = repo.commit(added)
            return 200, {}, {"commitUrl": f"{self.url}/{repo_id}/commit/{sha}", "commitOid": sha, "success": True}
        if action == "tree" and method == "GET":  # every file (recursive listing), one page
            return 200, {}, [{"type": "file", "path": name, "size": len(content), "oid": hashlib.sha1(content).hexdigest()}
                             for name, content in sorted(repo.files.items())]
        if action == "revision" and method == "GET":
            siblings = [{"rfilename": name, "size": len(content)} for name, content in sorted(repo.files.items())]
            return 200, {}, {"id": repo_id, "modelId": repo_id, "sha": repo.sha, "private": repo.private, "siblings": siblings}
        return 404, {}, {"error": "not served"}

    def _jobs_api(self, method: str, namespace: str, job_id: str | None, action: str | None, body: bytes) -> tuple[int, dict[str, str], Any]:
        if namespace != self.user:
            return 403, {}, {"error": f"You cannot run jobs in {namespace}"}
        if job_id is None and method == "POST":
            spec = json.loads(body)
            job = RemoteJob(id=hashlib.sha1(f"{time.time_ns()}".encode()).hexdigest()[:24], namespace=namespace, spec=spec)
            self.jobs[job.id] = job
            threading.Thread(target=self._run, args=(job,), daemon=True, name=f"fake-hf-job-{job.id}").start()
            return 200, {}, job.to_json(self.url)
        if job_id is None and method == "GET":
            return 200, {}, [job.to_json(self.url) for job in self.jobs.values()]
        job = self.jobs.get(job_id or "")
        if job is None:
            return 404, {}, {"error": f"Job {job_id} not found"}
        if action is None and method == "GET":
            return 200, {}, job.to_json(self.url)
        if action == "cancel" and method == "POST":
            self._cancel(job)
            return 200, {}, {}
        if action == "logs" and method == "GET":
            started = [(job.created_at, "===== Job started at " + job.created_at + " =====")]
            events = [{"timestamp": at, "data": line} for at, line in started + list(job.logs)]
            return 200, {"Content-Type": "text/event-stream"}, {"sse": events}
        return 404, {}, {"error": "not served"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet: the request log is `hub.requests`
                return

            def _serve(self, method: str) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, headers, payload = hub.respond(method, unquote(parts.path), parse_qs(parts.query), body,
                                                       self.headers.get("Authorization"))
                if isinstance(payload, dict) and "sse" in payload:
                    data = "".join(f"data: {json.dumps(event)}\n\n" for event in payload["sse"]).encode()
                elif isinstance(payload, bytes):
                    data = payload
                else:
                    data = json.dumps(payload).encode()
                    headers = {"Content-Type": "application/json", **headers}
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if method != "HEAD":
                    self.wfile.write(data)

            def do_GET(self) -> None:
                self._serve("GET")

            def do_HEAD(self) -> None:
                self._serve("HEAD")

            def do_POST(self) -> None:
                self._serve("POST")

        return Handler
