"""Incremental ingest of a folder of markdown docs into the lesson collection.

Order matters for safety: every file is read, checked, split and embedded before the index is
touched. Then new chunks are added before old ones are deleted, so at every moment the index
holds at least the previous version, and a failure while adding rolls the new chunks back.
Files are tracked per ingested folder, so ingesting a second folder adds to the index instead
of replacing the first.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from knowledge.chunks import HEADING_SEPARATOR, plain_text, split_sections, split_units
from knowledge.embeddings import EMBEDDING_DIM, embed_texts
from knowledge.loader import DocFile, IngestError, find_markdown_files, load_doc
from knowledge.multilingual import MULTILINGUAL_DIM, embed_passages, embed_queries
from knowledge.store import QUESTION_MARK, UNIT_MARK, IndexLike, Store, open_store

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


def ingest(source_dir: Path | str, index: IndexLike, *, label: str | None = None) -> IngestReport:
    """Bring the index up to date with the markdown files under `source_dir`.

    `label` names the folder in the index (default: its absolute path); a later ingest under the
    same label updates that folder's files, wherever the folder now lives.

    Raises IngestError (clear message, index untouched) for a missing or unreadable folder,
    a folder without markdown, or any empty, binary, undecodable or oversized file.
    """
    started = time.perf_counter()
    root = Path(source_dir).expanduser().resolve()
    docs = _load_all(root)
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
        ids, documents, embed_inputs, metadatas = _chunk_all(changed, root_key, report.warnings)
        embeddings = _embed(ids, embed_inputs, documents) if ids else None
        multilingual = _embed_multilingual(ids, embed_inputs, metadatas)
        old_ids = [chunk_id for doc in changed if doc.source in stored for chunk_id in stored[doc.source][1]]
        old_ids += [chunk_id for source in gone for chunk_id in stored[source][1]]
        if ids or old_ids:
            _write(store, ids, documents, embeddings, metadatas, multilingual, old_ids)
        report.chunks = len(ids)
        report.total_chunks = store.count()
        report.total_sections = len(store.collection.get(where={"kind": "section"}, include=[])["ids"])
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _load_all(root: Path) -> list[DocFile]:
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


def _chunk_all(docs: list[DocFile], root_key: str, warnings: list[str]):
    """Records for the collection: one per section (its text, for display), one per unit and one per listed
    question (for dense search)."""
    ids, documents, embed_inputs, metadatas = [], [], [], []
    root_tag = hashlib.sha1(root_key.encode()).hexdigest()[:10]
    for doc in docs:
        sections = split_sections(doc.text)
        if not sections:
            warnings.append(f"{doc.source}: no text left after cleaning; skipped.")
            continue
        base = {"root": root_key, "source": doc.source, "digest": doc.digest, "lang": doc.lang}
        for number, section in enumerate(sections):
            section_id = f"{root_tag}:{doc.source}:{doc.digest[:12]}:{number}"
            ids.append(section_id)
            documents.append(section.text)
            embed_inputs.append(None)  # the mean of its units' vectors; see _embed
            metadatas.append(
                {**base, "kind": "section", "heading": section.heading, "anchor": section.anchor, "title": section.title, "order": number}
            )
            # The deepest heading gives a lone sentence its topic; MiniLM reads link text, not URLs.
            topic = section.heading.split(HEADING_SEPARATOR)[-1]
            for unit_number, unit in enumerate(split_units(section.text)):
                ids.append(f"{section_id}{UNIT_MARK}{unit_number}")
                documents.append(unit.text)
                embed_inputs.append(f"{topic}: {plain_text(unit.text)}")
                metadatas.append({**base, "kind": "unit"})
            for question_number, question in enumerate(section.questions):
                ids.append(f"{section_id}{QUESTION_MARK}{question_number}")
                documents.append(question)
                embed_inputs.append(question)
                metadatas.append({**base, "kind": "question"})
    return ids, documents, embed_inputs, metadatas


def _embed(ids: list[str], inputs: list[str | None], documents: list[str]) -> np.ndarray:
    """Embed the units; a section's vector is the normalised mean of its units' (search uses the units,
    and embedding whole sections again would double the ingest time for no gain)."""
    vectors = np.zeros((len(ids), EMBEDDING_DIM), dtype=np.float32)
    texts = [(i, text) for i, text in enumerate(inputs) if text is not None]
    if texts:
        vectors[[i for i, _ in texts]] = embed_texts([text for _, text in texts])
    section_rows = [i for i, text in enumerate(inputs) if text is None]
    for n, row in enumerate(section_rows):
        end = section_rows[n + 1] if n + 1 < len(section_rows) else len(ids)
        units = [i for i in range(row + 1, end) if ids[i].startswith(ids[row] + UNIT_MARK)]
        mean = vectors[units].mean(axis=0) if units else embed_texts([plain_text(documents[row])])[0]
        vectors[row] = mean / (np.linalg.norm(mean) or 1.0)
    return vectors


def _embed_multilingual(ids: list[str], inputs: list[str | None], metadatas: list[dict]) -> tuple[list[str], np.ndarray, list[dict]]:
    """(ids, e5 vectors, metadatas) of the units and questions: e5 compares a question with a
    listed question as two queries, and with a unit as query against passage."""
    rows = [i for i, text in enumerate(inputs) if text is not None]
    vectors = np.zeros((len(rows), MULTILINGUAL_DIM), dtype=np.float32)
    for kind, embed in (("unit", embed_passages), ("question", embed_queries)):
        chosen = [n for n, i in enumerate(rows) if metadatas[i]["kind"] == kind]
        if chosen:
            vectors[chosen] = embed([inputs[rows[n]] for n in chosen])
    return [ids[i] for i in rows], vectors, [metadatas[i] for i in rows]


def _write(store: Store, ids, documents, embeddings, metadatas, multilingual, old_ids: list[str]) -> None:
    """Upsert into both collections, then delete what is stale; a failed upsert removes what it added."""
    multilingual_ids, multilingual_vectors, multilingual_metadatas = multilingual
    written: list[tuple[object, str]] = []
    try:
        for collection, batch_ids, fields in (
            (store.collection, ids, {"documents": documents, "embeddings": embeddings, "metadatas": metadatas}),
            (store.multilingual, multilingual_ids, {"embeddings": multilingual_vectors, "metadatas": multilingual_metadatas}),
        ):
            for start in range(0, len(batch_ids), _WRITE_BATCH):
                end = start + _WRITE_BATCH
                collection.upsert(ids=batch_ids[start:end], **{name: values[start:end] for name, values in fields.items()})
                written.extend((collection, chunk_id) for chunk_id in batch_ids[start:end])
    except Exception as error:
        old = set(old_ids)
        for collection in (store.collection, store.multilingual):
            fresh = [chunk_id for owner, chunk_id in written if owner is collection and chunk_id not in old]
            if fresh:
                collection.delete(ids=fresh)
        raise IngestError(f"Writing to the index at {store.location} failed ({error}); the previous index was kept.") from None
    stale = sorted(set(old_ids) - set(ids))
    for collection in (store.collection, store.multilingual):
        for start in range(0, len(stale), _WRITE_BATCH):
            collection.delete(ids=stale[start : start + _WRITE_BATCH])
    store.bump_revision()
