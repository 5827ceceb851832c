"""Local LoRA fine-tuning with TRL's SFTTrainer and peft.

Chat examples become prompt/completion rows, one per assistant turn, so every assistant turn is
trained and only assistant tokens count in the loss (TRL's completion-only loss). Rows are packed
into padding-free blocks (best-fit decreasing); attention stays within each example because the
packed position ids restart at every example (see `blocks_per_forward` for batching without flash
attention). Progress reaches the caller through a `TrainerCallback`, so this module knows nothing
about the job store.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from transformers import Trainer, TrainerCallback
from trl import SFTTrainer

from trainer.jobs.store import ADAPTER_DIR, CHECKPOINTS_DIR, MERGED_DIR
from core.model_loading import detect_device, load_causal_lm
from trainer.jobs import packed_attention
from trainer.jobs.config import TrainConfig
from trainer.data.formats import read_chat_examples, tool_calling_rows


@dataclass
class TrainResult:
    adapter_path: Path
    merged_path: Path | None
    summary: dict[str, Any] = field(default_factory=dict)


def to_prompt_completion(examples: list[dict[str, Any]]) -> list[dict[str, list[dict[str, str]]]]:
    """One conversational prompt/completion row per trained assistant turn.

    The prompt is every message before the turn; TRL renders it with the chat template and a
    generation prompt, so the completion is exactly the assistant's text and its end-of-turn token.
    Assistant turns with OpenAI's `"weight": 0` are context only, as in OpenAI fine-tuning.
    """
    rows = []
    for example in examples:
        messages = [_plain_message(message) for message in example["messages"]]
        for index, (original, message) in enumerate(zip(example["messages"], messages)):
            if message["role"] != "assistant" or original.get("weight", 1) == 0 or not message["content"]:
                continue
            if index == 0:
                continue  # nothing to condition on
            rows.append({"prompt": messages[:index], "completion": [message]})
    return rows


def _plain_message(message: dict[str, Any]) -> dict[str, str]:
    # Local chat templates take role + text; content may be OpenAI's list of parts.
    content = message.get("content") or ""
    if isinstance(content, list):
        content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return {"role": str(message.get("role", "user")), "content": str(content)}


def pick_precision(device: str, requested: str = "auto") -> dict[str, Any]:
    """Mixed precision for the device and the config's `precision` ("auto", "bf16" or "fp32").

    auto: bf16 on CUDA where supported (else fp16); on a CPU with native bf16 dot products (AVX512-BF16
    or AMX) bf16 autocast, which made SmolLM2 LoRA steps ~1.5x faster than fp32 on the 2-core EPYC box
    (benches/train.py) with the same loss to ~1e-2; fp32 elsewhere (MPS, older CPUs). On CPU the weights
    stay fp32 and autocast runs the matmuls in bf16, so the adapter is trained and saved in fp32.
    """
    import torch

    if requested == "fp32":
        return {"bf16": False, "fp16": False, "dtype": torch.float32}
    if device == "cuda":
        bf16 = requested == "bf16" or torch.cuda.is_bf16_supported()
        return {"bf16": bf16, "fp16": not bf16, "dtype": torch.bfloat16 if bf16 else torch.float32}
    if device == "cpu" and (requested == "bf16" or cpu_has_bf16()):
        return {"bf16": True, "fp16": False, "dtype": torch.float32}
    return {"bf16": False, "fp16": False, "dtype": torch.float32}


def cpu_has_bf16() -> bool:
    """Whether this CPU multiplies bf16 natively (otherwise bf16 autocast is emulated and slower than fp32)."""
    import torch

    return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())


class ProgressCallback(TrainerCallback):
    """Report train/eval metrics through `record(step, **values)` and stop when `should_stop()` says so."""

    def __init__(self, record: Callable[..., None], should_stop: Callable[[], bool]) -> None:
        self.record = record
        self.should_stop = should_stop
        self._step_started = 0.0
        self._busy_seconds = 0.0  # time inside training steps since the last log (eval excluded)
        self._tokens_at_last_log: float | None = None
        self.stopped = False  # set when should_stop() ended training early

    def on_step_begin(self, args, state, control, **kwargs):
        self._step_started = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        self._busy_seconds += time.perf_counter() - self._step_started
        if self.should_stop():
            self.stopped = True
            control.should_training_stop = True
            control.should_save = False
            control.should_evaluate = False

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not logs or not state.is_world_process_zero:
            return
        step, epoch = state.global_step, round(state.epoch or 0.0, 4)
        if "eval_loss" in logs:
            self.record(step, epoch=epoch, eval_loss=logs["eval_loss"])
            print(f"step {step} | eval_loss {logs['eval_loss']:.4f}", flush=True)
        elif "loss" in logs:
            tokens = logs.get("num_tokens", state.num_input_tokens_seen)
            previous = self._tokens_at_last_log
            # TRL's token counter restarts on resume; count from zero then.
            trained = tokens - previous if previous is not None and tokens >= previous else tokens
            tokens_per_s = trained / self._busy_seconds if self._busy_seconds > 0 and trained else None
            self._tokens_at_last_log, self._busy_seconds = tokens, 0.0
            extra = {key: logs[key] for key in ("grad_norm", "mean_token_accuracy", "num_tokens") if key in logs}
            self.record(
                step,
                epoch=epoch,
                train_loss=logs["loss"],
                learning_rate=logs.get("learning_rate"),
                tokens_per_s=tokens_per_s,
                **extra,
            )
            rate = f" | {tokens_per_s:.0f} tok/s" if tokens_per_s else ""
            print(f"step {step}/{state.max_steps} | loss {logs['loss']:.4f}{rate}", flush=True)


class CompletionHeadSFTTrainer(SFTTrainer):
    """SFTTrainer whose loss applies the LM head only where a label counts.

    SmolLM2's head (49k x 576) is about a fifth of a step's FLOPs, and prompt tokens (about half of the
    course's rows) need no logits: the model gets a boolean `logits_to_keep` mask of the positions whose next
    token is a completion token, and the cross-entropy runs over those rows only. Same loss as the
    model's own: the sum over completion tokens divided by `num_items_in_batch` (the tokens of the
    whole accumulated step) or, without it, their mean. It also skips TRL's fused LM head, which
    recomputes the head in tiles to save GPU memory and made CPU steps ~25% slower. TRL's token
    counter is kept, so tokens/s is still reported.
    """

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        import torch
        from torch.nn import functional

        if model.training:
            # Padding-free batches carry no attention mask: every position is a real token.
            tokens = inputs["attention_mask"].sum() if "attention_mask" in inputs else inputs["position_ids"].numel()
            self._total_train_tokens += int(tokens)
            self._metrics["train"]["num_tokens"] = [self._total_train_tokens]
        inputs = dict(inputs)
        labels = inputs.pop("labels")
        keep = completion_positions(labels)
        outputs = model(**inputs, use_cache=False, logits_to_keep=keep)
        # Position t predicts token t + 1; packed rows already have -100 at each example's first token.
        targets = labels[..., 1:][keep[..., :-1]]
        loss = functional.cross_entropy(outputs.logits.float(), targets, reduction="sum")
        count = num_items_in_batch if num_items_in_batch is not None else targets.numel()
        loss = loss / torch.as_tensor(count, device=loss.device).clamp(min=1)
        return (loss, outputs) if return_outputs else loss


def completion_positions(labels):
    """Boolean mask of the positions whose next token is trained (its label is not -100)."""
    import torch

    keep = torch.zeros_like(labels, dtype=torch.bool)
    keep[..., :-1] = labels[..., 1:] != -100
    return keep


def blocks_per_forward(model, config: TrainConfig) -> tuple[int, int]:
    """(per-device batch, accumulation steps) giving `batch_size * grad_accum` sequences per optimizer step.

    Padding-free packing flattens a batch into one long sequence. Flash attention's variable-length
    kernels and `packed_sdpa` (one causal SDPA per example) keep that cheap; plain SDPA computes a
    dense mask over the whole flattened batch, quadratic in its length (4 blocks of 512 tokens: 16x
    the scores of one block, ~4 GB more for SmolLM2). With plain SDPA, one packed block goes through
    at a time and accumulation keeps the tokens per optimizer step.
    """
    attention = str(getattr(model.config, "_attn_implementation", "") or "")
    if config.packing and not ("flash" in attention or attention == packed_attention.PACKED_SDPA):
        return 1, config.batch_size * config.grad_accum
    return config.batch_size, config.grad_accum


def build_trainer(
    config: TrainConfig,
    models_dir: Path,
    output_dir: Path,
    callbacks: list[TrainerCallback] | None = None,
    cpu_threads: int | None = None,
):
    """An SFTTrainer with a fresh LoRA adapter on the base model, ready to `train()`."""
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from trl import SFTConfig

    device = detect_device()
    if device == "cpu" and cpu_threads:
        torch.set_num_threads(cpu_threads)
    precision = pick_precision(device, config.precision)
    model, tokenizer = load_causal_lm(config.base_model or "", models_dir, dtype=precision.pop("dtype"))
    if config.packing and "flash" not in str(getattr(model.config, "_attn_implementation", "") or ""):
        model.set_attn_implementation(packed_attention.register())
    if not tokenizer.chat_template:
        raise ValueError(
            f"{config.base_model} has no chat template, so chat examples cannot be rendered for it. "
            "Pick an instruct/chat model (for example the default SmolLM2-135M-Instruct)."
        )
    train_examples = read_chat_examples(config.train_file)
    config = config.with_examples(len(train_examples))  # the quick preset's epochs, where start_job did not set them
    train_rows = _rows(train_examples, tokenizer, config.base_model or "")
    if not train_rows:
        raise ValueError("The training file has no assistant turns to learn from.")
    eval_rows = _rows(read_chat_examples(config.validation_file), tokenizer, config.base_model or "") if config.validation_file else []
    has_eval = bool(eval_rows)
    per_device, accumulate = blocks_per_forward(model, config)
    args = SFTConfig(
        output_dir=str(output_dir),
        num_train_epochs=config.epochs,
        max_steps=config.max_steps or -1,
        learning_rate=config.learning_rate,
        lr_scheduler_type="cosine",
        warmup_steps=0.03,
        per_device_train_batch_size=per_device,
        per_device_eval_batch_size=per_device,
        gradient_accumulation_steps=accumulate,
        gradient_checkpointing=config.gradient_checkpointing,
        max_length=config.max_seq_length,
        packing=config.packing,
        packing_strategy="bfd",
        completion_only_loss=True,
        logging_steps=config.logging_steps,
        eval_strategy="steps" if has_eval else "no",
        eval_steps=config.eval_steps if has_eval else None,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=2,
        seed=config.seed,
        use_cpu=device == "cpu",
        report_to="none",
        push_to_hub=False,
        disable_tqdm=True,
        dataloader_pin_memory=device == "cuda",
        prediction_loss_only=True,  # evaluation needs the loss only; no logits gathered
        **precision,
    )
    peft_config = LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=config.target_modules,
        task_type="CAUSAL_LM",
    )
    trainer_class = SFTTrainer if device == "cuda" else CompletionHeadSFTTrainer
    trainer = trainer_class(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(train_rows),
        eval_dataset=Dataset.from_list(eval_rows) if has_eval else None,
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=callbacks or [],
    )
    if device == "cpu" and args.bf16:
        keep_lora_inputs_in_bf16(trainer.model)
    return trainer


def keep_lora_inputs_in_bf16(model) -> None:
    """Under CPU bf16 autocast, let each LoRA layer take its bf16 input as it comes.

    peft casts a LoRA layer's input to its fp32 adapter weights, and autocast casts it straight back to
    bf16 for the matmul: two copies of the activations in each of SmolLM2's 210 adapted layers. Without
    the cast autocast still runs the (small) adapter matmuls in bf16 and the adapter weights stay fp32.
    """
    from peft.tuners.tuners_utils import BaseTunerLayer

    for module in model.modules():
        if isinstance(module, BaseTunerLayer):
            module.cast_input_dtype_enabled = False


def _rows(examples: list[dict[str, Any]], tokenizer, model: str) -> list[dict[str, Any]]:
    # Tool-calling data goes through the model's own template with its tools (or is refused, saying why).
    rows = tool_calling_rows(examples, tokenizer, model)
    return to_prompt_completion(examples) if rows is None else rows


def train_lora(
    config: TrainConfig,
    job_dir: Path,
    models_dir: Path,
    *,
    callbacks: list[TrainerCallback] | None = None,
    resume_from: Path | None = None,
    cpu_threads: int | None = None,
) -> TrainResult | None:
    """Train, save the adapter in PEFT format (and the merged model if asked); None when stopped early."""
    trainer = build_trainer(config, models_dir, job_dir / CHECKPOINTS_DIR, callbacks, cpu_threads)
    output = trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    if any(getattr(callback, "stopped", False) for callback in callbacks or []):
        return None  # asked to stop (cancel): no adapter from a half-run
    adapter_path = job_dir / ADAPTER_DIR
    trainer.save_model(str(adapter_path))
    summary = {
        "global_step": trainer.state.global_step,
        "train_runtime_s": round(output.metrics.get("train_runtime", 0.0), 3),
        "train_loss": output.metrics.get("train_loss"),
        "device": str(trainer.args.device),
    }
    merged_path = None
    if config.merge:
        merged_path = merge_adapter(trainer.model, trainer.processing_class, job_dir / MERGED_DIR)
    return TrainResult(adapter_path=adapter_path, merged_path=merged_path, summary=summary)


def merge_adapter(peft_model, tokenizer, target: Path) -> Path:
    """Fold the LoRA weights into the base model and save a standalone model folder."""
    merged = peft_model.merge_and_unload()
    merged.save_pretrained(str(target))
    tokenizer.save_pretrained(str(target))
    return target
