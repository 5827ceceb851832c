"""Load bench: many learners chatting at once with the real app over HTTP, beside a one-learner baseline.

    .venv/bin/python benches/load.py [--url URL] [--sessions 20] [--questions 5] [--timeout 900]
                                     [--no-train] [--train-data FILE.jsonl] [--json benches/out/load.json]

Without --url it starts `python app.py` on a free loopback port with a fresh data directory (the
lesson index is built first). Phases, all in one run:

1. baseline: one session (one gradio_client.Client) asks every question of the pool in turn;
2. concurrent: N sessions, one Client each, start together and each asks Q questions (EN and FI);
3. during training: a quick local LoRA job started with `python -m trainer train --preset quick`,
   then the same concurrent load while it runs; the job's final status is reported.

Each phase prints latency p50/p95/max, throughput and errors: a timeout, an app error, or an answer
without its Sources block (every question in the pool is answered with sources by an idle app, so a
missing block under load means something broke, e.g. a tool failing in a race). The whole run stops by itself: every answer has a timeout, and so does the run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the app launcher shared with the HTTP and browser tests

from core.settings import offline_environment  # noqa: E402

for _name, _value in offline_environment().items():
    os.environ.setdefault(_name, _value)

from gradio_client import Client  # noqa: E402

from app_server import ARTIFACTS, start_app  # noqa: E402

QUESTIONS = [
    ("en", "What is fine-tuning and how is it different from RAG?"),
    ("fi", "Milloin hienosäätö kannattaa?"),
    ("en", "How many training examples do I need?"),
    ("fi", "Mitä LoRA tarkoittaa?"),
    ("en", "What does the learning rate multiplier do?"),
    ("fi", "Mikä on JSONL-muoto?"),
    ("en", "What are the risks of fine-tuning?"),
    ("fi", "Paljonko hienosäätö maksaa?"),
    ("en", "Which providers offer fine-tuning?"),
    ("fi", "Kuinka monta opetusesimerkkiä tarvitsen?"),
]
SOURCES = {"en": "**Sources**", "fi": "**Lähteet**"}
COURSE_DATA = ROOT.parent / "shared" / "course" / "18-fine-tuning" / "python" / "openai" / "training-data.jsonl"
DEFAULT_MODEL_CACHE = ROOT / ".cache" / "models"


@dataclass
class Phase:
    name: str
    sessions: int
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wall_s: float = 0.0

    def summary(self) -> dict:
        values = sorted(self.latencies)
        return {
            "phase": self.name,
            "sessions": self.sessions,
            "answers": len(values),
            "errors": len(self.errors),
            "p50_s": round(statistics.median(values), 3) if values else None,
            "p95_s": round(_percentile(values, 95), 3) if values else None,
            "max_s": round(values[-1], 3) if values else None,
            "throughput_per_s": round(len(values) / self.wall_s, 2) if self.wall_s else None,
            "wall_s": round(self.wall_s, 1),
            "first_errors": list(dict.fromkeys(self.errors))[:3],
        }


def _percentile(values: list[float], pct: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(pct) - 1]


def ask(client: Client, token: str, lang: str, question: str, timeout_s: float, phase: Phase, lock: threading.Lock) -> None:
    started = time.perf_counter()
    try:
        answer = client.submit(question, token, api_name="/chat").result(timeout=timeout_s)
        problem = None if isinstance(answer, str) and SOURCES[lang] in answer else \
            f"no {SOURCES[lang]} in the answer to {question!r}: {str(answer)[:90]!r}"
    except Exception as exc:  # a timeout or an app error is a data point, not the end of the bench
        problem = f"{type(exc).__name__}: {str(exc)[:200]}"
    seconds = time.perf_counter() - started
    with lock:
        if problem:
            phase.errors.append(problem)
        else:
            phase.latencies.append(seconds)


def run_session(url: str, questions: list[tuple[str, str]], timeout_s: float, phase: Phase, lock: threading.Lock,
                start: threading.Barrier | None, deadline: float) -> None:
    client = Client(url, verbose=False, analytics_enabled=False)
    token = client.predict(api_name="/new_learner")  # each session is a learner of its own
    if start is not None:
        start.wait(timeout=120)  # all sessions connected: the load starts at once
    for lang, question in questions:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            with lock:
                phase.errors.append("run deadline reached before the question was asked")
            continue
        ask(client, token, lang, question, min(timeout_s, remaining), phase, lock)


def run_baseline(url: str, timeout_s: float, deadline: float) -> Phase:
    phase = Phase("baseline: 1 session, sequential", 1)
    started = time.perf_counter()
    run_session(url, QUESTIONS, timeout_s, phase, threading.Lock(), None, deadline)
    phase.wall_s = time.perf_counter() - started
    return phase


def run_concurrent(url: str, name: str, sessions: int, per_session: int, timeout_s: float, deadline: float) -> Phase:
    phase = Phase(name, sessions)
    lock = threading.Lock()
    barrier = threading.Barrier(sessions + 1)
    plans = [[QUESTIONS[(s + q) % len(QUESTIONS)] for q in range(per_session)] for s in range(sessions)]
    with ThreadPoolExecutor(max_workers=sessions) as pool:
        futures = [pool.submit(run_session, url, plan, timeout_s, phase, lock, barrier, deadline) for plan in plans]
        barrier.wait(timeout=180)
        started = time.perf_counter()
        for future in futures:
            future.result()
        phase.wall_s = time.perf_counter() - started
    return phase


# -- the training job, through the CLI ------------------------------------------------------------


def trainer_cli_available(env: dict[str, str]) -> bool:
    result = subprocess.run([sys.executable, "-m", "trainer", "train", "--help"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    return result.returncode == 0


def trainer_cli(args: list[str], env: dict[str, str]) -> dict:
    result = subprocess.run([sys.executable, "-m", "trainer", *args, "--json"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"python -m trainer {' '.join(args)} failed: {result.stderr.strip()[-500:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def training_data(path: Path | None, scratch: Path) -> Path:
    if path is not None:
        return path
    if COURSE_DATA.is_file():
        return COURSE_DATA
    from trainer.data.drafts import draft_examples

    target = scratch / "limericks.jsonl"
    examples = draft_examples("a limerick bot about chemical elements", 10)
    target.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in examples), encoding="utf-8")
    return target


def wait_for_status(job_id: str, env: dict[str, str], wanted: tuple[str, ...], deadline: float) -> dict:
    while True:
        status = trainer_cli(["status", job_id, "--learner", "bench"], env)
        if status["status"] in wanted or time.monotonic() > deadline:
            return status
        time.sleep(2)


# -- the run -----------------------------------------------------------------------------------------


def print_phase(summary: dict) -> None:
    print(f"{summary['phase']:<42} answers {summary['answers']:>4}  errors {summary['errors']:>3}  "
          f"p50 {summary['p50_s']}s  p95 {summary['p95_s']}s  max {summary['max_s']}s  "
          f"throughput {summary['throughput_per_s']}/s  wall {summary['wall_s']}s", flush=True)
    for error in summary["first_errors"]:
        print(f"    error: {error}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="A running app; default: start one here.")
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--questions", type=int, default=5, help="Questions per session.")
    parser.add_argument("--answer-timeout", type=float, default=120.0, help="Seconds one answer may take.")
    parser.add_argument("--timeout", type=float, default=900.0, help="Seconds the whole run may take.")
    parser.add_argument("--no-train", action="store_true", help="Skip the phase with a training job.")
    parser.add_argument("--train-data", type=Path, help="Chat JSONL for the quick job (default: the course's sample).")
    parser.add_argument("--json", type=Path, help="Also write the figures as JSON here.")
    args = parser.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # progress shows as it happens when redirected to a file
    deadline = time.monotonic() + args.timeout

    scratch = Path(tempfile.mkdtemp(prefix="load-bench-"))
    model_cache = Path(os.environ.get("TUTOR_MODEL_CACHE") or DEFAULT_MODEL_CACHE)
    server = None
    if args.url:
        url, data_dir = args.url, scratch / "data"
    else:
        server = start_app(scratch / "data", ARTIFACTS / "load-bench-app.log", model_cache=model_cache)
        url, data_dir = server.url, server.data_dir
        print(f"app started in {server.started_s:.1f} s at {url} (log {server.log_path})")
    env = {**os.environ, "TUTOR_DATA_DIR": str(data_dir), "TUTOR_MODEL_CACHE": str(model_cache)}
    # Other processes on the machine skew every figure: the load average says how busy it was.
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; {args.sessions} sessions x {args.questions} questions; "
          f"answer timeout {args.answer_timeout:.0f} s")
    results: dict = {"url": url, "cpus": os.cpu_count(), "load_average_at_start": os.getloadavg()[0], "phases": [], "training": None}
    try:
        warm = Client(url, verbose=False, analytics_enabled=False)
        warm.predict("What is LoRA?", warm.predict(api_name="/new_learner"), api_name="/chat")  # warm caches
        for phase in (
            run_baseline(url, args.answer_timeout, deadline),
            run_concurrent(url, f"concurrent: {args.sessions} sessions", args.sessions, args.questions, args.answer_timeout, deadline),
        ):
            results["phases"].append(phase.summary())
            print_phase(results["phases"][-1])
        results["training"] = run_training_phase(args, url, env, scratch, deadline, results)
    finally:
        if server is not None:
            server.stop()
    failed = sum(p["errors"] for p in results["phases"])
    results["load_average_at_end"] = os.getloadavg()[0]
    print(f"errors in all phases: {failed}; load average at the end {results['load_average_at_end']:.1f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


def run_training_phase(args: argparse.Namespace, url: str, env: dict[str, str], scratch: Path, deadline: float, results: dict) -> dict | None:
    if args.no_train:
        print("training phase: skipped (--no-train)")
        return None
    if not trainer_cli_available(env):
        print("training phase: skipped — `python -m trainer train` is not available yet")
        return None
    data = training_data(args.train_data, scratch)
    started = time.monotonic()
    job = trainer_cli(["train", str(data), "--preset", "quick", "--learner", "bench"], env)
    print(f"training job {job['id']} started on {data.name} (quick preset)", flush=True)
    running = wait_for_status(job["id"], env, ("running", "succeeded", "failed", "cancelled", "interrupted"), deadline)
    phase = run_concurrent(url, f"concurrent during training: {args.sessions}", args.sessions, args.questions,
                           args.answer_timeout, deadline)
    status_after_load = trainer_cli(["status", job["id"], "--learner", "bench"], env)["status"]
    results["phases"].append(phase.summary())
    print_phase(results["phases"][-1])
    final = wait_for_status(job["id"], env, ("succeeded", "failed", "cancelled", "interrupted"), deadline)
    if final["status"] in ("queued", "running"):
        trainer_cli(["cancel", job["id"], "--learner", "bench"], env)  # the run's deadline: do not leave it running
    metrics = final.get("metrics") or []
    summary = {
        "job": job["id"],
        "status_when_load_started": running["status"],
        "status_when_load_ended": status_after_load,
        "final_status": final["status"],
        "error": final.get("error"),
        "steps": len(metrics),
        "last_train_loss": next((m.get("train_loss") for m in reversed(metrics) if m.get("train_loss") is not None), None),
        "seconds": round(time.monotonic() - started, 1),
    }
    print(f"training job {summary['job']}: {summary['status_when_load_started']} when the load started, "
          f"{summary['status_when_load_ended']} when it ended; final {summary['final_status']} after {summary['seconds']} s, "
          f"{summary['steps']} logged steps, last train loss {summary['last_train_loss']}" + (f" — {summary['error']}" if summary["error"] else ""))
    return summary


if __name__ == "__main__":
    sys.exit(main())
