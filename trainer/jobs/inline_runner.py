"""The inline job runner: a job runs in a daemon thread of the app instead of a worker process.

ZeroGPU lends a GPU only to a `spaces.GPU` function called in the app's own process, for the
length of that call, so a worker process would train without one. Inline, the thread calls the
same `trainer.jobs.worker.run_job` through `gpu_task` with a duration estimated from the job's config;
off ZeroGPU `gpu_task` changes nothing and the job simply trains in the thread.

A local job first waits in this thread for a training slot (`trainer.jobs.job_queue`), before the
GPU call. The job record stays the contract: the job records the app's pid (and start time) while queued and
the training process's pid once running (on ZeroGPU the worker `spaces` forks from the app), so
`recover_jobs` marks it interrupted when that process is gone. Cancel is the store's flag, checked by
the training callback after every step (and by the OpenAI poll loop), since there is no process of
the job's own to signal. Whatever ends the thread, the job ends recorded.
"""

from __future__ import annotations

import contextvars
import math
import threading

import psutil

from core.settings import Settings
from core.device import gpu_task, zero_gpu_active
from trainer.jobs.store import CONFIG_NAME, JobStore, job_folder
from trainer.jobs.config import load_config

# ZeroGPU's own default request, and the most one call may ask for (HF staff's stated per-call
# maximum; a request above the visitor's remaining daily quota is refused before it starts, see
# https://huggingface.co/docs/hub/spaces-zerogpu). A job that needs longer belongs on a dedicated GPU.
ZERO_GPU_DEFAULT_S = 60
ZERO_GPU_MAX_S = 300
# A cold GPU worker moves to the GPU, loads the base model, builds the trainer and saves the adapter.
STARTUP_S = 40
# Optimizer steps of a small model (the 135M default, quick preset) take well under a second on
# ZeroGPU's H200 slices; half a second leaves room for evaluation and checkpoints.
SECONDS_PER_STEP = 0.5


def start_inline(settings: Settings, store: JobStore, job_id: str) -> None:
    """Record the app as the job's runner and start the job in a daemon thread; returns at once."""
    me = psutil.Process()
    store.update(job_id, pid=me.pid, pid_started_at=me.create_time(), runner="inline")
    # The copied context carries the Gradio request of the learner who started the job, so ZeroGPU
    # charges the GPU time to that learner's quota rather than to an anonymous caller.
    context = contextvars.copy_context()
    threading.Thread(target=context.run, args=(run_inline, settings, job_id), daemon=True,
                     name=f"job-{job_id}").start()


def run_inline(settings: Settings, job_id: str) -> None:
    """Run the job here and make sure it ends recorded, even when the GPU call itself fails."""
    from trainer.jobs.worker import describe_error

    store = JobStore(settings.jobs_db)
    reason = "the runner stopped without reporting"
    try:
        backend = store.get(job_id).backend
        # An OpenAI job only polls an API: it needs no GPU, and must not spend the learner's GPU quota.
        # A local one waits for its training slot here, outside the GPU call, which would count the wait.
        if backend == "local":
            if _wait_for_slot(settings, store, job_id):
                run_job_on_gpu(settings, job_id)
        else:
            _run_job(settings, job_id)
    except BaseException as exc:  # a refused or aborted GPU call (quota, duration) lands here
        # `spaces` reports those as gradio.Error, whose str() is a repr; its message reads better.
        message = getattr(exc, "message", None) if type(exc).__module__.startswith("gradio") else None
        reason = str(message) if message else describe_error(exc, settings)
    job = store.get(job_id)
    if job.finished:
        return
    hint = (f" On ZeroGPU a job must fit in one GPU call of at most {ZERO_GPU_MAX_S} s and in the visitor's GPU "
            "quota: try fewer examples or epochs, or resume it later." if zero_gpu_active() else " Resume it to retry.")
    if job.cancel_requested:
        store.finish(job_id, "cancelled")
    else:
        store.finish(job_id, "failed", error=f"The job stopped before it finished: {reason}.{hint}")


def _wait_for_slot(settings: Settings, store: JobStore, job_id: str) -> bool:
    """Queue for a training slot (see `trainer.jobs.job_queue`); False when the job ended or was cancelled meanwhile."""
    from trainer.jobs.job_queue import wait_for_slot

    me = psutil.Process()
    outcome = wait_for_slot(settings, store, job_id, pid=me.pid, pid_started_at=me.create_time())
    if outcome == "cancel":
        store.finish(job_id, "cancelled")
    return outcome == "claimed"


def _run_job(settings: Settings, job_id: str) -> int:
    from trainer.jobs.worker import run_job

    return run_job(settings, job_id, inline=True)


def estimate_gpu_seconds(settings: Settings, job_id: str) -> int:
    """GPU seconds to ask ZeroGPU for the job: startup plus its optimizer steps, within ZeroGPU's limits.

    Steps are counted as epochs x examples / (batch x accumulation): packing puts several examples
    in one block, so the real count is lower, and asking a little too much only costs queue priority,
    while asking too little gets the job aborted.
    """
    folder = job_folder(settings.data_dir, job_id)
    try:
        config = load_config(folder / CONFIG_NAME)
        with open(config.train_file, encoding="utf-8") as handle:
            examples = sum(1 for line in handle if line.strip())
    except (OSError, ValueError):
        return ZERO_GPU_DEFAULT_S  # the run itself reports the unreadable job
    if config.max_steps:
        steps = config.max_steps
    else:
        per_step = (config.batch_size or 1) * config.grad_accum
        steps = math.ceil((config.epochs or 1) * examples / per_step)
    return min(ZERO_GPU_MAX_S, math.ceil(STARTUP_S + steps * SECONDS_PER_STEP))


# Module level, so `spaces` knows the function before the app launches (it reports its GPU functions then).
run_job_on_gpu = gpu_task(duration=estimate_gpu_seconds)(_run_job)
