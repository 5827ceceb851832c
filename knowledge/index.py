"""The project's own lesson index: where the packaged docs live and how the app makes sure they are indexed."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from knowledge.ingest import IngestReport, ingest, load_docs
from knowledge.lemmas import build_dictionaries
from knowledge.prebuilt import PREBUILT_DIR, export_prebuilt, load_prebuilt, save_prebuilt
from knowledge.records import Progress
from knowledge.store import open_store

if TYPE_CHECKING:
    from core.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_DOCS_DIR = Path(__file__).resolve().parent / "docs"
# The lesson docs are tracked under a fixed name, so a checkout and an installed copy share one entry.
LESSON_DOCS_LABEL = "finetune-tutor:lesson-docs"


def ensure_index(
    settings: "Settings", docs_dir: Path = DEFAULT_DOCS_DIR, *, prebuilt_dir: Path | None = None, progress: Progress | None = None
) -> IngestReport:
    """Index the lesson docs if missing or changed; when up to date this only hashes the files (no model load).

    Files come from the precomputed records in `prebuilt_dir` (`knowledge.prebuilt`; by default
    `knowledge/prebuilt` for the packaged docs, none for another folder) where their digests match; a file
    they lack is embedded, and the bundle is then rewritten so that the next fresh index need not.
    Raises knowledge.loader.IngestError if the docs folder is unusable.
    """
    root = Path(docs_dir).resolve()
    packaged = root == DEFAULT_DOCS_DIR
    label = LESSON_DOCS_LABEL if packaged else str(root)
    if prebuilt_dir is None and packaged:
        prebuilt_dir = PREBUILT_DIR
    bundle = load_prebuilt(prebuilt_dir) if prebuilt_dir is not None else None
    store = open_store(settings, create=True)
    report = ingest(root, store, label=label, prebuilt=bundle, progress=progress)
    if prebuilt_dir is not None and report.embedded:
        try:
            save_prebuilt(export_prebuilt(store, label, load_docs(root)), prebuilt_dir)
            if prebuilt_dir == PREBUILT_DIR:
                build_dictionaries()  # where make install never ran (a Space): its lemma copies too, once
        except OSError as error:  # a read-only install: the next fresh index embeds again, nothing worse
            log.warning("could not save the prebuilt lesson index to %s (%s)", prebuilt_dir, error)
    return report
