"""Chat training examples: the shape OpenAI fine-tuning expects, and the dataset error type.

An example is a plain dict, `{"messages": [{"role": ..., "content": ...}, ...]}`, optionally with
`tools`, `functions` or `parallel_tool_calls` beside `messages`; a preference (DPO) example is
`{"input": {"messages": [...]}, "preferred_output": [...], "non_preferred_output": [...]}`. Plain dicts (not models) because
examples travel as JSON and must round-trip byte-for-byte; the checks live in `trainer.validation.rules`.
"""

from __future__ import annotations

from typing import Any, Literal

import orjson

Example = dict[str, Any]

# Roles and message keys as the cookbook notebook knows them (its checks are kept verbatim).
NOTEBOOK_ROLES = ("system", "user", "assistant", "function")
NOTEBOOK_MESSAGE_KEYS = ("role", "content", "name", "function_call", "weight")

# What the fine-tuning API accepts beyond the notebook (OpenAPI `FineTuneChatRequestInput`).
API_EXAMPLE_KEYS = ("messages", "tools", "functions", "parallel_tool_calls")
API_ROLES = ("system", "user", "assistant", "tool", "function")
# A preference (DPO) example: `input` holds messages (and tools), the outputs are assistant turns.
PREFERENCE_KEYS = ("input", "preferred_output", "non_preferred_output")
# The training method a file is written for: OpenAI's `method.type`.
Method = Literal["supervised", "dpo"]
METHODS = ("supervised", "dpo")


class DatasetError(ValueError):
    """Bad dataset input or request; the message is written for the learner and says what to do."""


def make_example(user: str, assistant: str, system: str | None = None) -> Example:
    """Build a one-turn example; the system message goes first when given."""
    messages: list[dict[str, Any]] = []
    if system:
        messages.append({"role": "system", "content": system})
    messages.append({"role": "user", "content": user})
    messages.append({"role": "assistant", "content": assistant})
    return {"messages": messages}


def dump_example(example: Any) -> bytes:
    """One JSONL line (without newline): compact UTF-8, key order kept, so it round-trips exactly."""
    return orjson.dumps(example)


def load_example(line: bytes | str) -> Any:
    return orjson.loads(line)
