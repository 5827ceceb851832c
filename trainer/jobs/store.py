"""The fine-tune job store: one SQLite file under TUTOR_DATA_DIR shared by the app, the CLI and workers.

A job moves queued → running → succeeded | failed | cancelled | interrupted; a failed or
interrupted local job may go back to queued to resume from its checkpoint, and a hosted job whose
runner vanished goes back to queued to be followed again (`claim_orphan`). A local job leaves
`queued` only through `claim_slot`: fewer than the machine's slots are training and it is the oldest
waiting local job (created_at, id), so jobs start in order whichever process runs them. Every status change
is one short transaction that checks the current status, so two processes cannot both finish
the same job. Metric rows are keyed by (job, step): a validation loss logged at the same step
as the training loss completes that row, and a resumed run overwrites only the steps it redoes.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

STATUSES = ("queued", "running", "succeeded", "failed", "cancelled", "interrupted")
FINISHED = frozenset({"succeeded", "failed", "cancelled", "interrupted"})
# Which statuses a job may move to from each status.
TRANSITIONS: dict[str, frozenset[str]] = {
    "queued": frozenset({"running", "failed", "cancelled", "interrupted"}),
    "running": frozenset({"succeeded", "failed", "cancelled", "interrupted"}),
    "failed": frozenset({"queued"}),
    "interrupted": frozenset({"queued"}),
    "succeeded": frozenset(),
    "cancelled": frozenset(),
}
# A job's folder: DATA_DIR/jobs/<id>/{config.json, train.jsonl, validation.jsonl, worker.log, checkpoints/, adapter/, merged/}
CONFIG_NAME = "config.json"
LOG_NAME = "worker.log"
CHECKPOINTS_DIR = "checkpoints"
ADAPTER_DIR = "adapter"
MERGED_DIR = "merged"
METRIC_FIELDS = ("step", "epoch", "train_loss", "eval_loss", "learning_rate", "tokens_per_s")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    backend TEXT NOT NULL,
    model TEXT NOT NULL,
    dataset TEXT NOT NULL,
    status TEXT NOT NULL,
    config TEXT NOT NULL,
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    error TEXT,
    pid INTEGER,
    pid_started_at REAL,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    adapter_path TEXT,
    merged_path TEXT,
    checkpoint TEXT,
    remote_id TEXT,
    fine_tuned_model TEXT,
    summary TEXT,
    runner TEXT NOT NULL DEFAULT 'process',
    slot INTEGER,
    hardware TEXT,
    remote_url TEXT
);
CREATE INDEX IF NOT EXISTS jobs_owner ON jobs(owner, created_at);
CREATE TABLE IF NOT EXISTS metrics (
    job_id TEXT NOT NULL,
    step INTEGER NOT NULL,
    epoch REAL,
    train_loss REAL,
    eval_loss REAL,
    learning_rate REAL,
    tokens_per_s REAL,
    extra TEXT,
    time REAL NOT NULL,
    PRIMARY KEY (job_id, step)
);
"""


class JobNotFound(LookupError):
    """No job with that id (for that learner)."""


class LearnerLimitReached(RuntimeError):
    """The learner already has as many queued or running jobs as allowed; `active` says how many."""

    def __init__(self, owner: str, active: int) -> None:
        super().__init__(f"Learner {owner!r} already has {active} queued or running job(s).")
        self.owner = owner
        self.active = active


class InvalidTransition(ValueError):
    """The job is not in a status that allows this change (e.g. cancelling a finished job)."""


@dataclass
class Job:
    id: str
    owner: str
    backend: str
    model: str
    dataset: str
    status: str
    config: dict[str, Any]
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    error: str | None = None
    pid: int | None = None
    pid_started_at: float | None = None
    cancel_requested: bool = False
    adapter_path: str | None = None
    merged_path: str | None = None
    checkpoint: str | None = None
    remote_id: str | None = None
    fine_tuned_model: str | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    runner: str = "process"  # "process": a worker process of its own; "inline": a thread of the app that started it;
    # "ray": a Ray job on a cluster; "hf-jobs": trained on Hugging Face Jobs, followed by a worker process here
    slot: int | None = None  # which of the machine's job slots a running local job holds (0-based)
    hardware: str | None = None  # what a remote runner was asked for ("1 GPU", "CPU", a Hugging Face flavour); None here
    remote_url: str | None = None  # where a remote runner runs it (the Ray cluster's address, the Hugging Face job's page), without credentials

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


def new_job_id() -> str:
    return f"ft-{secrets.token_hex(4)}"


class JobStore:
    """Jobs and their metrics in one SQLite file; safe to use from several processes at once."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = Path(db_path)
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")  # readers never block the worker's writes
            conn.executescript(_SCHEMA)
            _add_columns(conn)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # A connection per operation: short transactions, nothing shared across threads or forks.
        conn = sqlite3.connect(self.db_path, timeout=30, isolation_level=None)
        conn.row_factory = sqlite3.Row
        try:
            yield conn
        finally:
            conn.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")  # take the write lock before reading, so check-then-set is atomic
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    # -- jobs ---------------------------------------------------------------------------------

    def create(self, *, job_id: str, owner: str, backend: str, model: str, dataset: str, config: dict[str, Any],
               owner_limit: int | None = None, runner: str = "process") -> Job:
        """Record a queued job; with `owner_limit`, raise LearnerLimitReached when the owner already has
        that many queued or running jobs (checked in the insert's own transaction, so two quick starts
        cannot both pass)."""
        with self._transaction() as conn:
            if owner_limit is not None:
                active = conn.execute("SELECT COUNT(*) FROM jobs WHERE owner = ? AND status IN ('queued', 'running')",
                                      (owner,)).fetchone()[0]
                if active >= owner_limit:
                    raise LearnerLimitReached(owner, active)
            conn.execute(
                "INSERT INTO jobs (id, owner, backend, model, dataset, status, config, created_at, runner) "
                "VALUES (?, ?, ?, ?, ?, 'queued', ?, ?, ?)",
                (job_id, owner, backend, model, dataset, json.dumps(config), time.time(), runner),
            )
        return self.get(job_id)

    def get(self, job_id: str, owner: str | None = None) -> Job:
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None or (owner is not None and row["owner"] != owner):
            raise JobNotFound(f"No fine-tune job {job_id!r}" + (f" for learner {owner!r}." if owner else "."))
        return _row_to_job(row)

    def list(self, owner: str | None = None) -> list[Job]:
        """Jobs newest first; only `owner`'s when given."""
        query, args = "SELECT * FROM jobs", ()
        if owner is not None:
            query, args = query + " WHERE owner = ?", (owner,)
        with self._connect() as conn:
            rows = conn.execute(query + " ORDER BY created_at DESC", args).fetchall()
        return [_row_to_job(row) for row in rows]

    def active(self) -> list[Job]:
        """Queued and running jobs of every learner (the ones a worker should be behind)."""
        with self._connect() as conn:
            rows = conn.execute("SELECT * FROM jobs WHERE status IN ('queued', 'running')").fetchall()
        return [_row_to_job(row) for row in rows]

    def transition(self, job_id: str, status: str, *, error: str | None = None, **fields: Any) -> Job:
        """Move a job to `status` if its current status allows it; set timestamps and extra fields."""
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        with self._transaction() as conn:
            row = conn.execute("SELECT status FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                raise JobNotFound(f"No fine-tune job {job_id!r}.")
            current = row["status"]
            if status not in TRANSITIONS[current]:
                raise InvalidTransition(f"Job {job_id} is {current}; it cannot become {status}.")
            updates: dict[str, Any] = {"status": status, "error": error, **fields}
            now = time.time()
            if status == "running":
                updates["started_at"] = now
            if status in FINISHED:
                updates["finished_at"] = now
            if status == "queued":  # a resume starts a fresh attempt
                updates.update(finished_at=None, cancel_requested=0, pid=None, pid_started_at=None, slot=None)
            _update(conn, job_id, updates)
        return self.get(job_id)

    def finish(self, job_id: str, status: str, *, error: str | None = None, **fields: Any) -> Job | None:
        """End a job in a final state; None when it had already ended (the first end recorded wins).

        The one way every part (worker, inline runner, cancel, reaper, recovery) ends a job, so a
        race between a worker's own end and a cancel or a recovery never raises.
        """
        if status not in FINISHED:
            raise ValueError(f"{status!r} is not a final status ({', '.join(sorted(FINISHED))})")
        try:
            return self.transition(job_id, status, error=error, **fields)
        except InvalidTransition:
            return None

    def claim_orphan(self, job: Job, pid: int, pid_started_at: float | None) -> Job | None:
        """Queue `job` again for a new runner, recording `pid` (the claimer) as its process meanwhile.

        Only if it is still queued or running with the worker `job` names (the one found gone): of two
        processes recovering at once, one claims it and the other gets None, so one runner follows it.
        The remote id, metrics and summary stay; `started_at` is set again when the new runner starts.
        """
        with self._transaction() as conn:
            row = conn.execute("SELECT status, pid, pid_started_at FROM jobs WHERE id = ?", (job.id,)).fetchone()
            if row is None or row["status"] not in ("queued", "running") or (row["pid"], row["pid_started_at"]) != (job.pid, job.pid_started_at):
                return None
            _update(conn, job.id, {"status": "queued", "pid": pid, "pid_started_at": pid_started_at, "error": None})
        return self.get(job.id)

    def claim_slot(self, job_id: str, slots: int, *, pid: int | None, pid_started_at: float | None) -> str:
        """Try to start queued local job `job_id` in one of `slots` training slots; one transaction.

        Returns "claimed" (the job is now running, holding the lowest free slot, with `pid` as its
        runner), "wait" (all slots busy, or an older local job is still waiting: first come, first
        served), "cancel" (cancel was requested while it waited) or "ended" (it is no longer queued).
        """
        with self._transaction() as conn:
            row = conn.execute("SELECT status, cancel_requested, created_at FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                raise JobNotFound(f"No fine-tune job {job_id!r}.")
            if row["status"] != "queued":
                return "ended"
            if row["cancel_requested"]:
                return "cancel"
            held = [r["slot"] for r in conn.execute(f"SELECT slot FROM jobs WHERE {ON_THIS_MACHINE} AND status = 'running'")]
            if len(held) >= slots or _waiting_ahead(conn, job_id, row["created_at"]):
                return "wait"
            slot = min(set(range(slots)) - set(held))
            _update(conn, job_id, {"status": "running", "started_at": time.time(), "error": None, "pid": pid,
                                   "pid_started_at": pid_started_at, "slot": slot})
        return "claimed"

    def queue_position(self, job_id: str) -> tuple[int, int] | None:
        """(position, waiting) of a queued local job: 1 = next to start, of `waiting` local jobs in the queue;
        None for any other job (running, finished, hosted, or cancelled while it waited)."""
        with self._connect() as conn:
            row = conn.execute("SELECT status, backend, runner, cancel_requested, created_at FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None or row["status"] != "queued" or row["backend"] != "local" or row["runner"] not in LOCAL_RUNNERS \
                    or row["cancel_requested"]:
                return None
            ahead = _waiting_ahead(conn, job_id, row["created_at"])
            waiting = conn.execute(f"SELECT COUNT(*) FROM jobs WHERE {_WAITING}").fetchone()[0]
        return ahead + 1, waiting

    def training(self) -> list[Job]:
        """Local jobs holding a training slot now (running), oldest start first."""
        with self._connect() as conn:
            rows = conn.execute(f"SELECT * FROM jobs WHERE {ON_THIS_MACHINE} AND status = 'running' ORDER BY started_at").fetchall()
        return [_row_to_job(row) for row in rows]

    def recent_durations(self, limit: int = 10) -> list[float]:
        """Seconds from start to end of the latest succeeded local jobs (for a rough queue wait)."""
        with self._connect() as conn:
            rows = conn.execute(
                f"SELECT finished_at - started_at AS took FROM jobs WHERE {ON_THIS_MACHINE} AND status = 'succeeded' "
                "AND started_at IS NOT NULL AND finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT ?", (limit,)
            ).fetchall()
        return [max(0.0, row["took"]) for row in rows]

    def update(self, job_id: str, **fields: Any) -> None:
        """Set non-status fields (pid, adapter_path, remote_id, summary...)."""
        if "status" in fields:
            raise ValueError("use transition() to change a job's status")
        with self._transaction() as conn:
            _update(conn, job_id, fields)

    def request_cancel(self, job_id: str) -> Job:
        """Flag a queued or running job for cancellation; a finished job is an error."""
        with self._transaction() as conn:
            row = conn.execute("SELECT status FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                raise JobNotFound(f"No fine-tune job {job_id!r}.")
            if row["status"] in FINISHED:
                raise InvalidTransition(f"Job {job_id} already finished ({row['status']}); there is nothing to cancel.")
            conn.execute("UPDATE jobs SET cancel_requested = 1 WHERE id = ?", (job_id,))
        return self.get(job_id)

    def is_cancel_requested(self, job_id: str) -> bool:
        with self._connect() as conn:
            row = conn.execute("SELECT cancel_requested FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return bool(row and row["cancel_requested"])

    # -- metrics ------------------------------------------------------------------------------

    def add_metrics(self, job_id: str, step: int, **values: Any) -> None:
        """Record or complete the metric row for `step`; unknown keys go into `extra`."""
        known = {key: values.pop(key) for key in list(values) if key in METRIC_FIELDS and key != "step"}
        extra = json.dumps(values) if values else None
        columns = ["epoch", "train_loss", "eval_loss", "learning_rate", "tokens_per_s"]
        with self._transaction() as conn:
            conn.execute(
                f"INSERT INTO metrics (job_id, step, {', '.join(columns)}, extra, time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(job_id, step) DO UPDATE SET "
                + ", ".join(f"{c} = COALESCE(excluded.{c}, metrics.{c})" for c in columns)
                + ", extra = COALESCE(excluded.extra, metrics.extra), time = excluded.time",
                (job_id, step, *(known.get(c) for c in columns), extra, time.time()),
            )

    def metrics(self, job_id: str) -> list[dict[str, Any]]:
        with self._connect() as conn:
            rows = conn.execute("SELECT * FROM metrics WHERE job_id = ? ORDER BY step", (job_id,)).fetchall()
        out = []
        for row in rows:
            item = {key: row[key] for key in (*METRIC_FIELDS, "time")}
            if row["extra"]:
                item.update(json.loads(row["extra"]))
            out.append(item)
        return out


# Runners that train on this machine and so queue for its slots. The remote ones (a Ray job, a Hugging Face
# job; `trainer.jobs.control.REMOTE_RUNNERS`) train elsewhere, where their own scheduler queues them.
LOCAL_RUNNERS = ("process", "inline")
ON_THIS_MACHINE = f"backend = 'local' AND runner IN {LOCAL_RUNNERS!r}"
# Local jobs waiting for a training slot, in the order they start.
_WAITING = f"{ON_THIS_MACHINE} AND status = 'queued' AND cancel_requested = 0"


def _waiting_ahead(conn: sqlite3.Connection, job_id: str, created_at: float) -> int:
    return conn.execute(
        f"SELECT COUNT(*) FROM jobs WHERE {_WAITING} AND (created_at < ? OR (created_at = ? AND id < ?))",
        (created_at, created_at, job_id),
    ).fetchone()[0]


# Columns added after the first release, with their definitions: stores made before lack them
# (`runner`: all their jobs ran in worker processes; `slot`: no job held a numbered slot).
_ADDED_COLUMNS = {"runner": "TEXT NOT NULL DEFAULT 'process'", "slot": "INTEGER", "hardware": "TEXT", "remote_url": "TEXT"}


def _add_columns(conn: sqlite3.Connection) -> None:
    for name, definition in _ADDED_COLUMNS.items():
        if name in {row["name"] for row in conn.execute("PRAGMA table_info(jobs)")}:
            continue
        try:
            conn.execute(f"ALTER TABLE jobs ADD COLUMN {name} {definition}")
        except sqlite3.OperationalError:
            if name not in {row["name"] for row in conn.execute("PRAGMA table_info(jobs)")}:
                raise  # not another process adding it at the same moment


def _update(conn: sqlite3.Connection, job_id: str, fields: dict[str, Any]) -> None:
    if not fields:
        return
    allowed = set(Job.__dataclass_fields__) - {"id", "created_at"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"unknown job fields: {sorted(unknown)}")
    values = [json.dumps(v) if key in ("config", "summary") else v for key, v in fields.items()]
    assignments = ", ".join(f"{key} = ?" for key in fields)
    conn.execute(f"UPDATE jobs SET {assignments} WHERE id = ?", (*values, job_id))


def _row_to_job(row: sqlite3.Row) -> Job:
    data = dict(row)
    data["config"] = json.loads(data["config"])
    data["summary"] = json.loads(data["summary"]) if data["summary"] else {}
    data["cancel_requested"] = bool(data["cancel_requested"])
    return Job(**data)


def job_folder(data_dir: Path, job_id: str) -> Path:
    """Where a job keeps its config, data copies, log, checkpoints and adapter."""
    return Path(data_dir) / "jobs" / job_id


def find_last_checkpoint(folder: Path) -> Path | None:
    """The job's newest complete checkpoint (trainer_state.json, written last, is readable), if any."""
    checkpoints = Path(folder) / CHECKPOINTS_DIR
    if not checkpoints.is_dir():
        return None
    candidates = sorted(
        (path for path in checkpoints.glob("checkpoint-*") if path.name.rsplit("-", 1)[-1].isdigit()),
        key=lambda path: int(path.name.rsplit("-", 1)[-1]),
        reverse=True,
    )
    for path in candidates:
        try:
            json.loads((path / "trainer_state.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # killed while saving; an older one will do
        return path
    return None
