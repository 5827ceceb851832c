"""Load bench: a class of learners using the real app over HTTP at once, beside a one-learner baseline.

    .venv/bin/python benches/load.py [--url URL --data-dir DIR] [--sessions 20] [--questions 5]
                                     [--jobs 3] [--job-steps 3] [--no-train] [--json benches/out/load.json]

Without --url it starts `python app.py` on a free loopback port with `TUTOR_JOB_SLOTS=1` and a fresh
data directory (the lesson index is built first; `--data-dir` reuses one that has an index). Every
session is a learner of its own: one signed token from `/new_learner` and one HTTP connection that
asks `/chat` through Gradio's REST route (POST `/gradio_api/call/chat`, then read the event stream of
`/gradio_api/call/chat/<event_id>`), as curl or the page's own JS client read it. `gradio_client`'s
reader sleeps 50 ms whenever its message queue is empty (gradio_client/utils.py), which put a ~65 ms
floor under every reply measured with it; it is kept as a reference phase so the two can be compared.
Phases, all in one run:

1. baseline: one session asks every lesson question of the pool in turn (twice); then the same
   through `gradio_client` (reference, not judged);
2. concurrent: N sessions start together and each asks Q lesson questions (EN and FI);
3. workshop: N sessions at once mix lesson questions with the dataset tools through `/chat`
   (draft examples, add them, validate, estimate the cost), each building a dataset of its own;
4. during training: `--jobs` of those learners start a short local job (`--job-steps` steps) with
   `python -m trainer train DATASET --learner ID`, all launched within a second, while the N sessions
   keep asking lesson questions (and those learners ask about their job) until every job has ended.
   A sampler reads the job store every 0.2 s: the most jobs `running` at once and the queue
   positions each job reported.

Each phase prints latency p50/p95/max, throughput and errors: a timeout, an app error, a tool that
failed, or a reply without what it must hold (a lesson answer without its Sources block: every
question in the pool is answered with sources by an idle app, so a missing block under load means
something broke). Then one verdict line per target (issue 14 item 5: a class under load; issue 16
item 1: concurrent chat) and exit 1 on any miss. The machine's load average is printed beside each
phase: other processes on the machine skew every figure, so compare ratios within one run. The whole
run stops by itself: every answer has a timeout, and so do the jobs and the run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the app launcher shared with the HTTP and browser tests

from core.settings import offline_environment  # noqa: E402

for _name, _value in offline_environment().items():
    os.environ.setdefault(_name, _value)

import httpx  # noqa: E402
import psutil  # noqa: E402
from gradio_client import Client  # noqa: E402

from app_server import ARTIFACTS, start_app  # noqa: E402
from assistant.dataset_tools import DEFAULT_DATASET  # noqa: E402  (the dataset the chat's *add them* fills)
from core.texts import catalogue  # noqa: E402
from trainer.jobs.store import JobStore  # noqa: E402

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
DEFAULT_MODEL_CACHE = ROOT / ".cache" / "models"
SLOTS = 1  # TUTOR_JOB_SLOTS of the app and the CLI starts: the queue is what is measured

# Issue 16 item 1's targets (2 cores, lesson questions over HTTP).
TARGET_P95_CONCURRENT_S = 1.0
TARGET_P50_SINGLE_S = 0.050
TARGET_TRAINING_P95_RISE = 2.0


def _literal(lang: str, key: str) -> str:
    """The catalogue text's fixed start (up to its first placeholder): what a reply of that kind begins with."""
    return catalogue(lang)[key].split("{", 1)[0].strip()


def expects(*keys: str) -> Callable[[str, str], str | None]:
    """A check that the reply holds each catalogue text's fixed part (in the asking session's language)."""

    def check(lang: str, reply: str) -> str | None:
        missing = [key for key in keys if _literal(lang, key) not in reply]
        return f"no {', '.join(missing)} text in the reply" if missing else None

    return check


LESSON = expects("answer.sources")
# The dataset workshop through /chat, per language: message, then what its reply must hold.
WORKSHOP = {
    "en": [
        ("Draft 10 examples for a limerick bot about chemical elements", expects("dataset.drafts")),
        ("add them", expects("dataset.drafts_added")),
        ("validate my dataset", expects("report.clean")),
        ("estimate the cost on gpt-4.1-mini", expects("report.clean", "report.tokens")),
    ],
    "fi": [
        ("Luonnostele 10 esimerkkiä limerikkibotille kemiallisista alkuaineista", expects("dataset.drafts")),
        ("lisää ne", expects("dataset.drafts_added")),
        ("tarkista aineisto", expects("report.clean")),
        ("arvioi kustannukset", expects("report.clean", "report.tokens")),
    ],
}
JOB_QUESTION = {"en": "how is my training going", "fi": "miten koulutus etenee"}
FINISHED = ("succeeded", "failed", "cancelled", "interrupted")


@dataclass
class Phase:
    name: str
    sessions: int
    latencies: list[float] = field(default_factory=list)  # lesson answers: the figures the targets speak of
    tool_latencies: list[float] = field(default_factory=list)  # dataset and job tools
    errors: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    load_average: float = 0.0
    # CPU seconds the app's own process spent in the phase (not its job workers): less swayed by the
    # machine's other load than any latency, so the figure to compare between runs.
    app_cpu_s: float | None = None

    def summary(self) -> dict:
        values = sorted(self.latencies)
        tools = sorted(self.tool_latencies)
        replies = len(values) + len(tools)
        return {
            "phase": self.name,
            "sessions": self.sessions,
            "answers": len(values),
            "tool_replies": len(tools),
            "errors": len(self.errors),
            "p50_s": round(statistics.median(values), 3) if values else None,
            "p95_s": round(_percentile(values, 95), 3) if values else None,
            "max_s": round(values[-1], 3) if values else None,
            "tool_p50_s": round(statistics.median(tools), 3) if tools else None,
            "tool_p95_s": round(_percentile(tools, 95), 3) if tools else None,
            "throughput_per_s": round(len(values) / self.wall_s, 2) if self.wall_s and values else None,
            "wall_s": round(self.wall_s, 1),
            "load_average": round(self.load_average, 2),
            "app_cpu_ms_per_reply": round(1000 * self.app_cpu_s / replies, 1) if self.app_cpu_s is not None and replies else None,
            "first_errors": list(dict.fromkeys(self.errors))[:3],
        }


def _percentile(values: list[float], pct: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(pct) - 1]


@dataclass
class Session:
    """One learner: its own connections and token."""

    client: Client  # gradio_client: /new_learner, and the reference phase
    http: httpx.Client  # Gradio's REST route for /chat
    token: str
    lang: str
    via_gradio_client: bool = False

    @property
    def learner(self) -> str:
        return self.token.split(".", 1)[0]  # a token is `<learner id>.<signature>` (core.identity)

    def chat(self, message: str, timeout_s: float):
        if self.via_gradio_client:
            return self.client.submit(message, self.token, api_name="/chat").result(timeout=timeout_s)
        return call_rest(self.http, "chat", [message, self.token], timeout_s)


def call_rest(http: httpx.Client, api_name: str, data: list, timeout_s: float):
    """One call through Gradio's REST route: the event id, then its event stream until `complete` or `error`."""
    started = time.monotonic()
    event_id = http.post(f"/gradio_api/call/{api_name}", json={"data": data}, timeout=timeout_s).raise_for_status().json()["event_id"]
    remaining = max(0.1, timeout_s - (time.monotonic() - started))
    event = None
    with http.stream("GET", f"/gradio_api/call/{api_name}/{event_id}", timeout=remaining) as stream:
        for line in stream.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                payload = json.loads(line.split(":", 1)[1])
                if event == "error":
                    raise RuntimeError(f"app error: {payload!r:.200}")
                return payload[0]
    raise RuntimeError(f"the event stream ended without a result (last event {event!r})")


def open_session(url: str, lang: str) -> Session:
    client = Client(url, verbose=False, analytics_enabled=False)
    return Session(client, httpx.Client(base_url=url), client.predict(api_name="/new_learner"), lang)


def ask(session: Session, message: str, lang: str, check: Callable[[str, str], str | None], timeout_s: float,
        phase: Phase, lock: threading.Lock, lesson: bool) -> None:
    started = time.perf_counter()
    try:
        reply = session.chat(message, timeout_s)
        if not isinstance(reply, str):
            problem = f"not text: {reply!r:.90}"
        elif reply.startswith(_literal(lang, "chat.tool_failed")):
            problem = f"tool failed for {message!r}: {reply[:160]!r}"
        else:
            problem = check(lang, reply)
            problem = problem and f"{problem} for {message!r}: {reply[:90]!r}"
    except Exception as exc:  # a timeout or an app error is a data point, not the end of the bench
        problem = f"{type(exc).__name__} for {message!r}: {str(exc)[:200]}"
    seconds = time.perf_counter() - started
    with lock:
        if problem:
            phase.errors.append(problem)
        else:
            (phase.latencies if lesson else phase.tool_latencies).append(seconds)


def lesson_plan(offset: int, count: int, lang: str | None = None) -> list[tuple[str, str]]:
    """`count` questions of the pool from `offset` on; a learner keeps to their language (all of the pool without one)."""
    pool = sorted((item for item in QUESTIONS if lang in (None, item[0])), key=lambda item: item[0])
    return [pool[(offset + q) % len(pool)] for q in range(count)]


def run_phase(name: str, sessions: list[Session], work: Callable[[int, Session, Phase, threading.Lock], None],
              app: psutil.Process | None = None) -> Phase:
    """Every session runs `work` in its own thread, all starting together; the phase's wall time is the slowest's."""
    phase = Phase(name, len(sessions))
    lock = threading.Lock()
    cpu_before = _cpu_seconds(app)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(sessions)) as pool:
        for future in [pool.submit(work, n, session, phase, lock) for n, session in enumerate(sessions)]:
            future.result()
    phase.wall_s = time.perf_counter() - started
    phase.load_average = os.getloadavg()[0]
    cpu_after = _cpu_seconds(app)
    phase.app_cpu_s = cpu_after - cpu_before if cpu_before is not None and cpu_after is not None else None
    return phase


def _cpu_seconds(process: psutil.Process | None) -> float | None:
    if process is None:
        return None
    times = process.cpu_times()
    return times.user + times.system


# -- the jobs: started from the CLI as their learners, watched in the job store --------------------------------


@dataclass
class JobWatch:
    """What the sampler saw of the jobs: the most `running` at once, and each job's queue positions in order."""

    store: JobStore
    ids: list[str]
    most_running: int = 0
    positions: dict[str, list[int]] = field(default_factory=dict)
    statuses: dict[str, str] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)

    def sample(self) -> None:
        jobs = [self.store.get(job_id) for job_id in self.ids]
        # Every local job in the store counts toward the slots, not only the bench's own.
        running = sum(job.status == "running" and job.backend == "local" for job in self.store.list())
        self.most_running = max(self.most_running, running)
        for job in jobs:
            self.statuses[job.id] = job.status
            place = self.store.queue_position(job.id) if job.status == "queued" else None
            seen = self.positions.setdefault(job.id, [])
            if place is not None and (not seen or seen[-1] != place[0]):
                seen.append(place[0])

    def all_finished(self) -> bool:
        return all(self.statuses.get(job_id) in FINISHED for job_id in self.ids)

    def run(self) -> None:
        while not self.stop.is_set():
            self.sample()
            time.sleep(0.2)


def start_jobs(sessions: list[Session], env: dict[str, str], steps: int) -> tuple[list[str], float]:
    """Start one short local job per session from the CLI, all launched within a second; their ids and the launch spread."""
    launched = time.monotonic()
    starters = []
    for session in sessions:
        command = [sys.executable, "-m", "trainer", "train", DEFAULT_DATASET, "--learner", session.learner,
                   "--max-steps", str(steps), "--holdout", "0", "--save-steps", "100", "--max-seq-length", "128",
                   "--batch-size", "1", "--json"]
        starters.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    spread = time.monotonic() - launched
    ids = []
    for process in starters:
        out, err = process.communicate(timeout=180)
        if process.returncode != 0:
            raise RuntimeError(f"python -m trainer train failed: {err.strip()[-500:]}")
        ids.append(json.loads(out.strip().splitlines()[-1])["id"])
    return ids, spread


# -- the run --------------------------------------------------------------------------------------------------


def print_phase(summary: dict) -> None:
    tools = f"  tools {summary['tool_replies']} p50 {summary['tool_p50_s']}s p95 {summary['tool_p95_s']}s" if summary["tool_replies"] else ""
    print(f"{summary['phase']:<36} answers {summary['answers']:>4}  errors {summary['errors']:>3}  "
          f"p50 {summary['p50_s']}s  p95 {summary['p95_s']}s  max {summary['max_s']}s  "
          f"throughput {summary['throughput_per_s']}/s  wall {summary['wall_s']}s  load avg {summary['load_average']}  "
          f"app CPU {summary['app_cpu_ms_per_reply']} ms/reply{tools}", flush=True)
    for error in summary["first_errors"]:
        print(f"    error: {error}")


def verdicts(results: dict, sessions: int) -> list[tuple[str, bool, str]]:
    """(target, met, figures) for each target of both issues."""
    phases = {p["key"]: p for p in results["phases"]}
    base, busy = phases["baseline"], phases["concurrent"]
    errors = sum(p["errors"] for p in results["phases"])
    lines = [
        ("errors in all phases = 0", errors == 0, f"{errors}"),
        (f"single-session p50 <= {TARGET_P50_SINGLE_S * 1000:.0f} ms", base["p50_s"] is not None and base["p50_s"] <= TARGET_P50_SINGLE_S,
         f"{base['p50_s']} s"),
        (f"{sessions}-session p95 <= {TARGET_P95_CONCURRENT_S} s", busy["p95_s"] is not None and busy["p95_s"] <= TARGET_P95_CONCURRENT_S,
         f"{busy['p95_s']} s"),
        ("concurrent throughput >= single-session", (busy["throughput_per_s"] or 0) >= (base["throughput_per_s"] or float("inf")),
         f"{busy['throughput_per_s']}/s vs {base['throughput_per_s']}/s"),
    ]
    training = results.get("training")
    if training is not None:
        during = phases["training"]
        rise = during["p95_s"] / busy["p95_s"] if during["p95_s"] and busy["p95_s"] else None
        jobs = len(training["jobs"])
        lines += [
            (f"p95 while training <= {TARGET_TRAINING_P95_RISE:g}x concurrent p95", rise is not None and rise <= TARGET_TRAINING_P95_RISE,
             f"{during['p95_s']} s vs {busy['p95_s']} s" + (f" ({rise:.2f}x)" if rise else "")),
            (f"{jobs} jobs launched from the CLI within 1 s", training["launch_spread_s"] < 1.0, f"{training['launch_spread_s']:.2f} s"),
            (f"most jobs training at once <= {SLOTS} slot(s)", 1 <= training["most_running"] <= SLOTS, f"{training['most_running']}"),
            ("queue positions reported to the waiting jobs", training["waited_with_position"] >= jobs - SLOTS,
             f"{training['waited_with_position']} of {jobs - SLOTS} seen queued with a position; "
             f"{training['chat_told_position']} learner(s) read theirs in the chat"),
            (f"jobs finished: all {jobs} succeeded within {training['timeout_s']:.0f} s", training["succeeded"] == jobs,
             f"{training['succeeded']}/{jobs} in {training['seconds']} s"),
        ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="A running app (its TUTOR_JOB_SLOTS should be 1); default: start one here.")
    parser.add_argument("--data-dir", type=Path, help="The app's data directory: with --url, the running app's; "
                        "without, a folder whose lesson index is reused (default: a fresh one).")
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--questions", type=int, default=5, help="Lesson questions per session in the concurrent phases.")
    parser.add_argument("--jobs", type=int, default=3, help="Learners that start a short local job.")
    parser.add_argument("--job-steps", type=int, default=3, help="Training steps of each job.")
    parser.add_argument("--job-timeout", type=float, default=600.0, help="Seconds all the jobs may take together.")
    parser.add_argument("--answer-timeout", type=float, default=120.0, help="Seconds one answer may take.")
    parser.add_argument("--timeout", type=float, default=1500.0, help="Seconds the whole run may take.")
    parser.add_argument("--no-train", action="store_true", help="Skip the jobs (the phase during training).")
    parser.add_argument("--json", type=Path, help="Also write the figures as JSON here.")
    args = parser.parse_args(argv)
    if args.url and not args.data_dir and not args.no_train:
        parser.error("--url needs --data-dir (the app's, where the jobs are recorded) unless --no-train")
    sys.stdout.reconfigure(line_buffering=True)  # progress shows as it happens when redirected to a file
    run_deadline = time.monotonic() + args.timeout

    model_cache = Path(os.environ.get("TUTOR_MODEL_CACHE") or DEFAULT_MODEL_CACHE)
    server = None
    if args.url:
        url, data_dir = args.url, args.data_dir
    else:
        data_dir = Path(tempfile.mkdtemp(prefix="load-bench-")) / "data"
        if args.data_dir:
            shutil.copytree(args.data_dir / "index", data_dir / "index")  # the lesson index only: learners and jobs start empty
        server = start_app(data_dir, ARTIFACTS / "load-bench-app.log", model_cache=model_cache,
                           extra_env={"TUTOR_JOB_SLOTS": str(SLOTS), "TUTOR_JOBS_PER_LEARNER": "1"})
        url = server.url
        print(f"app started in {server.started_s:.1f} s at {url} (log {server.log_path})")
    app = psutil.Process(server.process.pid) if server is not None else None  # a --url app's CPU is not ours to read
    env = {name: value for name, value in os.environ.items() if not name.startswith(("TUTOR_", "OPENAI_"))}
    env.update(TUTOR_DATA_DIR=str(data_dir), TUTOR_MODEL_CACHE=str(model_cache), TUTOR_JOB_SLOTS=str(SLOTS))
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; {args.sessions} sessions x {args.questions} questions; "
          f"{0 if args.no_train else args.jobs} jobs of {args.job_steps} steps, {SLOTS} slot; answer timeout {args.answer_timeout:.0f} s")
    results: dict = {"url": url, "cpus": os.cpu_count(), "load_average_at_start": os.getloadavg()[0], "phases": [], "training": None}

    def answer_timeout() -> float:
        return max(0.0, min(args.answer_timeout, run_deadline - time.monotonic()))

    def record(key: str, phase: Phase) -> None:
        results["phases"].append({"key": key, **phase.summary()})
        print_phase(results["phases"][-1])

    try:
        warm = open_session(url, "en")
        warm.client.predict("What is LoRA?", warm.token, api_name="/chat")  # models load on the first answer
        langs = [("en", "fi")[n % 2] for n in range(args.sessions)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            sessions = list(pool.map(lambda lang: open_session(url, lang), langs))

        def lessons(count: int):
            def work(n: int, session: Session, phase: Phase, lock: threading.Lock) -> None:
                for lang, question in lesson_plan(n, count, None if session is warm else session.lang):
                    ask(session, question, lang, LESSON, answer_timeout(), phase, lock, lesson=True)
            return work

        # The baseline learner asks the whole pool (both languages), twice; then again through gradio_client.
        record("baseline", run_phase("baseline: 1 session, sequential", [warm], lessons(2 * len(QUESTIONS)), app))
        warm.via_gradio_client = True
        record("baseline_gradio_client", run_phase("reference: same via gradio_client", [warm], lessons(2 * len(QUESTIONS)), app))
        warm.via_gradio_client = False
        record("concurrent", run_phase(f"concurrent: {args.sessions} sessions", sessions, lessons(args.questions), app))

        def workshop(n: int, session: Session, phase: Phase, lock: threading.Lock) -> None:
            questions = lesson_plan(n, len(WORKSHOP[session.lang]), session.lang)
            for (message, check), (lang, question) in zip(WORKSHOP[session.lang], questions):
                ask(session, message, session.lang, check, answer_timeout(), phase, lock, lesson=False)
                ask(session, question, lang, LESSON, answer_timeout(), phase, lock, lesson=True)

        record("workshop", run_phase(f"workshop: {args.sessions} sessions", sessions, workshop, app))
        if args.no_train:
            print("training phase: skipped (--no-train)")
        else:
            results["training"] = run_training_phase(args, sessions, env, data_dir, lessons, record, app)
    finally:
        if server is not None:
            server.stop()
    results["load_average_at_end"] = os.getloadavg()[0]
    print(f"load average at the end {results['load_average_at_end']:.1f}")
    checks = verdicts(results, args.sessions)
    results["verdicts"] = [{"target": target, "met": met, "figures": figures} for target, met, figures in checks]
    for target, met, figures in checks:
        print(f"{'PASS' if met else 'MISS'}  {target}: {figures}")
    missed = [target for target, met, _ in checks if not met]
    print(f"verdict: {'all targets met' if not missed else f'{len(missed)} target(s) missed'}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 1 if missed else 0


def run_training_phase(args: argparse.Namespace, sessions: list[Session], env: dict[str, str], data_dir: Path,
                       lessons: Callable, record: Callable[[str, Phase], None], app: psutil.Process | None) -> dict:
    trainees = sessions[: args.jobs]
    started = time.monotonic()
    ids, spread = start_jobs(trainees, env, args.job_steps)
    watch = JobWatch(JobStore(data_dir / "jobs.sqlite"), ids)
    watch.sample()
    sampler = threading.Thread(target=watch.run, name="job-sampler", daemon=True)
    sampler.start()
    print(f"{len(ids)} jobs started from the CLI within {spread:.2f} s: {', '.join(ids)}", flush=True)
    job_deadline = started + args.job_timeout
    asking = {session.token: job_id for session, job_id in zip(trainees, ids)}
    told_position: set[str] = set()  # jobs whose learner read their queue position in the chat

    def about_job(job_id: str) -> Callable[[str, str], str | None]:
        def check(lang: str, reply: str) -> str | None:
            if any(_literal(lang, key) in reply for key in ("job.queued_position", "job.queued_position_no_estimate")):
                told_position.add(job_id)
            return None if job_id in reply else f"no {job_id} in the reply"
        return check

    def while_training(n: int, session: Session, phase: Phase, lock: threading.Lock) -> None:
        # At least one round of questions; more rounds while any job still trains or waits.
        rounds = 0
        while rounds == 0 or (not watch.all_finished() and time.monotonic() < job_deadline):
            lessons(args.questions)(n + rounds, session, phase, lock)
            if session.token in asking:  # a learner with a job asks how it goes, as a learner would
                ask(session, JOB_QUESTION[session.lang], session.lang, about_job(asking[session.token]), args.answer_timeout, phase,
                    lock, lesson=False)
            rounds += 1

    try:
        record("training", run_phase(f"during training: {args.sessions} sessions", sessions, while_training, app))
        while not watch.all_finished() and time.monotonic() < job_deadline:
            time.sleep(0.5)
    finally:
        watch.stop.set()
        sampler.join(5)
        watch.sample()
    for job_id in ids:
        if watch.statuses.get(job_id) not in FINISHED:  # the bench's deadline: do not leave jobs behind
            subprocess.run([sys.executable, "-m", "trainer", "cancel", job_id, "--learner", watch.store.get(job_id).owner],
                           cwd=ROOT, env=env, capture_output=True, timeout=120)
    jobs = [watch.store.get(job_id) for job_id in ids]
    summary = {
        "jobs": [{"id": job.id, "status": job.status, "error": job.error, "positions": watch.positions.get(job.id, []),
                  "steps": len(watch.store.metrics(job.id))} for job in jobs],
        "launch_spread_s": round(spread, 3),
        "most_running": watch.most_running,
        "waited_with_position": sum(bool(watch.positions.get(job_id)) for job_id in ids),
        "chat_told_position": len(told_position),
        "succeeded": sum(job.status == "succeeded" for job in jobs),
        "seconds": round(time.monotonic() - started, 1),
        "timeout_s": args.job_timeout,
    }
    print(f"jobs: most training at once {summary['most_running']} (slots {SLOTS}); "
          f"{summary['succeeded']}/{len(ids)} succeeded in {summary['seconds']} s; "
          f"{summary['chat_told_position']} learner(s) read their queue position in the chat")
    for job in summary["jobs"]:
        print(f"    {job['id']}: {job['status']}, queue positions seen {job['positions'] or '-'}, {job['steps']} metric rows"
              + (f" — {job['error']}" if job["error"] else ""))
    return summary


if __name__ == "__main__":
    sys.exit(main())
