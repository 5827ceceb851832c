"""Word-by-word English glosses of questions in other languages, for the English embedding model.

MiniLM reads English only, so a Finnish question embedded as it is lands near nothing in
particular. Glossing it ("Paljonko hienosäätö maksaa?" -> "how much fine-tuning cost") gives the
model words it knows; the gloss is then matched against the English sections, whose Finnish twins
(the docs are parallel) get the score. The glossary (`glossary/<lang>_en.tsv`, the project's own)
maps lemma keys (`knowledge.lemmas`) to one to three English words; `-` marks function words.
Words it does not know stay as they are: technical terms (LoRA, JSONL) are the same in both
languages, and an unknown word in an off-topic question should stay unknown.
"""

from __future__ import annotations

from bisect import bisect_left
from functools import lru_cache
from pathlib import Path

from knowledge.lemmas import lemma_keys
from knowledge.lexical import content_words

GLOSSARY_DIR = Path(__file__).resolve().parent / "glossary"
FUNCTION_WORD = "-"
# An unknown word may share a stem with a known one (yksinkertaisesti / yksinkertainen); shorter
# shared beginnings are mostly coincidence.
MIN_SHARED_PREFIX = 6
# Finnish case endings an English term takes in a Finnish sentence (LoRAsta, JSONL:ää), longest first.
_CASE_ENDINGS = ("sta", "stä", "ssa", "ssä", "lla", "llä", "lta", "ltä", "lle", "ksi", "aan", "ään", "iin",
                 "ta", "tä", "na", "nä", "ia", "iä", "in", "a", "ä", "n")


@lru_cache(maxsize=None)
def load_glossary(lang: str) -> dict[str, str]:
    """{lemma key: English words} for `lang`, empty when there is no glossary for it."""
    path = GLOSSARY_DIR / f"{lang}_en.tsv"
    if not path.is_file():
        return {}
    glossary: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        key, sep, english = line.partition("\t")
        if sep and key.strip() and english.strip():
            glossary.setdefault(key.strip().lower(), english.strip().lower())
    return glossary


@lru_cache(maxsize=None)
def _sorted_keys(lang: str) -> list[str]:
    return sorted(load_glossary(lang))


@lru_cache(maxsize=4096)
def gloss(question: str, lang: str, keep: frozenset[str] | None = None) -> str:
    """The question's words in English, in order; "" when `lang` has no glossary.

    A word the glossary does not know stays as it is, or, when `keep` is given (the English docs'
    words: LoRA, JSONL, Python), only if it is in `keep`: for MiniLM any other unknown word is noise,
    and an unknown word is more often off-topic ("maratonille") than a lesson term.
    """
    glossary = load_glossary(lang)
    if not glossary:
        return ""
    words = []
    for word in content_words(question, lang, keep_stopwords=True):
        english = _gloss_word(word, lang, glossary)
        unknown = english == word and word not in glossary
        if unknown and keep is not None and word not in keep:
            english = _english_stem(word, keep)  # "lorasta" -> "lora"
        if english and english != FUNCTION_WORD:
            words.append(english)
    return " ".join(words)


def _english_stem(word: str, english_words: frozenset[str]) -> str:
    """An English term with a Finnish case ending (lorasta, jsonl:ää -> lora, jsonl), or ""."""
    for ending in _CASE_ENDINGS:
        stem = word[: -len(ending)]
        if word.endswith(ending) and len(stem) >= 3 and stem in english_words:
            return stem
    return ""


def _gloss_word(word: str, lang: str, glossary: dict[str, str]) -> str:
    if word in glossary:
        return glossary[word]
    keys = lemma_keys(word, lang)
    if keys[0] in glossary:
        return glossary[keys[0]]
    verb = _verb_of_noun(keys[0], lang)
    if verb in glossary:
        return glossary[verb]
    # Another form of the whole word (hienosäätäminen / hienosäätää) beats its parts ...
    close = _gloss_by_prefix(keys[0], lang, glossary, max(MIN_SHARED_PREFIX, len(keys[0]) - 3))
    if close:
        return close
    # ... and an unknown compound is its parts' glosses (validointihäviö: validation loss).
    parts = [glossary[key] for key in keys[1:] if key in glossary and glossary[key] != FUNCTION_WORD]
    if parts:
        return " ".join(parts)
    return _gloss_by_prefix(word, lang, glossary, MIN_SHARED_PREFIX) or word


def _verb_of_noun(lemma: str, lang: str) -> str:
    """The verb behind a Finnish -minen noun (säätäminen -> säätää, kouluttaminen -> kouluttaa); "" otherwise."""
    if lang != "fi" or not lemma.endswith("minen") or len(lemma) < 8:
        return ""
    stem = lemma[: -len("minen")]
    return stem + ("ä" if any(vowel in stem for vowel in "äöy") else "a")


def _gloss_by_prefix(word: str, lang: str, glossary: dict[str, str], shortest: int) -> str:
    """The gloss of the shortest known word sharing the longest beginning (at least `shortest` letters) with `word`."""
    keys = _sorted_keys(lang)
    for cut in range(len(word), shortest - 1, -1):
        prefix = word[:cut]
        i = bisect_left(keys, prefix)
        matches = [key for key in keys[i : i + 50] if key.startswith(prefix)]
        if matches:
            return glossary[min(matches, key=len)]
    return ""
