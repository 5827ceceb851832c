"""Job tools: start, watch, cancel and compare fine-tune jobs from the chat, in the learner's language."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field

from assistant.tool_context import ToolContext
from assistant.dataset_tools import current_dataset
from assistant.evaluation_text import describe_evaluation
from assistant.registry import ToolOutput, tool
from assistant.routes import JOB, NAME, Route, job_in_text, named, patterns
from core.settings import Settings
from core.texts import has_text, text
from trainer.jobs import control, inference
from trainer.jobs.config import TrainConfig
from trainer.jobs.hiccups import describe_retrying
from trainer.jobs.job_queue import describe_queue
from trainer.jobs.store import Job

_SPARK = "▁▂▃▄▅▆▇█"


def loss_curve(values: list[float], width: int = 24) -> str:
    """A one-line text plot of a loss series (the Jobs tab draws the real chart)."""
    if not values:
        return ""
    if len(values) > width:
        step = len(values) / width
        values = [values[int(i * step)] for i in range(width - 1)] + [values[-1]]
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    return "".join(_SPARK[round((v - low) / span * (len(_SPARK) - 1))] for v in values)


def status_word(status: str, lang: str) -> str:
    """A job state in the learner's words (the state itself when the catalogue has no word for it)."""
    key = f"job.status.{status}"
    return text(lang, key) if has_text(key) else status


# Hosted backends by the provider's own name, for "where" a job trains.
PROVIDERS = {"openai": "OpenAI", "azure": "Azure OpenAI"}


def describe_where(job: dict[str, Any], lang: str) -> str | None:
    """Where the job runs, in plain words: this machine, a cluster (address, remote id, hardware) or a provider.

    The catalogue's `job.where.<runner>` text (and `..._submitting` before the remote id is known) says it,
    so a new runner is a text in each catalogue; None for a runner the catalogue does not know.
    """
    values = {"address": job.get("remote_url") or "", "remote_id": job.get("remote_id") or "",
              "hardware": job.get("hardware") or "", "repo": job.get("hub_repo") or "", "provider": PROVIDERS.get(job["backend"], job["backend"])}
    key = "job.where.hosted" if job["backend"] in PROVIDERS else f"job.where.{job.get('runner') or 'process'}"
    if not values["remote_id"] and has_text(f"{key}_submitting"):
        key = f"{key}_submitting"
    return text(lang, key, **values) if has_text(key) else None


def describe_progress(job: dict[str, Any], lang: str) -> str:
    """The job's state in plain words: status, step, latest losses and the curve."""
    metrics = job.get("metrics") or []
    train = [m["train_loss"] for m in metrics if m.get("train_loss") is not None]
    evals = [m["eval_loss"] for m in metrics if m.get("eval_loss") is not None]
    lines = [f"**{job['id']}** ({job['backend']}, {job['model']}): **{status_word(job['status'], lang)}**"]
    where = describe_where(job, lang)
    if where:
        lines.append(where)
    if metrics:
        last = metrics[-1]
        step = text(lang, "job.step", step=last.get("step"))
        if train:
            lines.append(text(lang, "job.train_loss", step=step, first=train[0], last=train[-1], curve=loss_curve(train)))
        if evals:
            lines.append(text(lang, "job.eval_loss", loss=evals[-1]))
        if last.get("tokens_per_s"):
            lines.append(f"{last['tokens_per_s']:.0f} tokens/s")
    elif job.get("queue_position") is not None:
        lines.append(describe_queue(job, lang))
    elif job["status"] in ("queued", "running"):
        lines.append(text(lang, "job.loading"))
    if job.get("error"):
        lines.append(text(lang, "job.reason", error=job["error"]))
    retrying = describe_retrying(job.get("summary"), job["backend"], lang) if job["status"] in ("queued", "running") else None
    if retrying:  # the provider is away for now; the job itself carries on there
        lines.append(retrying)
    if job.get("overfitting"):
        message = job["overfitting"]["message"]
        lines.append("⚠️ " + message.get(lang, message["en"]))
    if job["status"] == "succeeded":
        lines.append(text(lang, "job.result", target=job.get("fine_tuned_model") or job.get("adapter_path")))
        evaluation = job.get("evaluation")
        if evaluation and evaluation.get("wins"):
            lines.append(text(lang, "eval.done", job=job["id"], **evaluation["wins"]))
        elif not evaluation:
            lines.append(text(lang, "job.evaluate_hint"))
    return "\n\n".join(lines)


# -- offline route extractors: a matched message → the tool's arguments -----------------------------------

def _train_arguments(match: re.Match[str], text: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    preset = re.search(r"\b(quick|balanced|thorough|nopea|tasapainoinen|perusteellinen)\b", text, re.IGNORECASE)
    if preset:
        values["preset"] = {"nopea": "quick", "tasapainoinen": "balanced", "perusteellinen": "thorough"}.get(
            preset.group(1).lower(), preset.group(1).lower())
    if re.search(r"\bazure\b", text, re.IGNORECASE):  # before openai: "Azure OpenAI" names both
        values["backend"] = "azure"
    elif re.search(r"\bopenai\b", text, re.IGNORECASE):
        values["backend"] = "openai"
    if re.search(r"\b(cluster|ray|klusteri\w*)\b", text, re.IGNORECASE):  # "train it on the cluster": on the Ray cluster
        values["runner"] = "ray"
    elif re.search(r"\bgpu\b", text, re.IGNORECASE):  # "train it on a GPU", "kouluta GPU:lla": on Hugging Face Jobs
        values["runner"] = "hf-jobs"
    epochs = re.search(r"(\d{1,2})\s*(epochs?|epookki\w*|kierros\w*)", text, re.IGNORECASE)
    if epochs:
        values["epochs"] = int(epochs.group(1))
    dataset = re.search(rf"\b(?:dataset|aineisto\w*)\s+[\"']?(?P<name>{NAME})", text, re.IGNORECASE)
    if dataset and dataset.group("name").lower() not in {"with", "using", "on", "and"}:
        values["dataset"] = dataset.group("name")
    return values


def _job_and_prompt(match: re.Match[str], text: str) -> dict[str, Any]:
    return {**named(match, text), **job_in_text(match, text)}


def start_training(settings: Settings, learner: str, dataset: str, *, preset: str = "quick", backend: str = "local",
                   epochs: int | None = None, model: str | None = None, lang: str = "en",
                   runner: str | None = None) -> tuple[Job, list[str]]:
    """Start a fine-tune on one of the learner's saved datasets (the chat tool and the Jobs tab both call this).

    `runner`: where it runs (None: the configured runner; "ray": the Ray cluster of RAY_ADDRESS; "hf-jobs":
    a GPU at Hugging Face Jobs).
    Returns the job and the notices to show with it (a hosted provider's closure dates or billing).
    """
    config = TrainConfig(train_file=control.saved_dataset_file(settings, learner, dataset), dataset=dataset, preset=preset,
                         backend=backend, epochs=epochs, base_model=model)
    notices = control.start_notices(settings, config, lang)
    return control.start_job(settings, config, owner=learner, lang=lang, runner=runner), notices


def chosen_job_id(context: ToolContext, job_id: str | None) -> str:
    """The job a request means: the named one, else the learner's last started, else their newest."""
    chosen = job_id or context.state.last_job
    if not chosen:
        jobs = control.list_jobs(context.settings, context.learner)
        if not jobs:
            raise ValueError(text(context.lang, "job.no_jobs_to_use"))
        chosen = jobs[0]["id"]
    return chosen


@tool(routes=[Route(patterns(
    r"^\s*(please\s+|now\s+|let'?s\s+)?(start|run|launch|kick off|begin)\b.*\b(fine-?tun\w*|training|job)\b(?!.*\?\s*$)",
    r"^\s*(please\s+)?(fine-?tune|train)\s+(it|my|the|this|a|on)\b(?!.*\?\s*$)",
    r"^\s*(aloita|käynnistä)\b.*\b(hienosää\w*|koulutu\w*)(?!.*\?\s*$)",
    r"^\s*(hienosäädä|kouluta)\s+(se|malli|aineisto)\w*\b",
), _train_arguments)])
def start_finetune(
    context: ToolContext,
    dataset: Annotated[str | None, Field(description="Dataset name; default the current dataset.")] = None,
    preset: Annotated[Literal["quick", "balanced", "thorough"], Field(description="Hyperparameter preset.")] = "quick",
    backend: Annotated[
        Literal["local", "openai", "azure"],
        Field(description="local = LoRA on this machine; openai = OpenAI fine-tuning (closing: no new jobs after 2027-01-06); azure = Azure OpenAI fine-tuning."),
    ] = "local",
    epochs: Annotated[int | None, Field(ge=1, le=25, description="Passes over the data; default from the preset.")] = None,
    model: Annotated[str | None, Field(description="Base model; default the local model, or the hosted provider's default from the dated model table.")] = None,
    runner: Annotated[
        Literal["ray", "hf-jobs"] | None,
        Field(description="Where a local job trains: ray = on the Ray cluster (when the learner asks for the cluster); "
                          "hf-jobs = on a GPU at Hugging Face Jobs (when the learner asks for a GPU); default as configured."),
    ] = None,
) -> ToolOutput:
    """Start a fine-tune job on one of the learner's datasets; it runs in the background."""
    name = current_dataset(context, dataset)
    job, notices = start_training(context.settings, context.learner, name, preset=preset, backend=backend, epochs=epochs,
                                  model=model, lang=context.lang, runner=runner)
    context.state.last_job = job.id
    status = control.job_status(context.settings, job.id, context.learner)
    started = (text(context.lang, "job.started_gpu", job=job.id, name=name, preset=preset, hardware=context.settings.hf_flavor)
               if job.runner == "hf-jobs" else text(context.lang, "job.started", job=job.id, name=name, preset=preset))
    reply = "\n\n".join([*(f"⚠️ {notice}" for notice in notices), started])
    return ToolOutput({"job": status, "notices": notices}, describe_progress(status, context.lang), reply)


@tool(routes=[Route(patterns(
    r"\b(status|progress)\s+(of\s+)?(my|the|this)?\s*(job|training|fine-?tune|run)\b",
    r"\bhow('s|\s+is|\s+are)\s+(my|the)\s+(jobs?|training|fine-?tunes?|runs?)\b", rf"\b{JOB}\b",
    r"\b(koulutuksen|työn|hienosäädön)\s+(tila|eteneminen)\b",
    r"\bmiten\s+(koulutus|työ|hienosäätö|ajo)\s+(etenee|sujuu|menee)\b",
), job_in_text)])
def job_status(
    context: ToolContext,
    job_id: Annotated[str | None, Field(description="Job id; default the learner's latest job.")] = None,
) -> ToolOutput:
    """Report a fine-tune job's status, step, losses and result."""
    status = control.job_status(context.settings, chosen_job_id(context, job_id), context.learner)
    shown = describe_progress(status, context.lang)
    return ToolOutput({"job": {k: v for k, v in status.items() if k != "metrics"}, "metrics": status["metrics"][-20:]}, shown, shown)


@tool(routes=[Route(patterns(
    r"\b(list|show)\s+(my\s+|all\s+)?(jobs|fine-?tunes|trainings)\b", r"\b(listaa|näytä)\s+(kaikki\s+)?(työt|koulutukset)\b",
))])
def list_jobs(context: ToolContext) -> ToolOutput:
    """List the learner's fine-tune jobs, newest first."""
    jobs = control.list_jobs(context.settings, context.learner)
    lines = [f"- **{j['id']}** · {j['status']} · {j['backend']} · {j['dataset']} · {j['created_at']}" for j in jobs]
    shown = "\n".join(lines) or text(context.lang, "job.none")
    return ToolOutput({"jobs": jobs}, shown, shown)


@tool(routes=[Route(patterns(
    r"^\s*(please\s+)?(cancel|stop|abort)\s+(the\s+|my\s+|this\s+)?(job|training|fine-?tun\w*|run)\b(?!.*\?\s*$)",
    r"^\s*(peru|keskeytä|pysäytä)\b(?!.*\?\s*$)",
), job_in_text)])
def cancel_job(
    context: ToolContext,
    job_id: Annotated[str | None, Field(description="Job id; default the learner's latest job.")] = None,
) -> ToolOutput:
    """Cancel a queued or running fine-tune job; it stops within seconds."""
    job = control.cancel_job(context.settings, chosen_job_id(context, job_id), owner=context.learner)
    shown = f"{job.id}: **{status_word(job.status, context.lang)}**"
    return ToolOutput({"id": job.id, "status": job.status}, shown, shown)


@tool(routes=[Route(patterns(
    r"^\s*compare\s*:\s*(?P<prompt>.+)",
    r"^\s*compare\s+(base\s+(and|vs\.?|with)\s+tuned|the\s+models?|models)\s*(on|with|:)\s*(?P<prompt>.+)",
    r"^\s*vertaa\s*:\s*(?P<prompt>.+)",
    r"^\s*vertaa\s+malle\w*\s*:?\s*(?P<prompt>.+)",
), _job_and_prompt)])
def compare(
    prompt: Annotated[str, Field(description="The prompt both models answer.")],
    context: ToolContext,
    job_id: Annotated[str | None, Field(description="Finished job id; default the learner's latest job.")] = None,
    checkpoint: Annotated[Literal["final", "best"], Field(description="The final adapter, or the one with the best validation loss.")] = "final",
) -> ToolOutput:
    """Answer one prompt with the base model and the fine-tuned model, side by side."""
    chosen = chosen_job_id(context, job_id)
    answers = inference.compare(context.settings, chosen, prompt, owner=context.learner, checkpoint=checkpoint)
    base, tuned = text(context.lang, "job.base"), text(context.lang, "job.tuned")
    shown = f"**{base}:**\n\n{answers['base']}\n\n---\n\n**{tuned} ({chosen}):**\n\n{answers['tuned']}"
    return ToolOutput({"job_id": chosen, **answers}, shown, shown)


@tool(routes=[Route(patterns(
    r"^\s*(ask|chat with)\s+(the\s+|my\s+)?(tuned|fine-?tuned)\s+(model)?\s*[:,]?\s*(?P<prompt>.+)",
    r"^\s*kysy\s+(hienosäädetyltä|viritetyltä)\s+(mallilta)?\s*[:,]?\s*(?P<prompt>.+)",
), _job_and_prompt)])
def chat_with_model(
    prompt: Annotated[str, Field(description="The message for the fine-tuned model.")],
    context: ToolContext,
    job_id: Annotated[str | None, Field(description="Finished job id; default the learner's latest job.")] = None,
    checkpoint: Annotated[Literal["final", "best"], Field(description="The final adapter, or the one with the best validation loss.")] = "final",
) -> ToolOutput:
    """Send one message to a fine-tuned model and return its reply."""
    chosen = chosen_job_id(context, job_id)
    reply = inference.generate(context.settings, chosen, prompt, owner=context.learner, checkpoint=checkpoint)
    return ToolOutput({"job_id": chosen, "reply": reply}, reply, f"**{chosen}:** {reply}")



def run_evaluation(settings: Settings, learner: str, job_id: str, lang: str, *, checkpoint: str = "final",
                   limit: int | None = None) -> tuple[dict[str, Any], str]:
    """Evaluate a job (the chat tool and the Jobs tab both call this): the stored report and its text."""
    from trainer.evaluation.run import evaluate_job

    report = evaluate_job(settings, job_id, limit=limit, owner=learner, checkpoint=checkpoint).to_json()
    status = control.job_status(settings, job_id, learner)
    return report, describe_evaluation(report, lang, status.get("overfitting"))


def stored_evaluation(settings: Settings, learner: str, job_id: str, lang: str) -> str:
    """The job's last stored evaluation as text ("" when it was never evaluated)."""
    from trainer.evaluation.report import load_report
    from trainer.jobs.store import job_folder

    status = control.job_status(settings, job_id, learner)  # checks the learner owns the job
    report = load_report(job_folder(settings.data_dir, status["id"]))
    return describe_evaluation(report, lang, status.get("overfitting")) if report else ""


def _evaluate_arguments(match: re.Match[str], text: str) -> dict[str, Any]:
    values = job_in_text(match, text)
    if re.search(r"\b(best|paras\w*)\b", text, re.IGNORECASE):
        values["checkpoint"] = "best"
    return values


@tool(routes=[Route(patterns(
    r"^\s*(please\s+|now\s+|let'?s\s+)?(evaluate|eval|score|benchmark)\s+(it|my|the|this|job|model|ft-)\b(?!.*\?\s*$)",
    r"^\s*(please\s+|now\s+)?(run|start|do)\s+(an?\s+|the\s+)?evaluation\b(?!.*\?\s*$)",
    r"^\s*(arvioi|testaa|mittaa)\s+(se|malli\w*|hienosää\w*|työ\w*|koulutu\w*|paras\w*|ft-)(?!.*\?\s*$)",
    r"^\s*(aja|tee|käynnistä)\s+arviointi\b(?!.*\?\s*$)",
), _evaluate_arguments)])
def evaluate(
    context: ToolContext,
    job_id: Annotated[str | None, Field(description="Finished job id; default the learner's latest job.")] = None,
    checkpoint: Annotated[Literal["final", "best"], Field(description="The final adapter, or the one with the best validation loss.")] = "final",
    limit: Annotated[int | None, Field(ge=1, le=200, description="Evaluate at most this many held-out examples.")] = None,
) -> ToolOutput:
    """Evaluate a finished fine-tune against its base model on held-out examples: loss, ROUGE-L, chrF, format match, wins."""
    chosen = chosen_job_id(context, job_id)
    report, shown = run_evaluation(context.settings, context.learner, chosen, context.lang, checkpoint=checkpoint, limit=limit)
    summary = {key: report.get(key) for key in ("job", "examples", "metrics", "wins", "wins_by", "checkpoint")}
    return ToolOutput({**summary, "rows": report["rows"][:3]}, shown, shown)
