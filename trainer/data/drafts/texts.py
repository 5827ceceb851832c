"""Drafting's texts: its keys in the `core/texts` catalogue, under `drafts.`.

The chat's drafting tool and the Dataset tab's upload use these too, so a wording change is made
once, in the catalogue of each language.
"""

from __future__ import annotations

from core.texts import text as catalogue_text


def text(key: str, lang: str, **values: object) -> str:
    """The drafting text `key` in `lang` (English when the language has none), filled with `values`."""
    return catalogue_text(lang, f"drafts.{key}", **values)
