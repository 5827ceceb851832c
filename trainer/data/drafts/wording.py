"""Deterministic rewordings of a user message, in English and Finnish.

A draft set built from a short FAQ needs more than one wording per question: people ask the same
thing politely, tersely, with a greeting, or in other words. Each rule below rewrites a message or
declines (returns None); the order is fixed, so the same material always gives the same drafts.
Rewordings come first (they vary the words), then greeting, casual and polite forms.
"""

from __future__ import annotations

import re
from typing import Callable

from trainer.data.drafts.material import QUESTION_WORDS

Rule = Callable[[str], "str | None"]

# Imperatives whose first letter may be lowered inside a longer sentence ("Hi! tell me…" is not needed,
# but "Could you help: tell me…" is); anything else might be a name, so its case is kept.
_LOWERABLE = QUESTION_WORDS | {
    "tell", "give", "show", "explain", "help", "make", "list", "describe", "recommend", "find", "write", "send", "book",
    "kerro", "anna", "näytä", "selitä", "auta", "tee", "listaa", "kuvaile", "suosittele", "etsi", "kirjoita", "lähetä", "varaa",
}
_FINNISH_HINT = re.compile(r"[äöå]|\b\w+(ko|kö)\b|\b(mitä|mikä|miten|kuinka|milloin|missä|onko|voiko|voinko|paljonko|kerro)\b",
                           re.IGNORECASE)


_FINNISH_ENDING = re.compile(r"\b\w{3,}(lle|sta|stä|ssa|ssä|lla|llä|lta|ltä|ksi|tta|ttä)\b", re.IGNORECASE)


def looks_finnish(text: str) -> bool:
    return bool(_FINNISH_HINT.search(text)) or len(_FINNISH_ENDING.findall(text)) >= 2


def rewordings(message: str, lang: str | None = None) -> list[str]:
    """Distinct rewordings of `message` (the original excluded), in a fixed order."""
    message = message.strip()
    fi = (lang == "fi") if lang else looks_finnish(message)
    rules = _FI_RULES if fi else _EN_RULES
    seen = {message}
    found = []
    for rule in rules:
        candidate = rule(message)
        if candidate and candidate not in seen:
            seen.add(candidate)
            found.append(candidate)
    return found


def _lower_first(message: str) -> str | None:
    """The message with its first letter lowered, when the first word is a question word or an imperative."""
    first = message.split()[0]
    if first.lower().strip(",.!?") in _LOWERABLE or re.fullmatch(r"\w+(ko|kö)", first.lower()):
        return message[0].lower() + message[1:]
    return None


def _swap(pattern: str, replacement: str | Callable[[re.Match[str]], str]) -> Rule:
    compiled = re.compile(pattern, re.IGNORECASE)

    def rule(message: str) -> str | None:
        match = compiled.fullmatch(message)
        if not match:
            return None
        text = replacement(match) if callable(replacement) else match.expand(replacement)
        return text[0].upper() + text[1:]
    return rule


_GREETED = re.compile(r"^(hi|hello|hey|good (morning|afternoon|evening)|hei|moi|moikka|terve|päivää)\b", re.IGNORECASE)


def _greeting(word: str) -> Rule:
    return lambda message: None if _GREETED.match(message) else f"{word} {message}"


def _casual(message: str) -> str | None:
    lowered = _lower_first(message)
    return lowered.rstrip("?!. ") if lowered else None


def _polite(prefix: str, question_only: bool = True) -> Rule:
    def rule(message: str) -> str | None:
        lowered = _lower_first(message)
        if lowered is None or (question_only and not message.endswith("?")):
            return None
        return f"{prefix}{lowered}"
    return rule


def _thanks(word: str) -> Rule:
    return lambda message: f"{message} {word}" if message[-1] in "?.!" else f"{message}. {word}"


_EN_RULES: list[Rule] = [
    _swap(r"how much (?:does|do|will) (.+) cost\??", r"What's the price of \1?"),
    _swap(r"what(?: does|'s| is) the price of (.+?)\??", r"How much does \1 cost?"),
    _swap(r"how much is (.+?)\??", r"What does \1 cost?"),
    _swap(r"how much are (.+?)\??", r"What do \1 cost?"),
    _swap(r"what is (.+?)\?", r"What's \1?"),
    _swap(r"can i (.+?)\?", r"Is it possible to \1?"),
    _swap(r"is it possible to (.+?)\?", r"Can I \1?"),
    _swap(r"can you (.+?)\?", r"Could you \1?"),
    _swap(r"do you (?!have\b)(.+?)\?", r"Do you happen to \1?"),
    _swap(r"do you have (.+?)\?", r"Have you got \1?"),
    _swap(r"(?:is|are) there (.+?)\?", r"Do you have \1?"),
    _swap(r"where (?:is|are) (.+?)\?", r"Where can I find \1?"),
    _swap(r"how do i (.+?)\?", r"What's the best way to \1?"),
    _swap(r"how long (does|do|will|is|are) (.+?)\?", r"Roughly how long \1 \2?"),
    _swap(r"when (are|do|does|is) (.+?)\?", r"What time \1 \2?"),
    _greeting("Hi!"),
    _casual,
    _polite("Could you tell me: "),
    _thanks("Thanks!"),
    _polite("Hello, quick question: "),
]

_FI_RULES: list[Rule] = [
    # "Mitä" asks a price ("Mitä korjaus maksaa?"), not any amount ("Paljonko myöhästymismaksu on?").
    _swap(r"paljonko (.+? maksa\w*)\?", r"Mitä \1?"),
    _swap(r"paljonko (.+?) on\?", r"Mikä on \1?"),
    _swap(r"kuinka paljon (.+?)\?", r"Paljonko \1?"),
    _swap(r"mitä (.+) maksaa\?", r"Paljonko \1 maksaa?"),
    _swap(r"kuinka (?!paljon\b)(.+?)\?", r"Miten \1?"),
    _swap(r"miten (.+?)\?", r"Kuinka \1?"),
    _greeting("Hei!"),
    _casual,
    _polite("Voisitteko kertoa, "),
    _thanks("Kiitos!"),
    _polite("Moi, kysyisin: "),
]
