"""Capacity and the queue: at most `TUTOR_JOB_SLOTS` local jobs train at once on this machine.

There is no queue daemon. Every local job's runner (a worker process, or the app's inline thread)
starts as before and first waits for a slot: `JobStore.claim_slot` checks, in one IMMEDIATE SQLite
transaction, that fewer than `slots` local jobs are running and that no older local job is still
waiting, and only then marks the job running. So jobs start in the order they were created, whether
the CLI or the app (or several of each) started them. A waiting runner sleeps `POLL_S` between tries,
ends the job `cancelled` when it sees the cancel flag, and every `RECOVER_S` looks for runners that
died (`recover_jobs`), so a dead job never holds the queue: a running one is marked interrupted, a
queued one gets a new runner and keeps its place.

Hosted jobs (OpenAI, Azure) train on the provider's machines: they hold no slot and never wait.
"""

from __future__ import annotations

import math
import time
from typing import Any, Callable

from core.settings import Settings
from core.texts import text
from trainer.jobs.store import JobStore

# How often a waiting runner tries to take a slot.
POLL_S = 0.5
# How often a waiting runner looks for dead runners that would block the queue.
RECOVER_S = 5.0
# How many recent jobs the rough wait averages over.
RECENT_JOBS = 10


def wait_for_slot(settings: Settings, store: JobStore, job_id: str, *, pid: int | None, pid_started_at: float | None,
                  poll_s: float = POLL_S, on_wait: Callable[[int, int], None] | None = None) -> str:
    """Block until the queued local job holds a slot ("claimed"), was cancelled meanwhile ("cancel"), or ended ("ended").

    `on_wait(position, waiting)` is called whenever the job's place in the queue changes (for the log).
    """
    from trainer.jobs.control import recover_jobs  # control starts runners; this module is imported by them

    slots = settings.job_slots_in_use
    last_recover = time.monotonic()
    shown: tuple[int, int] | None = None
    while True:
        outcome = store.claim_slot(job_id, slots, pid=pid, pid_started_at=pid_started_at)
        if outcome != "wait":
            return outcome
        place = store.queue_position(job_id)
        if place is not None and place != shown and on_wait is not None:
            on_wait(*place)
        shown = place
        if time.monotonic() - last_recover >= RECOVER_S:
            recover_jobs(store, settings)
            last_recover = time.monotonic()
        time.sleep(poll_s)


def queue_details(store: JobStore, job_id: str, settings: Settings) -> dict[str, Any]:
    """`queue_position` (1 = next, None unless a local job waits for a slot), `queue_length` (local jobs
    waiting), `queue_wait_s` (rough seconds until it starts) and `queue_slots` (jobs training at once here).

    The wait is rough: the average length of the last few succeeded local jobs (None before the first),
    played forward over the slots from what the running jobs have left.
    """
    place = store.queue_position(job_id)
    if place is None:
        return {"queue_position": None, "queue_length": None, "queue_wait_s": None, "queue_slots": None}
    position, waiting = place
    durations = store.recent_durations(RECENT_JOBS)
    wait = None
    if durations:
        average = sum(durations) / len(durations)
        now = time.time()
        left = [max(0.0, average - (now - (job.started_at or now))) for job in store.training()]
        wait = estimate_wait_s(position, settings.job_slots_in_use, left, average)
    return {"queue_position": position, "queue_length": waiting, "queue_wait_s": wait, "queue_slots": settings.job_slots_in_use}


def estimate_wait_s(position: int, slots: int, running_left: list[float], average: float) -> float:
    """Seconds until the job at `position` starts: each slot frees when its job ends (a running one after
    what it has left, a waiting one `average` after it starts); the jobs ahead take the first free slots."""
    free_at = sorted(running_left)[:slots] + [0.0] * max(0, slots - len(running_left))
    start = 0.0
    for _ in range(position):
        free_at.sort()
        start = free_at[0]
        free_at[0] = start + average
    return float(math.ceil(start))


def describe_queue(job: dict[str, Any], lang: str) -> str | None:
    """A waiting local job's place and rough wait in words ("Queued: position 2 of 3, about 4 min"); None unless it waits."""
    if job.get("queue_position") is None:
        return None
    place = {"position": job["queue_position"], "waiting": job.get("queue_length") or job["queue_position"],
             "slots": job.get("queue_slots") or 1}
    if job.get("queue_wait_s") is None:
        return text(lang, "job.queued_position_no_estimate", **place)
    return text(lang, "job.queued_position", minutes=max(1, round(job["queue_wait_s"] / 60)), **place)
