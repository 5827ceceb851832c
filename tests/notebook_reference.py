"""The OpenAI cookbook notebook's format checks, written as the notebook writes them.

One copy serves as the test oracle (tests/test_dataset_validate.py) and as the benchmark's baseline
(benches/validate.py), so both compare the validator against the same reference.
"""

from __future__ import annotations

from collections import defaultdict


def notebook_format_errors(dataset: list) -> dict[str, int]:
    """The cookbook notebook's format checks, as the notebook writes them (the test oracle)."""
    format_errors: dict[str, int] = defaultdict(int)
    for ex in dataset:
        if not isinstance(ex, dict):
            format_errors["data_type"] += 1
            continue
        messages = ex.get("messages", None)
        if not messages:
            format_errors["missing_messages_list"] += 1
            continue
        for message in messages:
            if "role" not in message or "content" not in message:
                format_errors["message_missing_key"] += 1
            if any(k not in ("role", "content", "name", "function_call", "weight") for k in message):
                format_errors["message_unrecognized_key"] += 1
            if message.get("role", None) not in ("system", "user", "assistant", "function"):
                format_errors["unrecognized_role"] += 1
            content = message.get("content", None)
            function_call = message.get("function_call", None)
            if (not content and not function_call) or not isinstance(content, str):
                format_errors["missing_content"] += 1
        if not any(message.get("role", None) == "assistant" for message in messages):
            format_errors["example_missing_assistant_message"] += 1
    return dict(format_errors)
