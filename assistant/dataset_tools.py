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
from trainer.data.store import DatasetStore, learner_store
from trainer.data.drafts import Drafts, draft as make_drafts, draft_like as make_more, text as draft_text
from trainer.data.examples import make_example
from trainer.jobs.control import saved_dataset_file
from trainer.validation.report import MIN_EXAMPLES, Report

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


def _fi(context: ToolContext) -> bool:
    return context.lang == "fi"


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
    context: ToolContext,
    topic: Annotated[str, Field(description="What the fine-tuned assistant should do, e.g. 'a customer support bot for a bike shop'.")] = "",
    material: Annotated[str, Field(description="The learner's own material, pasted verbatim: a FAQ, Q: … A: … text, CSV/TSV rows, or examples they wrote.")] = "",
    count: Annotated[int, Field(ge=1, le=20, description="How many examples to draft.")] = 10,
    like: Annotated[int | None, Field(ge=1, description="Draft `count` more in the style of this example number (of the drafts shown, else of the current dataset).")] = None,
) -> ToolOutput:
    """Draft training examples from the learner's material and description, show them with what is missing; nothing is added until the learner says so.

    With no material and no known topic it explains what a good example looks like and asks for the first one.
    """
    name = current_dataset(context)
    if like is not None:
        return _draft_like(context, name, like, count)
    store = dataset_store(context)
    existing = store.count(name) if store.exists(name) else 0
    # A model (or the router) may pass the pasted material inside the topic: its first line describes, the rest is material.
    first, _, rest = topic.strip().partition("\n")
    drafts = make_drafts(first, material="\n".join(p for p in (rest, material) if p.strip()), count=count,
                         lang=context.lang, skip=existing, writer=context.writer)
    context.state.drafts = drafts.examples
    data = {"drafts": drafts.examples, "dataset": name, "system": drafts.system, "source": drafts.source,
            "missing": [draft_text(n.key, context.lang, **n.values) for n in drafts.notes]}
    if drafts.needs_guidance:
        reply = draft_text("guidance", context.lang, system=drafts.system, need=MIN_EXAMPLES)
        return ToolOutput({**data, "guidance": reply}, reply, reply)
    header = draft_text("header" if drafts.examples else "header_none", context.lang, count=len(drafts.examples),
                        source=drafts.source_text(context.lang))
    return _show_drafts(context, name, drafts, header, start=1)


def _draft_like(context: ToolContext, name: str, like: int, count: int) -> ToolOutput:
    """More drafts in the style of example `like`: of the pending drafts when there are some, else of the dataset."""
    lang = context.lang
    pending = list(context.state.drafts)
    store = dataset_store(context)
    base = pending or (store.load(name) if store.exists(name) else [])
    if not base:
        raise ValueError(draft_text("like_empty", lang))
    if like > len(base):
        where = draft_text("where_drafts", lang) if pending else draft_text("where_dataset", lang, dataset=name)
        raise ValueError(draft_text("like_range", lang, like=like, where=where, count=len(base)))
    users = {str(m.get("content")) for e in base for m in e.get("messages", []) if m.get("role") == "user"}
    drafts = make_more(base[like - 1], like, count, existing=users, writer=context.writer, lang=lang)
    context.state.drafts = pending + drafts.examples
    header = draft_text("header_more", lang, count=len(drafts.examples), like=like)
    return _show_drafts(context, name, drafts, header, start=len(pending) + 1)


def _show_drafts(context: ToolContext, name: str, drafts: Drafts, header: str, start: int) -> ToolOutput:
    lang = context.lang
    shown = render_examples([_without_system(e) for e in drafts.examples], start=start)
    parts = [header, draft_text("system", lang, system=drafts.system) if drafts.system else "", shown]
    if drafts.notes:
        parts.append(draft_text("missing_header", lang) + "\n" + drafts.describe_notes(lang))
    if drafts.examples:
        parts.append(draft_text("next", lang, dataset=name))
    reply = "\n\n".join(p for p in parts if p)
    data = {"drafts": drafts.examples, "dataset": name, "system": drafts.system, "source": drafts.source,
            "first_number": start, "missing": [draft_text(n.key, lang, **n.values) for n in drafts.notes]}
    return ToolOutput(data, shown, reply)


def _without_system(example: dict[str, Any]) -> dict[str, Any]:
    return {**example, "messages": [m for m in example.get("messages", []) if m.get("role") != "system"]}


@tool
def add_drafts(context: ToolContext) -> ToolOutput:
    """Add the examples drafted last to the current dataset."""
    if not context.state.drafts:
        raise ValueError("Ei luonnoksia: sano ensin *auta tekemään esimerkkejä …*." if _fi(context)
                         else "There are no drafts yet: say *help me make examples for …* first.")
    name = current_dataset(context, create=True)
    total = dataset_store(context).add(name, context.state.drafts)
    added = len(context.state.drafts)
    context.state.drafts = []
    reply = (f"Lisäsin {added} esimerkkiä aineistoon *{name}*; siinä on nyt {total} esimerkkiä. Seuraavaksi: *tarkista aineisto*."
             if _fi(context) else f"Added {added} examples to *{name}*; it now has {total}. Next: *validate my dataset*.")
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
    reply = (f"Lisätty esimerkki {total} aineistoon *{name}*." if _fi(context) else f"Added example {total} to *{name}*.")
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
        raise ValueError(f"*{name}* has examples 1–{len(examples)}; there is no example {index}.")
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
    text = render_example(index, example)
    return ToolOutput({"dataset": name, "index": index, "example": example}, text, text)


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
    reply = (f"Poistin esimerkin {index}; jäljellä {total}." if _fi(context) else f"Removed example {index}; {total} left.")
    return ToolOutput({"dataset": name, "examples": total}, reply, reply)


@tool
def create_dataset(
    name: Annotated[str, Field(description="A short name: letters, digits, '-' or '_'.")],
    context: ToolContext,
) -> ToolOutput:
    """Create a new, empty dataset and make it the current one."""
    dataset_store(context).create(name)
    context.state.current_dataset = name
    reply = f"Loin aineiston *{name}*." if _fi(context) else f"Created dataset *{name}*; it is now your current dataset."
    return ToolOutput({"dataset": name}, reply, reply)


@tool
def list_datasets(context: ToolContext) -> ToolOutput:
    """List the learner's datasets with their example counts."""
    infos = dataset_store(context).list()
    lines = [f"- **{i.name}**: {i.examples}" + (" ←" if i.name == context.state.current_dataset else "") for i in infos]
    text = "\n".join(lines) or ("Ei aineistoja vielä." if _fi(context) else "No datasets yet.")
    return ToolOutput({"datasets": [{"name": i.name, "examples": i.examples} for i in infos]}, text, text)


@tool
def show_dataset(
    context: ToolContext,
    dataset: Annotated[str | None, Field(description="Dataset name; default the current dataset.")] = None,
) -> ToolOutput:
    """Show the examples of a dataset."""
    name = current_dataset(context, dataset)
    examples = dataset_store(context).load(name)
    text = f"**{name}** ({len(examples)})\n\n" + render_examples(examples, limit=30)
    return ToolOutput({"dataset": name, "examples": examples[:50], "count": len(examples)}, text, text)


def report_data(report: Report) -> dict[str, Any]:
    """The report as JSON for the model, without the per-example token list (long, and not needed to explain it)."""
    data = report.to_dict()
    data["tokens"].pop("per_example", None)
    return data


def describe_report(name: str, report: Report, lang: str) -> str:
    """A validation report in plain words: errors with their lines and fixes, warnings, tokens and cost."""
    fi = lang == "fi"
    line_word = "rivi" if fi else "line"
    lines = []
    if report.errors:
        lines.append(("❌ **Virheitä**" if fi else "❌ **Errors**") + ": " + ", ".join(f"`{k}` × {v}" for k, v in report.errors.items()))
        for item in report.error_lines[:8]:
            where = f"{line_word} {item.line}: " if item.line else ""
            lines.append(f"- {where}`{item.error}` — {item.message} → {item.fix}")
    else:
        lines.append(f"✅ *{name}*: {report.examples} " + ("esimerkkiä, ei virheitä." if fi else "examples, no errors."))
    for warning in report.warnings[:6]:
        where = f"{line_word} {', '.join(map(str, warning.lines[:5]))}: " if warning.lines else ""
        lines.append(f"- ⚠️ {where}{warning.message}")
    estimate = report.estimate
    if estimate:
        cost = estimate.cost_usd
        cost_text = f"≈ ${cost:.4f}" if cost is not None else ("hinta ei tiedossa" if fi else "price unknown")
        total = report.tokens.get("total")
        lines.append("")  # a paragraph of its own, not part of the warning list
        lines.append(
            f"**Tokenit**: {total} · {estimate.epochs} epookkia · laskutettavat {estimate.billed_tokens} · {estimate.model}: {cost_text}"
            if fi else
            f"**Tokens**: {total} · {estimate.epochs} epochs · billed {estimate.billed_tokens} · {estimate.model}: {cost_text}"
        )
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
    text = describe_report(name, report, context.lang)
    return ToolOutput(report_data(report), text, text)


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
    reply = (f"Vein aineiston *{name}*:\n{listing}\n\nLataa tiedostot Aineisto-välilehdeltä." if _fi(context) else
             f"Exported *{name}*:\n{listing}\n\nDownload them from the Dataset tab.")
    return ToolOutput({"files": [str(p) for p in paths]}, listing, reply)


DATASET_TOOLS = (draft_examples, add_drafts, add_example, edit_example, remove_example, create_dataset,
                 list_datasets, show_dataset, validate_dataset, estimate_cost, export_dataset)
