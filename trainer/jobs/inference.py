"""Chat with a fine-tuned result, and compare it with its base model on the same prompt.

A local job's adapter is loaded onto its base model once and kept (at most two models per
process), so a chat turn costs only generation. The base model's answer in `compare` comes from
the same loaded model with the adapter switched off, so nothing is loaded twice. Decoding is
greedy: the same prompt gives the same answer, which makes base and tuned comparable.
An OpenAI job's tuned answers come from its fine-tuned model id through the OpenAI client.

Loading and generating go through `gpu_task`, so on ZeroGPU they run with a GPU lent for the call
(in the worker `spaces` forks, which keeps the loaded model while ZeroGPU reuses it); checks that
can fail with a message for the learner happen before, in the caller's process.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Literal

from core.openai_api import make_client
from core.settings import Settings
from core.device import gpu_task
from trainer.jobs.store import Job, JobStore

MODELS_KEPT = 2
DEFAULT_MAX_NEW_TOKENS = 128
# ZeroGPU seconds for one reply: a cold worker loads the small model (a few seconds) and generates
# up to 128 tokens; compare generates twice. Short requests keep the learner's place in the queue.
REPLY_GPU_S = 30
COMPARE_GPU_S = 45

_cache: OrderedDict[tuple[str, str | None], tuple[Any, Any]] = OrderedDict()
_cache_lock = threading.Lock()
# One generation at a time per process: CPU-bound anyway, and compare() toggles the adapter.
_generate_lock = threading.Lock()


class BadPrompt(ValueError):
    """Nothing to answer (an empty prompt)."""


Checkpoint = Literal["final", "best"]


class NotReady(ValueError):
    """The job has no result to chat with yet (or failed); the message says what to do."""


def generate(
    settings: Settings,
    job_id: str | None,
    messages: list[dict[str, str]] | str,
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
    owner: str | None = None,
    checkpoint: Checkpoint = "final",
) -> str:
    """The reply of the job's fine-tuned model (or of the local base model when `job_id` is None).

    `checkpoint`: a local job's final adapter, or the one kept at its best validation loss ("best").
    """
    messages = _as_messages(messages)
    if job_id is None:
        return _local_reply(settings, settings.local_model, None, messages, max_new_tokens)
    job = _finished_job(settings, job_id, owner)
    _refuse_undeployed(job)
    if job.backend == "openai":
        return _openai_reply(settings, job.fine_tuned_model or "", messages, max_new_tokens)
    return _local_reply(settings, job.model, adapter_path(settings, job, checkpoint), messages, max_new_tokens)


def compare(
    settings: Settings,
    job_id: str,
    prompt: list[dict[str, str]] | str,
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
    owner: str | None = None,
    checkpoint: Checkpoint = "final",
) -> dict[str, str]:
    """One prompt answered by the base model and by the fine-tuned one: {"base": ..., "tuned": ...}."""
    messages = _as_messages(prompt)
    job = _finished_job(settings, job_id, owner)
    _refuse_undeployed(job)
    if job.backend == "openai":
        return {
            "base": _openai_reply(settings, job.model, messages, max_new_tokens),
            "tuned": _openai_reply(settings, job.fine_tuned_model or "", messages, max_new_tokens),
        }
    return _local_compare(settings, job.model, adapter_path(settings, job, checkpoint) or "", messages, max_new_tokens)


def adapter_path(settings: Settings, job: Job, checkpoint: Checkpoint = "final") -> str | None:
    """The adapter a local job answers with: its final one, or the one kept at the best validation loss."""
    from trainer.jobs.overfitting import BEST_ADAPTER_DIR
    from trainer.jobs.store import job_folder

    if job.backend != "local" or checkpoint == "final":
        return job.adapter_path
    best = job_folder(settings.data_dir, job.id) / BEST_ADAPTER_DIR
    if not (best / "adapter_config.json").is_file():
        raise NotReady(f"Job {job.id} kept no best checkpoint (it had no validation loss); use the final adapter.")
    return str(best)


def _refuse_undeployed(job) -> None:
    if job.backend == "azure":  # Azure serves a tuned model only through a deployment the learner creates (billed hourly)
        raise NotReady(
            f"Job {job.id} trained {job.fine_tuned_model or 'a model'} on Azure OpenAI. Deploy it in your Azure resource to chat "
            "with it (a deployment bills by the hour, except on the Developer tier); this app does not create deployments."
        )


@gpu_task(duration=REPLY_GPU_S)
def _local_reply(
    settings: Settings, base_model: str, adapter_path: str | None, messages: list[dict[str, str]], max_new_tokens: int
) -> str:
    model, tokenizer = _load(settings, base_model, adapter_path)
    with _generate_lock:
        return _reply(model, tokenizer, messages, max_new_tokens)


@gpu_task(duration=COMPARE_GPU_S)
def _local_compare(
    settings: Settings, base_model: str, adapter_path: str, messages: list[dict[str, str]], max_new_tokens: int
) -> dict[str, str]:
    model, tokenizer = _load(settings, base_model, adapter_path)
    with _generate_lock:  # the adapter switch must not leak into another thread's turn
        with model.disable_adapter():
            base = _reply(model, tokenizer, messages, max_new_tokens)
        tuned = _reply(model, tokenizer, messages, max_new_tokens)
    return {"base": base, "tuned": tuned}


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


def _as_messages(prompt: list[dict[str, str]] | str) -> list[dict[str, str]]:
    if isinstance(prompt, str):
        if not prompt.strip():
            raise BadPrompt("The prompt is empty; type a question for the model.")
        return [{"role": "user", "content": prompt}]
    if not prompt:
        raise BadPrompt("No messages to answer.")
    return list(prompt)


def _finished_job(settings: Settings, job_id: str, owner: str | None) -> Job:
    job = JobStore(settings.jobs_db).get(job_id, owner)
    if job.status != "succeeded":
        hints = {"queued": "wait until it has succeeded", "running": "wait until it has succeeded",
                 "failed": "resume it or start a new job", "interrupted": "resume it or start a new job"}
        hint = hints.get(job.status, "start a new job")
        raise NotReady(f"Job {job_id} is {job.status}; there is no fine-tuned model to chat with ({hint}).")
    if job.backend == "local" and not (job.adapter_path and Path(job.adapter_path, "adapter_config.json").is_file()):
        raise NotReady(f"Job {job_id} has no saved adapter at {job.adapter_path}.")
    return job


def _load(settings: Settings, base_model: str, adapter_path: str | None) -> tuple[Any, Any]:
    """The (model, tokenizer) for base + adapter, from the per-process cache when possible."""
    key = (base_model, adapter_path)
    with _cache_lock:  # one loader at a time: two chat tabs must not load the same model twice
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
        from peft import PeftModel

        from core.model_loading import detect_device, load_causal_lm

        device = detect_device()
        model, tokenizer = load_causal_lm(base_model, settings.models_dir, device=device)
        if adapter_path:
            model = PeftModel.from_pretrained(model, adapter_path)
        model.eval()
        _cache[key] = (model, tokenizer)
        while len(_cache) > MODELS_KEPT:
            _cache.popitem(last=False)
        return model, tokenizer


def _reply(model: Any, tokenizer: Any, messages: list[dict[str, str]], max_new_tokens: int) -> str:
    import torch

    inputs = tokenizer.apply_chat_template(
        messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
    ).to(model.device)
    with torch.inference_mode():
        output = model.generate(
            **inputs, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tokenizer.pad_token_id
        )
    return tokenizer.decode(output[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True).strip()


def _openai_reply(settings: Settings, model_id: str, messages: list[dict[str, str]], max_new_tokens: int) -> str:
    from trainer.jobs import openai_backend

    return openai_backend.chat_with_model(make_client(settings), model_id, messages, max_tokens=max_new_tokens)
