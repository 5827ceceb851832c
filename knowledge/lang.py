"""Language detection for questions and docs, restricted to the languages the tutor speaks.

Lingua is built for short, mixed text; limiting it to the candidate languages makes a
three-word question reliable. Where it is unsure, a Finnish-letter check and then the
first candidate decide, so the answer is always one of the candidates.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from typing import Sequence

from core.texts import DEFAULT_LANGUAGE, LANGUAGES, has_text, text

# The tutor speaks the languages its text catalogue has (core/texts/), English first.
SUPPORTED_LANGUAGES: tuple[str, ...] = LANGUAGES
# Below this confidence lingua's pick is a coin toss (e.g. a lone product name such as "LoRA?").
_MIN_CONFIDENCE = 0.65
_FINNISH_LETTERS = re.compile(r"[äöÄÖ]")


def detect_language(text: str, candidates: Sequence[str] = SUPPORTED_LANGUAGES) -> str:
    """Return the ISO 639-1 code of the candidate language `text` is written in."""
    candidates = tuple(code.lower() for code in candidates) or (DEFAULT_LANGUAGE,)
    if len(candidates) == 1 or not text.strip():
        return candidates[0]
    detector = _load_detector(candidates)
    if detector is not None:
        values = detector.compute_language_confidence_values(text)
        if values and values[0].value >= _MIN_CONFIDENCE:
            return values[0].language.iso_code_639_1.name.lower()
    if "fi" in candidates and _FINNISH_LETTERS.search(text):
        return "fi"
    return DEFAULT_LANGUAGE if DEFAULT_LANGUAGE in candidates else candidates[0]


def language_name(code: str, in_language: str = "en") -> str:
    """The name of a language for messages, e.g. language_name("fi", "en") == "Finnish"."""
    key = f"language.{code}"
    return text(in_language, key) if has_text(key) else code


_detector_lock = threading.Lock()


def load_detector(candidates: Sequence[str] = SUPPORTED_LANGUAGES) -> None:
    """Build the detector for `candidates` now (~0.5 s, in lingua's native code, mostly outside the GIL)."""
    _load_detector(tuple(code.lower() for code in candidates))


def _load_detector(candidates: tuple[str, ...]):  # -> lingua.LanguageDetector | None
    # lru_cache alone would let concurrent first questions each build a detector (~0.5 s and
    # memory each); a built detector is read-only and safe to share.
    with _detector_lock:
        return _build_detector(candidates)


@lru_cache(maxsize=8)
def _build_detector(candidates: tuple[str, ...]):  # -> lingua.LanguageDetector | None
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    languages = []
    for code in candidates:
        try:
            languages.append(Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())))
        except (AttributeError, ValueError):
            continue  # not a language lingua knows; the fallback still covers it
    if len(languages) < 2:
        return None
    # Preloading costs ~0.5 s once and keeps the first question as fast as the rest.
    return LanguageDetectorBuilder.from_languages(*languages).with_preloaded_language_models().build()
