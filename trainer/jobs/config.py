"""Fine-tune job configuration: the `TrainConfig` options model and its presets.

A config is validated once when a job is created, completed from its preset, and saved beside
the job as `config.json`; the worker reads it back from there, so a job always runs with what
was recorded.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from trainer.data.prices import load_prices

Backend = Literal["local", "openai", "azure"]
PresetName = Literal["quick", "balanced", "thorough"]
# Backends whose jobs run on a provider's API (OpenAI's, or Azure OpenAI's with the same SDK).
HOSTED_BACKENDS = ("openai", "azure")

# From the dated model table: a snapshot OpenAI's fine-tuning guide still lists.
DEFAULT_OPENAI_MODEL = load_prices().default_model

# Hyperparameters each preset fills in unless the caller set them.
# quick: a demo that finishes in minutes on a laptop CPU; balanced: a sensible first real run;
# thorough: more capacity and epochs for a larger dataset on a GPU.
PRESETS: dict[str, dict[str, Any]] = {
    "quick": {
        # Epochs come from the dataset's size (`quick_epochs`): a small set needs many passes at a high rate
        # before answers take its form. 9 examples (one of 10 held back): 7 epochs at 1.5e-3, 14 steps, about a
        # minute on 2 cores, answered unseen prompts in the trained form with a lower loss on held-out answers
        # than the base; 15 epochs at 1e-3 learned the form too but overfit (held-out loss above the base's).
        "learning_rate": 1.5e-3,
        "lora_r": 8,
        "lora_alpha": 16,
        "lora_dropout": 0.0,  # dropout on every adapted layer's input costs ~10% of a CPU step
        "batch_size": 1,
        "grad_accum": 1,
        "max_seq_length": 512,
        "eval_steps": 5,
        "save_steps": 20,
    },
    "balanced": {
        "epochs": 3,
        "learning_rate": 1e-4,
        "lora_r": 16,
        "lora_alpha": 32,
        "lora_dropout": 0.05,
        "batch_size": 8,
        "grad_accum": 2,
        "max_seq_length": 1024,
        "eval_steps": 25,
        "save_steps": 50,
    },
    "thorough": {
        "epochs": 5,
        "learning_rate": 5e-5,
        "lora_r": 32,
        "lora_alpha": 64,
        "lora_dropout": 0.1,
        "batch_size": 8,
        "grad_accum": 4,
        "max_seq_length": 2048,
        "eval_steps": 50,
        "save_steps": 100,
    },
}


# quick: about this many examples seen in all, so a small set gets many passes and a large one a single pass.
QUICK_EXAMPLES_SEEN = 64
QUICK_MAX_EPOCHS = 15
# Without a validation file this share of the examples (at least one, from HOLDOUT_MIN_EXAMPLES examples up)
# is held back at job start: validation loss during training and held-out data for the evaluation.
DEFAULT_HOLDOUT = 0.1
HOLDOUT_MIN_EXAMPLES = 5


def quick_epochs(examples: int) -> int:
    """Epochs for the quick preset, from the number of training examples (never from the dataset's name)."""
    return max(1, min(QUICK_MAX_EPOCHS, round(QUICK_EXAMPLES_SEEN / max(1, examples))))


def holdout_count(examples: int, share: float) -> int:
    """How many of `examples` to hold back for validation (0 when the set is too small to spare any)."""
    if share <= 0 or examples < HOLDOUT_MIN_EXAMPLES:
        return 0
    return max(1, round(examples * share))


# Preset fields that OpenAI jobs leave to the API.
OPENAI_AUTO = ("epochs", "learning_rate", "batch_size")


class TrainConfig(BaseModel):
    """Everything a fine-tune job needs; unknown options are an error, not a silent default."""

    model_config = ConfigDict(extra="forbid")

    backend: Backend = Field(
        "local", description="Where to train: 'local' (LoRA here), 'openai' (OpenAI fine-tuning API) or 'azure' (Azure OpenAI fine-tuning)."
    )
    base_model: str | None = Field(
        None,
        description="Model to fine-tune. Local: the packaged SmolLM2, a HF model id or a folder (default TUTOR_LOCAL_MODEL); "
        f"OpenAI and Azure: a fine-tunable model (default {DEFAULT_OPENAI_MODEL}).",
    )
    train_file: Path = Field(..., description="Training examples, chat-format JSONL (one {'messages': [...]} per line).")
    validation_file: Path | None = Field(None, description="Optional validation examples in the same format; enables eval loss.")
    dataset: str | None = Field(None, description="The dataset's name in the learner's store, when the job was started from one.")
    holdout: float = Field(DEFAULT_HOLDOUT, ge=0, lt=1, description="Without a validation file, the share of examples held back "
                           "for validation loss and evaluation (0 = train on all).")
    held_out: int = Field(0, ge=0, description="Set by the job: how many training examples were held back as its validation file.")
    preset: PresetName = Field("quick", description="Hyperparameter preset; any field set explicitly wins over it.")
    epochs: float | None = Field(None, gt=0, description="Passes over the training set (OpenAI: a whole number; unset = the API's auto; "
                                 "quick preset: from the dataset's size).")
    learning_rate: float | None = Field(None, gt=0, lt=1, description="Local: peak learning rate (from the preset unless set).")
    learning_rate_multiplier: float | None = Field(None, gt=0, le=10, description="OpenAI: learning-rate multiplier (unset = auto).")
    lora_r: int = Field(..., ge=1, le=512, description="LoRA rank: size of the low-rank update.")
    lora_alpha: int = Field(..., ge=1, description="LoRA scaling; the update is scaled by alpha / r.")
    lora_dropout: float = Field(..., ge=0, lt=1, description="Dropout on the LoRA input during training.")
    target_modules: list[str] | Literal["all-linear"] = Field(
        "all-linear", description="Modules that get LoRA adapters: 'all-linear' or names such as ['q_proj', 'v_proj']."
    )
    batch_size: int | None = Field(None, ge=1, description="Local: sequences (or packed blocks) per device per step; OpenAI: examples per batch (unset = auto).")
    grad_accum: int = Field(..., ge=1, description="Micro-batches accumulated per optimizer step.")
    max_seq_length: int = Field(..., ge=16, description="Longest training sequence in tokens; longer examples are truncated.")
    max_steps: int | None = Field(None, ge=1, description="Stop after this many optimizer steps (overrides epochs).")
    eval_steps: int = Field(..., ge=1, description="Validation loss every N steps when a validation file is given.")
    save_steps: int = Field(..., ge=1, description="Checkpoint every N steps (a job resumes from its last checkpoint).")
    logging_steps: int = Field(1, ge=1, description="Record train loss, learning rate and tokens/s every N steps.")
    packing: bool = Field(True, description="Pack examples into padding-free blocks (faster; attention stays per example).")
    precision: Literal["auto", "bf16", "fp32"] = Field(
        "auto", description="Local: 'auto' trains in bf16 where the device multiplies it natively (a GPU with bf16, a CPU "
        "with AVX512-BF16 or AMX) and in fp32 elsewhere; 'bf16' or 'fp32' forces one."
    )
    gradient_checkpointing: bool = Field(False, description="Trade compute for memory (worth it only for big models on a GPU).")
    seed: int = Field(42, description="Random seed for initialisation and data order.")
    gpus: int = Field(0, ge=0, le=8, description="Ray runner: GPUs the cluster gives the job (entrypoint_num_gpus; 0 = CPU). "
                      "On this machine a job uses the GPUs it has.")
    suffix: str | None = Field(None, max_length=64, description="OpenAI: suffix for the fine-tuned model's name.")
    merge: bool = Field(False, description="Local: also export base+adapter merged into a standalone model folder.")
    poll_interval: float = Field(5.0, gt=0, description="OpenAI: seconds between status polls.")
    poll_retry_first: float = Field(2.0, gt=0, description="OpenAI/Azure: seconds before polling again after a poll failed "
                                    "transiently (no answer, 429, 5xx); doubles with each failure in a row.")
    poll_retry_max: float = Field(60.0, gt=0, description="OpenAI/Azure: the longest wait between retried polls (a Retry-After too).")
    poll_timeout: float = Field(60.0, gt=0, description="OpenAI/Azure: seconds one status request may take before it counts as no answer.")

    @model_validator(mode="before")
    @classmethod
    def _fill_from_preset(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        preset = data.get("preset") or "quick"
        if preset not in PRESETS:
            return data  # the Literal check reports the bad name
        defaults = dict(PRESETS[preset])
        if data.get("backend") in HOSTED_BACKENDS:
            # OpenAI picks these itself ("auto") unless the learner sets them.
            for key in OPENAI_AUTO:
                defaults.pop(key, None)
        defaults.update({key: value for key, value in data.items() if value is not None})
        return defaults

    @model_validator(mode="after")
    def _check_backend_fields(self) -> "TrainConfig":
        if self.backend in HOSTED_BACKENDS and self.epochs is not None and self.epochs != int(self.epochs):
            raise ValueError("OpenAI and Azure fine-tuning take a whole number of epochs.")
        if self.backend == "local" and self.learning_rate_multiplier is not None:
            raise ValueError("learning_rate_multiplier is an OpenAI setting; set learning_rate for local jobs.")
        return self

    def with_base_model(self, local_default: str) -> "TrainConfig":
        """The same config with the backend's default base model filled in."""
        if self.base_model:
            return self
        default = local_default if self.backend == "local" else DEFAULT_OPENAI_MODEL
        return self.model_copy(update={"base_model": default})

    def with_examples(self, examples: int) -> "TrainConfig":
        """The same config with what depends on the training set's size filled in (the quick preset's epochs)."""
        if self.backend == "local" and self.preset == "quick" and self.epochs is None:
            return self.model_copy(update={"epochs": float(quick_epochs(examples))})
        return self

    def hyperparameters(self) -> dict[str, Any]:
        """The knobs a learner compares between runs (for status output)."""
        if self.backend in HOSTED_BACKENDS:
            keys = ["epochs", "batch_size", "learning_rate_multiplier", "suffix"]
        else:
            keys = ["preset", "epochs", "learning_rate", "held_out", "batch_size", "grad_accum", "max_steps", "max_seq_length",
                    "lora_r", "lora_alpha", "lora_dropout", "target_modules", "packing", "precision", "merge", "seed"]
        return {key: getattr(self, key) for key in keys}

    def openai_hyperparameters(self) -> dict[str, Any]:
        """The API's supervised hyperparameters; unset ones stay on its "auto"."""
        values = {"n_epochs": int(self.epochs) if self.epochs else None, "batch_size": self.batch_size,
                  "learning_rate_multiplier": self.learning_rate_multiplier}
        return {key: value for key, value in values.items() if value is not None}


def save_config(config: TrainConfig, path: Path) -> None:
    """Write config.json atomically (temp file + rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".config-", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(config.model_dump(mode="json"), handle, indent=2)
    os.replace(tmp, path)


def load_config(path: Path) -> TrainConfig:
    return TrainConfig.model_validate_json(path.read_text(encoding="utf-8"))
