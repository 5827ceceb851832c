"""The project's own lesson index: where the packaged docs live and how the app makes sure they are indexed.

After each check `ensure_index` leaves a manifest in the index folder: the docs' digests and the index
revision they were checked against. A start that finds both unchanged (the docs' files as they were, no
write to the index since) trusts it and opens nothing; any difference, or a Chroma server, runs the
incremental ingest, which compares each file with what the index holds.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.files import atomic_writer
from knowledge.ingest import IngestReport, ingest, load_docs
from knowledge.loader import IngestError, file_digest, find_markdown_files
from knowledge.prebuilt import PREBUILT_DIR, export_prebuilt, load_prebuilt, save_prebuilt
from knowledge.records import Progress
from knowledge.store import index_folder, open_store, read_revision

if TYPE_CHECKING:
    from core.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_DOCS_DIR = Path(__file__).resolve().parent / "docs"
# The lesson docs are tracked under a fixed name, so a checkout and an installed copy share one entry.
LESSON_DOCS_LABEL = "finetune-tutor:lesson-docs"
MANIFEST_FILE = "finetune-tutor-docs-checked.json"


def ensure_index(
    settings: "Settings", docs_dir: Path = DEFAULT_DOCS_DIR, *, prebuilt_dir: Path | None = None, progress: Progress | None = None
) -> IngestReport:
    """Index the lesson docs if missing or changed; when up to date this only hashes the files (no model load,
    and with the manifest of an earlier check, no chromadb).

    Files come from the precomputed records in `prebuilt_dir` (`knowledge.prebuilt`; by default
    `knowledge/prebuilt` for the packaged docs, none for another folder) where their digests match; a file
    they lack is embedded, and the bundle is then rewritten so that the next fresh index need not.
    Raises knowledge.loader.IngestError if the docs folder is unusable.
    """
    root = Path(docs_dir).resolve()
    packaged = root == DEFAULT_DOCS_DIR
    label = LESSON_DOCS_LABEL if packaged else str(root)
    folder = index_folder(settings)
    files = _digests(root)
    unchanged = _checked_before(folder, root, label, files)
    if unchanged is not None:
        return unchanged
    if prebuilt_dir is None and packaged:
        prebuilt_dir = PREBUILT_DIR
    bundle = load_prebuilt(prebuilt_dir) if prebuilt_dir is not None else None
    store = open_store(settings, create=True)
    report = ingest(root, store, label=label, prebuilt=bundle, progress=progress)
    if prebuilt_dir is not None and report.embedded:
        try:
            save_prebuilt(export_prebuilt(store, label, load_docs(root)), prebuilt_dir)
            if prebuilt_dir == PREBUILT_DIR:
                from knowledge.lemmas import build_dictionaries

                build_dictionaries()  # where make install never ran (a Space): its lemma copies too, once
        except OSError as error:  # a read-only install: the next fresh index embeds again, nothing worse
            log.warning("could not save the prebuilt lesson index to %s (%s)", prebuilt_dir, error)
    if folder is not None and files is not None:
        revision = store.sync_revision_file()  # an index from before the revision file gets one now
        _save_manifest(folder, label, files, revision, report)
    return report


def _digests(root: Path) -> dict[str, str] | None:
    """Each markdown file's digest, as ingest computes it; None when the folder cannot be read (ingest says why)."""
    try:
        return {path.relative_to(root).as_posix(): file_digest(path.read_bytes()) for path in find_markdown_files(root)}
    except (IngestError, OSError):
        return None


def _checked_before(folder: Path | None, root: Path, label: str, files: dict[str, str] | None) -> IngestReport | None:
    """The report of the last check, when the docs and the index are both as they were then; else None."""
    if folder is None or files is None:
        return None
    revision = read_revision(folder)
    try:
        manifest: Any = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
        same = revision and manifest["revision"] == revision and manifest["label"] == label and manifest["files"] == files
        if not same:
            return None
        return IngestReport(source_dir=str(root), index=str(folder), skipped=len(files),
                            total_chunks=int(manifest["total_chunks"]), total_sections=int(manifest["total_sections"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _save_manifest(folder: Path, label: str, files: dict[str, str], revision: str, report: IngestReport) -> None:
    # `revision` is the index's after the ingest: a write by anyone later changes it, and the next start checks again.
    manifest = {"label": label, "revision": revision, "files": files,
                "total_chunks": report.total_chunks, "total_sections": report.total_sections}
    try:
        with atomic_writer(folder / MANIFEST_FILE) as file:
            file.write(json.dumps(manifest, indent=1).encode("utf-8"))
    except OSError as error:
        log.warning("could not save the docs manifest in %s (%s); the next start checks the index again", folder, error)
