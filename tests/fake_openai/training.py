"""The fake's fine-tuning side: uploaded files, the JSONL checks, and jobs that advance with the clock.

A job moves validating_files -> queued -> running -> succeeded, one lifecycle phase per `phase_seconds` and
one training step per `step_seconds`, emitting the events and the base64 result CSV the real service does.
A training file with fewer than `min_examples` examples fails in validation; a model whose name contains
"fail" fails half-way through training.
"""

from __future__ import annotations

import base64
import json
import math
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

ORG = "fake-org"
# Snapshots the real service fine-tunes, keyed by the aliases it resolves.
FINE_TUNABLE = {
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "gpt-4o": "gpt-4o-2024-08-06",
    "gpt-4.1": "gpt-4.1-2025-04-14",
    "gpt-4.1-mini": "gpt-4.1-mini-2025-04-14",
    "gpt-4.1-nano": "gpt-4.1-nano-2025-04-14",
    "gpt-3.5-turbo": "gpt-3.5-turbo-0125",
    "babbage-002": "babbage-002",
    "davinci-002": "davinci-002",
}
CHAT_ROLES = {"system", "developer", "user", "assistant", "tool", "function"}
MESSAGE_KEYS = {"role", "content", "name", "weight", "tool_calls", "function_call", "tool_call_id", "refusal"}
RESULT_COLUMNS = ["step", "train_loss", "train_accuracy", "valid_loss", "valid_mean_token_accuracy", "full_valid_loss", "full_valid_mean_token_accuracy"]
HYPERPARAMETER_LIMITS = {"n_epochs": (1, 50), "batch_size": (1, 256), "learning_rate_multiplier": (1e-6, 10.0)}


class ApiError(Exception):
    """An error answered in OpenAI's JSON shape."""

    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error", param: str | None = None, code: str | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = status, message, type, param, code
        self.headers = headers or {}  # sent with the error, e.g. Retry-After

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:24]}"


def estimate_tokens(text: str) -> int:
    return max(1, len(text) // 4)


@dataclass
class StoredFile:
    id: str
    filename: str
    purpose: str
    data: bytes
    created_at: int = field(default_factory=lambda: int(time.time()))
    examples: int = 0
    tokens: int = 0

    def as_json(self) -> dict[str, Any]:
        return {"object": "file", "id": self.id, "bytes": len(self.data), "created_at": self.created_at, "filename": self.filename,
                "purpose": self.purpose, "status": "processed", "status_details": None, "expires_at": None}


@dataclass
class Job:
    id: str
    model: str
    training: StoredFile
    validation: StoredFile | None
    suffix: str | None
    hyperparameters: dict[str, Any]
    phase_seconds: float
    step_seconds: float
    min_examples: int
    created_at: int = field(default_factory=lambda: int(time.time()))
    started: float = field(default_factory=time.monotonic)
    status: str = "validating_files"
    step: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)  # oldest first
    rows: list[dict[str, Any]] = field(default_factory=list)  # one per step, for the result CSV
    error: dict[str, Any] | None = None
    fine_tuned_model: str | None = None
    result_files: list[str] = field(default_factory=list)
    finished_at: int | None = None
    trained_tokens: int | None = None

    def __post_init__(self) -> None:
        self.steps_per_epoch = max(1, math.ceil(self.training.examples / self.hyperparameters["batch_size"]))
        self.total_steps = self.steps_per_epoch * self.hyperparameters["n_epochs"]
        validating = f"Validating training file: {self.training.id}"
        self.add_event(validating + (f" and validation file: {self.validation.id}" if self.validation else ""))

    @property
    def done(self) -> bool:
        return self.status in {"succeeded", "failed", "cancelled"}

    def as_json(self) -> dict[str, Any]:
        return {
            "object": "fine_tuning.job", "id": self.id, "model": self.model, "created_at": self.created_at,
            "finished_at": self.finished_at, "fine_tuned_model": self.fine_tuned_model, "organization_id": ORG,
            "result_files": self.result_files, "status": self.status, "training_file": self.training.id,
            "validation_file": self.validation.id if self.validation else None, "hyperparameters": self.hyperparameters,
            "method": {"type": "supervised", "supervised": {"hyperparameters": self.hyperparameters}},
            "trained_tokens": self.trained_tokens, "error": self.error, "seed": 42, "estimated_finish": None,
            "integrations": [], "metadata": None, "user_provided_suffix": self.suffix,
        }

    def add_event(self, message: str, *, data: dict[str, Any] | None = None, type: str = "message", level: str = "info") -> None:
        self.events.append({"object": "fine_tuning.job.event", "id": new_id("ftevent"), "created_at": int(time.time()),
                            "level": level, "message": message, "data": data or {}, "type": type})

    def advance(self) -> StoredFile | None:
        """Apply every milestone the clock has passed; return the result file when the job has just succeeded."""
        elapsed = time.monotonic() - self.started
        while not self.done:
            if self.status == "validating_files":
                if elapsed < self.phase_seconds:
                    return None
                if self.training.examples < self.min_examples:
                    message = f"The training file has {self.training.examples} examples; fine-tuning needs at least {self.min_examples}."
                    return self._finish("failed", error={"code": "invalid_training_file", "message": message, "param": "training_file"})
                self.status = "queued"
                self.add_event("Files validated; the job is queued.")
            elif self.status == "queued":
                if elapsed < 2 * self.phase_seconds:
                    return None
                self.status = "running"
                self.add_event("Fine-tuning started.")
            elif elapsed < 2 * self.phase_seconds + (self.step + 1) * self.step_seconds:
                return None
            elif self.step >= self.total_steps:
                self.fine_tuned_model = f"ft:{self.model}:{ORG}:{self.suffix or ''}:{self.id[-8:]}"
                self.add_event(f"New fine-tuned model created: {self.fine_tuned_model}")
                return self._finish("succeeded")
            elif "fail" in self.model and self.step >= self.total_steps // 2:
                message = f"Training stopped at step {self.step}: the loss became NaN (simulated failure for a model named '*fail*')."
                return self._finish("failed", error={"code": "training_failed", "message": message, "param": None})
            else:
                self.step += 1
                self._train_step()
        return None

    def cancel(self) -> None:
        if self.done:
            raise ApiError(400, f"Job {self.id} has already finished ({self.status}); it cannot be cancelled.", code="invalid_state")
        self.status, self.finished_at = "cancelled", int(time.time())
        self.add_event("The job was cancelled at the user's request.")

    def _train_step(self) -> None:
        # A smooth, deterministic curve with a little wobble: loss falls, accuracy rises, validation trails training.
        step, total = self.step, self.total_steps
        learned = 1 - math.exp(-4 * step / total)
        train_loss = round(2.45 - 2.2 * learned + 0.08 * math.sin(step * 1.7), 4)
        data: dict[str, Any] = {"step": step, "train_loss": train_loss, "total_steps": total,
                                "train_mean_token_accuracy": round(min(0.99, 0.45 + 0.5 * learned), 4)}
        if self.validation is not None and step % max(1, total // 10) == 0:
            data["valid_loss"] = round(2.55 - 2.2 * learned + 0.05 * step / total, 4)
            data["valid_mean_token_accuracy"] = round(min(0.97, 0.42 + 0.48 * learned), 4)
        if self.validation is not None and step % self.steps_per_epoch == 0:
            data["full_valid_loss"] = round(2.56 - 2.2 * learned, 4)
            data["full_valid_mean_token_accuracy"] = round(min(0.97, 0.41 + 0.48 * learned), 4)
        message = f"Step {step}/{total}: training loss={train_loss:.2f}"
        if "valid_loss" in data:
            message += f", validation loss={data['valid_loss']:.2f}"
        self.add_event(message, data=data, type="metrics")
        self.rows.append(data)

    def _finish(self, status: str, *, error: dict[str, Any] | None = None) -> StoredFile | None:
        self.status, self.error, self.finished_at = status, error, int(time.time())
        if status != "succeeded":
            self.add_event((error or {}).get("message", "The job failed."), level="error")
            return None
        self.trained_tokens = self.training.tokens * self.hyperparameters["n_epochs"]
        result = StoredFile(new_id("file"), "step_metrics.csv", "fine-tune-results", base64.b64encode(result_csv(self.rows).encode()))
        self.result_files = [result.id]
        self.add_event("The job has successfully completed.")
        return result


def resolve_hyperparameters(requested: dict[str, Any], examples: int) -> dict[str, Any]:
    """Fill "auto" the way the service does for small sets; 400 for values out of range."""
    auto = {"n_epochs": min(25, max(1, math.ceil(100 / max(examples, 1)))), "batch_size": 1, "learning_rate_multiplier": 1.8}
    resolved = {}
    for name, (low, high) in HYPERPARAMETER_LIMITS.items():
        value = requested.get(name, "auto")
        if value == "auto" or value is None:
            value = auto[name]
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise ApiError(400, f"hyperparameters.{name} must be 'auto' or a number from {low:g} to {high:g}; got {value!r}.", param=f"hyperparameters.{name}")
        resolved[name] = value
    return resolved


def check_training_jsonl(filename: str, data: bytes) -> tuple[int, int]:
    """Validate chat-format fine-tuning data as the upload endpoint does; return (examples, tokens)."""
    if not filename.endswith(".jsonl"):
        raise ApiError(400, f"Fine-tuning files must be JSONL with a .jsonl name; got {filename!r}.", param="file", code="invalid_file_format")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "The file is not UTF-8 text.", param="file", code="invalid_file_format") from None
    examples = tokens = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        problem = example_problem(line)
        if problem:
            raise ApiError(400, f"Invalid file format. Line {number}: {problem}.", param="file", code="invalid_file_format")
        examples += 1
        tokens += estimate_tokens(line)
    if examples == 0:
        raise ApiError(400, "The file contains no training examples.", param="file", code="invalid_file_format")
    return examples, tokens


def example_problem(line: str) -> str | None:
    """What is wrong with one JSONL line of chat (or prompt/completion) training data, or None."""
    try:
        example = json.loads(line)
    except ValueError:
        return "not valid JSON"
    if not isinstance(example, dict):
        return "each line must be a JSON object"
    if "prompt" in example and "completion" in example:
        return None if isinstance(example["prompt"], str) and isinstance(example["completion"], str) else "prompt and completion must be strings"
    messages = example.get("messages")
    if not isinstance(messages, list) or not messages:
        return "missing a non-empty 'messages' list"
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            return f"message {index} is not an object"
        unknown = set(message) - MESSAGE_KEYS
        if unknown:
            return f"message {index} has unrecognized key {sorted(unknown)[0]!r}"
        if message.get("role") not in CHAT_ROLES:
            return f"message {index} has invalid role {message.get('role')!r}"
        content = message.get("content")
        if not (isinstance(content, (str, list)) or (content is None and message.get("tool_calls"))):
            return f"message {index} is missing text content"
        if "weight" in message and message["weight"] not in (0, 1):
            return f"message {index} has weight {message['weight']!r}; weight must be 0 or 1"
    if not any(m.get("role") == "assistant" for m in messages):
        return "no assistant message to learn from"
    return None


def result_csv(rows: list[dict[str, Any]]) -> str:
    lines = [",".join(RESULT_COLUMNS)]
    for row in rows:
        values = dict(row, train_accuracy=row.get("train_mean_token_accuracy"))
        lines.append(",".join("" if values.get(c) is None else str(values[c]) for c in RESULT_COLUMNS))
    return "\n".join(lines) + "\n"
