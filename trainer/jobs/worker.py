"""The job worker: `python -m trainer.jobs.worker JOB_ID` runs one recorded job to its end.

It runs in its own process group (started by `trainer.jobs.control`), so the app and the CLI never
wait on it. A local job first waits for one of the machine's training slots (`trainer.jobs.job_queue`,
which marks it running); a hosted job is marked running at once. It trains locally or drives the OpenAI job, records metrics as
they come, and ends the job succeeded, failed (with the reason) or cancelled. A hosted job's polls
ride out provider hiccups (no answer, 429, 5xx) with backoff, the job staying running with the last
error in its summary (`trainer.jobs.hiccups`); only the provider's verdict ends it. SIGTERM means
cancel: the handler raises `JobCancelled` at once, wherever the worker is (waiting in the queue too).
With several GPUs and one slot the worker re-executes itself under `accelerate launch` (same pid, so
the job record stays right); with several slots each job trains on its slot's GPU.

A job with `runner="hf-jobs"` trains on Hugging Face Jobs: the worker submits it (`trainer.jobs.hf_jobs_runner`),
follows its log into metric rows, downloads the adapter at the end, and takes no training slot here.

The inline runner (`trainer.jobs.inline_runner`) calls the same `run_job` in a thread of the app with
`inline=True`: no signal handler (signals belong to the app) and no re-exec; cancel then comes only
through the store's flag, which the training callback and the OpenAI poll loop check.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil

from core.settings import Settings, apply_offline_environment, load_settings
from trainer.jobs.store import ADAPTER_DIR, CONFIG_NAME, InvalidTransition, Job, JobStore, job_folder
from trainer.jobs.config import TrainConfig, load_config

if TYPE_CHECKING:
    from trainer.jobs.openai_backend import RemoteState

ERROR_LIMIT = 1500
# How many of the OpenAI job's event messages the job record keeps for the UI.
EVENT_MESSAGES_KEPT = 20
# How often a long wait between polls looks at the cancel flag.
CANCEL_CHECK_S = 1.0
# Our own errors whose message already says what happened and what to do.
SELF_EXPLAINED = {"OpenAIAPIError", "HubAPIError", "ModelNotAvailable", "DatasetError", "JobSetupError"}


class JobCancelled(Exception):
    """The job was asked to stop (SIGTERM or the cancel flag in the store)."""


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m trainer.jobs.worker JOB_ID", file=sys.stderr)
        return 2
    apply_offline_environment()
    return run_job(load_settings(), args[0])


def run_job(settings: Settings, job_id: str, *, inline: bool = False) -> int:
    """Run the job to a final status; the exit code is 0 unless it failed.

    `inline`: running in a thread of another program (the app), not in a worker process of its own.
    """
    store = JobStore(settings.jobs_db)
    folder = job_folder(settings.data_dir, job_id)
    try:
        config = load_config(folder / CONFIG_NAME)
    except (OSError, ValueError) as exc:
        store.finish(job_id, "failed", error=f"The job's {CONFIG_NAME} could not be read: {exc}")
        return 1
    main_process = os.environ.get("RANK", "0") == "0"
    if not inline:
        signal.signal(signal.SIGTERM, _raise_cancelled)
    me = psutil.Process()
    on_hub = store.get(job_id).runner == "hf-jobs"  # trained on Hugging Face Jobs: no slot here
    try:
        if config.backend == "local" and not on_hub:
            # A local job trains once it holds one of the machine's slots (`trainer.jobs.job_queue`);
            # processes under `accelerate launch` (LOCAL_RANK set) run a job their launcher already started.
            if "LOCAL_RANK" not in os.environ:
                job = store.get(job_id)
                if job.runner == "ray":  # the cluster scheduled it: no slot of the app's machine to wait for
                    if not _start_on_cluster(store, job_id):
                        return 0
                    _relaunch_distributed_if_needed(job_id)
                    job = store.get(job_id)
                claimed = (inline or job.runner == "ray") and job.status == "running"  # its runner got it going
                if not claimed and not _take_slot(settings, store, job_id, me):
                    return 0
                if inline:
                    store.update(job_id, pid=me.pid, pid_started_at=me.create_time())  # on ZeroGPU: the GPU worker
                elif job.runner != "ray":
                    _place_on_gpus(settings, store.get(job_id))
                    _relaunch_distributed_if_needed(job_id)  # exec would replace the app
        elif main_process:
            try:
                store.transition(job_id, "running", pid=me.pid, pid_started_at=me.create_time())
            except InvalidTransition as exc:  # cancelled (or otherwise ended) before the worker started
                print(exc, flush=True)
                return 0
        if store.is_cancel_requested(job_id):
            raise JobCancelled()
        job = store.get(job_id)
        print(f"job {job_id}: {config.backend} fine-tune of {config.base_model}", flush=True)
        if on_hub:
            _run_hf_job(settings, store, job, config, folder)
        elif config.backend == "local":
            _run_local(settings, store, job, config, folder, main_process)
        else:  # openai or azure: the same API through the provider's client
            _run_openai(settings, store, job, config)
    except JobCancelled:
        _ignore_sigterm()  # let the final record go through
        print(f"job {job_id}: cancelled", flush=True)
        if main_process:
            store.finish(job_id, "cancelled")
        return 0
    except BaseException as exc:  # the job record must say why, whatever went wrong
        _ignore_sigterm()
        traceback.print_exc()  # full detail to worker.log; the record gets the short reason
        if main_process:
            store.finish(job_id, "failed", error=describe_error(exc, settings))
        return 1
    return 0


def _take_slot(settings: Settings, store: JobStore, job_id: str, me: psutil.Process) -> bool:
    """Wait in the queue until the job holds a training slot; False when it ended meanwhile (JobCancelled if cancelled)."""
    from trainer.jobs.job_queue import wait_for_slot

    def waiting(position: int, of: int) -> None:
        print(f"job {job_id}: queued, position {position} of {of} (TUTOR_JOB_SLOTS={settings.job_slots_in_use})", flush=True)

    outcome = wait_for_slot(settings, store, job_id, pid=me.pid, pid_started_at=me.create_time(), on_wait=waiting)
    if outcome == "cancel":
        raise JobCancelled()
    if outcome == "ended":  # ended by someone else (a recovery, a cancel) before it could start
        print(f"job {job_id}: no longer queued ({store.get(job_id).status}); nothing to run", flush=True)
        return False
    print(f"job {job_id}: training in slot {store.get(job_id).slot}", flush=True)
    return True


def _start_on_cluster(store: JobStore, job_id: str) -> bool:
    """Mark a Ray job running (its pid stays the app's follower); False when it ended or was cancelled first."""
    try:
        store.transition(job_id, "running")
    except InvalidTransition:  # already running: the follower saw Ray start it after an app restart
        if store.get(job_id).status != "running":
            print(f"job {job_id}: no longer queued ({store.get(job_id).status}); nothing to run", flush=True)
            return False
    print(f"job {job_id}: training on the Ray cluster", flush=True)
    return True


def _place_on_gpus(settings: Settings, job: Job) -> None:
    """With several slots on a machine with several GPUs, a job trains on its slot's GPU alone.

    With one slot it keeps every GPU (`_relaunch_distributed_if_needed` spreads it over them).
    Set before torch is imported, so CUDA sees only that device.
    """
    from core.device import gpu_devices

    devices = gpu_devices()
    if settings.job_slots_in_use > 1 and len(devices) > 1 and job.slot is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = devices[job.slot % len(devices)]
        print(f"job {job.id}: on GPU {os.environ['CUDA_VISIBLE_DEVICES']}", flush=True)


def _raise_cancelled(signum: int, frame: Any) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one cancel is enough; let clean-up finish
    raise JobCancelled()


def _ignore_sigterm() -> None:
    # Only a worker's main thread owns SIGTERM; an inline job's thread leaves the app's handlers alone
    # (and Python allows signal handlers to be set from the main thread only).
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, signal.SIG_IGN)


def describe_error(exc: BaseException, settings: Settings) -> str:
    """A one-paragraph reason for the job record: the exception's message, never a secret."""
    text = str(exc).strip()
    if type(exc).__name__ not in SELF_EXPLAINED or not text:
        text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    if len(text) > ERROR_LIMIT:
        text = text[:ERROR_LIMIT] + " …"
    from core.openai_api import configured_secrets, redact

    return redact(text, configured_secrets(settings))


def _run_local(settings: Settings, store: JobStore, job: Job, config: TrainConfig, folder: Path, main_process: bool) -> None:
    from core.device import pick_cpu_threads
    from trainer.jobs.lora import ProgressCallback, train_lora

    def record(step: int, **values: Any) -> None:
        store.add_metrics(job.id, step, **values)

    from trainer.jobs.best_adapter import BestAdapterCallback
    from trainer.jobs.overfitting import BEST_ADAPTER_DIR

    callback = ProgressCallback(record if main_process else _ignore, lambda: store.is_cancel_requested(job.id))
    callbacks = [callback, BestAdapterCallback(folder / BEST_ADAPTER_DIR)] if main_process else [callback]
    resume_from = Path(job.checkpoint) if job.checkpoint else None
    if resume_from:
        print(f"resuming from {resume_from}", flush=True)
    # The cores are shared by the jobs training on this machine; a Ray job has its cluster node to itself.
    threads = pick_cpu_threads(1 if job.runner == "ray" else len(store.training()))
    result = train_lora(
        config, folder, settings.models_dir, callbacks=callbacks, resume_from=resume_from, cpu_threads=threads
    )
    if result is None:
        raise JobCancelled()
    if main_process:
        store.finish(
            job.id,
            "succeeded",
            adapter_path=str(result.adapter_path),
            merged_path=str(result.merged_path) if result.merged_path else None,
            summary=result.summary,
        )
        print(f"job {job.id}: adapter saved to {result.adapter_path}", flush=True)


def _ignore(*args: Any, **kwargs: Any) -> None:
    return None


def _run_openai(settings: Settings, store: JobStore, job: Job, config: TrainConfig) -> None:
    from trainer.jobs import openai_backend
    from trainer.jobs.azure_backend import billing_note

    client = openai_backend.client_for(settings, config.backend)  # OpenAI's, or Azure's with the same API
    provider = "Azure OpenAI" if config.backend == "azure" else "OpenAI"
    remote_id = job.remote_id
    if remote_id:
        print(f"following {provider} job {remote_id} again", flush=True)
    else:  # a resumed or re-attached job follows the job it already created
        remote_id = openai_backend.submit(
            client,
            model=openai_backend.remote_model_name(config.backend, config.base_model or ""),
            train_path=config.train_file,
            validation_path=config.validation_file,
            hyperparameters=config.openai_hyperparameters(),
            suffix=config.suffix,
        )
        store.update(job.id, remote_id=remote_id)
        print(f"submitted {provider} job {remote_id}", flush=True)
    summary: dict[str, Any] = {"remote_status": None, "events": []}
    try:
        state = _follow(settings, store, job.id, config, remote_id, provider, summary)
    except BaseException as exc:
        # SIGTERM may land inside an HTTP call, where the client wraps our JobCancelled in its own error.
        if not isinstance(exc, JobCancelled) and not store.is_cancel_requested(job.id):
            raise
        _ignore_sigterm()  # the remote cancel must go through
        _cancel_remote(store, job.id, client, remote_id, summary)
        raise JobCancelled() from None
    for point in state.result_metrics:  # the full series, where events skipped steps
        store.add_metrics(job.id, **point)
    summary.update(remote_status=state.api_status, trained_tokens=state.trained_tokens)
    if config.backend == "azure":
        summary["note"] = billing_note()  # deploying the result bills by the hour
    if state.status == "succeeded":
        store.finish(job.id, "succeeded", fine_tuned_model=state.fine_tuned_model, summary=summary)
    elif state.status == "cancelled":
        store.finish(job.id, "cancelled", error=f"The job was cancelled on the {provider} side.", summary=summary)
    else:
        store.finish(job.id, "failed", error=state.error or f"The {provider} job failed without a reason.", summary=summary)


def _follow(settings: Settings, store: JobStore, job_id: str, config: TrainConfig, remote_id: str, provider: str,
            summary: dict[str, Any]) -> "RemoteState":
    """Poll the remote job until the provider says it ended; return its last state.

    Polls go through a client without the SDK's own retries: a transient failure is retried here,
    with `config`'s backoff, for as long as the provider is away, and noted in `summary["last_error"]`
    (the job stays running). An error that waiting cannot fix ends the job, saying how to follow it again.
    """
    from core.openai_api import OpenAIAPIError, configured_secrets
    from trainer.jobs import openai_backend
    from trainer.jobs.hiccups import RetryPolicy, recovered_note

    poll_client = openai_backend.client_for(settings, config.backend, timeout=config.poll_timeout, max_retries=0)
    policy = RetryPolicy(config.poll_retry_first, config.poll_retry_max)
    secrets = configured_secrets(settings)
    after_event: str | None = None
    failures = 0
    while True:
        try:
            state = openai_backend.poll(poll_client, remote_id, after_event=after_event)
        except OpenAIAPIError as exc:
            if not exc.transient:
                raise OpenAIAPIError(f"{exc}\nThe {provider} job {remote_id} may still be running there: fix this, then resume "
                                     f"the job (python -m trainer resume {job_id}) to follow it again.") from None
            failures += 1
            _back_off(store, job_id, summary, exc, failures, policy.delay(failures, exc.retry_after), secrets)
            continue
        after_event = state.last_event_id or after_event
        for point in state.metrics:
            store.add_metrics(job_id, **point)
        changed = bool(state.messages) or failures > 0 or summary["remote_status"] != state.api_status
        if failures:
            print(f"{provider} answered again after {failures} failed poll(s)", flush=True)
            summary["last_error"] = recovered_note(summary["last_error"])
            failures = 0
        if state.messages:
            summary["events"] = (summary["events"] + state.messages)[-EVENT_MESSAGES_KEPT:]
            for message in state.messages:
                print(message, flush=True)
        summary["remote_status"] = state.api_status
        if changed and not state.finished:  # the final summary is written with the job's end
            store.update(job_id, summary=summary)
        if state.finished:
            return state
        if store.is_cancel_requested(job_id):
            raise JobCancelled()
        _wait_unless_cancelled(store, job_id, config.poll_interval)


def _back_off(store: JobStore, job_id: str, summary: dict[str, Any], exc: Exception, failures: int, wait: float,
              secrets: list[str]) -> None:
    """A transient poll failure: note it on the job (which stays running), then wait before the next poll."""
    from trainer.jobs.hiccups import retry_note

    summary["last_error"] = retry_note(exc, failures, wait, secrets)
    store.update(job_id, summary=summary)
    print(f"poll {failures} in a row failed, retrying in {wait:.1f} s: {summary['last_error']['message']}", flush=True)
    _wait_unless_cancelled(store, job_id, wait)


def _wait_unless_cancelled(store: JobStore, job_id: str, seconds: float) -> None:
    """Sleep, looking at the cancel flag every second: an inline job has no signal to wake it from a long backoff."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(left, CANCEL_CHECK_S))
        if store.is_cancel_requested(job_id):
            raise JobCancelled()


def _cancel_remote(store: JobStore, job_id: str, client: Any, remote_id: str, summary: dict[str, Any]) -> None:
    """Ask the provider to cancel; when it cannot be reached the job still ends cancelled here, saying so in its log and summary."""
    from core.openai_api import OpenAIAPIError
    from trainer.jobs import openai_backend

    try:
        openai_backend.request_cancel(client, remote_id)
    except OpenAIAPIError as exc:
        print(f"the remote cancel failed: {exc}", flush=True)
        summary["cancel_error"] = str(exc)
        store.update(job_id, summary=summary)


def _run_hf_job(settings: Settings, store: JobStore, job: Job, config: TrainConfig, folder: Path) -> None:
    """Train on Hugging Face Jobs: submit once (a resumed or re-attached job follows the job it created), follow
    its log into metric rows, and end as the Hub says; a completed job's adapter is downloaded into `folder`."""
    from trainer.jobs import hf_jobs_runner as hub

    api = hub.hub_api(settings)
    summary: dict[str, Any] = dict(job.summary or {})
    remote_id = job.remote_id
    if remote_id:
        print(f"following Hugging Face job {remote_id} again", flush=True)
    else:
        submitted = hub.submit(settings, api, job.id, config)
        remote_id, hardware, url = submitted.pop("remote_id"), submitted.pop("hardware"), submitted.pop("url")
        summary.update(submitted)  # the adapter's repo and the job's namespace
        store.update(job.id, remote_id=remote_id, hardware=hardware, remote_url=url, summary=summary)
        print(f"submitted Hugging Face job {remote_id} on {hardware}: {url}", flush=True)
    try:
        state, tail = _follow_hub(settings, store, job.id, config, api, summary["namespace"], remote_id, summary)
    except BaseException as exc:
        # SIGTERM may land inside an HTTP call, where the client wraps our JobCancelled in its own error.
        if not isinstance(exc, JobCancelled) and not store.is_cancel_requested(job.id):
            raise
        _ignore_sigterm()  # the remote cancel must go through
        try:
            hub.cancel(settings, api, summary["namespace"], remote_id)
        except hub.HubAPIError as failure:
            print(f"the remote cancel failed: {failure}", flush=True)
            summary["cancel_error"] = str(failure)
            store.update(job.id, summary=summary)
        raise JobCancelled() from None
    summary["remote_status"] = state.stage
    if state.stage == "COMPLETED":
        adapter, best = hub.fetch_adapter(settings, api, summary["hub_repo"], folder, ADAPTER_DIR)
        summary.update(state.result or {})
        store.finish(job.id, "succeeded", adapter_path=str(adapter), summary=summary)
        print(f"job {job.id}: adapter from {summary['hub_repo']} in {adapter}" + (f" (best: {best})" if best else ""), flush=True)
    elif state.stage == "CANCELED":
        store.finish(job.id, "cancelled", error="The job was cancelled on the Hugging Face side.", summary=summary)
    else:
        store.finish(job.id, "failed", error=hub.failure_reason(settings, remote_id, state.message, tail), summary=summary)


def _follow_hub(settings: Settings, store: JobStore, job_id: str, config: TrainConfig, api: Any, namespace: str,
                remote_id: str, summary: dict[str, Any]) -> tuple[Any, list[str]]:
    """Poll the Hugging Face job until it ends: its final state and the log's last lines.

    Transient failures (no answer, 408/409/429, 5xx) are retried with `config`'s backoff, noted in
    `summary["last_error"]` while the job stays running, as for OpenAI jobs; any other failure ends the job.
    """
    from core.openai_api import redact
    from trainer.jobs import hf_jobs_runner as hub
    from trainer.jobs.hiccups import RetryPolicy, recovered_note

    policy = RetryPolicy(config.poll_retry_first, config.poll_retry_max)
    secrets = [settings.hf_token.get_secret_value()] if settings.hf_token else []
    seen, failures, tail = 0, 0, []
    result: dict[str, Any] | None = None  # the entry point's last line, which may come a poll before the job ends
    while True:
        try:
            state, seen = hub.poll(settings, api, namespace, remote_id, seen)
        except hub.HubAPIError as exc:
            if not exc.transient:
                raise hub.HubAPIError(f"{exc}\nThe Hugging Face job {remote_id} may still be running there: fix this, then "
                                      f"resume the job (python -m trainer resume {job_id}) to follow it again.") from None
            failures += 1
            _back_off(store, job_id, summary, exc, failures, policy.delay(failures, exc.retry_after), secrets)
            continue
        if failures:
            summary["last_error"] = recovered_note(summary["last_error"])
            failures = 0
        for point in state.metrics:
            store.add_metrics(job_id, **point)
        for line in state.lines:
            print(f"[hf] {redact(line, secrets)}", flush=True)
        tail = (tail + state.lines)[-50:]
        result = state.result = state.result or result
        if summary.get("remote_status") != state.stage and not state.finished:
            summary["remote_status"] = state.stage
            store.update(job_id, summary=summary)
        if state.finished:
            return state, tail
        if store.is_cancel_requested(job_id):
            raise JobCancelled()
        _wait_unless_cancelled(store, job_id, config.poll_interval)


def _relaunch_distributed_if_needed(job_id: str) -> None:
    """With several GPUs, become `accelerate launch` over them (exec keeps our pid and process group)."""
    if "LOCAL_RANK" in os.environ:
        return
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count <= 1:
        return
    command = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", str(count),
               "-m", "trainer.jobs.worker", job_id]
    print("launching through accelerate:", " ".join(command[1:]), flush=True)
    os.execv(sys.executable, command)


if __name__ == "__main__":
    sys.exit(main())
