"""Drafting chat examples from the learner's material, from one of their examples, or from a model.

`draft` turns material (see `material.read_material`) into examples: every answered pair kept in the
learner's words, one system message from their description, and, when the material holds fewer than
the API's minimum, rewordings of their own questions (`wording`) to reach it, each marked in the
notes. With a `writer` (a capable model) the model writes the missing examples from the material
instead. Without material, a demo topic (`samples`) is drafted, or nothing: the caller then shows
`texts["guidance"]`, never placeholders. `draft_like` makes more examples in the style of one.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from trainer.data.drafts.material import Material, Pair, read_material
from trainer.data.drafts.samples import catalogue_for, sample_examples, style_of
from trainer.data.drafts.system import system_from_title, system_message
from trainer.data.drafts.texts import text
from trainer.data.drafts.wording import rewordings
from trainer.data.examples import Example, make_example
from trainer.validation.report import MIN_EXAMPLES

Writer = Callable[[str, str], str]

MAX_DRAFTS = 20  # drafted at once without material (or by rewording one example)
MAX_REWORDINGS_PER_PAIR = 3
MAX_PAIRS = 1000
SHOWN_ITEMS = 5


@dataclass(frozen=True)
class Note:
    """Something the learner should know or add; `key` names its text in the catalogue (`drafts.<key>`)."""

    key: str
    values: dict[str, Any] = field(default_factory=dict)


@dataclass
class Drafts:
    examples: list[Example]
    system: str
    # Where they came from: a material kind ("examples", "qa", "table", "faq", "questions"), "model",
    # "samples", "like", or "none" (nothing to draft from: show the guidance).
    source: str
    notes: list[Note] = field(default_factory=list)
    reworded: int = 0

    @property
    def needs_guidance(self) -> bool:
        return self.source == "none"

    def source_text(self, lang: str, like: int | None = None) -> str:
        key = "kind_samples" if self.source == "samples" else f"kind_{self.source}"
        return text(key, lang, like=like)

    def describe_notes(self, lang: str) -> str:
        """The notes as a markdown list, in `lang`."""
        return "\n".join(f"- {text(n.key, lang, **n.values)}" for n in self.notes)


def draft(description: str = "", *, material: str = "", count: int = 10, lang: str = "en", system: str | None = None,
          skip: int = 0, writer: Writer | None = None) -> Drafts:
    """Draft examples for the described assistant from the learner's material (pasted text or a file's text)."""
    count = max(1, min(count, MAX_DRAFTS))
    found = read_material(material)
    notes: list[Note] = []
    if system is None:
        if description.strip() or not found.title:
            system = system_message(description, lang)
        else:
            system = system_from_title(found.title, lang)
        if not description.strip() and found.kind != "none":
            notes.append(Note("no_description"))
    if found.kind != "none":
        return _from_material(found, description, system, count, lang, writer, notes)
    if writer is not None and description.strip():
        drafted = _model_examples(writer, _model_request(description, system, [], count), system, count, set())
        if drafted:
            return Drafts(drafted, system, "model")
    kind = catalogue_for(description)
    if kind is not None:
        return Drafts(sample_examples(kind, style_of(description), system, count, skip), system, "samples")
    return Drafts([], system, "none")


def draft_like(example: Example, like: int, count: int = 5, *, existing: set[str] | None = None,
               writer: Writer | None = None, lang: str = "en") -> Drafts:
    """`count` more examples in the style of `example` (number `like` for the learner), none repeating `existing` requests."""
    count = max(1, min(count, MAX_DRAFTS))
    messages = example.get("messages", [])
    system = next((str(m.get("content")) for m in messages if m.get("role") == "system" and m.get("content")), None)
    user = next((str(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), "")
    answer = next((str(m.get("content")) for m in reversed(messages) if m.get("role") == "assistant"), "")
    taken = set(existing or set()) | {user}
    if writer is not None:
        request = (f"Here is one example (system message, user, assistant):\n{json.dumps(example, ensure_ascii=False)}\n\n"
                   f"Write {count} new examples like it: different, realistic user requests on the same subject, each "
                   "answered in exactly the same voice, format and length as this example's assistant reply.")
        drafted = _model_examples(writer, request, system or system_message("", "en"), count, {_key(u) for u in taken}, keep_system=system)
        if drafted:
            return Drafts(drafted, system or "", "like")
    drafts = [make_example(u, answer, system) for u in rewordings(user) if u not in taken][:count]
    notes = [Note("like_offline", {"like": like})] if drafts else [Note("nothing_new", {"like": like})]
    if writer is not None:
        notes.insert(0, Note("model_failed"))
    return Drafts(drafts, system or "", "like", notes, reworded=len(drafts))


def draft_examples(topic: str, count: int = 10, *, skip: int = 0, writer: Writer | None = None) -> list[Example]:
    """The examples alone, for scripts (`benches/load.py`): a demo topic or model drafts; [] means guidance is due."""
    return draft(topic, count=count, skip=skip, writer=writer).examples


# -- from material --------------------------------------------------------------------------------------
def _from_material(found: Material, description: str, system: str, count: int, lang: str,
                   writer: Writer | None, notes: list[Note]) -> Drafts:
    pairs, repeated, conflicting = _unique(found.pairs[:MAX_PAIRS])
    answered = [p for p in pairs if p.assistant]
    missing = [p.user for p in pairs if not p.assistant]
    examples = [make_example(p.user, p.assistant, p.system or system) for p in answered]
    target = max(count, MIN_EXAMPLES)
    gap = target - len(examples)
    source, reworded = found.kind, 0
    if gap > 0 and writer is not None and answered:
        drafted = _model_examples(writer, _model_request(description, system, answered, gap), system, gap,
                                  {_key(p.user) for p in pairs})
        if drafted:
            examples += drafted
            gap = 0
        else:
            notes.append(Note("model_failed"))
    if gap > 0 and answered:
        extra = _reworded(answered, system, gap)
        examples += extra
        reworded = len(extra)
    if missing:
        notes.append(Note("missing_answers", {"items": _items(missing)}))
    if repeated:
        notes.append(Note("duplicates", {"items": _items(repeated)}))
    if conflicting:
        notes.append(Note("conflicts", {"items": _items(conflicting)}))
    if len(answered) < MIN_EXAMPLES and answered:
        notes.append(Note("too_few", {"need": MIN_EXAMPLES, "have": len(answered), "reworded": reworded,
                                      "missing": MIN_EXAMPLES - len(answered)}))
    elif reworded:
        notes.append(Note("reworded", {"reworded": reworded}))
    return Drafts(examples, system, source, notes, reworded)


def _unique(pairs: list[Pair]) -> tuple[list[Pair], list[str], list[str]]:
    """Pairs with each question once; the questions asked twice with the same answer, and with different ones."""
    first: dict[str, Pair] = {}
    repeated: list[str] = []
    conflicting: list[str] = []
    for pair in pairs:
        key = _key(pair.user)
        if key not in first:
            first[key] = pair
        elif pair.assistant and first[key].assistant and _key(pair.assistant) != _key(first[key].assistant):
            conflicting.append(pair.user)
        elif pair.assistant and not first[key].assistant:
            first[key] = pair  # the later one answers what the earlier one only asked
        else:
            repeated.append(pair.user)
    return list(first.values()), repeated, conflicting


def _reworded(pairs: list[Pair], system: str, wanted: int) -> list[Example]:
    """Up to `wanted` rewordings, taken round-robin over the pairs so every question gets its turn."""
    options = [rewordings(p.user)[:MAX_REWORDINGS_PER_PAIR] for p in pairs]
    seen = {p.user for p in pairs}
    out: list[Example] = []
    for round_ in range(MAX_REWORDINGS_PER_PAIR):
        for pair, choices in zip(pairs, options):
            if len(out) == wanted:
                return out
            if round_ < len(choices) and choices[round_] not in seen:
                seen.add(choices[round_])
                out.append(make_example(choices[round_], pair.assistant, pair.system or system))
    return out


# -- a capable model ------------------------------------------------------------------------------------
_MODEL_SYSTEM = (
    "You write fine-tuning data. Reply with only a JSON array of objects {\"user\": ..., \"assistant\": ...}: "
    "realistic, varied user messages and the ideal assistant replies. Use only facts given to you; never invent prices, "
    "dates or policies."
)


def _model_request(description: str, system: str, pairs: list[Pair], count: int) -> str:
    known = json.dumps([{"user": p.user, "assistant": p.assistant} for p in pairs[:40]], ensure_ascii=False)
    about = description.strip() or "the assistant these examples describe"
    if not pairs:
        return f"The assistant: {about}\nIts system message: {system}\nWrite {count} training examples."
    return (f"The assistant: {about}\nIts system message: {system}\nThe learner's own examples:\n{known}\n\n"
            f"Write {count} new examples that are not copies of these: other questions these facts answer, or the "
            "same questions asked the way other people would ask them.")


def _model_examples(writer: Writer, request: str, system: str, count: int, taken: set[str],
                    keep_system: str | None = None) -> list[Example]:
    try:
        raw = writer(_MODEL_SYSTEM, request)
    except Exception:  # noqa: BLE001 - a failing model falls back to offline drafting; the notes say so
        return []
    match = re.search(r"\[.*\]", raw, re.DOTALL)
    try:
        items = json.loads(match.group(0)) if match else []
    except json.JSONDecodeError:
        return []
    drafts = []
    for item in items if isinstance(items, list) else []:
        if not (isinstance(item, dict) and isinstance(item.get("user"), str) and isinstance(item.get("assistant"), str)):
            continue
        user, answer = item["user"].strip(), item["assistant"].strip()
        if user and answer and _key(user) not in taken:
            taken.add(_key(user))
            drafts.append(make_example(user, answer, keep_system if keep_system is not None else system))
        if len(drafts) == count:
            break
    return drafts


def _key(text_: str) -> str:
    return re.sub(r"[\W_]+", " ", text_.casefold()).strip()


def _items(questions: list[str]) -> str:
    shown = [f"“{q}”" for q in questions[:SHOWN_ITEMS]]
    return ", ".join(shown) + (f" (+{len(questions) - SHOWN_ITEMS})" if len(questions) > SHOWN_ITEMS else "")
