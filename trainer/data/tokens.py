"""Token counts for chat examples, the models they are counted for, and the notebook's epoch rule.

Counting follows the cookbook notebook's `num_tokens_from_messages` (3 tokens per message, the
tokens of every value, 1 more for a `name`, 3 to prime the reply); it is an estimate, as the
notebook says. Values that are not text count as their compact JSON (`function_call`, `tool_calls`,
content parts, `tools`), numbers and booleans (`weight`) count nothing. Text is counted with the
offline `bpe-openai` tokenizer (tiktoken's encodings; special-token text counts as plain text).
Training limits per model are from OpenAI's fine-tuning guide (training examples context).
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Sequence

import numpy as np
import orjson

from trainer.data.examples import DatasetError

TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
TOKENS_REPLY_PRIMER = 3

# The notebook's default-epochs rule.
TARGET_EPOCHS = 3
MIN_TARGET_EXAMPLES = 100
MAX_TARGET_EXAMPLES = 25_000
MIN_DEFAULT_EPOCHS = 1
MAX_DEFAULT_EPOCHS = 25


@dataclass(frozen=True)
class ModelSpec:
    name: str  # the dated snapshot fine-tuning jobs name
    encoding: str
    training_limit: int  # tokens per training example; longer ones are truncated


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec("gpt-4o-mini-2024-07-18", "o200k_base", 65_536),
        ModelSpec("gpt-4o-2024-08-06", "o200k_base", 65_536),
        ModelSpec("gpt-4.1-2025-04-14", "o200k_base", 65_536),
        ModelSpec("gpt-4.1-mini-2025-04-14", "o200k_base", 65_536),
        ModelSpec("gpt-4.1-nano-2025-04-14", "o200k_base", 65_536),
        ModelSpec("gpt-3.5-turbo-0125", "cl100k_base", 16_385),
        ModelSpec("gpt-3.5-turbo-1106", "cl100k_base", 16_385),
        ModelSpec("gpt-3.5-turbo-0613", "cl100k_base", 4_096),
    )
}
MODEL_ALIASES = {
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "gpt-4o": "gpt-4o-2024-08-06",
    "gpt-4.1": "gpt-4.1-2025-04-14",
    "gpt-4.1-mini": "gpt-4.1-mini-2025-04-14",
    "gpt-4.1-nano": "gpt-4.1-nano-2025-04-14",
    "gpt-3.5-turbo": "gpt-3.5-turbo-0125",
}


def _table_default() -> str:
    from trainer.data.prices import load_prices

    return load_prices().default_model


# Counted and priced for unless told otherwise: the dated table's default fine-tuning model.
DEFAULT_MODEL = _table_default()


def resolve_model(name: str) -> ModelSpec:
    """The spec for a model name, alias (`gpt-4o-mini`) or fine-tuned id (`ft:gpt-4o-mini-2024-07-18:org::x`)."""
    key = name.strip()
    if key.startswith("ft:"):
        key = key[3:].split(":", 1)[0]
    key = MODEL_ALIASES.get(key, key)
    if key not in MODELS:
        known = ", ".join([*MODEL_ALIASES, *MODELS])
        raise DatasetError(f"Unknown model {name!r} for token counts; use one of: {known}.")
    return MODELS[key]


@lru_cache(maxsize=4)
def _tokenizer(encoding: str) -> Any:
    # The Rust tokenizer's `count` neither builds token lists nor refuses long texts (encode stops at 1M chars).
    return _rust_bindings().tokenizer_for_encoding(encoding)


@lru_cache(maxsize=1)
def _rust_bindings() -> ModuleType:
    """bpe_openai's compiled module. Importing the package first would decode three vocabularies
    in Python (~1 s per process) that counting never uses, so load the extension directly."""
    if "bpe_openai" not in sys.modules:
        spec = importlib.util.find_spec("bpe_openai")
        for folder in (spec.submodule_search_locations or []) if spec else []:
            for suffix in importlib.machinery.EXTENSION_SUFFIXES:
                path = Path(folder) / f"_bindings{suffix}"
                if path.is_file():
                    ext = importlib.util.spec_from_file_location("bpe_openai._bindings", path)
                    if ext and ext.loader:
                        module = importlib.util.module_from_spec(ext)
                        ext.loader.exec_module(module)
                        return module
    from bpe_openai import _bindings

    return _bindings


class TokenCounter:
    """Counts tokens of texts and examples for one encoding.

    Role names, names and system prompts repeat on every line of a training set, so their counts
    are remembered (`text`); other texts are mostly unique and are counted afresh (`count`).
    """

    _CACHE_ENTRIES = 10_000

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self.count: Callable[[str], int] = _tokenizer(encoding).count
        self._cache: dict[str, int] = {}

    def text(self, text: str) -> int:
        """Count a text that is likely to repeat."""
        cached = self._cache.get(text)
        if cached is None:
            cached = self.count(text)
            if len(self._cache) >= self._CACHE_ENTRIES:
                self._cache.clear()
            self._cache[text] = cached
        return cached

    def value(self, value: Any, repeats: bool = False) -> int:
        if isinstance(value, str):
            return self.text(value) if repeats else self.count(value)
        if value is None or isinstance(value, (bool, int, float)):
            return 0
        return self.count(orjson.dumps(value).decode())

    def example(self, example: Any) -> tuple[int, int, int]:
        """(total tokens, assistant tokens, longest assistant message) of one example, as the notebook counts.

        A preference (DPO) example counts its input messages and tools plus both outputs.
        """
        if isinstance(example, dict) and "messages" not in example and isinstance(example.get("input"), dict):
            outputs = [example.get(key) for key in ("preferred_output", "non_preferred_output")]
            messages = example["input"].get("messages")
            if isinstance(messages, list) and all(isinstance(o, list) for o in outputs):
                example = {**example["input"], "messages": messages + outputs[0] + outputs[1]}
        if not isinstance(example, dict) or not isinstance(example.get("messages"), list):
            return 0, 0, 0
        total = TOKENS_REPLY_PRIMER
        assistant = longest = 0
        for message in example["messages"]:
            if not isinstance(message, dict):
                continue
            total += TOKENS_PER_MESSAGE
            role = message.get("role")
            for key, value in message.items():
                n = self.value(value, repeats=role == "system" or key != "content")
                total += n + (TOKENS_PER_NAME if key == "name" else 0)
                if key == "content" and role == "assistant" and isinstance(value, str):
                    assistant += n
                    longest = max(longest, n)
        for key in ("tools", "functions"):
            if key in example:
                total += self.value(example[key], repeats=True)
        return total, assistant, longest


def default_epochs(n_examples: int) -> int:
    """The notebook's default epochs: 3, raised or lowered so examples x epochs stays in 100..25,000."""
    if n_examples <= 0:
        return MAX_DEFAULT_EPOCHS
    if n_examples * TARGET_EPOCHS < MIN_TARGET_EXAMPLES:
        return min(MAX_DEFAULT_EPOCHS, MIN_TARGET_EXAMPLES // n_examples)
    if n_examples * TARGET_EPOCHS > MAX_TARGET_EXAMPLES:
        return max(MIN_DEFAULT_EPOCHS, MAX_TARGET_EXAMPLES // n_examples)
    return TARGET_EPOCHS


def billed_tokens_per_epoch(per_example: Sequence[int] | np.ndarray, limit: int) -> int:
    """Tokens charged per epoch: every example capped at the training limit, summed."""
    return int(np.minimum(np.asarray(per_example, dtype=np.int64), limit).sum())
