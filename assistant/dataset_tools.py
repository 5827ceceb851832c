"""Dataset tools: draft, add, edit, remove, validate, cost and export training examples from the chat.

Examples are numbered from 1 for the learner. The learner's current dataset is remembered in their
state; the first add creates one (`my-dataset`) when none exists.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import Field

from assistant.tool_context import ToolContext
from assistant.registry import ToolOutput, tool
from core.texts import text
from trainer.data.store import DatasetStore, learner_store
from trainer.data.drafts import draft_examples as make_drafts
from trainer.data.examples import make_example
from trainer.jobs.control import saved_dataset_file
from trainer.validation.report import Report

DEFAULT_DATASET = "my-dataset"


def dataset_store(context: ToolContext) -> DatasetStore:
    return learner_store(context.settings, context.learner)


def current_dataset(context: ToolContext, name: str | None = None, *, create: bool = False) -> str:
    """The dataset a request means: the named one, else the current one, else (when adding) a new default."""
    chosen = name or context.state.current_dataset
    store = dataset_store(context)
    if chosen is None:
        existing = [info.name for info in store.list()]
        chosen = existing[0] if existing else DEFAULT_DATASET
    if create:
        store.create(chosen, exist_ok=True)
    context.state.current_dataset = chosen
    return chosen


def dataset_file(context: ToolContext, name: str | None) -> tuple[str, Path]:
    """The dataset a job should train on: (name, its saved file, which the job copies once)."""
    chosen = current_dataset(context, name)
    return chosen, saved_dataset_file(context.settings, context.learner, chosen)


def render_example(number: int, example: dict[str, Any]) -> str:
    parts = []
    for message in example.get("messages", []):
        content = str(message.get("content") or "").replace("\n", " / ")
        parts.append(f"*{message.get('role')}*: {content}")
    return f"**{number}.** " + " · ".join(parts)


def render_examples(examples: list[dict[str, Any]], start: int = 1, limit: int = 12) -> str:
    shown = [render_example(start + i, e) for i, e in enumerate(examples[:limit])]
    if len(examples) > limit:
        shown.append(f"… (+{len(examples) - limit})")
    return "\n".join(shown)


@tool
def draft_examples(
    topic: Annotated[str, Field(description="What the fine-tuned assistant should do, e.g. 'a limerick bot about chemical elements'.")],
    context: ToolContext,
    count: Annotated[int, Field(ge=1, le=20, description="How many examples to draft.")] = 10,
) -> ToolOutput:
    """Draft training examples for the described assistant and show them; they are added only when the learner says so."""
    name = current_dataset(context)
    store = dataset_store(context)
    existing = store.count(name) if store.exists(name) else 0
    drafts = make_drafts(topic, count, skip=existing, writer=context.writer)
    context.state.drafts = drafts
    shown = render_examples(drafts)
    reply = text(context.lang, "dataset.drafts", count=len(drafts), shown=shown, name=name)
    return ToolOutput({"drafts": drafts, "dataset": name}, shown, reply)


@tool
def add_drafts(context: ToolContext) -> ToolOutput:
    """Add the examples drafted last to the current dataset."""
    if not context.state.drafts:
        raise ValueError(text(context.lang, "dataset.no_drafts"))
    name = current_dataset(context, create=True)
    total = dataset_store(context).add(name, context.state.drafts)
    added = len(context.state.drafts)
    context.state.drafts = []
    reply = text(context.lang, "dataset.drafts_added", added=added, name=name, total=total)
    return ToolOutput({"dataset": name, "added": added, "examples": total}, reply, reply)


@tool
def add_example(
    user: Annotated[str, Field(min_length=1, description="The user's message.")],
    assistant: Annotated[str, Field(min_length=1, description="The ideal assistant reply.")],
    context: ToolContext,
    system: Annotated[str | None, Field(description="Optional system message.")] = None,
    dataset: Annotated[str | None, Field(description="Dataset name; default the current dataset.")] = None,
) -> ToolOutput:
    """Add one chat example (system, user, assistant) to a dataset."""
    name = current_dataset(context, dataset, create=True)
    store = dataset_store(context)
    if system is None:
        # Keep the dataset's system message so every example teaches the same role.
        first = next(iter(store.load(name)), None)
        system = next((m["content"] for m in (first or {}).get("messages", []) if m.get("role") == "system"), None)
    total = store.add(name, make_example(user, assistant, system))
    reply = text(context.lang, "dataset.example_added", total=total, name=name)
    return ToolOutput({"dataset": name, "examples": total}, reply, reply)


@tool
def edit_example(
    index: Annotated[int, Field(ge=1, description="Example number, from 1.")],
    context: ToolContext,
    user: Annotated[str | None, Field(description="New user message.")] = None,
    assistant: Annotated[str | None, Field(description="New assistant reply.")] = None,
    system: Annotated[str | None, Field(description="New system message.")] = None,
    dataset: Annotated[str | None, Field(description="Dataset name; default the current dataset.")] = None,
) -> ToolOutput:
    """Change the system, user or assistant message of one example."""
    name = current_dataset(context, dataset)
    store = dataset_store(context)
    examples = store.load(name)
    if not 1 <= index <= len(examples):
        raise ValueError(text(context.lang, "dataset.no_such_example", name=name, count=len(examples), index=index))
    example = examples[index - 1]
    changes = {"user": user, "assistant": assistant, "system": system}
    for role, content in changes.items():
        if content is None:
            continue
        target = [m for m in example["messages"] if m.get("role") == role]
        if target:
            target[-1]["content"] = content
        elif role == "system":
            example["messages"].insert(0, {"role": "system", "content": content})
    store.edit(name, index, example)
    shown = render_example(index, example)
    return ToolOutput({"dataset": name, "index": index, "example": example}, shown, shown)


@tool
def remove_example(
    index: Annotated[int, Field(ge=1, description="Example number, from 1.")],
    context: ToolContext,
    dataset: Annotated[str | None, Field(description="Dataset name; default the current dataset.")] = None,
) -> ToolOutput:
    """Remove one example from a dataset."""
    name = current_dataset(context, dataset)
    store = dataset_store(context)
    store.remove(name, index)
    total = store.count(name)
    reply = text(context.lang, "dataset.example_removed", index=index, total=total)
    return ToolOutput({"dataset": name, "examples": total}, reply, reply)


@tool
def create_dataset(
    name: Annotated[str, Field(description="A short name: letters, digits, '-' or '_'.")],
    context: ToolContext,
) -> ToolOutput:
    """Create a new, empty dataset and make it the current one."""
    dataset_store(context).create(name)
    context.state.current_dataset = name
    reply = text(context.lang, "dataset.created", name=name)
    return ToolOutput({"dataset": name}, reply, reply)


@tool
def list_datasets(context: ToolContext) -> ToolOutput:
    """List the learner's datasets with their example counts."""
    infos = dataset_store(context).list()
    lines = [f"- **{i.name}**: {i.examples}" + (" ←" if i.name == context.state.current_dataset else "") for i in infos]
    shown = "\n".join(lines) or text(context.lang, "dataset.none")
    return ToolOutput({"datasets": [{"name": i.name, "examples": i.examples} for i in infos]}, shown, shown)


@tool
def show_dataset(
    context: ToolContext,
    dataset: Annotated[str | None, Field(description="Dataset name; default the current dataset.")] = None,
) -> ToolOutput:
    """Show the examples of a dataset."""
    name = current_dataset(context, dataset)
    examples = dataset_store(context).load(name)
    shown = f"**{name}** ({len(examples)})\n\n" + render_examples(examples, limit=30)
    return ToolOutput({"dataset": name, "examples": examples[:50], "count": len(examples)}, shown, shown)


def report_data(report: Report) -> dict[str, Any]:
    """The report as JSON for the model, without the per-example token list (long, and not needed to explain it)."""
    data = report.to_dict()
    data["tokens"].pop("per_example", None)
    return data


def describe_report(name: str, report: Report, lang: str) -> str:
    """A validation report in plain words: errors with their lines and fixes, warnings, tokens and cost."""
    lines = []
    if report.errors:
        lines.append(text(lang, "report.errors") + ": " + ", ".join(f"`{k}` × {v}" for k, v in report.errors.items()))
        for item in report.error_lines[:8]:
            where = text(lang, "report.where", lines=item.line) if item.line else ""
            lines.append(f"- {where}`{item.error}` — {item.message} → {item.fix}")
    else:
        lines.append(text(lang, "report.clean", name=name, count=report.examples))
    for warning in report.warnings[:6]:
        where = text(lang, "report.where", lines=", ".join(map(str, warning.lines[:5]))) if warning.lines else ""
        lines.append(f"- ⚠️ {where}{warning.message}")
    estimate = report.estimate
    if estimate:
        cost = estimate.cost_usd
        cost_text = f"≈ ${cost:.4f}" if cost is not None else text(lang, "report.price_unknown")
        lines.append("")  # a paragraph of its own, not part of the warning list
        lines.append(text(lang, "report.tokens", total=report.tokens.get("total"), epochs=estimate.epochs,
                          billed=estimate.billed_tokens, model=estimate.model, cost=cost_text))
    return "\n".join(lines)


@tool
def validate_dataset(
    context: ToolContext,
    dataset: Annotated[str | None, Field(description="Dataset name; default the current dataset.")] = None,
    model: Annotated[str, Field(description="Model whose token limit and price to use.")] = "gpt-4o-mini",
) -> ToolOutput:
    """Validate a dataset the way the OpenAI fine-tuning API will, with token counts and the cost estimate."""
    name = current_dataset(context, dataset)
    report = dataset_store(context).validate(name, model)
    shown = describe_report(name, report, context.lang)
    return ToolOutput(report_data(report), shown, shown)


@tool
def estimate_cost(
    context: ToolContext,
    model: Annotated[str, Field(description="Fine-tuning model, e.g. gpt-4o-mini, gpt-4o, gpt-4.1-mini, gpt-3.5-turbo.")] = "gpt-4o-mini",
    dataset: Annotated[str | None, Field(description="Dataset name; default the current dataset.")] = None,
) -> ToolOutput:
    """Estimate tokens, default epochs and the training cost of a dataset on a model."""
    return validate_dataset.fn(context=context, dataset=dataset, model=model)


@tool
def export_dataset(
    context: ToolContext,
    dataset: Annotated[str | None, Field(description="Dataset name; default the current dataset.")] = None,
    validation_fraction: Annotated[float, Field(ge=0, lt=1, description="Share of examples for a validation file.")] = 0.0,
) -> ToolOutput:
    """Export a dataset as OpenAI chat JSONL (optionally split into train and validation files)."""
    name = current_dataset(context, dataset)
    folder = context.settings.learner_dir(context.learner) / "exports" / name
    paths = dataset_store(context).export(name, folder, fmt="openai", validation_fraction=validation_fraction)
    listing = "\n".join(f"- `{p}`" for p in paths)
    reply = text(context.lang, "dataset.exported", name=name, listing=listing)
    return ToolOutput({"files": [str(p) for p in paths]}, listing, reply)


DATASET_TOOLS = (draft_examples, add_drafts, add_example, edit_example, remove_example, create_dataset,
                 list_datasets, show_dataset, validate_dataset, estimate_cost, export_dataset)
