"""Incremental ingest of a folder of markdown docs into the lesson collection.

Order matters for safety: every file is read, checked, split and embedded before the index is
touched. Then new chunks are added before old ones are deleted, so at every moment the index
holds at least the previous version, and a failure while adding rolls the new chunks back.
Files are tracked per ingested folder, so ingesting a second folder adds to the index instead
of replacing the first.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from knowledge.loader import DocFile, IngestError, find_markdown_files, load_doc
from knowledge.records import Progress, Records, embed_docs
from knowledge.store import IndexLike, Store, open_store

if TYPE_CHECKING:
    from knowledge.prebuilt import Prebuilt

_WRITE_BATCH = 256


@dataclass
class IngestReport:
    """What an ingest did; counts are files unless named chunks."""

    source_dir: str
    index: str
    added: int = 0
    updated: int = 0
    removed: int = 0
    skipped: int = 0
    chunks: int = 0  # records written by this run (sections and their units)
    prebuilt: int = 0  # files whose records came from the precomputed index (knowledge.prebuilt), not embedded
    embedded: int = 0  # texts this run embedded (units and questions, once per model)
    total_chunks: int = 0  # records in the whole index afterwards
    total_sections: int = 0  # doc sections in the whole index afterwards
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        return (
            f"Ingested {self.source_dir} into {self.index}: {self.added} added, {self.updated} updated, "
            f"{self.removed} removed, {self.skipped} unchanged files; {self.chunks} chunks written; "
            f"the index holds {self.total_sections} sections ({self.total_chunks} chunks) ({self.seconds:.1f} s)."
        )


def ingest(
    source_dir: Path | str,
    index: IndexLike,
    *,
    label: str | None = None,
    prebuilt: "Prebuilt | None" = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Bring the index up to date with the markdown files under `source_dir`.

    `label` names the folder in the index (default: its absolute path); a later ingest under the
    same label updates that folder's files, wherever the folder now lives. A file whose exact
    records `prebuilt` holds (same label, same digest) is copied from it instead of embedded.
    `progress(done, total)` hears about the embedding and writing as it goes.

    Raises IngestError (clear message, index untouched) for a missing or unreadable folder,
    a folder without markdown, or any empty, binary, undecodable or oversized file.
    """
    started = time.perf_counter()
    root = Path(source_dir).expanduser().resolve()
    docs = load_docs(root)
    store = open_store(index, create=True)
    root_key = label or str(root)
    report = IngestReport(source_dir=str(root), index=store.location)
    with store.write_lock():
        stored = _stored_files(store, root_key)
        changed = [doc for doc in docs if stored.get(doc.source, (None, []))[0] != doc.digest]
        current = {doc.source for doc in docs}
        report.skipped = len(docs) - len(changed)
        report.added = sum(1 for doc in changed if doc.source not in stored)
        report.updated = len(changed) - report.added
        gone = [source for source in stored if source not in current]
        report.removed = len(gone)
        copied, to_embed = prebuilt.take(changed, root_key) if prebuilt is not None else (Records.empty(), changed)
        report.prebuilt = len(changed) - len(to_embed)
        fresh = embed_docs(to_embed, root_key, report.warnings, _share(progress, 0.0, 0.8 if len(to_embed) else 0.0))
        report.embedded = 2 * sum(1 for meta in fresh.metadatas if meta["kind"] != "section")
        records = Records.concat([copied, fresh])
        old_ids = [chunk_id for doc in changed if doc.source in stored for chunk_id in stored[doc.source][1]]
        old_ids += [chunk_id for source in gone for chunk_id in stored[source][1]]
        if records.ids or old_ids:
            _write(store, records, old_ids, _share(progress, 0.8 if len(to_embed) else 0.0, 1.0))
        report.chunks = len(records)
        report.total_chunks = store.count()
        report.total_sections = len(store.collection.get(where={"kind": "section"}, include=[])["ids"])
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _share(progress: Progress | None, low: float, high: float) -> Progress | None:
    """One step's (done, total) as a share of the whole ingest, reported in thousandths."""
    if progress is None:
        return None
    return lambda done, total: progress(round(1000 * (low + (high - low) * done / max(total, 1))), 1000)


def load_docs(root: Path) -> list[DocFile]:
    """Every markdown file under `root`, read and checked; raises IngestError naming every bad file."""
    docs, problems = [], []
    for path in find_markdown_files(root):
        try:
            docs.append(load_doc(root, path))
        except IngestError as error:
            problems.append(str(error))
    if problems:
        listed = "\n  ".join(problems)
        raise IngestError(f"Nothing was ingested; the index is unchanged. Fix these files first:\n  {listed}")
    return docs


def _stored_files(store: Store, root_key: str) -> dict[str, tuple[str, list[str]]]:
    """source -> (digest, chunk ids) for what the index holds from this folder."""
    result = store.collection.get(where={"root": root_key}, include=["metadatas"])
    multilingual = set(store.multilingual.get(where={"root": root_key}, include=[])["ids"])
    files: dict[str, tuple[str, list[str]]] = {}
    for chunk_id, meta in zip(result["ids"], result["metadatas"] or []):
        digest, chunk_ids = files.setdefault(meta["source"], (meta["digest"], []))
        chunk_ids.append(chunk_id)
        if digest != meta["digest"] or (meta["kind"] != "section" and chunk_id not in multilingual):
            # Leftovers of an interrupted write: mark the file changed so it is rebuilt.
            files[meta["source"]] = ("", chunk_ids)
    return files


def _write(store: Store, records: Records, old_ids: list[str], progress: Progress | None = None) -> None:
    """Upsert into both collections, then delete what is stale; a failed upsert removes what it added."""
    multilingual_ids, multilingual_vectors, multilingual_metadatas = records.multilingual()
    written: list[tuple[object, str]] = []
    total = len(records) + len(multilingual_ids)
    try:
        for collection, batch_ids, fields in (
            (store.collection, records.ids, {"documents": records.documents, "embeddings": records.minilm, "metadatas": records.metadatas}),
            (store.multilingual, multilingual_ids, {"embeddings": multilingual_vectors, "metadatas": multilingual_metadatas}),
        ):
            for start in range(0, len(batch_ids), _WRITE_BATCH):
                end = start + _WRITE_BATCH
                collection.upsert(ids=batch_ids[start:end], **{name: values[start:end] for name, values in fields.items()})
                written.extend((collection, chunk_id) for chunk_id in batch_ids[start:end])
                if progress:
                    progress(len(written), total)
    except Exception as error:
        old = set(old_ids)
        for collection in (store.collection, store.multilingual):
            fresh = [chunk_id for owner, chunk_id in written if owner is collection and chunk_id not in old]
            if fresh:
                collection.delete(ids=fresh)
        raise IngestError(f"Writing to the index at {store.location} failed ({error}); the previous index was kept.") from None
    stale = sorted(set(old_ids) - set(records.ids))
    for collection in (store.collection, store.multilingual):
        for start in range(0, len(stale), _WRITE_BATCH):
            collection.delete(ids=stale[start : start + _WRITE_BATCH])
    store.bump_revision()
