"""Capacity and the queue: TUTOR_JOB_SLOTS local jobs train at once, the rest wait in order.

The end-to-end test starts three real (tiny) local jobs from three CLI processes at once with one
slot and checks that they train one after another, in order, and all succeed. The other tests hold
the slot with a stand-in "running" job (this test process is its runner), so the real workers they
start wait in the queue without training: cheap, and nothing trains behind the test's back.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from assistant.job_tools import describe_progress
from core.settings import Settings, load_settings
from core.texts import text
from trainer.jobs.config import TrainConfig
from trainer.jobs.control import JobSetupError, cancel_job, job_status, recover_jobs, start_job, worker_alive
from trainer.jobs.job_queue import describe_queue, estimate_wait_s
from trainer.jobs.store import FINISHED, JobStore, new_job_id
from waiting import TINY, wait_for

ROOT = Path(__file__).resolve().parent.parent


def cli(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "trainer", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def cli_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TUTOR_", "OPENAI_"))}
    env.update(TUTOR_DATA_DIR=str(settings.data_dir), TUTOR_MODEL_CACHE=str(settings.models_dir), **extra)
    return env


def hold_the_slot(store: JobStore) -> str:
    """A local job 'running' with this test process as its runner: it holds the one slot until finished."""
    job_id = new_job_id()
    store.create(job_id=job_id, owner="someone-else", backend="local", model="m", dataset="d", config={})
    me = psutil.Process()
    store.transition(job_id, "running", pid=me.pid, pid_started_at=me.create_time(), slot=0)
    return job_id


def waiting_in_line(store: JobStore, job_id: str) -> bool:
    """The job's worker is up and waiting for a slot (it logged its place)."""
    job = store.get(job_id)
    log = store.db_path.parent / "jobs" / job_id / "worker.log"
    return job.status == "queued" and worker_alive(job) and log.is_file() and "queued, position" in log.read_text()


# -- the done-when case: three CLI jobs at once, one slot ---------------------------------------


@pytest.mark.slow
def test_three_cli_jobs_started_at_once_train_one_at_a_time_in_order(settings: Settings, limericks: Path) -> None:
    env = cli_env(settings, TUTOR_JOB_SLOTS="1", TUTOR_JOBS_PER_LEARNER="3")
    train = ["train", str(limericks), "--max-steps", "2", "--holdout", "0", "--save-steps", "10",
             "--max-seq-length", "128", "--batch-size", "1", "--learning-rate", "1e-3", "--json"]
    started = time.monotonic()
    starters = [subprocess.Popen([sys.executable, "-m", "trainer", *train], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for _ in range(3)]
    launched_within = time.monotonic() - started
    outputs = [process.communicate(timeout=120) for process in starters]
    assert launched_within < 1.0
    assert [process.returncode for process in starters] == [0, 0, 0], [err for _, err in outputs]
    ids = [json.loads(out.strip().splitlines()[-1])["id"] for out, _ in outputs]
    store = JobStore(settings.jobs_db)
    order = [job.id for job in sorted((store.get(i) for i in ids), key=lambda job: (job.created_at, job.id))]

    # Watch the store: never more than one of them training; the queue positions as the read model gives them.
    most_running, positions, stop = [0], {job_id: [] for job_id in ids}, threading.Event()
    watch_settings = Settings(data_dir=settings.data_dir, model_cache=settings.models_dir, job_slots=1, jobs_per_learner=3)

    def watch() -> None:
        while not stop.is_set():
            jobs = [store.get(job_id) for job_id in ids]
            most_running[0] = max(most_running[0], sum(job.status == "running" for job in jobs))
            for job in jobs:
                if job.status != "queued":
                    continue
                position = job_status(watch_settings, job.id)["queue_position"]
                if position is not None and (not positions[job.id] or positions[job.id][-1] != position):
                    positions[job.id].append(position)
            time.sleep(0.2)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        # What `status --json` says of the newest job while the others are ahead of it.
        last = json.loads(cli(env, "status", order[-1], "--json").stdout)
        wait_for(lambda: all(store.get(i).finished for i in ids), 240, "all three jobs to finish", interval=0.5)
    finally:
        stop.set()
        watcher.join(5)
    jobs = [store.get(job_id) for job_id in order]
    assert [job.status for job in jobs] == ["succeeded"] * 3, [job.error for job in jobs]
    assert most_running[0] == 1
    # One after another, in the order they were created: each started after the one before it ended.
    for before, after in zip(jobs, jobs[1:]):
        assert after.started_at >= before.finished_at
    assert last["status"] == "queued" and last["queue_position"] in (2, 3) and last["queue_length"] in (2, 3)
    assert "queue_position" in last and {"id", "status", "metrics", "error", "adapter_path"} <= set(last)
    # Positions only ever move up; the last job was seen at 2 (or 3) and then at 1.
    for job_id in order:
        assert positions[job_id] == sorted(positions[job_id], reverse=True)
    assert positions[order[-1]][-1] == 1 and max(positions[order[-1]]) >= 2
    done = json.loads(cli(env, "status", order[-1], "--json").stdout)
    assert done["status"] == "succeeded" and done["queue_position"] is None
    for job_id in order[1:]:  # the ones that waited said so in their log
        assert "queued, position" in (settings.data_dir / "jobs" / job_id / "worker.log").read_text()


# -- queue behaviour with the slot held -----------------------------------------------------------


def test_a_learner_gets_one_job_at_a_time_with_a_clear_message(settings: Settings, limericks: Path) -> None:
    store = JobStore(settings.jobs_db)
    holder = hold_the_slot(store)
    first = start_job(settings, TrainConfig(train_file=limericks, max_steps=1, **TINY), owner="ada")
    try:
        wait_for(lambda: waiting_in_line(store, first.id), 60, "the first job to wait in the queue")
        for lang in ("en", "fi"):
            with pytest.raises(JobSetupError) as refused:
                start_job(settings, TrainConfig(train_file=limericks, max_steps=1, **TINY), owner="ada", lang=lang)
            assert str(refused.value) == text(lang, "job.limit", active=1, limit=1)
        assert "TUTOR_JOBS_PER_LEARNER" in str(refused.value)
        assert [job.id for job in store.list("ada")] == [first.id]  # the refused starts left no record
        assert [p.name for p in (settings.data_dir / "jobs").iterdir()] == [first.id]  # nor a folder
        # Another learner is not held back by ada's job; the setting raises the limit.
        other = start_job(settings, TrainConfig(train_file=limericks, max_steps=1, **TINY), owner="bob")
        two = settings.model_copy(update={"jobs_per_learner": 2})
        second = start_job(two, TrainConfig(train_file=limericks, max_steps=1, **TINY), owner="ada")
        assert store.queue_position(other.id) == (2, 3) and store.queue_position(second.id) == (3, 3)
        for job in (other, second):
            cancel_job(settings, job.id)
    finally:
        cancel_job(settings, first.id)
    # Cancelled, ada may start again.
    again = start_job(settings, TrainConfig(train_file=limericks, max_steps=1, **TINY), owner="ada")
    assert cancel_job(settings, again.id).status == "cancelled"
    assert store.get(holder).status == "running"


def test_cancelling_a_queued_job_takes_it_out_of_the_queue(settings: Settings, limericks: Path) -> None:
    store = JobStore(settings.jobs_db)
    holder = hold_the_slot(store)
    ids = [start_job(settings, TrainConfig(train_file=limericks, max_steps=1, **TINY), owner=who).id for who in ("a", "b", "c")]
    for job_id in ids:
        wait_for(lambda: waiting_in_line(store, job_id), 60, f"{job_id} to wait in the queue")
    assert [job_status(settings, i)["queue_position"] for i in ids] == [1, 2, 3]
    shown = job_status(settings, ids[2])
    assert shown["queue_length"] == 3 and describe_queue(shown, "en").startswith("⏳ Queued: position 3 of 3")
    # The chat and the Jobs tab show it through the same description.
    assert describe_queue(shown, "fi") in describe_progress(shown, "fi") and "Jonossa: sija 3/3" in describe_progress(shown, "fi")
    waiting_worker = store.get(ids[1])

    cancelled = cancel_job(settings, ids[1])
    assert cancelled.status == "cancelled" and cancelled.started_at is None  # it never trained
    wait_for(lambda: not worker_alive(waiting_worker), 10, "the cancelled job's worker to end")
    assert [job_status(settings, i)["queue_position"] for i in ids] == [1, None, 2]
    assert job_status(settings, ids[2])["queue_length"] == 2

    # The slot frees: the first in line takes it, the one behind it becomes next.
    store.finish(holder, "succeeded")
    wait_for(lambda: store.get(ids[0]).status != "queued", 30, "the first job to take the slot")
    assert store.get(ids[0]).status == "running" and store.get(ids[0]).slot == 0
    assert store.get(ids[2]).status == "queued" and job_status(settings, ids[2])["queue_position"] == 1
    for job_id in (ids[2], ids[0]):
        assert cancel_job(settings, job_id).status == "cancelled"
    assert store.get(ids[1]).status == "cancelled"


def test_a_queued_job_whose_worker_died_keeps_its_place_and_runs(settings: Settings, limericks: Path) -> None:
    store = JobStore(settings.jobs_db)
    holder = hold_the_slot(store)
    env = cli_env(settings)
    started = cli(env, "train", str(limericks), "--max-steps", "1", "--json")  # the CLI exits: nobody watches the worker
    assert started.returncode == 0, started.stderr
    job_id = json.loads(started.stdout.strip().splitlines()[-1])["id"]
    wait_for(lambda: waiting_in_line(store, job_id), 60, "the job to wait in the queue")
    before = store.get(job_id)
    os.killpg(os.getpgid(before.pid), signal.SIGKILL)  # the machine restarts, say
    wait_for(lambda: not worker_alive(before), 10, "the worker to go")
    assert store.get(job_id).status == "queued"

    recovered = recover_jobs(store, settings)  # what the app does when it starts, and every status look
    assert [job.id for job in recovered] == [job_id]
    again = store.get(job_id)
    assert again.status == "queued" and again.pid != before.pid and again.created_at == before.created_at
    wait_for(lambda: waiting_in_line(store, job_id) and worker_alive(store.get(job_id)), 60, "a new worker to queue it")
    assert job_status(settings, job_id)["queue_position"] == 1
    assert recover_jobs(store, settings) == []  # its new worker is alive

    store.finish(holder, "succeeded")
    wait_for(lambda: store.get(job_id).status != "queued", 30, "the job to take the freed slot")
    assert store.get(job_id).status == "running"
    assert cancel_job(settings, job_id).status == "cancelled"


def dead_running_job(store: JobStore, owner: str) -> str:
    """A local job left 'running' in slot 0 by a worker that is gone (the machine restarted, say)."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    job_id = new_job_id()
    store.create(job_id=job_id, owner=owner, backend="local", model="m", dataset="d", config={})
    store.transition(job_id, "running", pid=gone.pid, pid_started_at=time.time() - 5, slot=0)
    return job_id


def test_a_dead_job_holds_neither_the_slot_nor_the_learners_limit(settings: Settings, limericks: Path) -> None:
    store = JobStore(settings.jobs_db)
    dead = dead_running_job(store, "someone-else")
    job = start_job(settings, TrainConfig(train_file=limericks, max_steps=1, **TINY))
    assert store.get(dead).status == "running"  # nobody has looked yet
    # The waiting worker itself finds the dead runner (every few seconds) and takes the freed slot.
    wait_for(lambda: store.get(job.id).status != "queued", 60, "the job to take the slot")
    assert store.get(job.id).status == "running" and store.get(dead).status == "interrupted"
    assert cancel_job(settings, job.id).status == "cancelled"

    mine = dead_running_job(store, "default")
    # At the limit, start_job first looks for dead runners: the dead job does not count against the learner.
    again = start_job(settings, TrainConfig(train_file=limericks, max_steps=1, **TINY))
    assert store.get(mine).status == "interrupted" and again.status == "queued"
    assert cancel_job(settings, again.id).status == "cancelled"


# -- settings and words ----------------------------------------------------------------------------


def test_slots_and_the_learner_limit_are_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    chosen = load_settings({"TUTOR_JOB_SLOTS": "3", "TUTOR_JOBS_PER_LEARNER": "2"})
    assert (chosen.job_slots_in_use, chosen.jobs_per_learner) == (3, 2)
    assert chosen.environment()["TUTOR_JOB_SLOTS"] == "3" and chosen.environment()["TUTOR_JOBS_PER_LEARNER"] == "2"
    default = load_settings({})
    assert (default.job_slots, default.job_slots_in_use, default.jobs_per_learner) == (None, 1, 1)  # no GPU: one slot
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    assert load_settings({}).job_slots_in_use == 2  # one per GPU
    for bad in ({"TUTOR_JOB_SLOTS": "0"}, {"TUTOR_JOBS_PER_LEARNER": "0"}):
        with pytest.raises(ValueError):
            load_settings(bad)


def test_the_rough_wait_plays_the_queue_forward_over_the_slots() -> None:
    # One slot, its job 30 s from the end, 100 s a job: next starts in 30 s, the one after in 130 s.
    assert [estimate_wait_s(p, 1, [30.0], 100.0) for p in (1, 2, 3)] == [30.0, 130.0, 230.0]
    # Two slots, one free: the next starts now, the one after when the running job ends.
    assert [estimate_wait_s(p, 2, [30.0], 100.0) for p in (1, 2, 3)] == [0.0, 30.0, 100.0]
    job = {"queue_position": 2, "queue_length": 3, "queue_wait_s": 250.0, "queue_slots": 1}
    assert describe_queue(job, "en") == text("en", "job.queued_position", position=2, waiting=3, minutes=4, slots=1)
    assert describe_queue(job, "en").startswith("⏳ Queued: position 2 of 3, about 4 min")
    assert describe_queue(job, "fi").startswith("⏳ Jonossa: sija 2/3, alkaa noin 4 min")
    assert "no wait estimate" in describe_queue({**job, "queue_wait_s": None}, "en")
    assert describe_queue({**job, "queue_position": None}, "en") is None


def test_an_inline_job_waits_for_the_slot_in_its_thread_and_cancel_takes_it_out(settings: Settings, limericks: Path) -> None:
    inline = settings.model_copy(update={"job_runner": "inline", "jobs_per_learner": 2})
    store = JobStore(settings.jobs_db)
    hold_the_slot(store)
    first = start_job(inline, TrainConfig(train_file=limericks, max_steps=1, **TINY))
    second = start_job(inline, TrainConfig(train_file=limericks, max_steps=1, **TINY))
    assert [job_status(inline, j.id)["queue_position"] for j in (first, second)] == [1, 2]
    time.sleep(1.0)  # a few tries at the slot
    assert store.get(first.id).status == "queued" and store.get(first.id).runner == "inline"
    cancelled = cancel_job(inline, first.id)  # no process to signal: the waiting thread sees the flag
    assert cancelled.status == "cancelled" and cancelled.started_at is None
    assert job_status(inline, second.id)["queue_position"] == 1
    assert cancel_job(inline, second.id).status == "cancelled"
    wait_for(lambda: not [t for t in threading.enumerate() if t.name in (f"job-{first.id}", f"job-{second.id}")], 5,
             "the waiting threads to end")
