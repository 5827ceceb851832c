"""The project's own lesson index: where the packaged docs live and how the app makes sure they are indexed."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from knowledge.ingest import IngestReport, ingest
from knowledge.store import open_store

if TYPE_CHECKING:
    from core.settings import Settings

DEFAULT_DOCS_DIR = Path(__file__).resolve().parent / "docs"
# The lesson docs are tracked under a fixed name, so a checkout and an installed copy share one entry.
LESSON_DOCS_LABEL = "finetune-tutor:lesson-docs"


def ensure_index(settings: "Settings", docs_dir: Path = DEFAULT_DOCS_DIR) -> IngestReport:
    """Index the lesson docs if missing or changed; when up to date this only hashes the files (no model load).

    Raises knowledge.loader.IngestError if the docs folder is unusable.
    """
    label = LESSON_DOCS_LABEL if Path(docs_dir).resolve() == DEFAULT_DOCS_DIR else None
    return ingest(docs_dir, open_store(settings, create=True), label=label)
