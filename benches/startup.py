"""Start-up bench: `python app.py` started as a user starts it, fresh and warm, beside the previous app in the same run.

    .venv/bin/python benches/startup.py [--baseline-rev REV | --no-baseline] [--json benches/out/startup.json]

For each app (the baseline: the tree of --baseline-rev, by default the last commit before the fast start,
unpacked with `git archive`; then this checkout) it starts `python app.py` on a fresh, empty data directory,
then again on the same directory (warm), and measures from the launch:

- page: the page answers HTTP (gradio_api/info);
- ready: the app says it is ready to answer (this app prints "Ready to answer"; the baseline builds its
  index before serving, so it is ready when its page answers);
- answer: the first /chat answer to a lesson question (a learner token from /new_learner), asked once ready;
  `first answer` is that answer's own latency.

Targets (issue 16): fresh up and answering (answer) <= 20 s, warm <= 5 s, the first answer <= 1 s.
Each figure is printed beside the baseline's and the load average at that moment (the machine is shared:
a busy machine slows both alike). Exit status 1 when any target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the app launcher shared with the HTTP and browser tests

from core.settings import offline_environment  # noqa: E402

for _name, _value in offline_environment().items():
    os.environ.setdefault(_name, _value)

import httpx  # noqa: E402
from gradio_client import Client  # noqa: E402

from app_server import ARTIFACTS, app_environment, free_port, OutboundRecorder, _signal_group  # noqa: E402

# The last commit before the fast start (issue 16 item 2): built the index before serving, loaded models on first use.
BASELINE_REV = "a3e47a3"
QUESTION = "What is a LoRA adapter?"
READY_LINE = "Ready to answer"
TARGETS = {"fresh": 20.0, "warm": 5.0, "first_answer": 1.0}
TIMEOUT_S = 1800.0  # a busy shared machine: the baseline's fresh start embeds everything
DEFAULT_MODEL_CACHE = ROOT / ".cache" / "models"


@dataclass
class Start:
    app: str
    mode: str  # fresh or warm
    page_s: float
    ready_s: float
    answer_s: float
    first_answer_s: float
    load_average: float
    answered: bool


def start_and_measure(app_dir: Path, data_dir: Path, log_path: Path, *, app: str, mode: str, waits_for_ready_line: bool) -> Start:
    """Launch `python app.py` in `app_dir`, time page / ready / first answer, stop it."""
    port = free_port()
    recorder = OutboundRecorder()
    url = f"http://127.0.0.1:{port}/"
    with open(log_path, "w", encoding="utf-8") as log:
        launched = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "app.py"], cwd=app_dir, env=app_environment(data_dir, DEFAULT_MODEL_CACHE, port, recorder.url),
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            page_s = _wait(lambda: _page_answers(url), process, log_path) - launched
            if waits_for_ready_line:
                ready_s = _wait(lambda: READY_LINE in log_path.read_text(encoding="utf-8", errors="replace"), process, log_path) - launched
            else:
                ready_s = page_s
            client = Client(url, verbose=False)
            token = client.predict(api_name="/new_learner")
            asked = time.monotonic()
            reply = client.predict(QUESTION, token, api_name="/chat")
            answered_at = time.monotonic()
            # The asking starts once ready: the time to set up the client is not the app's.
            answer_s = ready_s + (answered_at - asked)
            return Start(app, mode, round(page_s, 2), round(ready_s, 2), round(answer_s, 2), round(answered_at - asked, 3),
                         round(os.getloadavg()[0], 2), "LoRA" in str(reply))
        finally:
            _signal_group(process.pid, 15)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                _signal_group(process.pid, 9)
                process.wait(timeout=10)
            recorder.close()


def _page_answers(url: str) -> bool:
    try:
        return httpx.get(url + "gradio_api/info", timeout=5, trust_env=False).status_code == 200
    except httpx.HTTPError:
        return False


def _wait(check, process: subprocess.Popen, log_path: Path) -> float:
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"app.py exited with {process.returncode}; log {log_path}:\n{log_path.read_text(errors='replace')[-3000:]}")
        if check():
            return time.monotonic()
        time.sleep(0.05)
    raise TimeoutError(f"no answer within {TIMEOUT_S:.0f} s; log {log_path}")


def unpack(rev: str, into: Path) -> Path:
    """The tree of `rev` as files (git archive), to run the previous app beside this one."""
    archive = into / "baseline.tar"
    subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", "-o", str(archive), rev], check=True)
    target = into / "baseline"
    with tarfile.open(archive) as tar:
        tar.extractall(target, filter="data")
    return target


def run_app(name: str, app_dir: Path, work: Path, *, waits_for_ready_line: bool) -> list[Start]:
    data_dir = work / f"{name}-data"
    starts = []
    for mode in ("fresh", "warm"):
        log_path = ARTIFACTS / f"startup-{name}-{mode}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        start = start_and_measure(app_dir, data_dir, log_path, app=name, mode=mode, waits_for_ready_line=waits_for_ready_line)
        print(f"  {name:8} {mode:5}: page {start.page_s:6.2f} s  ready {start.ready_s:6.2f} s  answer {start.answer_s:6.2f} s"
              f"  (first answer {start.first_answer_s:.3f} s)  load average {start.load_average}", flush=True)
        starts.append(start)
    return starts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline-rev", default=BASELINE_REV, help=f"the previous app's commit (default {BASELINE_REV})")
    parser.add_argument("--no-baseline", action="store_true", help="measure this checkout only")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    print(f"Start-up bench on {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the start "
          "(a shared machine: other work slows every figure alike).", flush=True)
    with tempfile.TemporaryDirectory(prefix="startup-bench-") as scratch:
        work = Path(scratch)
        baseline: list[Start] = []
        if not args.no_baseline:
            baseline = run_app("baseline", unpack(args.baseline_rev, work), work, waits_for_ready_line=False)
        current = run_app("current", ROOT, work, waits_for_ready_line=True)
    by = {(s.app, s.mode): s for s in baseline + current}
    checks = [
        ("fresh start, up and answering", "fresh", "answer_s", TARGETS["fresh"]),
        ("warm start, up and answering", "warm", "answer_s", TARGETS["warm"]),
        ("first answer after a fresh start", "fresh", "first_answer_s", TARGETS["first_answer"]),
        ("first answer after a warm start", "warm", "first_answer_s", TARGETS["first_answer"]),
    ]
    missed = 0
    print("\nVerdicts (target; this app vs the baseline, same run):")
    for label, mode, field_name, target in checks:
        value = getattr(by[("current", mode)], field_name)
        before = by.get(("baseline", mode))
        against = f" vs {getattr(before, field_name):.2f} s baseline" if before else ""
        ok = value <= target and by[("current", mode)].answered
        missed += not ok
        print(f"  {'PASS' if ok else 'MISS'}  {label}: {value:.2f} s (target <= {target:.0f} s){against}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([asdict(s) for s in baseline + current], indent=2), encoding="utf-8")
    print(f"\nVerdict: {'all targets met' if not missed else f'{missed} target(s) missed'}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
