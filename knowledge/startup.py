"""Getting the lesson side ready while the page is already up: the index, then what the first answer loads.

The app starts serving at once and runs `prepare` in a background thread; `Readiness` is what the page
shows ("Preparing the lesson index… 40 %") and what a chat turn waits on, so the first answer neither
finds the index half-built nor pays the models' loading (e5, the language detector, the lemmatisers,
BM25): one warm-up answer per language loads all of them.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from core.settings import Settings
    from knowledge.ingest import IngestReport

log = logging.getLogger(__name__)

# One question per language the docs hold: each loads that language's detector, lemmas and BM25 paths.
WARM_UP_QUESTIONS = ("What is fine-tuning?", "Mitä hienosäätö tarkoittaa?")


@dataclass(frozen=True)
class Stage:
    """Where start-up is: `index` (with `percent`), `models`, `ready`, or `failed` (with `error`)."""

    name: str
    percent: int = 0
    error: str = ""


class Readiness:
    """The start-up stage, shared between the preparing thread, the page and the chat (thread-safe)."""

    def __init__(self) -> None:
        self._stage = Stage("index")
        self._lock = threading.Lock()
        self._done = threading.Event()
        self.report: "IngestReport | None" = None
        self.seconds: float = 0.0

    @property
    def stage(self) -> Stage:
        with self._lock:
            return self._stage

    def set(self, stage: Stage) -> None:
        with self._lock:
            self._stage = stage
        if stage.name in ("ready", "failed"):
            self._done.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until start-up ended (ready or failed); False if it is still going after `timeout` seconds."""
        return self._done.wait(timeout)

    @classmethod
    def already_ready(cls) -> "Readiness":
        """For callers that prepared everything themselves (tests building the app in-process)."""
        readiness = cls()
        readiness.set(Stage("ready"))
        return readiness


def prepare(
    settings: "Settings",
    readiness: Readiness,
    *,
    docs_dir: Path | None = None,
    before: Callable[[], None] | None = None,
) -> None:
    """Build or update the lesson index (the packaged docs unless `docs_dir`), then load everything a lesson
    answer uses; never raises.

    `before` runs first (the app's own start-up chores); its failure fails start-up the same way.
    """
    started = time.perf_counter()
    try:
        if before is not None:
            before()
        # Imported here, not at the top: what an unchanged index needs loads in this thread, while the page
        # already serves (chromadb only when the docs or the index changed since the last check).
        from knowledge.index import DEFAULT_DOCS_DIR, ensure_index

        docs_dir = docs_dir or DEFAULT_DOCS_DIR
        readiness.report = ensure_index(
            settings, docs_dir, progress=lambda done, total: readiness.set(Stage("index", min(99, 100 * done // max(total, 1))))
        )
        readiness.set(Stage("models"))
        warm_up(settings)
    except Exception as error:  # shown in the page; the chat says so instead of hanging
        log.exception("start-up preparation failed")
        readiness.seconds = time.perf_counter() - started
        readiness.set(Stage("failed", error=str(error) or type(error).__name__))
        return
    readiness.seconds = time.perf_counter() - started
    readiness.set(Stage("ready"))


def start_preparing(
    settings: "Settings", *, before: Callable[[], None] | None = None, after: Callable[[Readiness], None] | None = None
) -> Readiness:
    """Run `prepare` (then `after`) in a daemon thread; the returned Readiness tells how far it is."""
    readiness = Readiness()

    def run() -> None:
        prepare(settings, readiness, before=before)
        if after is not None:
            after(readiness)

    threading.Thread(target=run, name="startup", daemon=True).start()
    return readiness


def start_loading_native() -> None:
    """Build lingua's language detector in a thread of its own, now.

    Its ~0.5 s is native code that leaves the GIL free, so started before the app imports gradio it runs on
    the other core beside that import, instead of in `prepare` among the Python work that the GIL serialises.
    """
    from knowledge.lang import load_detector

    threading.Thread(target=load_detector, name="startup-native", daemon=True).start()


def warm_up(settings: "Settings") -> None:
    """Answer one question per language, so the retriever and every model it uses are loaded."""
    from knowledge.answer import answer

    for question in WARM_UP_QUESTIONS:
        answer(question, index=settings)
