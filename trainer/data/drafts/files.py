"""Drafting an uploaded file of the learner's material (markdown FAQ, CSV/TSV, Q&A text) into a dataset.

JSON and JSONL files are data already and go through `DatasetStore.import_file` unchanged; the files
recognised here are drafted (`draft.draft`) and the drafts imported the same way, so the dataset is
checked and replaced or appended in one atomic step.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from trainer.data.drafts.draft import Drafts, draft
from trainer.data.drafts.texts import text
from trainer.data.examples import DatasetError
from trainer.data.formats import write_jsonl
from trainer.data.store import DatasetStore, ImportMode

MATERIAL_SUFFIXES = (".md", ".markdown", ".csv", ".tsv", ".txt")


def is_material_file(path: Path) -> bool:
    """A file to draft from rather than import: markdown, CSV/TSV, or a .txt that is not JSON lines."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in MATERIAL_SUFFIXES:
        return False
    if suffix != ".txt":
        return True
    with open(path, "rb") as handle:
        head = handle.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    return not head.startswith((b"{", b"["))


def read_text(path: Path) -> str:
    try:
        return Path(path).read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DatasetError(f"{Path(path).name} is not UTF-8 text; save it as UTF-8 and upload it again.") from None
    except OSError as exc:
        raise DatasetError(f"Cannot read {Path(path).name}: {exc.strerror}.") from None


def draft_file_into(store: DatasetStore, name: str, path: Path, *, mode: ImportMode = "append",
                    lang: str = "en", display_name: str | None = None) -> tuple[Drafts, str]:
    """Draft `path`'s material into dataset `name`; returns the drafts and a summary with what is missing."""
    path = Path(path)
    shown_name = display_name or path.name
    system = _dataset_system(store, name)
    drafts = draft("", material=read_text(path), lang=lang, system=system)
    if not drafts.examples:
        problem = drafts.describe_notes(lang)
        raise DatasetError(text("upload_none", lang, file=shown_name) + (f"\n{problem}" if problem else ""))
    with tempfile.TemporaryDirectory(prefix="drafts-") as folder:
        staged = Path(folder) / "drafts.jsonl"
        write_jsonl(staged, drafts.examples)
        store.import_file(name, staged, fmt="openai", mode=mode)
    summary = text("upload_drafted", lang, count=len(drafts.examples), file=shown_name, source=drafts.source_text(lang),
                   dataset=name)
    notes = drafts.describe_notes(lang)
    return drafts, summary + (f"\n{notes}" if notes else "")


def _dataset_system(store: DatasetStore, name: str) -> str | None:
    """The dataset's own system message, so drafted examples teach the same role as the rest."""
    if not store.exists(name):
        return None
    examples = store.iter_examples(name)
    first = next(examples, None)
    examples.close()
    messages = (first or {}).get("messages", [])
    return next((m["content"] for m in messages if m.get("role") == "system" and m.get("content")), None)
