"""The loaded retriever, saved beside its embedded index, so a start whose index has not changed reads it back.

Building a `Retriever` reads every section and vector out of Chroma and lemmatises the docs for BM25:
about 1.2 s of a warm start on 2 cores, plus chromadb's own import. The snapshot is that finished
object, pickled; it is used only when it was made for the index's current revision (knowledge.store's
revision file) by the same retrieval code and libraries (`fingerprint`), and rewritten whenever the
retriever is rebuilt. A missing, stale, unreadable or unwritable snapshot only costs the rebuild.

It is a pickle in the app's own data directory, written and read by the app alone: whoever could
replace it could already replace the index or the code.
"""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
import sys
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from core.files import atomic_writer

log = logging.getLogger(__name__)

SNAPSHOT_FILE = "finetune-tutor-retriever.pickle"
# What a loaded retriever's contents depend on besides the index: the package's code and these libraries.
_LIBRARIES = ("numpy", "bm25s", "simplemma", "snowballstemmer", "scipy")


@lru_cache(maxsize=1)
def fingerprint() -> str:
    """Changes when any module of `knowledge` or a library the retriever holds objects of changes."""
    digest = hashlib.sha256(sys.version.encode())
    for source in sorted(Path(__file__).resolve().parent.glob("*.py")):
        digest.update(source.name.encode() + b"\0" + source.read_bytes())
    for name in _LIBRARIES:
        try:
            digest.update(f"{name}={metadata.version(name)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{name}=none".encode())
    return digest.hexdigest()


def save_snapshot(folder: Path, revision: str, retriever: Any) -> bool:
    """Save `retriever` as the snapshot of the index at `folder` at `revision`; False when it cannot be written."""
    try:
        # A one-line header first, so a stale snapshot is recognised without unpickling objects of old code.
        header = json.dumps({"fingerprint": fingerprint(), "revision": revision}).encode() + b"\n"
        with atomic_writer(folder / SNAPSHOT_FILE) as file:
            file.write(header)
            pickle.dump(retriever, file, protocol=pickle.HIGHEST_PROTOCOL)
    except (OSError, pickle.PicklingError, TypeError, AttributeError) as error:
        log.warning("could not save the retriever snapshot in %s (%s); the next start rebuilds it", folder, error)
        return False
    return True


def load_snapshot(folder: Path, revision: str) -> Any | None:
    """The retriever saved for the index at `folder` at `revision` by this code, else None."""
    path = folder / SNAPSHOT_FILE
    try:
        with path.open("rb") as file:
            header = json.loads(file.readline())
            if not isinstance(header, dict) or header.get("revision") != revision or header.get("fingerprint") != fingerprint():
                return None
            return pickle.load(file)
    except FileNotFoundError:
        return None
    except Exception as error:  # a truncated or foreign file: rebuilt, never trusted
        log.warning("ignoring the retriever snapshot %s (%s)", path, error)
        return None
