"""OpenAI fine-tuning jobs: upload, create, poll, cancel, chat with the result, and explain API errors.

Plain functions over an `openai.OpenAI` client; the worker records what they return. Every text that
leaves this module goes through `redact`, so an API key never reaches logs, job records, errors or chat.
Failures raise `OpenAIJobError` whose message says what went wrong and what to do next.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import math
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import openai
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

if TYPE_CHECKING:
    from assistant.settings import Settings

RemoteStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
# The API's lifecycle words mapped to ours; "validating_files" is still waiting, as far as a learner is concerned.
_STATUSES: dict[str, RemoteStatus] = {
    "validating_files": "queued", "queued": "queued", "running": "running",
    "succeeded": "succeeded", "failed": "failed", "cancelled": "cancelled",
}
# API metric names -> ours (the local trainer's names, so one loss chart serves both backends).
_METRIC_NAMES = {
    "train_loss": "train_loss",
    "train_mean_token_accuracy": "train_accuracy",
    "train_accuracy": "train_accuracy",
    "valid_loss": "eval_loss",
    "valid_mean_token_accuracy": "eval_accuracy",
    "full_valid_loss": "full_eval_loss",
    "full_valid_mean_token_accuracy": "full_eval_accuracy",
}
_KEY_LIKE = re.compile(r"\b(?:sk|rk|sess)-[A-Za-z0-9_\-*]{6,}")
_BEARER = re.compile(r"(?i)\bbearer\s+[^\s,;\"'}]+")
_NO_KEY = "Set OPENAI_API_KEY to run OpenAI fine-tuning jobs (and OPENAI_BASE_URL for an OpenAI-compatible endpoint)."
_EVENTS_PAGE = 100
_ALLOWED = {"n_epochs": "a whole number from 1 to 50", "batch_size": "a whole number from 1 to 256",
            "learning_rate_multiplier": "a number above 0 and at most 10"}


class OpenAIJobError(RuntimeError):
    """An OpenAI call failed; the message is safe to show (no key) and says what to do next."""


class Hyperparameters(BaseModel):
    """The supervised fine-tuning knobs the API accepts; unset ones stay on the API's "auto"."""

    model_config = ConfigDict(extra="forbid")

    n_epochs: Annotated[int, Field(ge=1, le=50)] | Literal["auto"] | None = None
    batch_size: Annotated[int, Field(ge=1, le=256)] | Literal["auto"] | None = None
    learning_rate_multiplier: Annotated[float, Field(gt=0, le=10)] | Literal["auto"] | None = None


@dataclass
class RemoteState:
    """One look at a remote job: what is new since the last look, plus its current status."""

    status: RemoteStatus
    api_status: str  # the API's own word, e.g. "validating_files"
    fine_tuned_model: str | None = None
    metrics: list[dict[str, Any]] = field(default_factory=list)  # new metric points from events, oldest first
    messages: list[str] = field(default_factory=list)  # new human-readable events, oldest first
    error: str | None = None
    last_event_id: str | None = None  # pass back as `after_event` next time
    trained_tokens: int | None = None
    result_metrics: list[dict[str, Any]] = field(default_factory=list)  # the full series from the result file, once succeeded

    @property
    def finished(self) -> bool:
        return self.status in {"succeeded", "failed", "cancelled"}


def make_client(settings: Settings, *, timeout: float = 60.0, max_retries: int = 2) -> openai.OpenAI:
    """A client for the configured key and endpoint; OpenAIJobError when no key is set."""
    if settings.openai_api_key is None:
        raise OpenAIJobError(_NO_KEY)
    return openai.OpenAI(
        api_key=settings.openai_api_key.get_secret_value(), base_url=settings.openai_base_url or None,
        timeout=timeout, max_retries=max_retries,
    )


def submit(
    client: openai.OpenAI,
    *,
    model: str,
    train_path: Path,
    validation_path: Path | None = None,
    hyperparameters: dict[str, Any] | None = None,
    suffix: str | None = None,
) -> str:
    """Upload the training (and validation) file and create a supervised job; return the remote job id."""
    params = _check_hyperparameters(hyperparameters or {})
    paths = [Path(train_path)] + ([Path(validation_path)] if validation_path is not None else [])
    contents = [_read_upload(path, what) for path, what in zip(paths, ("training", "validation"))]  # local problems first
    with _explained(client):
        file_ids = [client.files.create(file=(path.name, data), purpose="fine-tune").id for path, data in zip(paths, contents)]
        job = client.fine_tuning.jobs.create(
            model=model,
            training_file=file_ids[0],
            validation_file=file_ids[1] if len(file_ids) > 1 else openai.omit,
            suffix=suffix if suffix else openai.omit,
            method={"type": "supervised", "supervised": {"hyperparameters": params}},
        )
    return job.id


def poll(client: openai.OpenAI, remote_id: str, after_event: str | None = None) -> RemoteState:
    """The job's status and the events since `after_event`; the result file's metrics once it succeeded."""
    with _explained(client):
        job = client.fine_tuning.jobs.retrieve(remote_id)  # before the events, so a finished job's events are complete
        events = _events_since(client, remote_id, after_event)
        result_metrics = _read_result_metrics(client, job) if job.status == "succeeded" and job.result_files else []
    return _state(job, events, after_event, result_metrics, _secrets_of(client))


def cancel(client: openai.OpenAI, remote_id: str, after_event: str | None = None) -> RemoteState:
    """Ask the API to cancel the job, then report its state (usually "cancelled")."""
    with _explained(client):
        client.fine_tuning.jobs.cancel(remote_id)
    return poll(client, remote_id, after_event)


def chat_with_model(client: openai.OpenAI, model_id: str, messages: Iterable[dict[str, Any]], max_tokens: int = 256) -> str:
    """One reply from a (fine-tuned) model to chat-format messages."""
    with _explained(client):
        completion = client.chat.completions.create(model=model_id, messages=list(messages), max_completion_tokens=max_tokens)  # type: ignore[arg-type]
    message = completion.choices[0].message if completion.choices else None
    text = (message.content or message.refusal or "") if message is not None else ""
    return redact(text, _secrets_of(client))


def redact(text: str, secrets: Iterable[str | SecretStr | None] = ()) -> str:
    """`text` without the given secrets, anything shaped like an API key, or bearer tokens."""
    values = [s.get_secret_value() if isinstance(s, SecretStr) else s for s in secrets]
    for secret in sorted((v for v in values if v and len(v) >= 4), key=len, reverse=True):
        text = text.replace(secret, "[redacted]")
    text = _KEY_LIKE.sub("[redacted key]", text)
    return _BEARER.sub("Bearer [redacted]", text)


def explain_api_error(exc: BaseException, secrets: Iterable[str | SecretStr | None] = ()) -> str:
    """A one- or two-line explanation of a failed API call with the next step; never contains the key."""
    detail = _detail(exc)
    said = f" The API said: {detail}" if detail else ""
    if isinstance(exc, openai.APITimeoutError):
        text = f"The OpenAI API at {_host(exc)} did not answer in time. Check the network and try again; a job already created keeps running remotely."
    elif isinstance(exc, openai.APIConnectionError):
        text = f"Could not reach the OpenAI API at {_host(exc)}. Check the network connection and OPENAI_BASE_URL, then try again."
    elif isinstance(exc, openai.AuthenticationError):
        text = f"OpenAI rejected the API key (401).{said}\nSet OPENAI_API_KEY to a current key from https://platform.openai.com/api-keys and restart."
    elif isinstance(exc, openai.PermissionDeniedError):
        text = f"This API key may not do that (403).{said}\nCheck the key's project permissions and model access, or use another key."
    elif isinstance(exc, openai.NotFoundError):
        text = f"Not found (404).{said}\nCheck the job, file or model id; fine-tuned models are visible only to the organization that trained them."
    elif isinstance(exc, openai.RateLimitError):
        if getattr(exc, "code", None) == "insufficient_quota" or "quota" in detail.lower():
            text = f"The OpenAI account is out of quota (429).{said}\nAdd credit or raise the limit in the billing settings, then submit again."
        else:
            text = f"Rate limited by OpenAI (429).{said}\nWait a minute and try again."
    elif isinstance(exc, openai.BadRequestError):
        text = _explain_bad_request(exc, said)
    elif isinstance(exc, openai.InternalServerError):
        text = f"OpenAI had a server error ({exc.status_code}).{said}\nWait a few minutes and try again (status: https://status.openai.com)."
    elif isinstance(exc, openai.APIStatusError):
        text = f"The OpenAI API refused the request ({exc.status_code}).{said}"
    elif isinstance(exc, openai.OpenAIError):
        text = f"OpenAI client error: {exc}. {_NO_KEY if 'api_key' in str(exc) else ''}".strip()
    else:
        text = f"{type(exc).__name__}: {exc}"
    return redact(text, [*secrets, _request_key(exc)])


def _explain_bad_request(exc: openai.BadRequestError, said: str) -> str:
    code, param = getattr(exc, "code", None) or "", getattr(exc, "param", None) or ""
    lowered = said.lower()
    if code == "model_not_available" or "not available for fine-tuning" in lowered or param == "model":
        return f"That model cannot be fine-tuned with this key (400).{said}\nPick a fine-tunable model such as gpt-4o-mini-2024-07-18 or gpt-4.1-nano-2025-04-14."
    if param in {"file", "training_file", "validation_file"} or "file" in code:
        return f"OpenAI rejected the training data (400).{said}\nFix the file (the dataset validator lists each problem) and submit again."
    if param.startswith("hyperparameters") or param == "suffix":
        return f"OpenAI rejected the setting {param!r} (400).{said}\nChange that setting and submit again."
    return f"OpenAI rejected the request (400).{said}\nFix what it names and try again."


def _detail(exc: BaseException) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        message = body.get("message")
        return str(message).strip() if message else ""
    if isinstance(body, str):
        return body.strip()[:300]
    return ""


def _host(exc: BaseException) -> str:
    # Scheme, host and port only: query strings (Azure's api-version, some proxies' keys) stay out of messages.
    try:
        url = exc.request.url  # type: ignore[attr-defined]
        return f"{url.scheme}://{url.netloc.decode() if isinstance(url.netloc, bytes) else url.netloc}"
    except Exception:
        return "the configured endpoint"


def _request_key(exc: BaseException) -> str | None:
    try:
        header = exc.request.headers.get("Authorization", "")  # type: ignore[attr-defined]
    except Exception:
        return None
    return header.split(" ", 1)[1] if header.lower().startswith("bearer ") else None


def _secrets_of(client: openai.OpenAI) -> list[str]:
    key = getattr(client, "api_key", None)
    return [key] if isinstance(key, str) else []


@contextmanager
def _explained(client: openai.OpenAI) -> Iterator[None]:
    """Turn any openai exception into OpenAIJobError; `from None` keeps the original (and its request) out of tracebacks."""
    try:
        yield
    except openai.OpenAIError as exc:
        raise OpenAIJobError(explain_api_error(exc, _secrets_of(client))) from None


def _check_hyperparameters(values: dict[str, Any]) -> dict[str, Any]:
    try:
        checked = Hyperparameters(**values)
    except ValidationError as exc:
        fields = dict.fromkeys(str(error["loc"][0]) for error in exc.errors())
        problems = "; ".join(
            f"{name}={values[name]!r} must be 'auto' or {_ALLOWED[name]}" if name in _ALLOWED else f"unknown setting {name!r} (use {', '.join(_ALLOWED)})"
            for name in fields
        )
        raise OpenAIJobError(f"Invalid hyperparameters: {problems}.") from None
    return checked.model_dump(exclude_none=True)


def _read_upload(path: Path, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise OpenAIJobError(f"Cannot read the {what} file {path}: {exc.strerror or exc}. Export the dataset again and resubmit.") from None


def _events_since(client: openai.OpenAI, remote_id: str, after_event: str | None) -> list[Any]:
    """Events newer than `after_event`, oldest first. The API lists newest first and pages towards older ones."""
    newer = []
    for event in client.fine_tuning.jobs.list_events(remote_id, limit=_EVENTS_PAGE):
        if event.id == after_event:
            break
        newer.append(event)
    return newer[::-1]


def _state(job: Any, events: list[Any], after_event: str | None, result_metrics: list[dict[str, Any]], secrets: list[str]) -> RemoteState:
    n_epochs = getattr(job.hyperparameters, "n_epochs", None) if job.hyperparameters else None
    state = RemoteState(
        status=_STATUSES.get(job.status, "queued"), api_status=job.status, fine_tuned_model=job.fine_tuned_model,
        last_event_id=events[-1].id if events else after_event, trained_tokens=job.trained_tokens, result_metrics=result_metrics,
    )
    for event in events:
        if event.type == "metrics" and isinstance(event.data, dict) and event.data.get("step") is not None:
            state.metrics.append(_metric_point(event.data, event.data.get("total_steps"), n_epochs))
        elif event.message:
            prefix = "" if event.level == "info" else f"{event.level}: "
            state.messages.append(redact(prefix + event.message, secrets))
    if job.status == "failed":
        error = job.error
        reason = (error.message if error and error.message else "no reason given").strip()
        code = error.code if error and error.code else ""
        hint = " Fix the dataset and submit again." if "file" in code else ""
        state.error = redact(f"The OpenAI fine-tuning job failed: {reason}" + (f" (code: {code})" if code else "") + hint, secrets)
    return state


def _metric_point(data: dict[str, Any], total_steps: Any, n_epochs: Any) -> dict[str, Any]:
    """One metrics row in our names: step, epoch (when derivable), train_loss, train_accuracy, eval_loss, eval_accuracy..."""
    step = int(float(data["step"]))
    point: dict[str, Any] = {"step": step}
    if isinstance(total_steps, (int, float)) and total_steps > 0 and isinstance(n_epochs, int):
        point["epoch"] = round(step * n_epochs / total_steps, 3)
    for api_name, ours in _METRIC_NAMES.items():
        value = _number(data.get(api_name))
        if value is not None and ours not in point:
            point[ours] = value
    if "eval_loss" not in point and "full_eval_loss" in point:
        point["eval_loss"] = point["full_eval_loss"]
    return point


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _read_result_metrics(client: openai.OpenAI, job: Any) -> list[dict[str, Any]]:
    """The per-step CSV the API writes when a job succeeds (served base64-encoded)."""
    raw = client.files.content(job.result_files[0]).read()
    text = raw.decode("utf-8", errors="replace")
    if not text.lstrip().startswith("step"):
        try:
            text = base64.b64decode(raw, validate=False).decode("utf-8", errors="replace")
        except (binascii.Error, ValueError):
            return []
    rows = [row for row in csv.DictReader(io.StringIO(text)) if _number(row.get("step")) is not None]
    total = max((int(float(row["step"])) for row in rows), default=0)
    n_epochs = getattr(job.hyperparameters, "n_epochs", None) if job.hyperparameters else None
    return [_metric_point(row, total, n_epochs) for row in rows]
