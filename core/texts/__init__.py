"""The text catalogue: every text a learner reads, one module per language (`en.py`, `fi.py`, …).

Each language module holds `TEXTS`, a dict from a dotted key (`chat.help`, `ui.dataset`, `job.status.running`)
to a `str.format` template. English is the reference: a key missing in another language falls back to it,
and an unknown language gets English. Adding a language means adding one module here; the tutor speaks
every language that has a module (`LANGUAGES`, English first).
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache
from string import Formatter
from types import MappingProxyType
from typing import Any, Mapping

DEFAULT_LANGUAGE = "en"


def _discover() -> tuple[str, ...]:
    found = sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))
    return (DEFAULT_LANGUAGE, *[code for code in found if code != DEFAULT_LANGUAGE])


LANGUAGES: tuple[str, ...] = _discover()


@lru_cache(maxsize=None)
def catalogue(lang: str) -> Mapping[str, str]:
    """All texts of one language (read-only); an unknown language gets English's."""
    code = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
    return MappingProxyType(importlib.import_module(f"{__name__}.{code}").TEXTS)


def has_text(key: str) -> bool:
    """Whether `key` is in the reference (English) catalogue."""
    return key in catalogue(DEFAULT_LANGUAGE)


def text(lang: str | None, key: str, **values: Any) -> str:
    """The text `key` in `lang` (English when it has none), with `values` filled in.

    An unknown key is a programming error and raises `KeyError` naming it.
    """
    texts = catalogue(lang or DEFAULT_LANGUAGE)
    template = texts.get(key)
    if template is None:
        template = catalogue(DEFAULT_LANGUAGE).get(key)
        if template is None:
            raise KeyError(f"no text {key!r} in the catalogue (core/texts/{DEFAULT_LANGUAGE}.py)")
    return template.format(**values) if values else template


def placeholders(template: str) -> set[str]:
    """The names a template fills in (`{first:.3f}` → `first`)."""
    return {name.split(".")[0].split("[")[0] for _, name, _, _ in Formatter().parse(template) if name}


def with_prefix(lang: str, prefix: str) -> dict[str, str]:
    """One language's texts under `prefix` (e.g. `ui.`), keyed without it; English fills the gaps."""
    merged = {**catalogue(DEFAULT_LANGUAGE), **catalogue(lang)}
    return {key[len(prefix):]: value for key, value in merged.items() if key.startswith(prefix)}
