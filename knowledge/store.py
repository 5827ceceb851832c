"""The Chroma collection that holds the lesson sections, embedded or on a Chroma server.

`open_store` accepts what callers have at hand (a Store, Settings, or an index folder) and
always passes our embedding functions, never chromadb's downloading default. The sections and
their units live in one collection with MiniLM vectors; a second collection holds the same
units' multilingual (e5) vectors under the same ids.
The collection doubles as the ingest manifest: every chunk records the folder it came from,
its file and the file's digest, so incremental ingest needs no second file to keep in sync.
A `revision` in the collection metadata changes on every write, telling cached retrievers
(in this process or another) to reload. An embedded index also keeps that revision in a small file
beside Chroma's own (`read_revision`), so a start whose index has not changed can answer from the
retriever's snapshot (knowledge.snapshot) without importing chromadb at all: it is imported here
only when a collection is opened.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Union

from filelock import FileLock

from core.files import atomic_writer

if TYPE_CHECKING:
    from core.settings import Settings

COLLECTION_NAME = "lesson_sections"
MULTILINGUAL_COLLECTION_NAME = "lesson_units_multilingual"
UNIT_MARK = "/u"  # a unit's id is its section's id + UNIT_MARK + its number
QUESTION_MARK = "/q"  # the same for the questions a section lists (knowledge.chunks)
_SQLITE_FILE = "chroma.sqlite3"
REVISION_FILE = "finetune-tutor-revision"  # the collection's revision, readable without chromadb
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
    # The revision this handle last read or wrote: another one in the revision file means another
    # process wrote, and chromadb's in-memory segments of this client are stale (`reopen_store`).
    seen_revision: str = ""

    def revision(self) -> str:
        """Changes on every write; cheap enough (~1 ms) to check before each query."""
        from knowledge.chroma_functions import MiniLMEmbeddingFunction

        current = self.client.get_collection(COLLECTION_NAME, embedding_function=MiniLMEmbeddingFunction())
        return str((current.metadata or {}).get("revision", ""))

    def bump_revision(self) -> None:
        revision = uuid.uuid4().hex
        self.collection.modify(metadata={"revision": revision})
        self.writes += 1
        self.seen_revision = revision
        if self.path is not None:
            write_revision(self.path, revision)

    def sync_revision_file(self) -> str:
        """The collection's revision, copied to the revision file if that says otherwise (an index written
        before the file existed); under the write lock, so a writer's newer revision is never overwritten."""
        if self.path is None:
            return self.revision()
        with self.write_lock():
            revision = self.revision()
            if revision and read_revision(self.path) != revision:
                write_revision(self.path, revision)
            return revision

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


def reopen_store(store: Store) -> Store:
    """A new handle on an embedded index that another process wrote to since `store` was opened.

    Chromadb's embedded client keeps segment state in memory and fails reading records another process
    added ("Error finding id"); a new client, on a new chromadb System, reads the files afresh.
    """
    if store.path is None:
        return store
    with _cache_lock:
        if _cache.get(store.location) is store:
            del _cache[store.location]
    with contextlib.suppress(Exception):  # closing a client that is already gone
        store.client.close()
    return open_store(store.path)


def index_folder(index: IndexLike) -> Path | None:
    """The embedded index's folder (None for a Chroma server), without opening anything."""
    if isinstance(index, Store):
        return index.path
    return _location_of(index)[2]


def read_revision(path: Path) -> str:
    """The revision an embedded index's file holds; "" when there is none (no index, or one written before the file)."""
    try:
        return (path / REVISION_FILE).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return ""


def write_revision(path: Path, revision: str) -> None:
    with atomic_writer(path / REVISION_FILE) as file:
        file.write(revision.encode("ascii"))


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
    import chromadb

    from knowledge.chroma_functions import MiniLMEmbeddingFunction, MultilingualEmbeddingFunction

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
    store = Store(client=client, collection=collection, multilingual=multilingual, location=location, path=path)
    store.seen_revision = store.revision() if path is not None else ""
    return store
