"""OpenAI fine-tuning jobs: upload, create, poll, cancel and chat with the result; the dated closure.

Plain functions over an `openai.OpenAI` client (`core.openai_api.make_client`), or an
`openai.AzureOpenAI` one for Azure (`client_for`; Azure's own parts are in
`trainer.jobs.azure_backend`); the worker records what they return. Every text that leaves this
module goes through `redact`, and failures raise `OpenAIAPIError` with a message that says what went
wrong and what to do next.

OpenAI is winding its fine-tuning platform down; the dates are in the dated model table
(`trainer.data.prices`). `start_notices` says them before a job is created (English or Finnish),
and `check_accepting_jobs` refuses a new OpenAI job after the last day, with `today` injectable.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Annotated, Any, Literal

import openai
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.openai_api import OpenAIAPIError, explained, make_azure_client, make_client, redact, secrets_of
from core.settings import Settings
from core.texts import text
from trainer.data.examples import DatasetError
from trainer.data.prices import PriceTable, load_prices
from trainer.data.tokens import resolve_model
from trainer.jobs.azure_backend import azure_model_name, billing_note

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
_EVENTS_PAGE = 100
_ALLOWED = {"n_epochs": "a whole number from 1 to 50", "batch_size": "a whole number from 1 to 256",
            "learning_rate_multiplier": "a number above 0 and at most 10"}


class JobsClosed(OpenAIAPIError):
    """OpenAI takes no new fine-tuning jobs any more (past the dated table's last day)."""



def today_utc() -> date:
    return datetime.now(timezone.utc).date()


def client_for(settings: Settings, backend: str, *, timeout: float = 60.0, max_retries: int = 2) -> openai.OpenAI:
    """The client a hosted backend's jobs go through: Azure's for "azure", OpenAI's otherwise.

    `max_retries` are the SDK's own quick retries; the worker polls with none and retries itself (see
    `trainer.jobs.hiccups`), so a long outage is waited out and every failure shows in the job record.
    """
    make = make_azure_client if backend == "azure" else make_client
    return make(settings, timeout=timeout, max_retries=max_retries)


def remote_model_name(backend: str, model: str, table: PriceTable | None = None) -> str:
    """The base model as the provider names it (Azure spells gpt-3.5 as gpt-35)."""
    return azure_model_name(snapshot_of(model), table) if backend == "azure" else model


def snapshot_of(model: str) -> str:
    """The dated snapshot behind an alias or a fine-tuned id; the name itself when the tables do not know it."""
    try:
        return resolve_model(model).name
    except DatasetError:
        return model


def check_accepting_jobs(model: str, today: date | None = None, table: PriceTable | None = None, lang: str = "en") -> None:
    """Raise JobsClosed when OpenAI takes no new job on `model` on `today` (default: today, UTC)."""
    table = table or load_prices()
    day = today or today_utc()
    if not table.accepts_new_jobs(snapshot_of(model), day):
        raise JobsClosed(text(lang, "openai.closed", until=table.new_jobs_until(snapshot_of(model)), as_of=table.as_of, today=day))


def start_notices(backend: str, model: str, lang: str = "en", table: PriceTable | None = None) -> list[str]:
    """What a learner must know before a hosted job is created: OpenAI's closure dates, or Azure's hourly billing."""
    if backend == "azure":
        return [billing_note(lang)]
    if backend != "openai":
        return []
    table = table or load_prices()
    snapshot = snapshot_of(model)
    platform = table.platform
    notices = []
    if platform.new_jobs_until or platform.closed_to_new_users_from:
        serving = table.tuned_serving_until(snapshot)
        notice = text(lang, "openai.closure", as_of=table.as_of, closed=platform.closed_to_new_users_from or "-",
                      until=platform.new_jobs_until or "-")
        notice += text(lang, "openai.serving" if serving else "openai.no_serving", model=snapshot, serving=serving)
        notices.append(notice + text(lang, "openai.plan"))
    entry = table.models.get(snapshot)
    if entry is not None and not entry.in_guide:
        listed = ", ".join(name for name, m in table.models.items() if m.in_guide)
        notices.append(text(lang, "openai.guide", model=snapshot, listed=listed))
    return notices


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
    with explained(client):
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
    with explained(client):
        job = client.fine_tuning.jobs.retrieve(remote_id)  # before the events, so a finished job's events are complete
        events = _events_since(client, remote_id, after_event)
        result_metrics = _read_result_metrics(client, job) if job.status == "succeeded" and job.result_files else []
    return _state(job, events, after_event, result_metrics, secrets_of(client))


def cancel(client: openai.OpenAI, remote_id: str, after_event: str | None = None) -> RemoteState:
    """Ask the API to cancel the job, then report its state (usually "cancelled")."""
    request_cancel(client, remote_id)
    return poll(client, remote_id, after_event)


def request_cancel(client: openai.OpenAI, remote_id: str) -> None:
    """Ask the API to cancel the job, without looking at it afterwards (a worker that is stopping has no use for the look)."""
    with explained(client):
        client.fine_tuning.jobs.cancel(remote_id)


def chat_with_model(client: openai.OpenAI, model_id: str, messages: Iterable[dict[str, Any]], max_tokens: int = 256) -> str:
    """One reply from a (fine-tuned) model to chat-format messages."""
    with explained(client):
        completion = client.chat.completions.create(model=model_id, messages=list(messages), max_completion_tokens=max_tokens)  # type: ignore[arg-type]
    message = completion.choices[0].message if completion.choices else None
    text = (message.content or message.refusal or "") if message is not None else ""
    return redact(text, secrets_of(client))


def _check_hyperparameters(values: dict[str, Any]) -> dict[str, Any]:
    try:
        checked = Hyperparameters(**values)
    except ValidationError as exc:
        fields = dict.fromkeys(str(error["loc"][0]) for error in exc.errors())
        problems = "; ".join(
            f"{name}={values[name]!r} must be 'auto' or {_ALLOWED[name]}" if name in _ALLOWED else f"unknown setting {name!r} (use {', '.join(_ALLOWED)})"
            for name in fields
        )
        raise OpenAIAPIError(f"Invalid hyperparameters: {problems}.") from None
    return checked.model_dump(exclude_none=True)


def _read_upload(path: Path, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise OpenAIAPIError(f"Cannot read the {what} file {path}: {exc.strerror or exc}. Export the dataset again and resubmit.") from None


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
