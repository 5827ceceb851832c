"""Dictionary lemmas (simplemma) and compound parts: word keys that survive Finnish inflection.

Finnish inflects and compounds heavily: "hienosäädön" and "hienosäätäminen" share the lemma
"hienosäätää", "koulutustyöstä" is a form of "koulutustyö" (koulutus + työ). `lemma_keys` gives a
word's lemma plus, for a compound the dictionary does not know, its parts' lemmas, so
"validointihäviö" also matches "häviö". simplemma alone would shorten such a compound to its
head ("validointi"), losing the part that matters. English uses Snowball stems instead.
simplemma's lookups and our lru_cache are safe to share between threads; the dictionary loads
(~4 s for Finnish) on first use, so `preload` runs it when the index is built.
"""

from __future__ import annotations

from functools import lru_cache

import simplemma

LEMMA_LANGS = frozenset({"fi"})
_MIN_HEAD = 4  # shorter heads are mostly prefixes or noise
_MIN_TAIL = 3
_MAX_WORD = 40  # splitting is linear in dictionary look-ups; nothing in the lessons is longer


def preload(lang: str) -> None:
    """Load the lemma dictionary for `lang` now rather than on the first question."""
    if lang in LEMMA_LANGS:
        lemma_keys("esimerkki", lang)


@lru_cache(maxsize=65536)
def lemma_keys(word: str, lang: str) -> tuple[str, ...]:
    """Keys for a lower-case `word`: its lemma, then its compound parts' lemmas when it splits."""
    if len(word) > _MAX_WORD:
        return (word,)
    if simplemma.is_known(word, lang):
        lemma = _clean(simplemma.lemmatize(word, lang=lang)) or word
        parts = _split(lemma, lang)  # a known compound (tuotetieto) still shares its parts
        return (lemma, *[p for p in parts if p != lemma])
    parts = _split(word, lang)
    if parts:
        return (parts[0] + parts[1], *parts)
    return (_clean(simplemma.lemmatize(word, lang=lang)) or word,)


def _split(word: str, lang: str) -> list[str]:
    """[head, tail lemma] when `word` is a dictionary head plus a dictionary word; longest head first.

    The head must be a base form itself (compound heads are, in Finnish): that keeps
    "hienosäätötyön" as hienosäätö + työ rather than hienosäätöt (a plural) + yö.
    """
    for cut in range(len(word) - _MIN_TAIL, _MIN_HEAD - 1, -1):
        head, tail = word[:cut], word[cut:]
        if not simplemma.is_known(head, lang) or _clean(simplemma.lemmatize(head, lang=lang)) != head:
            continue
        tail_lemma = _clean(simplemma.lemmatize(tail, lang=lang))
        if len(tail_lemma) >= _MIN_TAIL and simplemma.is_known(tail_lemma, lang):
            return [head, tail_lemma]
    return []


def _clean(lemma: str) -> str:
    """Lower-case lemma, or "" for dictionary abbreviations such as "esim."."""
    lemma = lemma.lower()
    return lemma if lemma.isalpha() else ""
