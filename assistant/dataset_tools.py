"""Dataset tools: draft, add, edit, remove, validate, cost and export training examples from the chat.

Examples are numbered from 1 for the learner. The learner's current dataset is remembered in their
state; the first add creates one (`my-dataset`) when none exists. `choose_dataset` is the one rule for
which dataset is current, and `export_files` the one place exports go: the Dataset tab calls them too.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field

from assistant.draft_request import draft_topic, is_draft_request
from assistant.learner_state import load_state, save_state
from assistant.tool_context import ToolContext
from assistant.registry import ToolOutput, tool
from assistant.routes import MODEL, NAME, Route, group, named, patterns
from core.texts import text
from core.settings import Settings
from trainer.data.store import DatasetStore, learner_store
from trainer.data.tokens import DEFAULT_MODEL
from trainer.data.drafts import Drafts, draft as make_drafts, draft_like as make_more, looks_like_material, MAX_DRAFTS, text as draft_text
from trainer.data.examples import make_example
from trainer.validation.report import MIN_EXAMPLES, Report

DEFAULT_DATASET = "my-dataset"
# "make a dataset for my bot" names no dataset: the word after "dataset" is the sentence going on.
NOT_A_NAME = r"(?:for|about|to|that|which|with|of|on|from|and|in|so|where|varten|jossa|joka|ja)\b"


def dataset_store(context: ToolContext) -> DatasetStore:
    return learner_store(context.settings, context.learner)


def dataset_names(settings: Settings, learner: str) -> list[str]:
    return [info.name for info in learner_store(settings, learner).list()]


def choose_dataset(names: list[str], requested: str | None, remembered: str | None) -> str:
    """Which dataset a request means: the named one, else the remembered current one while it exists,
    else the learner's first, else the default name (created by the first add)."""
    if requested:
        return requested
    if remembered and (remembered in names or not names):
        return remembered
    return names[0] if names else DEFAULT_DATASET


def current_dataset(context: ToolContext, name: str | None = None, *, create: bool = False) -> str:
    """The dataset a tool call means (`choose_dataset`), remembered as the current one; created when adding."""
    chosen = choose_dataset(dataset_names(context.settings, context.learner), name, context.state.current_dataset)
    if create:
        dataset_store(context).create(chosen, exist_ok=True)
    context.state.current_dataset = chosen
    return chosen


def learner_dataset(settings: Settings, learner: str, requested: str | None = None) -> str:
    """The dataset the learner is working on, by the chat's rule, for callers outside a chat turn (the tabs)."""
    return choose_dataset(dataset_names(settings, learner), requested, load_state(settings, learner).current_dataset)


def remember_dataset(settings: Settings, learner: str, name: str) -> None:
    """Make `name` the learner's current dataset (the chat's "my dataset")."""
    state = load_state(settings, learner)
    state.current_dataset = name
    save_state(settings, learner, state)


def export_files(settings: Settings, learner: str, name: str, validation_fraction: float = 0.0) -> list[Path]:
    """Export a dataset as OpenAI chat JSONL into the learner's `exports/<name>/` (train, and validation when split)."""
    folder = settings.learner_dir(learner) / "exports" / name
    return learner_store(settings, learner).export(name, folder, fmt="openai", validation_fraction=validation_fraction)


# -- offline route extractors: a matched message → the tool's arguments -----------------------------------

def _draft_arguments(match: re.Match[str], text: str) -> dict[str, Any]:
    """The description from the request's first line; anything pasted under it is the learner's material."""
    # The assistant as `draft_topic` reads it ("ten example chats for a telecom agent" -> "a telecom agent"), else
    # whatever follows "examples" on the request line; pasted material starts on the next line.
    topic = draft_topic(text) or (match.group("topic") or "").split("\n", 1)[0].strip()
    return _request_values(topic, text.strip().partition("\n")[2], text)


def _free_request_arguments(match: re.Match[str], text: str) -> dict[str, Any]:
    """A request worded freely ("we need example conversations for a booking assistant"): its described assistant."""
    return _request_values(draft_topic(text), text.strip().partition("\n")[2], text)


def _request_values(topic: str, material: str, text: str) -> dict[str, Any]:
    values: dict[str, Any] = {"topic": topic}
    if material.strip():
        values["material"] = material.strip()
    # Only the request line may give the count: pasted material is full of numbers (prices, hours).
    count = re.search(r"\b(\d{1,2})\b", text.strip().split("\n", 1)[0])
    if count and 1 <= int(count.group(1)) <= MAX_DRAFTS:
        values["count"] = int(count.group(1))
    return values


def _draft_like_arguments(match: re.Match[str], text: str) -> dict[str, Any]:
    values: dict[str, Any] = {"like": int(match.group("like"))}
    if match.group("count") and 1 <= int(match.group("count")) <= MAX_DRAFTS:
        values["count"] = int(match.group("count"))
    return values


DRAFT_REQUEST = patterns(
    r"^\s*(please\s+|can you\s+)?(help me( to)? (make|write|create|draft)|draft|generate|write|make|create)\b"
    r"(?:(?!\b(?:how|what|why|which|when|whether)\b)[^\n]){0,40}?\b(examples?|training data)\b[ \t]*(for|about|of)?[ \t]*(?P<topic>.*)",
    r"^\s*(auta|luonnostele|kirjoita|tee|laadi)\b[^\n]{0,40}?\besimerk\w*\b[ \t]*(?P<topic>.*)",
)


def _is_pasted_material(text: str) -> bool:
    """A multi-line message holding questions and answers (a FAQ, Q&A, CSV/TSV, examples) asks for drafts from it."""
    return "\n" in text.strip() and looks_like_material(text)


def _pasted_arguments(match: re.Match[str], text: str) -> dict[str, Any]:
    for pattern in DRAFT_REQUEST:
        request = pattern.search(text)
        if request:
            return _draft_arguments(request, text)
    if is_draft_request(text):
        return _free_request_arguments(match, text)
    return {"topic": "", "material": text}


def _index(match: re.Match[str], text: str) -> dict[str, Any]:
    values = named(match, text)
    values["index"] = int(values["index"])
    return values


def _example_fields(match: re.Match[str], text: str) -> dict[str, Any]:
    """Pull `system:`, `user:` and `assistant:` parts (or `question => answer`) out of a message."""
    values: dict[str, Any] = {}
    if "index" in match.groupdict():
        values["index"] = int(match.group("index"))
    body = text[match.end():] if match.end() < len(text) else ""
    labelled = re.findall(
        r"(system|user|assistant|järjestelmä|käyttäjä|avustaja)\s*[:=]\s*(.+?)(?=\s*(?:system|user|assistant|järjestelmä|käyttäjä|avustaja)\s*[:=]|$)",
        body, re.IGNORECASE | re.DOTALL,
    )
    names = {"järjestelmä": "system", "käyttäjä": "user", "avustaja": "assistant"}
    for role, content in labelled:
        values[names.get(role.lower(), role.lower())] = content.strip().strip('"')
    if not labelled and ("=>" in body or "->" in body):
        question, _, answer = re.split(r"(=>|->)", body, maxsplit=1)
        values["user"], values["assistant"] = question.strip(" :\"'"), answer.strip(" \"'")
    return values


def _model_named(match: re.Match[str], text: str) -> dict[str, Any]:
    model = re.search(MODEL, text, re.IGNORECASE)
    return {"model": model.group(1).lower()} if model else {}


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


@tool(routes=[
    # Pasted material comes first: a FAQ's own lines may look like any other request.
    Route(patterns(r"^.+$"), _pasted_arguments, accepts=_is_pasted_material),
    Route(patterns(
        r"^\s*(please\s+|can you\s+)?(make|write|draft|create|generate|give me)\s+(?P<count>\d{1,2}\s+)?more\b[^\n]{0,40}?\blike\s+(example\s*|#|number\s*)?(?P<like>\d{1,3})\b",
        r"^\s*(tee|kirjoita|luonnostele|laadi)\s+(?P<count>\d{1,2}\s+)?(lisää|uutta|muuta)\b[^\n]{0,40}?\besimerk\w*\s*(?P<like>\d{1,3})\b",
    ), _draft_like_arguments),
    Route(DRAFT_REQUEST, _draft_arguments),
    Route(patterns(r"^.+$"), _free_request_arguments, accepts=is_draft_request, fallback=True),
])
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
    if first.strip():
        context.state.draft_topic = first.strip()
    else:  # material pasted after the request that described the assistant
        first = context.state.draft_topic
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


@tool(routes=[Route(patterns(
    r"^\s*(add|keep|save|use)\s+(them|these|the drafts?|all( of them)?|the examples?)\s*(to\b.*)?[.!]?\s*$",
    r"^\s*(lisää|tallenna|pidä)\s+(ne|nämä|luonnokset|kaikki)\b",
))])
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


@tool(routes=[Route(patterns(
    r"\badd\s+(an?\s+|this\s+|one\s+more\s+)?example\b\s*[:\-]?",
    r"\blisää\s+(tämä\s+)?esimerk\w*\s*[:\-]?",
), _example_fields)])
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


@tool(routes=[Route(patterns(
    r"\b(edit|change|update|fix)\s+(example|#)\s*(?P<index>\d+)",
    r"\b(muokkaa|muuta|korjaa)\s+esimerk\w*\s*(?P<index>\d+)",
), _example_fields)])
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


@tool(routes=[Route(patterns(
    r"\b(remove|delete|drop)\s+(example|#)\s*(?P<index>\d+)",
    r"\b(poista)\s+esimerk\w*\s*(?P<index>\d+)",
), _index)])
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


@tool(routes=[Route(patterns(
    rf"\b(create|new|start|make)\s+(a\s+|new\s+)*dataset\s+(called\s+|named\s+)?[\"']?(?!{NOT_A_NAME})(?P<name>{NAME})",
    rf"\b(luo|uusi|aloita)\s+(uusi\s+)?aineisto\w*\s+(nimeltä\s+)?[\"']?(?!{NOT_A_NAME})(?P<name>{NAME})",
), named)])
def create_dataset(
    name: Annotated[str, Field(description="A short name: letters, digits, '-' or '_'.")],
    context: ToolContext,
) -> ToolOutput:
    """Create a new, empty dataset and make it the current one."""
    dataset_store(context).create(name)
    context.state.current_dataset = name
    reply = text(context.lang, "dataset.created", name=name)
    return ToolOutput({"dataset": name}, reply, reply)


@tool(routes=[Route(patterns(
    r"\b(list|show)\s+(my\s+|all\s+)?datasets\b", r"\bwhich datasets\b", r"\b(listaa|näytä)\s+(kaikki\s+)?aineisto(t|ni)\b",
))])
def list_datasets(context: ToolContext) -> ToolOutput:
    """List the learner's datasets with their example counts."""
    infos = dataset_store(context).list()
    lines = [f"- **{i.name}**: {i.examples}" + (" ←" if i.name == context.state.current_dataset else "") for i in infos]
    shown = "\n".join(lines) or text(context.lang, "dataset.none")
    return ToolOutput({"datasets": [{"name": i.name, "examples": i.examples} for i in infos]}, shown, shown)


@tool(routes=[Route(patterns(
    r"\b(show|display|list)\s+(me\s+)?(my|the)\s+(dataset|examples)\b", r"\bnäytä\s+(aineisto\w*|esimerk\w*)\b",
))])
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
            lines.append(f"- {where}`{item.error}` — {item.message} → {text(lang, f'validation.fix.{item.error}')}")
    else:
        lines.append(text(lang, "report.clean", name=name, count=report.examples))
    if report.notebook:  # shown apart: the notebook predates tool calling, so these alone block nothing
        lines.append(text(lang, "report.notebook", counts=", ".join(f"`{k}` × {v}" for k, v in report.notebook.items())))
    for warning in report.warnings[:6]:
        where = text(lang, "report.where", lines=", ".join(map(str, warning.lines[:5]))) if warning.lines else ""
        lines.append(f"- ⚠️ {where}{text(lang, f'validation.warning.{warning.warning}', count=warning.count)}")
    estimate = report.estimate
    if estimate:
        cost = estimate.cost_usd
        cost_text = f"≈ ${cost:.4f}" if cost is not None else text(lang, "report.price_unknown")
        lines.append("")  # a paragraph of its own, not part of the warning list
        lines.append(text(lang, "report.tokens", total=report.tokens.get("total"), epochs=estimate.epochs,
                          billed=estimate.billed_tokens, model=estimate.model, cost=cost_text))
    return "\n".join(lines)


@tool(routes=[Route(patterns(
    r"^\s*(please\s+|can you\s+)?(validate|check)(\s+(my|the|this))?(\s+(dataset|data|examples|file|it))?\s*[.!?]*\s*$",
    r"\bvalidate\s+(my|the|this)\s+(dataset|data|examples|file)\b",
    r"^\s*(tarkista|validoi|tarkasta)\b(?!.*\?\s*$)",
))])
def validate_dataset(
    context: ToolContext,
    dataset: Annotated[str | None, Field(description="Dataset name; default the current dataset.")] = None,
    model: Annotated[str, Field(description="Model whose token limit and price to use.")] = DEFAULT_MODEL,
) -> ToolOutput:
    """Validate a dataset the way the OpenAI fine-tuning API will, with token counts and the cost estimate."""
    name = current_dataset(context, dataset)
    report = dataset_store(context).validate(name, model)
    shown = describe_report(name, report, context.lang)
    return ToolOutput(report_data(report), shown, shown)


@tool(routes=[Route(patterns(
    r"\b(would|will|does)\s+(this|it|that|my dataset|my data|the dataset)\s+cost\b",
    rf"\b(cost|price|estimate)\b.*\b(on|with|for|using)\s+{MODEL}",
    r"\b(estimate|count)\s+(the\s+)?(cost|tokens)\b",
    r"\b(paljonko|mitä)\b.*\b(maksa\w*|kustan\w*)\b.*\b(tämä|se|aineisto\w*)\b",
    r"\b(arvioi|laske)\b.*\b(kustannu\w*|hin\w*|token\w*)",
), _model_named)])
def estimate_cost(
    context: ToolContext,
    model: Annotated[str, Field(description="Fine-tuning model, e.g. gpt-4o-mini, gpt-4o, gpt-4.1-mini, gpt-3.5-turbo.")] = DEFAULT_MODEL,
    dataset: Annotated[str | None, Field(description="Dataset name; default the current dataset.")] = None,
) -> ToolOutput:
    """Estimate tokens, default epochs and the training cost of a dataset on a model."""
    return validate_dataset.fn(context=context, dataset=dataset, model=model)


@tool(routes=[Route(patterns(
    r"^\s*(please\s+)?(export|download)\b", r"\bexport\s+(it|my|the|this)\b",
    r"^\s*(vie|lataa|tallenna)\b.*\b(aineisto\w*|jsonl|tiedosto\w*|se)\b", r"\bvie\s+(se|aineisto\w*)\b",
))])
def export_dataset(
    context: ToolContext,
    dataset: Annotated[str | None, Field(description="Dataset name; default the current dataset.")] = None,
    validation_fraction: Annotated[float, Field(ge=0, lt=1, description="Share of examples for a validation file.")] = 0.0,
) -> ToolOutput:
    """Export a dataset as OpenAI chat JSONL (optionally split into train and validation files)."""
    name = current_dataset(context, dataset)
    paths = export_files(context.settings, context.learner, name, validation_fraction)
    listing = "\n".join(f"- `{p}`" for p in paths)
    reply = text(context.lang, "dataset.exported", name=name, listing=listing)
    return ToolOutput({"files": [str(p) for p in paths]}, listing, reply)

