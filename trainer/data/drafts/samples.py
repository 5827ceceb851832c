"""Two worked demo topics (chemical elements, planets) drafted without any material.

They are the guided path's first dataset and show what good examples look like: one system message,
a varied request per example, and a reply that always keeps the asked-for style (limerick, haiku or
a short factual answer). Any other topic is drafted from the learner's own material instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from trainer.data.examples import Example, make_example


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


def catalogue_for(topic: str) -> str | None:
    lowered = topic.lower()
    if re.search(r"\b(chemical )?elements?\b|alkuaine", lowered):
        return "element"
    if re.search(r"\bplanets?\b|planeet", lowered):
        return "planet"
    return None


def style_of(topic: str) -> str:
    lowered = topic.lower()
    if "limerick" in lowered or "limerik" in lowered:
        return "limerick"
    return "haiku" if "haiku" in lowered else "plain"


def sample_examples(kind: str, style: str, system: str, count: int, skip: int = 0) -> list[Example]:
    """`count` examples (at most one per subject) on a catalogue topic; `skip` passes over subjects already used."""
    catalogue = CATALOGUES[kind]
    templates = {"limerick": _LIMERICK, "haiku": _HAIKU}.get(style, _PLAIN)
    drafts = []
    for i in range(min(count, len(catalogue))):
        subject = catalogue[(skip + i) % len(catalogue)]
        values = {"name": subject.name.capitalize(), **subject.facts}
        user = _USER_PROMPTS[(skip + i) % len(_USER_PROMPTS)].format(**values)
        drafts.append(make_example(user, templates[kind].format(**values), system))
    return drafts
