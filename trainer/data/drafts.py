"""Drafting training examples from a one-line description ("a limerick bot about chemical elements").

With a capable model (a `writer`), the model drafts the examples as JSON. Offline the drafts are
template-guided: the topic gives the system message; known subjects (chemical elements, planets) and
styles (limerick, haiku, short answers) fill the user and assistant turns; any other topic gets
placeholders for the learner to fill in. Drafts are shown to the learner, never saved
without their say-so.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Callable

from trainer.data.examples import Example, make_example

Writer = Callable[[str, str], str]

MAX_DRAFTS = 20
PLACEHOLDER = "(Write the ideal answer here.)"


@dataclass(frozen=True)
class Subject:
    name: str
    facts: dict[str, str]


_ELEMENTS = [
    ("hydrogen", "H", "1", "the lightest gas, fuel of the stars"), ("helium", "He", "2", "a noble gas that floats balloons"),
    ("lithium", "Li", "3", "a soft metal inside phone batteries"), ("carbon", "C", "6", "the backbone of every living thing"),
    ("nitrogen", "N", "7", "most of the air we breathe"), ("oxygen", "O", "8", "the gas that keeps fires and lungs going"),
    ("neon", "Ne", "10", "the glow in red shop signs"), ("sodium", "Na", "11", "a metal that fizzes in water"),
    ("aluminium", "Al", "13", "light metal of cans and planes"), ("silicon", "Si", "14", "the heart of computer chips"),
    ("chlorine", "Cl", "17", "a gas that keeps pools clean"), ("argon", "Ar", "18", "a lazy gas filling light bulbs"),
    ("iron", "Fe", "26", "the metal of steel and of blood"), ("copper", "Cu", "29", "the orange metal in wires"),
    ("silver", "Ag", "47", "the shiniest of metals"), ("tin", "Sn", "50", "a metal that cries when bent"),
    ("iodine", "I", "53", "a violet vapour that helps the thyroid"), ("gold", "Au", "79", "a metal that never rusts"),
    ("mercury", "Hg", "80", "the metal that is liquid at room temperature"), ("uranium", "U", "92", "a heavy fuel for reactors"),
]
_PLANETS = [
    ("Mercury", "closest to the Sun"), ("Venus", "hottest of all the planets"), ("Earth", "the only one known with life"),
    ("Mars", "the red, dusty one"), ("Jupiter", "the biggest, with a giant storm"), ("Saturn", "the one with bright rings"),
    ("Uranus", "tipped over on its side"), ("Neptune", "windy, blue and far away"),
]
CATALOGUES: dict[str, list[Subject]] = {
    "element": [Subject(n, {"symbol": s, "number": z, "fact": f}) for n, s, z, f in _ELEMENTS],
    "planet": [Subject(n, {"fact": f}) for n, f in _PLANETS],
}

_LIMERICK = {
    "element": "There once was an element, {name},\nWhose symbol, {symbol}, won it fame.\nAt number {number},\nIt's {fact} —\nAnd chemists all cheer at its name!",
    "planet": "A planet called {name} would boast\nThat of all, it was {fact} the most.\nAs it whirled round the Sun,\nIt had plenty of fun,\nAnd waved to the stars as their host.",
}
_HAIKU = {
    "element": "{name}, symbol {symbol} —\nnumber {number} in the grid:\n{fact}.",
    "planet": "{name} in the dark,\n{fact},\nspinning round the Sun.",
}
_PLAIN = {
    "element": "{name} (symbol {symbol}, atomic number {number}) is {fact}.",
    "planet": "{name} is {fact}.",
}
_USER_PROMPTS = ["Tell me about {name}.", "What can you say about {name}?", "Give me something on {name}.", "{name}, please!"]


def draft_examples(topic: str, count: int = 10, *, skip: int = 0, writer: Writer | None = None) -> list[Example]:
    """Draft `count` one-turn chat examples for the described assistant; `skip` passes over subjects already used."""
    topic = _clean_topic(topic)
    count = max(1, min(count, MAX_DRAFTS))
    if writer is not None:
        drafted = _drafts_from_model(topic, count, writer)
        if drafted:
            return drafted
    system = system_message(topic)
    kind = _catalogue_for(topic)
    style = _style_of(topic)
    if kind is None:
        # No catalogue for this topic: the learner writes the requests; a local model may draft the replies later.
        prompt = f"(Write a typical request for {topic} here.)"
        return [make_example(prompt, PLACEHOLDER, system) for _ in range(count)]
    catalogue = CATALOGUES[kind]
    subjects = [catalogue[(skip + i) % len(catalogue)] for i in range(min(count, len(catalogue)))]
    templates = {"limerick": _LIMERICK, "haiku": _HAIKU}.get(style, _PLAIN)
    drafts = []
    for i, subject in enumerate(subjects):
        values = {"name": subject.name.capitalize(), **subject.facts}
        user = _USER_PROMPTS[(skip + i) % len(_USER_PROMPTS)].format(**values)
        drafts.append(make_example(user, templates[kind].format(**values), system))
    return drafts


def system_message(topic: str) -> str:
    style = _style_of(topic)
    rule = {"limerick": " Always answer with a limerick.", "haiku": " Always answer with a haiku."}.get(style, " Keep answers short and accurate.")
    article = "" if re.match(r"^(a|an|the)\b", topic, re.IGNORECASE) else "a "
    return f"You are {article}{topic}.{rule}"


def _clean_topic(topic: str) -> str:
    topic = re.sub(r"\s+", " ", topic).strip(" .!?\"'")
    return topic or "helpful assistant"


def _catalogue_for(topic: str) -> str | None:
    lowered = topic.lower()
    if re.search(r"\b(chemical )?elements?\b|alkuaine", lowered):
        return "element"
    if re.search(r"\bplanets?\b|planeet", lowered):
        return "planet"
    return None


def _style_of(topic: str) -> str:
    lowered = topic.lower()
    for style in ("limerick", "haiku"):
        if style in lowered or (style == "limerick" and "limerik" in lowered):
            return style
    return "plain"


def _drafts_from_model(topic: str, count: int, writer: Writer) -> list[Example]:
    system = (
        "You write fine-tuning data. Reply with only a JSON array of objects {\"system\", \"user\", \"assistant\"}: "
        "varied, realistic user requests and the ideal assistant replies, all in the described style."
    )
    raw = writer(system, f"Write {count} training examples for: {topic}")
    match = re.search(r"\[.*\]", raw, re.DOTALL)
    try:
        items = json.loads(match.group(0)) if match else []
    except json.JSONDecodeError:
        return []
    drafts = []
    for item in items[:count]:
        if isinstance(item, dict) and isinstance(item.get("user"), str) and isinstance(item.get("assistant"), str):
            drafts.append(make_example(item["user"], item["assistant"], item.get("system") or system_message(topic)))
    return drafts
