"""Held-out examples: each chat example split into a prompt and the reference answer.

The prompt is every message before the example's last assistant turn; the reference is that turn's
text. Examples without an assistant turn after some context cannot be scored and are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trainer.data.examples import DatasetError
from trainer.data.formats import read_chat_examples


class EvalDataError(ValueError):
    """The held-out data cannot be read or holds nothing to score; the message says what to fix."""


@dataclass
class EvalExample:
    prompt: list[dict[str, str]]
    reference: str

    @property
    def question(self) -> str:
        """The last user message: what the answer is about."""
        return next((m["content"] for m in reversed(self.prompt) if m["role"] == "user"), "")


def plain_message(message: dict[str, Any]) -> dict[str, str]:
    """Role + text (OpenAI's list-of-parts content joined), what chat templates take."""
    content = message.get("content") or ""
    if isinstance(content, list):
        content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return {"role": str(message.get("role", "user")), "content": str(content)}


def split_example(example: dict[str, Any]) -> EvalExample | None:
    messages = [plain_message(m) for m in example.get("messages") or [] if isinstance(m, dict)]
    for index in range(len(messages) - 1, 0, -1):
        if messages[index]["role"] == "assistant" and messages[index]["content"].strip():
            return EvalExample(prompt=messages[:index], reference=messages[index]["content"])
    return None


def read_examples(path: Path) -> list[dict[str, Any]]:
    try:
        return read_chat_examples(path)
    except DatasetError as exc:
        raise EvalDataError(str(exc)) from None


def load_eval_examples(path: Path, limit: int | None = None) -> list[EvalExample]:
    """The scorable examples of a chat JSONL file, at most `limit` of them."""
    pairs = [pair for pair in (split_example(example) for example in read_examples(path)) if pair is not None]
    if not pairs:
        raise EvalDataError(f"{Path(path).name} has no example with an assistant answer after a prompt; nothing to evaluate.")
    return pairs[:limit] if limit else pairs


def training_answers(path: Path) -> list[EvalExample]:
    """The training set's (prompt, answer) pairs: what the format features are learned from."""
    return [pair for pair in (split_example(example) for example in read_examples(path)) if pair is not None]
