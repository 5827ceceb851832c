"""Start, cancel, resume and recover fine-tune jobs; the one implementation behind chat, CLI and UI.

`start_job` checks the config and data and the learner's limit (`TUTOR_JOBS_PER_LEARNER` queued or
running jobs), copies the data into the job's folder (later edits to the
dataset do not change a running job), records the job as queued and starts
`python -m trainer.jobs.worker JOB_ID` in its own session, its output going to `worker.log` (never to a
pipe nobody reads). A local job's runner then waits for one of the machine's `TUTOR_JOB_SLOTS` training
slots, in creation order (`trainer.jobs.job_queue`). Nothing here imports torch (off ZeroGPU), so the CLI returns at once.

A worker that dies without reporting is found by its pid (plus the process start time, against pid
reuse): the process that launched it records `failed` with the signal; any other process marks it
`interrupted` the next time it looks (`recover_jobs`), except a hosted job that already has its
remote id: that one is followed again by a new runner (`reattach`), since the provider kept training it.

`settings.job_runner_in_use` (or the caller's `runner`, see `pick_runner`) picks the runner, recorded with the
job; `RUNNERS` below is the one table of them: `process` (the worker above), `inline` (the same job logic in a
thread of this process, see `trainer.jobs.inline_runner`; what ZeroGPU needs), `ray` (the same worker as a Ray
job on the cluster of RAY_ADDRESS, see `trainer.jobs.ray_runner`) or `hf-jobs` (trained on Hugging Face Jobs,
see `trainer.jobs.hf_jobs_runner`; a worker process here only follows it). Ray and hf-jobs are the remote
runners (`REMOTE_RUNNERS`): local-model jobs only (a hosted job is followed by a worker process here), no
training slot of this machine, and cancel, recovery and resume reach the remote job by its id. An inline or
Ray job's pid is the app's (its runner thread), so cancel never signals it: the training loop sees the
store's cancel flag, a Ray job gets Ray's `stop_job` and a Hugging Face job the Hub's cancel.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Callable

import psutil

from core.settings import Settings, offline_environment, variable_names
from core.texts import text
from trainer.jobs.store import (
    CONFIG_NAME,
    LOCAL_RUNNERS,
    LOG_NAME,
    Job,
    JobStore,
    LearnerLimitReached,
    find_last_checkpoint,
    job_folder,
    new_job_id,
)
# Imported here, not when a job starts: on ZeroGPU its GPU function must exist before the app launches.
from trainer.jobs.inline_runner import start_inline
from trainer.jobs.ray_runner import RayUnavailable, start_ray
from trainer.jobs import ray_runner
from trainer.jobs.job_queue import queue_details
from trainer.jobs.config import HOSTED_BACKENDS, TrainConfig, holdout_count, save_config
from trainer.jobs.overfitting import detect_overfitting
from trainer.evaluation.report import load_report, report_summary

PROJECT_ROOT = Path(__file__).resolve().parents[2]  # the repository root (this file is trainer/jobs/control.py)
CANCEL_GRACE_S = 10.0
# A queued job without a worker pid is still being launched for this long.
LAUNCH_WINDOW_S = 60.0
# Locally one example is enough to try things out (the validator enforces the API's 10 for OpenAI).
MIN_EXAMPLES = {"local": 1, "openai": 10, "azure": 10}
INTERRUPTED_REASON = (
    "The process running the job exited without reporting (the machine or the app restarted, or the process was killed). "
    "Resume the job to continue from its last checkpoint."
)


class JobSetupError(ValueError):
    """The job cannot start as asked; the message says what to change."""


def open_store(settings: Settings) -> JobStore:
    return JobStore(settings.jobs_db)


# -- starting ---------------------------------------------------------------------------------


def start_job(settings: Settings, config: TrainConfig, owner: str = "default", *, today: date | None = None, lang: str = "en",
              runner: str | None = None) -> Job:
    """Check, record and launch a job in the background; returns the queued job at once.

    `today` (default: today, UTC) decides whether OpenAI still takes new jobs on its own platform
    (OPENAI_BASE_URL unset or on openai.com); `lang` is the language of that refusal and of a runner
    that is not set up. `runner` (default: `settings.job_runner_in_use`) is where the job runs: "ray" on the
    cluster, "hf-jobs" on a GPU at Hugging Face Jobs, whatever TUTOR_JOB_RUNNER says.
    """
    config = config.with_base_model(settings.local_model)
    runner = pick_runner(settings, config.backend, runner, lang)
    if config.backend == "openai" and settings.openai_api_key is None:
        raise JobSetupError("OpenAI fine-tuning needs an API key: set OPENAI_API_KEY (and OPENAI_BASE_URL for "
                            "an OpenAI-compatible endpoint), or train locally with --backend local.")
    if config.backend == "azure" and (settings.azure_openai_api_key is None or not settings.azure_openai_endpoint):
        raise JobSetupError("Azure OpenAI fine-tuning needs AZURE_OPENAI_ENDPOINT (https://YOUR-RESOURCE.openai.azure.com) and "
                            "AZURE_OPENAI_API_KEY (OPENAI_API_VERSION is optional), or train locally with --backend local.")
    if config.backend == "openai" and _on_openai_platform(settings):
        from trainer.data.prices import load_prices
        from trainer.jobs.openai_backend import JobsClosed, check_accepting_jobs

        try:
            check_accepting_jobs(config.base_model or "", today, load_prices(settings.data_dir), lang)
        except JobsClosed as exc:
            raise JobSetupError(str(exc)) from None
    model = config.base_model if config.backend in HOSTED_BACKENDS else None
    examples = check_dataset_file(config.train_file, config.backend, "training", model)
    if config.validation_file is not None:
        check_dataset_file(config.validation_file, config.backend, "validation", model)
    store = open_store(settings)
    _check_learner_limit(store, settings, owner, lang)  # early, before copying data; the insert checks again
    job_id = new_job_id()
    folder = job_folder(settings.data_dir, job_id).resolve()
    folder.mkdir(parents=True, exist_ok=False)
    label = config.dataset or str(config.train_file)
    if config.validation_file is not None:
        files = {"train_file": _copy_into(config.train_file, folder / "train.jsonl"),
                 "validation_file": _copy_into(config.validation_file, folder / "validation.jsonl"), "held_out": 0}
    else:
        files = _split_into(config, examples, folder)
    config = config.model_copy(update={"dataset": label, **files})
    config = config.with_examples(examples - config.held_out)
    save_config(config, folder / CONFIG_NAME)
    try:
        store.create(
            job_id=job_id, owner=owner, backend=config.backend, model=config.base_model or "",
            dataset=label, config=config.model_dump(mode="json"), owner_limit=settings.jobs_per_learner, runner=runner,
        )
    except LearnerLimitReached as exc:  # another start by the same learner got in first
        shutil.rmtree(folder, ignore_errors=True)
        raise JobSetupError(text(lang, "job.limit", active=exc.active, limit=settings.jobs_per_learner)) from None
    try:
        _launch(settings, store, job_id)
    except (OSError, RuntimeError) as exc:  # RuntimeError: no thread could be started
        store.finish(job_id, "failed", error=f"Could not start the job's runner: {exc}")
        raise JobSetupError(f"Could not start the runner for job {job_id}: {exc}") from None
    return store.get(job_id)


def pick_runner(settings: Settings, backend: str, asked: str | None, lang: str = "en") -> str:
    """The runner a new job is recorded with: the one asked for, else the configured one.

    The remote runners (Ray, Hugging Face Jobs) train local-model jobs; a hosted job trains on the provider's
    machines, so with TUTOR_JOB_RUNNER=ray or hf-jobs it is followed by a worker process here (asking for a
    remote runner explicitly is an error). A remote runner that is not set up is an error naming what is missing.
    """
    if asked is not None and asked not in RUNNERS:
        raise JobSetupError(f"Unknown runner {asked!r}: one of {', '.join(RUNNERS)}.")
    if asked in REMOTE_RUNNERS and backend in HOSTED_BACKENDS:
        raise JobSetupError(text(lang, f"job.{asked}_hosted", backend=backend))
    runner = asked or settings.job_runner_in_use
    if runner in REMOTE_RUNNERS and backend in HOSTED_BACKENDS:
        return "process"
    if runner == "ray" and not settings.ray_address:
        raise JobSetupError(text(lang, "job.ray_not_configured"))
    if runner == "hf-jobs":
        from trainer.jobs.hf_jobs_runner import missing_settings

        missing = missing_settings(settings)
        if missing:
            raise JobSetupError(text(lang, "job.hf_missing", names=", ".join(missing)))
    return runner


def _check_learner_limit(store: JobStore, settings: Settings, owner: str, lang: str) -> None:
    """Refuse a start beyond TUTOR_JOBS_PER_LEARNER; a job whose runner died does not count (it is recovered first)."""
    def active() -> int:
        return sum(1 for job in store.active() if job.owner == owner)

    if active() >= settings.jobs_per_learner:
        recover_jobs(store, settings)
    if active() >= settings.jobs_per_learner:
        raise JobSetupError(text(lang, "job.limit", active=active(), limit=settings.jobs_per_learner))


def _on_openai_platform(settings: Settings) -> bool:
    """OpenAI's own API (no OPENAI_BASE_URL, or one on openai.com): where OpenAI's closure dates apply.
    Another OpenAI-compatible endpoint keeps its own schedule."""
    from urllib.parse import urlsplit

    host = urlsplit(settings.openai_base_url).hostname or "" if settings.openai_base_url else "api.openai.com"
    return host == "openai.com" or host.endswith(".openai.com")


def start_notices(settings: Settings, config: TrainConfig, lang: str = "en") -> list[str]:
    """What to tell the learner when a job starts: OpenAI's closure dates, or Azure's hourly billing; none for local jobs."""
    if config.backend not in HOSTED_BACKENDS:
        return []
    from trainer.data.prices import load_prices
    from trainer.jobs.openai_backend import start_notices as notices

    config = config.with_base_model(settings.local_model)
    return notices(config.backend, config.base_model or "", lang, load_prices(settings.data_dir))


def saved_dataset_file(settings: Settings, owner: str, name: str) -> Path:
    """The file of the owner's saved dataset `name`, read in place: `start_job` copies it once."""
    from trainer.data.examples import DatasetError
    from trainer.data.store import learner_store

    try:
        store = learner_store(settings, owner)
        if store.exists(name):
            return store.path(name)
    except DatasetError:
        pass  # not a valid dataset name either
    raise JobSetupError(
        f"No file {name!r} and no saved dataset of that name for learner {owner!r}. "
        "Give a JSONL path or a dataset name (python -m trainer dataset list)."
    )


def resolve_training_data(settings: Settings, owner: str, data: str | Path) -> tuple[Path, str | None]:
    """What the CLI's DATA names: a JSONL path as given, or else a saved dataset (file, dataset name or None)."""
    path = Path(data).expanduser()
    if path.is_file():
        return path, None
    return saved_dataset_file(settings, owner, str(data)), str(data)


def check_dataset_file(path: Path, backend: str, what: str, model: str | None = None) -> int:
    """Raise JobSetupError unless `path` is chat-format JSONL the backend accepts; return the example count.

    The dataset workshop's validator decides (as strictly as the OpenAI API); only its 10-example
    minimum is relaxed for local jobs, which can try things out on a single example.
    """
    from trainer.data.examples import DatasetError
    from trainer.data.tokens import DEFAULT_MODEL
    from trainer.validation.report import validate_file

    path = Path(path)
    if not path.is_file():
        raise JobSetupError(f"The {what} file {path} does not exist. Give a JSONL path or a dataset name.")
    purpose = "train" if what == "training" else "validation"
    try:
        report = validate_file(path, model or DEFAULT_MODEL, purpose=purpose, tokens=False, duplicates=False, max_error_lines=5)
    except DatasetError:  # a model the token tables do not know: the format rules are the same
        report = validate_file(path, DEFAULT_MODEL, purpose=purpose, tokens=False, duplicates=False, max_error_lines=5)
    ignored = {"too_few_examples"} if backend == "local" else set()
    count = sum(n for name, n in report.errors.items() if name not in ignored)
    if count:
        shown = "\n".join(
            f"{f'line {e.line}: ' if e.line else ''}{e.message} — {e.fix}" for e in report.error_lines if e.error not in ignored
        )
        raise JobSetupError(f"The {what} file {path.name} has {count} error(s); fix them first:\n{shown}")
    if report.examples < MIN_EXAMPLES.get(backend, 1) and what == "training":
        raise JobSetupError(f"The {what} file {path.name} has no examples; add at least one chat example.")
    return report.examples


def _copy_into(source: Path, target: Path) -> Path:
    """The job's own copy as clean JSONL (a JSON array, BOM or blank lines normalised), written atomically."""
    from trainer.data.formats import iter_records, write_jsonl

    write_jsonl(target, (record.value for record in iter_records(source) if not record.blank and record.error is None))
    return target


def _split_into(config: TrainConfig, examples: int, folder: Path) -> dict[str, Any]:
    """Copy the data into the job's folder, holding back `config.holdout` of it as the validation file.

    The held-back examples give the validation loss during training and the evaluation's held-out set.
    Examples that teach the same reply go to the same side. Nothing is held back where the rest would fall
    below the backend's minimum.
    """
    from trainer.data.formats import iter_records, write_jsonl
    from trainer.data.split import held_back, reply_key

    held = holdout_count(examples, config.holdout)
    records = [record.value for record in iter_records(config.train_file) if not record.blank and record.error is None] if held else []
    # Rewordings of one question (the same reply) are held back together: see trainer.data.split.
    chosen = held_back([reply_key(value) for value in records], held, config.seed)
    held = len(chosen)
    if held == 0 or len(records) - held < max(1, MIN_EXAMPLES.get(config.backend, 1)):
        return {"train_file": _copy_into(config.train_file, folder / "train.jsonl"), "validation_file": None, "held_out": 0}
    write_jsonl(folder / "train.jsonl", (value for index, value in enumerate(records) if index not in chosen))
    write_jsonl(folder / "validation.jsonl", (value for index, value in enumerate(records) if index in chosen))
    return {"train_file": folder / "train.jsonl", "validation_file": folder / "validation.jsonl", "held_out": held}


def _launch(settings: Settings, store: JobStore, job_id: str) -> None:
    """Start the job's runner: a job on a remote runner stays there (its checkpoints are there); one on this
    machine goes to the runner configured now (after a restart on ZeroGPU, inline)."""
    job = store.get(job_id)
    if job.runner in REMOTE_RUNNERS:
        runner = job.runner
    else:  # a hosted job recorded "process" under a remote TUTOR_JOB_RUNNER stays a local process
        configured = settings.job_runner_in_use
        runner = "process" if configured in REMOTE_RUNNERS else configured
    RUNNERS[runner](settings, store, job_id)


def _spawn_worker(settings: Settings, store: JobStore, job_id: str, runner: str = "process") -> None:
    folder = job_folder(settings.data_dir, job_id)
    env = worker_environment(settings)
    if runner == "hf-jobs":
        env["HF_HUB_OFFLINE"] = "0"  # it talks to the Hub (and loads no model)
    with open(folder / LOG_NAME, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "trainer.jobs.worker", job_id],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: cancel signals the worker and its children only
            env=env,
            cwd=PROJECT_ROOT,
        )
    try:
        started = psutil.Process(process.pid).create_time()
    except psutil.NoSuchProcess:
        started = None
    store.update(job_id, pid=process.pid, pid_started_at=started, runner=runner)
    threading.Thread(target=_reap, args=(process, store, job_id), daemon=True, name=f"reap-{job_id}").start()


def _follow_hf_job(settings: Settings, store: JobStore, job_id: str) -> None:
    """A worker process here submits the job to Hugging Face Jobs (once) and follows it there."""
    _spawn_worker(settings, store, job_id, runner="hf-jobs")


# Where a job can run: each runner starts a recorded job and returns at once.
RUNNERS: dict[str, Callable[[Settings, JobStore, str], None]] = {
    "process": _spawn_worker,
    "inline": start_inline,
    "ray": start_ray,
    "hf-jobs": _follow_hf_job,
}
# Runners off this machine: they take no local training slot (the store queues only LOCAL_RUNNERS), and a
# job keeps its runner when resumed.
REMOTE_RUNNERS = frozenset(RUNNERS) - frozenset(LOCAL_RUNNERS)


def worker_environment(settings: Settings) -> dict[str, str]:
    """This process's environment with the settings the worker must see, in the one form `load_settings` reads."""
    env = {name: value for name, value in os.environ.items() if name not in variable_names()}
    for name, value in offline_environment().items():
        env.setdefault(name, value)
    env.update(settings.environment())
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    return env


def _reap(process: subprocess.Popen, store: JobStore, job_id: str) -> None:
    """Wait for our worker (no zombie is left) and record a death it could not report itself."""
    code = process.wait()
    try:
        job = store.get(job_id)
    except Exception:
        return
    if job.finished or job.pid != process.pid:
        return
    if job.cancel_requested:
        store.finish(job_id, "cancelled")
        return
    how = f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited with code {code}"
    store.finish(job_id, "failed", error=f"The worker process {how} before reporting (out of memory, or killed). "
                                          "Resume the job to continue from its last checkpoint.")


# -- liveness, recovery, cancel, resume -------------------------------------------------------


def worker_alive(job: Job) -> bool:
    """Is the job's worker process still there (same pid and start time, not a zombie)?"""
    if job.pid is None:
        return False
    try:
        process = psutil.Process(job.pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        return job.pid_started_at is None or abs(process.create_time() - job.pid_started_at) < 1.0
    except psutil.Error:
        return False


def recover_jobs(store: JobStore, settings: Settings | None = None) -> list[Job]:
    """Deal with queued/running jobs whose worker is gone; return them.

    With `settings`, a hosted job that already has its remote id is followed again by a new runner
    (`reattach`): the provider kept training it while nobody watched, and it ends when the provider
    says so; a local job still waiting in the queue (never started training) gets a new runner too and
    keeps its place, which is its creation time. Any other orphan (and every one without `settings`)
    is marked interrupted, to be resumed.
    """
    recovered = []
    now = time.time()
    for job in store.active():
        if worker_alive(job):
            continue
        if job.status == "queued" and job.pid is None and now - job.created_at < LAUNCH_WINDOW_S:
            continue  # its launcher is still starting the worker
        if settings is not None and not job.cancel_requested and (
            (_followed_remotely(job) and job.remote_id) or (job.backend == "local" and job.status == "queued")
        ):
            ended = reattach(settings, store, job)
        else:
            ended = store.finish(job.id, "interrupted", error=INTERRUPTED_REASON)
        if ended is not None:  # else it finished meanwhile, or another process got to it first
            recovered.append(ended)
    return recovered


def reattach(settings: Settings, store: JobStore, job: Job) -> Job | None:
    """Start a new runner for an orphan; None if another process did.

    A hosted job is followed again by `job.remote_id` (no new remote job); a queued local job waits
    for its slot again, in its old place.

    The claim records this process as the job's runner until the new one starts, so nobody else
    takes the job meanwhile; a runner that cannot start leaves the job interrupted, to be resumed.
    """
    me = psutil.Process()
    claimed = store.claim_orphan(job, me.pid, me.create_time())
    if claimed is None:
        return None
    try:
        _launch(settings, store, job.id)
    except (OSError, RuntimeError) as exc:  # RuntimeError: no thread could be started
        return store.finish(job.id, "interrupted", error=f"{INTERRUPTED_REASON} Following it again failed: {exc}")
    return store.get(job.id)


def cancel_job(settings: Settings, job_id: str, owner: str | None = None, grace_s: float = CANCEL_GRACE_S) -> Job:
    """Stop a queued or running job and record it cancelled; cancelling a finished job is an error."""
    store = open_store(settings)
    store.get(job_id, owner)
    job = store.request_cancel(job_id)
    alive = worker_alive(job)
    if job.runner == "ray" and job.remote_id:
        _stop_ray(settings, store, job, grace_s)
    elif alive and job.runner == "inline":
        # Its pid is the app's, never to be signalled: the training callback (every step) and the
        # OpenAI poll loop see the flag and end the job themselves.
        _wait_finished(store, job_id, grace_s)
    elif alive:
        _signal_group(job.pid, signal.SIGTERM)
        if not _wait_gone(job, grace_s):
            _signal_group(job.pid, signal.SIGKILL)
            _wait_gone(job, 5.0)
    elif _followed_remotely(job) and job.remote_id:
        _cancel_remote(settings, job)  # no worker left to do it
    if not store.get(job_id).finished:
        store.finish(job_id, "cancelled")
    return store.get(job_id)


def _signal_group(pid: int | None, sig: signal.Signals) -> None:
    if pid is None:
        return
    try:
        group = os.getpgid(pid)
        if group == os.getpgid(0):  # never signal our own group
            os.kill(pid, sig)
        else:
            os.killpg(group, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _wait_gone(job: Job, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not worker_alive(job):
            return True
        time.sleep(0.1)
    return not worker_alive(job)


def _wait_finished(store: JobStore, job_id: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if store.get(job_id).finished:
            return True
        time.sleep(0.1)
    return store.get(job_id).finished


def _stop_ray(settings: Settings, store: JobStore, job: Job, grace_s: float) -> None:
    """Ray's stop_job sends the worker SIGTERM, and it records `cancelled` itself; a cluster that cannot be
    reached leaves the Ray job as it is, which the job's record then says."""
    try:
        ray_runner.stop(settings, job.remote_id or "")
    except (RayUnavailable, OSError, RuntimeError) as exc:
        store.finish(job.id, "cancelled", error=f"Cancelled here, but stopping the Ray job {job.remote_id} failed: {exc} "
                                                "Stop it on the cluster (ray job stop).")
        return
    _wait_finished(store, job.id, max(grace_s, ray_runner.STOP_GRACE_S))


def _followed_remotely(job: Job) -> bool:
    """Does the job train elsewhere (OpenAI, Azure, a Ray cluster, Hugging Face Jobs), so that a new runner can
    follow it by its remote id?"""
    return job.backend in HOSTED_BACKENDS or job.runner in REMOTE_RUNNERS


def _remote_ended(job: Job) -> bool:
    """Has the job's remote run ended for good, so that resuming it submits a new one? A Ray job that ended is
    done on the cluster; a Hugging Face job is done once the Hub says so (else it is followed again)."""
    if job.runner == "ray":
        return True
    return job.runner == "hf-jobs" and job.summary.get("remote_status") in ("ERROR", "CANCELED", "DELETED")


def _cancel_remote(settings: Settings, job: Job) -> None:
    """Cancel a hosted or Hugging Face job that no worker follows any more (a Ray job has `_stop_ray`)."""
    if job.runner == "hf-jobs":
        from trainer.jobs import hf_jobs_runner

        try:
            api = hf_jobs_runner.hub_api(settings)
            hf_jobs_runner.cancel(settings, api, job.summary.get("namespace") or settings.hf_namespace, job.remote_id or "")
        except hf_jobs_runner.HubAPIError as exc:  # the job still ends cancelled here; the record says what to check
            store = open_store(settings)
            store.update(job.id, summary={**job.summary, "cancel_error": f"{exc} Cancel the Hugging Face job {job.remote_id} "
                                                                          "on the Hub (hf jobs cancel ID) if it still runs."})
        return
    from trainer.jobs import openai_backend

    openai_backend.cancel(openai_backend.client_for(settings, job.backend), job.remote_id or "")


def resume_job(settings: Settings, job_id: str, owner: str | None = None) -> Job:
    """Restart a failed or interrupted job: a local one from its last checkpoint, a hosted one re-attaches."""
    store = open_store(settings)
    recover_jobs(store, settings)
    job = store.get(job_id, owner)
    if job.status not in ("failed", "interrupted"):
        raise JobSetupError(f"Job {job_id} is {job.status}; only a failed or interrupted job can be resumed.")
    checkpoint = find_last_checkpoint(job_folder(settings.data_dir, job_id)) if job.backend == "local" else None
    # A remote job that ended is done there: the resume is a new remote job. A hosted job, or a Hugging Face
    # job still running (only its follower here died), is followed again by its id.
    fresh = {"remote_id": None} if _remote_ended(job) else {}
    store.transition(job_id, "queued", checkpoint=str(checkpoint) if checkpoint else None, **fresh)
    try:
        _launch(settings, store, job_id)
    except (OSError, RuntimeError) as exc:
        store.finish(job_id, "failed", error=f"Could not start the job's runner: {exc}")
        raise JobSetupError(f"Could not start the runner for job {job_id}: {exc}") from None
    return store.get(job_id)


# -- reading ----------------------------------------------------------------------------------


def job_status(settings: Settings, job_id: str, owner: str | None = None) -> dict[str, Any]:
    """The job as the `status --json` contract: id, status, backend, model, metrics, error, adapter_path, ..."""
    store = open_store(settings)
    recover_jobs(store, settings)
    job = store.get(job_id, owner)
    return describe_job(job, store.metrics(job_id), settings, store)


def list_jobs(settings: Settings, owner: str = "default") -> list[dict[str, Any]]:
    """The learner's jobs, newest first, without metric rows (see `job_status` for those)."""
    store = open_store(settings)
    recover_jobs(store, settings)
    return [describe_job(job, None, settings, store) for job in store.list(owner)]


def job_metrics(settings: Settings, job_id: str, owner: str | None = None) -> list[dict[str, Any]]:
    store = open_store(settings)
    store.get(job_id, owner)
    return store.metrics(job_id)


def describe_job(job: Job, metrics: list[dict[str, Any]] | None, settings: Settings, store: JobStore) -> dict[str, Any]:
    """The job's read model, with its place in the queue (`queue_position`: 1 = next to
    start, None unless it is a local job waiting for a slot; `queue_length`, `queue_wait_s`, `queue_slots`)."""
    config = TrainConfig.model_validate(job.config)
    out: dict[str, Any] = {
        "id": job.id,
        "status": job.status,
        "backend": job.backend,
        "model": job.model,
        "error": job.error,
        "adapter_path": job.adapter_path,
        "merged_path": job.merged_path,
        "fine_tuned_model": job.fine_tuned_model,
        "runner": job.runner,
        "remote_id": job.remote_id,
        "hardware": job.hardware,
        "remote_url": job.remote_url,
        "hub_repo": job.summary.get("hub_repo"),
        "owner": job.owner,
        "dataset": job.dataset,
        "hyperparameters": config.hyperparameters(),
        "created_at": _iso(job.created_at),
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
        "cancel_requested": job.cancel_requested,
        "resumed_from": job.checkpoint,
        "summary": job.summary,
        "log_path": str(job_folder(settings.data_dir, job.id) / LOG_NAME),
    }
    out.update(queue_details(store, job.id, settings))
    if metrics is not None:
        out["metrics"] = metrics
        folder = job_folder(settings.data_dir, job.id)
        out["overfitting"] = detect_overfitting(metrics, folder) if job.backend == "local" else None
        out["evaluation"] = report_summary(load_report(folder))
    return out


def _iso(timestamp: float | None) -> str | None:
    return datetime.fromtimestamp(timestamp, timezone.utc).isoformat(timespec="seconds") if timestamp else None
