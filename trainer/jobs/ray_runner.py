"""The Ray job runner: a local-model job trains on a Ray cluster, submitted through Ray's Job Submission API.

`start_ray` submits `python -m trainer.jobs.worker JOB_ID` (the same worker as the `process` runner) with
`ray.job_submission.JobSubmissionClient` at `RAY_ADDRESS`: the project folder goes up as the job's
`working_dir`, the settings the worker reads go in `runtime_env.env_vars` (never a secret: a Ray job's
runtime env is shown on the cluster's dashboard, and a local LoRA job needs no key), and
`TrainConfig.gpus` becomes `entrypoint_num_gpus`. The worker writes its status, metric rows and
adapter into the job store and folder under `TUTOR_DATA_DIR`, so both sides must see that path (on one
machine they do; on a cluster, a shared mount such as NFS or a persistent volume at the same path).

A daemon thread of the starting process follows the Ray job (`get_job_status`), copies its log into the
job's `worker.log` and records an end the worker could not report (the Ray job failed or was stopped).
The job records that process as its runner (pid), so `recover_jobs` finds a follower gone and a new one
follows the same Ray job again (`remote_id` is its submission id). Cancel is `stop_job` (SIGTERM: the
worker records `cancelled`); a resume submits a new Ray job that starts from the last checkpoint.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import psutil
from pydantic import SecretStr

from core.settings import Settings, offline_environment
from trainer.jobs.config import load_config
from trainer.jobs.store import CONFIG_NAME, LOG_NAME, JobStore, job_folder

if TYPE_CHECKING:
    from ray.job_submission import JobSubmissionClient

PROJECT_ROOT = Path(__file__).resolve().parents[2]  # the repository root (this file is trainer/jobs/ray_runner.py)
ENTRYPOINT = "python -m trainer.jobs.worker {job_id}"
# Not needed by a training job, and big or private: kept out of the uploaded working dir.
UPLOAD_EXCLUDES = [".git", ".venv", ".cache", "data", "tests", "benches", "test-artifacts", "**/__pycache__"]
# Settings the worker on the cluster must not get: where the cluster is (Ray sets its own) and the runner choice.
NOT_SENT = {"RAY_ADDRESS", "TUTOR_JOB_RUNNER"}
POLL_S = 1.0
# The longest wait between polls while the cluster does not answer (the job keeps running there).
POLL_RETRY_MAX_S = 30.0
# After cancel's stop_job, how long the worker has to record `cancelled` itself (Ray's SIGKILL comes after 3 s).
STOP_GRACE_S = 15.0


class RayUnavailable(RuntimeError):
    """Ray is not configured or not installed here; the message says what to do."""


def client_for(settings: Settings) -> "JobSubmissionClient":
    """A Job Submission client for RAY_ADDRESS (raises RayUnavailable naming what is missing)."""
    if not settings.ray_address:
        raise RayUnavailable("No Ray cluster is configured: set RAY_ADDRESS to the cluster's job submission address "
                             "(http://HEAD:8265), and TUTOR_JOB_RUNNER=ray to send every local job there.")
    try:
        from ray.job_submission import JobSubmissionClient
    except ImportError:
        raise RayUnavailable("Ray is not installed: pip install -e '.[cluster]' (ray[default]).") from None
    try:
        return JobSubmissionClient(settings.ray_address)
    except (ConnectionError, RuntimeError) as exc:
        raise RayUnavailable(f"The Ray cluster at {public_address(settings.ray_address)} did not answer ({type(exc).__name__}). "
                             "Check that its head is running and RAY_ADDRESS names the dashboard port (8265).") from None


def public_address(address: str) -> str:
    """The address without user or password, fit for a record or a message."""
    parts = urlsplit(address if "://" in address else f"http://{address}")
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def ray_environment(settings: Settings) -> dict[str, str]:
    """The variables the worker on the cluster reads: the settings without secrets, and the offline switches set here."""
    secret = {str(field.validation_alias) for name, field in type(settings).model_fields.items()
              if isinstance(getattr(settings, name), SecretStr)}
    env = {name: value for name, value in settings.environment().items() if name not in secret | NOT_SENT}
    env.update({name: os.environ[name] for name in offline_environment() if name in os.environ})
    return env


def hardware(gpus: int) -> str:
    return f"{gpus} GPU" if gpus else "CPU"


def start_ray(settings: Settings, store: JobStore, job_id: str) -> None:
    """Submit the job to the cluster (or follow its Ray job again after a restart) and follow it in a thread.

    Raises RayUnavailable when the cluster cannot take it; the caller records the job failed.
    """
    client = client_for(settings)
    job = store.get(job_id)
    me = psutil.Process()
    submission_id = job.remote_id
    again = submission_id is not None  # followed again after a restart: the Ray job is already there
    if submission_id is None:
        config = load_config(job_folder(settings.data_dir, job_id) / CONFIG_NAME)
        submission_id = client.submit_job(
            entrypoint=ENTRYPOINT.format(job_id=job_id),
            runtime_env={"working_dir": str(PROJECT_ROOT), "excludes": UPLOAD_EXCLUDES, "env_vars": ray_environment(settings)},
            entrypoint_num_gpus=config.gpus or None,
            metadata={"finetune_tutor_job": job_id},
        )
        store.update(job_id, hardware=hardware(config.gpus))
    store.update(job_id, pid=me.pid, pid_started_at=me.create_time(), runner="ray", remote_id=submission_id,
                 remote_url=public_address(settings.ray_address or ""))
    if again and store.get(job_id).status == "queued" and not client.get_job_status(submission_id).is_terminal():
        # Recovery queued it to claim it; the worker is still training there and must be able to record its end.
        _mark_running(store, job_id)
    threading.Thread(target=follow, args=(settings, job_id, submission_id, again), daemon=True, name=f"ray-{job_id}").start()


def follow(settings: Settings, job_id: str, submission_id: str, again: bool = False) -> None:
    """Follow the Ray job to its end, copying its log; record the end when the worker could not.

    `again`: an earlier follower already copied part of the log; Ray's whole log is appended once more.
    """
    from ray.job_submission import JobStatus

    store = JobStore(settings.jobs_db)
    log = _LogCopy(job_folder(settings.data_dir, job_id) / LOG_NAME)
    if again:
        log.note(f"--- following Ray job {submission_id} again; its whole log so far follows ---\n")
    failures = 0
    client = None
    while True:
        try:
            client = client or client_for(settings)
            status = client.get_job_status(submission_id)
            log.update(client.get_job_logs(submission_id))
            failures = 0
        except Exception:  # the cluster is away for now: the job keeps running there, and so does following it
            failures += 1
            client = None
            time.sleep(min(POLL_RETRY_MAX_S, POLL_S * 2 ** min(failures, 5)))
            continue
        if status == JobStatus.RUNNING and store.get(job_id).status == "queued":
            _mark_running(store, job_id)  # followed again after a restart: the worker is already training
        if status.is_terminal():
            break
        time.sleep(POLL_S)
    job = store.get(job_id)
    if job.finished:
        return
    where = f"The Ray job {submission_id} on {public_address(settings.ray_address or '')}"
    if status == JobStatus.STOPPED and job.cancel_requested:
        store.finish(job_id, "cancelled")
    elif status == JobStatus.STOPPED:
        store.finish(job_id, "interrupted", error=f"{where} was stopped before the job finished. Resume the job to "
                                                  "continue from its last checkpoint.")
    else:
        message = client.get_job_info(submission_id).message or status.value
        from core.openai_api import configured_secrets, redact

        store.finish(job_id, "failed", error=redact(
            f"{where} ended {status.value} before the worker reported: {message.strip()[-500:]} Its log is in the job's "
            "worker.log. Resume the job to continue from its last checkpoint.", configured_secrets(settings)))


def stop(settings: Settings, submission_id: str) -> bool:
    """Cancel: Ray sends the worker SIGTERM (then SIGKILL); True if Ray knew the job still running."""
    return bool(client_for(settings).stop_job(submission_id))


def _mark_running(store: JobStore, job_id: str) -> None:
    from trainer.jobs.store import InvalidTransition

    try:
        store.transition(job_id, "running")
    except InvalidTransition:
        pass  # the worker got there first, or the job ended meanwhile


class _LogCopy:
    """Appends what is new in a Ray job's log to the job's worker.log (a resumed job's attempts follow each other)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.copied = 0

    def note(self, line: str) -> None:
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line)

    def update(self, text: str) -> None:
        if len(text) <= self.copied:
            return
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(text[self.copied:])
        self.copied = len(text)
