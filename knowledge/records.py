"""Doc files turned into index records: the sections, their units and listed questions, with both vectors.

`embed_docs` is the costly step of an ingest (MiniLM and e5 over every unit and question); the packaged
docs' records are also precomputed (`knowledge.prebuilt`), so a fresh index copies them instead. Both go
through `Records`, which holds the rows the two Chroma collections get.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np

from knowledge.chunks import own_heading, plain_text, split_sections, split_units
from knowledge.embeddings import EMBEDDING_DIM, embed_texts
from knowledge.loader import DocFile
from knowledge.multilingual import MULTILINGUAL_DIM, embed_passages, embed_queries
from knowledge.store import QUESTION_MARK, UNIT_MARK

# Texts per embedding call: large enough to keep the models' own batching busy, small enough to report progress.
EMBED_BATCH = 128

Progress = Callable[[int, int], None]  # (done, total) work items


@dataclass
class Records:
    """Index rows: a section (text for display, MiniLM vector = mean of its units'), a unit or a listed question.

    `e5` has a row per record; sections have none in the multilingual collection (their row is zero).
    """

    ids: list[str]
    documents: list[str]
    metadatas: list[dict]
    minilm: np.ndarray
    e5: np.ndarray

    @classmethod
    def empty(cls) -> "Records":
        return cls([], [], [], np.zeros((0, EMBEDDING_DIM), np.float32), np.zeros((0, MULTILINGUAL_DIM), np.float32))

    @classmethod
    def concat(cls, parts: Iterable["Records"]) -> "Records":
        parts = [part for part in parts if part.ids]
        if not parts:
            return cls.empty()
        return cls(
            [i for part in parts for i in part.ids],
            [d for part in parts for d in part.documents],
            [m for part in parts for m in part.metadatas],
            np.concatenate([part.minilm for part in parts]),
            np.concatenate([part.e5 for part in parts]),
        )

    def __len__(self) -> int:
        return len(self.ids)

    def rows(self, wanted: list[int]) -> "Records":
        return Records(
            [self.ids[i] for i in wanted], [self.documents[i] for i in wanted], [self.metadatas[i] for i in wanted],
            self.minilm[wanted], self.e5[wanted],
        )

    def multilingual(self) -> tuple[list[str], np.ndarray, list[dict]]:
        """(ids, e5 vectors, metadatas) of the units and questions: the multilingual collection's rows."""
        rows = [i for i, meta in enumerate(self.metadatas) if meta["kind"] != "section"]
        return [self.ids[i] for i in rows], self.e5[rows], [self.metadatas[i] for i in rows]


def embed_docs(docs: list[DocFile], root_key: str, warnings: list[str], progress: Progress | None = None) -> Records:
    """Split the docs into records and embed them with both models."""
    ids, documents, inputs, metadatas = chunk_docs(docs, root_key, warnings)
    texts = [i for i, value in enumerate(inputs) if value is not None]
    total = 2 * len(texts)
    done = 0

    def batches(rows: list[int], embed: Callable[[list[str]], np.ndarray], out: np.ndarray) -> None:
        nonlocal done
        for start in range(0, len(rows), EMBED_BATCH):
            chunk = rows[start : start + EMBED_BATCH]
            out[chunk] = embed([inputs[i] for i in chunk])
            done += len(chunk)
            if progress:
                progress(done, total)

    minilm = np.zeros((len(ids), EMBEDDING_DIM), dtype=np.float32)
    batches(texts, embed_texts, minilm)
    _section_means(ids, inputs, documents, minilm)
    # e5 compares a question with a listed question as two queries, and with a unit as query against passage.
    e5 = np.zeros((len(ids), MULTILINGUAL_DIM), dtype=np.float32)
    batches([i for i in texts if metadatas[i]["kind"] == "unit"], embed_passages, e5)
    batches([i for i in texts if metadatas[i]["kind"] == "question"], embed_queries, e5)
    return Records(ids, documents, metadatas, minilm, e5)


def chunk_docs(docs: list[DocFile], root_key: str, warnings: list[str]):
    """Records for the collection: one per section (its text, for display), one per unit and one per listed
    question (for dense search); the text to embed for each (None for a section)."""
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
            embed_inputs.append(None)  # the mean of its units' vectors; see _section_means
            metadatas.append(
                {**base, "kind": "section", "heading": section.heading, "anchor": section.anchor, "title": section.title, "order": number}
            )
            # The deepest heading gives a lone sentence its topic; MiniLM reads link text, not URLs.
            topic = own_heading(section.heading)
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


def _section_means(ids: list[str], inputs: list[str | None], documents: list[str], vectors: np.ndarray) -> None:
    """A section's vector is the normalised mean of its units' (search uses the units, and embedding whole
    sections again would double the ingest time for no gain)."""
    section_rows = [i for i, text in enumerate(inputs) if text is None]
    for n, row in enumerate(section_rows):
        end = section_rows[n + 1] if n + 1 < len(section_rows) else len(ids)
        units = [i for i in range(row + 1, end) if ids[i].startswith(ids[row] + UNIT_MARK)]
        mean = vectors[units].mean(axis=0) if units else embed_texts([plain_text(documents[row])])[0]
        vectors[row] = mean / (np.linalg.norm(mean) or 1.0)
