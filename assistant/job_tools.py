"""Job tools: start, watch, cancel and compare fine-tune jobs from the chat, in the learner's language."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from assistant.tool_context import ToolContext
from assistant.dataset_tools import dataset_file
from assistant.registry import ToolOutput, tool
from trainer.jobs import control, inference
from trainer.jobs.config import TrainConfig

_STATUS_WORDS = {
    "fi": {"queued": "jonossa", "running": "käynnissä", "succeeded": "valmis", "failed": "epäonnistui",
           "cancelled": "peruttu", "interrupted": "keskeytyi"},
}
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


def describe_progress(job: dict[str, Any], lang: str) -> str:
    """The job's state in plain words: status, step, latest losses and the curve."""
    status = _STATUS_WORDS.get(lang, {}).get(job["status"], job["status"])
    metrics = job.get("metrics") or []
    train = [m["train_loss"] for m in metrics if m.get("train_loss") is not None]
    evals = [m["eval_loss"] for m in metrics if m.get("eval_loss") is not None]
    fi = lang == "fi"
    lines = [f"**{job['id']}** ({job['backend']}, {job['model']}): **{status}**"]
    if metrics:
        last = metrics[-1]
        step = f"{'askel' if fi else 'step'} {last.get('step')}"
        if train:
            lines.append(f"{step} · {'koulutushäviö' if fi else 'train loss'} {train[0]:.3f} → {train[-1]:.3f}  `{loss_curve(train)}`")
        if evals:
            lines.append(f"{'validointihäviö' if fi else 'validation loss'} {evals[-1]:.3f}")
        if last.get("tokens_per_s"):
            lines.append(f"{last['tokens_per_s']:.0f} tokens/s")
    elif job["status"] in ("queued", "running"):
        lines.append("Malli latautuu, ensimmäiset mittaukset tulevat pian." if fi else "Loading the model; the first metrics will appear shortly.")
    if job.get("error"):
        lines.append(f"{'Syy' if fi else 'Reason'}: {job['error']}")
    if job["status"] == "succeeded":
        target = job.get("fine_tuned_model") or job.get("adapter_path")
        lines.append(
            f"{'Tulos' if fi else 'Result'}: `{target}`. "
            + ("Kokeile: *vertaa: Kerro heliumista*" if fi else "Try: *compare: Tell me about helium*")
        )
    return "\n\n".join(lines)


def _job_id(context: ToolContext, job_id: str | None) -> str:
    chosen = job_id or context.state.last_job
    if not chosen:
        jobs = control.list_jobs(context.settings, context.learner)
        if not jobs:
            raise ValueError("Sinulla ei ole vielä töitä: sano *aloita nopea hienosäätö*." if context.lang == "fi"
                             else "You have no jobs yet: say *start a quick fine-tune*.")
        chosen = jobs[0]["id"]
    return chosen


@tool
def start_finetune(
    context: ToolContext,
    dataset: Annotated[str | None, Field(description="Dataset name; default the current dataset.")] = None,
    preset: Annotated[Literal["quick", "balanced", "thorough"], Field(description="Hyperparameter preset.")] = "quick",
    backend: Annotated[
        Literal["local", "openai", "azure"],
        Field(description="local = LoRA on this machine; openai = OpenAI fine-tuning (closing: no new jobs after 2027-01-06); azure = Azure OpenAI fine-tuning."),
    ] = "local",
    epochs: Annotated[int | None, Field(ge=1, le=25, description="Passes over the data; default from the preset.")] = None,
    model: Annotated[str | None, Field(description="Base model; default the local model or gpt-4o-mini.")] = None,
) -> ToolOutput:
    """Start a fine-tune job on one of the learner's datasets; it runs in the background."""
    name, path = dataset_file(context, dataset)
    config = TrainConfig(train_file=path, dataset=name, preset=preset, backend=backend, epochs=epochs, base_model=model)
    notices = control.start_notices(context.settings, config, context.lang)
    job = control.start_job(context.settings, config, owner=context.learner, lang=context.lang)
    context.state.last_job = job.id
    status = control.job_status(context.settings, job.id, context.learner)
    fi = context.lang == "fi"
    reply = (f"Aloitin hienosäätötyön **{job.id}** aineistolla *{name}* ({preset}). Kysy *mikä on koulutuksen tila?* "
             "tai seuraa käyrää Työt-välilehdellä." if fi else
             f"Started fine-tune job **{job.id}** on *{name}* ({preset}). Ask *how is my job doing?* or watch the curve in the Jobs tab.")
    reply = "\n\n".join([*(f"⚠️ {notice}" for notice in notices), reply])
    return ToolOutput({"job": status, "notices": notices}, describe_progress(status, context.lang), reply)


@tool
def job_status(
    context: ToolContext,
    job_id: Annotated[str | None, Field(description="Job id; default the learner's latest job.")] = None,
) -> ToolOutput:
    """Report a fine-tune job's status, step, losses and result."""
    status = control.job_status(context.settings, _job_id(context, job_id), context.learner)
    text = describe_progress(status, context.lang)
    return ToolOutput({"job": {k: v for k, v in status.items() if k != "metrics"}, "metrics": status["metrics"][-20:]}, text, text)


@tool
def list_jobs(context: ToolContext) -> ToolOutput:
    """List the learner's fine-tune jobs, newest first."""
    jobs = control.list_jobs(context.settings, context.learner)
    lines = [f"- **{j['id']}** · {j['status']} · {j['backend']} · {j['dataset']} · {j['created_at']}" for j in jobs]
    text = "\n".join(lines) or ("Ei vielä töitä." if context.lang == "fi" else "No jobs yet.")
    return ToolOutput({"jobs": jobs}, text, text)


@tool
def cancel_job(
    context: ToolContext,
    job_id: Annotated[str | None, Field(description="Job id; default the learner's latest job.")] = None,
) -> ToolOutput:
    """Cancel a queued or running fine-tune job; it stops within seconds."""
    job = control.cancel_job(context.settings, _job_id(context, job_id), owner=context.learner)
    text = f"{job.id}: **{_STATUS_WORDS.get(context.lang, {}).get(job.status, job.status)}**"
    return ToolOutput({"id": job.id, "status": job.status}, text, text)


@tool
def compare(
    prompt: Annotated[str, Field(description="The prompt both models answer.")],
    context: ToolContext,
    job_id: Annotated[str | None, Field(description="Finished job id; default the learner's latest job.")] = None,
) -> ToolOutput:
    """Answer one prompt with the base model and the fine-tuned model, side by side."""
    chosen = _job_id(context, job_id)
    answers = inference.compare(context.settings, chosen, prompt, owner=context.learner)
    base, tuned = ("Perusmalli", "Hienosäädetty") if context.lang == "fi" else ("Base model", "Fine-tuned")
    text = f"**{base}:**\n\n{answers['base']}\n\n---\n\n**{tuned} ({chosen}):**\n\n{answers['tuned']}"
    return ToolOutput({"job_id": chosen, **answers}, text, text)


@tool
def chat_with_model(
    prompt: Annotated[str, Field(description="The message for the fine-tuned model.")],
    context: ToolContext,
    job_id: Annotated[str | None, Field(description="Finished job id; default the learner's latest job.")] = None,
) -> ToolOutput:
    """Send one message to a fine-tuned model and return its reply."""
    chosen = _job_id(context, job_id)
    reply = inference.generate(context.settings, chosen, prompt, owner=context.learner)
    return ToolOutput({"job_id": chosen, "reply": reply}, reply, f"**{chosen}:** {reply}")


JOB_TOOLS = (start_finetune, job_status, list_jobs, cancel_job, compare, chat_with_model)
