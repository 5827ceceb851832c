"""The embedding functions chromadb is handed for the lesson collections (knowledge.store opens them).

Chromadb's default embedding function downloads a model at first use; the tutor must never trigger it,
so every collection is opened with one of these, backed by a packaged model. They live apart from the
models (`knowledge.embeddings`, `knowledge.multilingual`) so that answering a question, which embeds
with e5 but reads its index from the retriever's snapshot, never imports chromadb (~0.5 s of a start).
"""

from __future__ import annotations

from typing import Any

from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function

from knowledge.embeddings import EMBEDDING_NAME, MODEL_LABEL, embed_texts
from knowledge.multilingual import MULTILINGUAL_EMBEDDING_NAME, MULTILINGUAL_LABEL, embed_passages, embed_queries


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


@register_embedding_function
class MultilingualEmbeddingFunction(PackagedEmbeddingFunction):
    """Chromadb embedding function backed by the packaged e5: doc text as passages, queries as queries."""

    LABEL = MULTILINGUAL_LABEL

    def __call__(self, input: Documents) -> Embeddings:
        return list(embed_passages(list(input)))

    def embed_query(self, input: Documents) -> Embeddings:
        return list(embed_queries(list(input)))

    @staticmethod
    def name() -> str:
        return MULTILINGUAL_EMBEDDING_NAME
