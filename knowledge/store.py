"""The Chroma collection that holds the lesson sections, embedded or on a Chroma server.

`open_store` accepts what callers have at hand (a Store, Settings, or an index folder) and
always passes our embedding functions, never chromadb's downloading default. The sections and
their units live in one collection with MiniLM vectors; a second collection holds the same
units' multilingual (e5) vectors under the same ids.
The collection doubles as the ingest manifest: every chunk records the folder it came from,
its file and the file's digest, so incremental ingest needs no second file to keep in sync.
A `revision` in the collection metadata changes on every write, telling cached retrievers
(in this process or another) to reload.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Union

import chromadb
from filelock import FileLock

from knowledge.embeddings import MiniLMEmbeddingFunction
from knowledge.multilingual import MultilingualEmbeddingFunction

if TYPE_CHECKING:
    from core.settings import Settings

COLLECTION_NAME = "lesson_sections"
MULTILINGUAL_COLLECTION_NAME = "lesson_units_multilingual"
UNIT_MARK = "/u"  # a unit's id is its section's id + UNIT_MARK + its number
QUESTION_MARK = "/q"  # the same for the questions a section lists (knowledge.chunks)
_SQLITE_FILE = "chroma.sqlite3"
_cache: dict[str, "Store"] = {}
_cache_lock = threading.Lock()


class IndexNotFound(RuntimeError):
    """No index at the given location yet; the message says how to build one."""


@dataclass
class Store:
    """An open collection plus where it lives (for messages and cache keys)."""

    client: Any
    collection: Any
    multilingual: Any  # the e5 vectors of the units and listed questions, same ids
    location: str  # index folder path, or http://host:port for a server
    path: Path | None  # the embedded index folder; None on a server
    writes: int = 0  # writes through this handle, so this process sees its own changes at once

    def revision(self) -> str:
        """Changes on every write; cheap enough (~1 ms) to check before each query."""
        current = self.client.get_collection(COLLECTION_NAME, embedding_function=MiniLMEmbeddingFunction())
        return str((current.metadata or {}).get("revision", ""))

    def bump_revision(self) -> None:
        self.collection.modify(metadata={"revision": uuid.uuid4().hex})
        self.writes += 1

    def count(self) -> int:
        return self.collection.count()

    @contextlib.contextmanager
    def write_lock(self) -> Iterator[None]:
        """One writer at a time for an embedded index (the app and a CLI ingest may overlap)."""
        if self.path is None:
            yield
            return
        with FileLock(str(self.path.parent / f".{self.path.name}.lock")):
            yield


IndexLike = Union[Store, "Settings", Path, str]


def open_store(index: IndexLike, *, create: bool = False) -> Store:
    """Open (or with create=True, create) the lesson collection; cached per location."""
    if isinstance(index, Store):
        return index
    host, port, path = _location_of(index)
    key = f"http://{host}:{port}" if host else str(path)
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None:
            return cached
        store = _connect(host, port, path, create=create)
        _cache[key] = store
        return store


def forget_store(location: str) -> None:
    """Drop a cached handle (tests delete index folders between runs)."""
    with _cache_lock:
        _cache.pop(location, None)


def _location_of(index: IndexLike) -> tuple[str | None, int, Path | None]:
    if isinstance(index, (str, Path)):
        return None, 0, Path(index).expanduser().resolve()
    if getattr(index, "chroma_host", None):
        return index.chroma_host, int(index.chroma_port), None
    return None, 0, Path(index.index_dir).expanduser().resolve()


def _connect(host: str | None, port: int, path: Path | None, *, create: bool) -> Store:
    settings = chromadb.Settings(anonymized_telemetry=False)
    if host:
        location = f"http://{host}:{port}"
        try:
            client = chromadb.HttpClient(host=host, port=port, settings=settings)
            client.heartbeat()
        except Exception as error:  # the client raises several kinds for an unreachable server
            raise IndexNotFound(f"Cannot reach the Chroma server at {location} ({error}). Check CHROMA_HOST and CHROMA_PORT.") from None
    else:
        assert path is not None
        location = str(path)
        if not create and not (path / _SQLITE_FILE).is_file():
            raise IndexNotFound(f"No index at {path}. Build it with `python -m knowledge ingest DIR --index {path}`.")
        if path.exists() and not path.is_dir():
            raise IndexNotFound(f"The index path {path} is a file, not a folder.")
        path.mkdir(parents=True, exist_ok=True)
        client = chromadb.PersistentClient(path=str(path), settings=settings)
    named = [(COLLECTION_NAME, MiniLMEmbeddingFunction()), (MULTILINGUAL_COLLECTION_NAME, MultilingualEmbeddingFunction())]
    if create:
        collection, multilingual = (
            client.get_or_create_collection(name, embedding_function=function, configuration={"hnsw": {"space": "cosine"}})
            for name, function in named
        )
    else:
        try:
            collection = client.get_collection(COLLECTION_NAME, embedding_function=named[0][1])
        except Exception:  # NotFoundError on embedded and on server clients alike
            raise IndexNotFound(f"The index at {location} has no lessons yet. Run `python -m knowledge ingest DIR`.") from None
        try:
            multilingual = client.get_collection(MULTILINGUAL_COLLECTION_NAME, embedding_function=named[1][1])
        except Exception:
            raise IndexNotFound(
                f"The index at {location} was built by an older finetune-tutor. Run `python -m knowledge ingest DIR` to update it."
            ) from None
    return Store(client=client, collection=collection, multilingual=multilingual, location=location, path=path)
