"""The packaged lesson docs' index records, precomputed into files, so a fresh index copies instead of embeds.

Embedding every unit and question of the lesson docs with MiniLM and e5 is most of a first start (about
100 s on two busy cores); the records and vectors are the same on every machine, so `python -m knowledge
build-index` (run by `make install`, and by the app's first start when missing) writes them once into
`knowledge/prebuilt/`: `records.json` (ids, texts, metadata, the digest of each file) and `vectors.npz`
(both models' vectors as two float32 arrays). An ingest takes a file's records from here only when its
digest (bytes + `loader.PIPELINE_VERSION`) and the models match; a changed doc is embedded as before.
The folder is a build output (git-ignored): a fresh clone builds it in its install step.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from filelock import FileLock

from core.files import atomic_path
from knowledge.embeddings import EMBEDDING_DIM, MODEL_LABEL
from knowledge.loader import DocFile, PIPELINE_VERSION
from knowledge.multilingual import MULTILINGUAL_DIM, MULTILINGUAL_LABEL
from knowledge.records import Progress, Records, embed_docs
from knowledge.store import Store

log = logging.getLogger(__name__)

PREBUILT_DIR = Path(__file__).resolve().parent / "prebuilt"
FORMAT = 1
_RECORDS = "records.json"
_VECTORS = "vectors.npz"


def _stamp() -> dict:
    """What the records depend on besides each file's digest: a mismatch makes the whole bundle unusable."""
    return {"format": FORMAT, "pipeline": PIPELINE_VERSION, "models": [MODEL_LABEL, MULTILINGUAL_LABEL]}


@dataclass
class Prebuilt:
    """Precomputed records of one labelled docs folder."""

    label: str
    files: dict[str, str]  # source -> digest
    records: Records

    def take(self, docs: list[DocFile], root_key: str) -> tuple[Records, list[DocFile]]:
        """(the records held for the docs whose digest matches, the docs still to embed)."""
        if root_key != self.label:
            return Records.empty(), docs
        held = {doc.source for doc in docs if self.files.get(doc.source) == doc.digest}
        rows = [i for i, meta in enumerate(self.records.metadatas) if meta["source"] in held]
        return self.records.rows(rows), [doc for doc in docs if doc.source not in held]

    def covers(self, docs: list[DocFile]) -> bool:
        return all(self.files.get(doc.source) == doc.digest for doc in docs)


def load_prebuilt(folder: Path = PREBUILT_DIR) -> Prebuilt | None:
    """The bundle in `folder`, or None when missing, unreadable or made for other models or another pipeline."""
    try:
        head = json.loads((folder / _RECORDS).read_text(encoding="utf-8"))
        if head.get("stamp") != _stamp():
            log.info("the prebuilt index in %s is for another pipeline or models; ignored", folder)
            return None
        with np.load(folder / _VECTORS) as arrays:
            minilm, e5 = arrays["minilm"], arrays["e5"]
        records = Records(head["ids"], head["documents"], head["metadatas"], minilm, e5)
        if not (len(records.ids) == len(records.documents) == len(records.metadatas) == len(minilm) == len(e5)):
            log.warning("the prebuilt index in %s is inconsistent (a write was interrupted?); ignored", folder)
            return None
        return Prebuilt(head["label"], dict(head["files"]), records)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as error:
        log.warning("the prebuilt index in %s could not be read (%s); ignored", folder, error)
        return None


def save_prebuilt(bundle: Prebuilt, folder: Path = PREBUILT_DIR) -> None:
    """Write the bundle (vectors first, the records file last, each by atomic rename); raises OSError."""
    folder.mkdir(parents=True, exist_ok=True)
    records = bundle.records
    with FileLock(str(folder / ".lock")):
        # mode 0o644: a shared install's files, readable by all like the docs (mkstemp's are private).
        with atomic_path(folder / _VECTORS, suffix=".npz", mode=0o644) as path:
            np.savez(path, minilm=records.minilm, e5=records.e5)
        head = {
            "stamp": _stamp(), "label": bundle.label, "files": bundle.files,
            "ids": records.ids, "documents": records.documents, "metadatas": records.metadatas,
        }
        with atomic_path(folder / _RECORDS, suffix=".json", mode=0o644) as path:
            path.write_text(json.dumps(head, ensure_ascii=False), encoding="utf-8")


def build_prebuilt(docs: list[DocFile], label: str, folder: Path = PREBUILT_DIR, progress: Progress | None = None) -> tuple[Prebuilt, int]:
    """Bring the bundle in `folder` up to date with `docs` (unchanged files keep their vectors) and save it.

    Returns the bundle and how many files were embedded. Raises OSError when the folder cannot be written.
    """
    current = load_prebuilt(folder)
    kept, to_embed = current.take(docs, label) if current is not None else (Records.empty(), docs)
    warnings: list[str] = []
    bundle = Prebuilt(label, {doc.source: doc.digest for doc in docs}, Records.concat([kept, embed_docs(to_embed, label, warnings, progress)]))
    for warning in warnings:
        log.warning(warning)
    if to_embed or current is None or current.files != bundle.files:
        save_prebuilt(bundle, folder)
    return bundle, len(to_embed)


def export_prebuilt(store: Store, label: str, docs: list[DocFile]) -> Prebuilt:
    """The records an index holds for one labelled folder, as a bundle (after an ingest that had to embed)."""
    main = store.collection.get(where={"root": label}, include=["documents", "metadatas", "embeddings"])
    multilingual = store.multilingual.get(where={"root": label}, include=["embeddings"])
    e5_of = dict(zip(multilingual["ids"], multilingual["embeddings"]))
    e5 = np.zeros((len(main["ids"]), MULTILINGUAL_DIM), dtype=np.float32)
    for row, record_id in enumerate(main["ids"]):
        if record_id in e5_of:
            e5[row] = e5_of[record_id]
    records = Records(list(main["ids"]), list(main["documents"]), list(main["metadatas"]), np.asarray(main["embeddings"], dtype=np.float32).reshape(-1, EMBEDDING_DIM), e5)
    return Prebuilt(label, {doc.source: doc.digest for doc in docs}, records)
