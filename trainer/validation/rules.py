"""The checks for one training example, with every error's message and one-line fix.

Two layers, reported side by side under their own names:

* The cookbook notebook's checks (openai-cookbook `Chat_finetuning_data_prep.ipynb`), kept verbatim
  and counted as the notebook counts them: `data_type`, `missing_messages_list`, and per message
  `message_missing_key`, `message_unrecognized_key`, `unrecognized_role`, `missing_content`, then
  `example_missing_assistant_message` per example. Where the notebook would crash (a `messages`
  value that is not a list, a message that is not an object) we decide: a non-list `messages`
  counts as `missing_messages_list`; a non-object message is skipped by this layer. These counts are
  shown as "the cookbook notebook's checks" and are not errors by themselves: the notebook predates
  tool calling, so it flags `tool` messages, `tool_calls` and content parts that the API accepts.
* The errors: what the fine-tuning API rejects (OpenAPI `FineTuneChatRequestInput`, checked
  2026-12), in the same vocabulary where the notebook has a word for it. Roles system, user,
  assistant, tool and function; content a non-empty string or a list of content parts (text, and
  images on user messages), optional on an assistant message that makes `tool_calls` or a
  `function_call`; `weight` only on assistant messages and only 0 or 1; `name` a string (required on
  `function` messages); assistant `tool_calls` a list of `{"id", "type": "function", "function":
  {"name", "arguments"}}`; a `tool` message answers an earlier tool call by `tool_call_id`;
  example-level `tools`/`functions` lists of function definitions and `parallel_tool_calls` a
  boolean; at least one assistant message. The SFT schema has no `developer` role, so it stays
  unrecognized. The preference (DPO) format has its own checks (`check_preference_example`):
  `input` with `messages` (and optional `tools`, `parallel_tool_calls`), `preferred_output` and
  `non_preferred_output`, each a list of assistant (or tool) messages with one assistant message
  at least. File-level errors (`invalid_json`, `invalid_encoding`, `binary_file`,
  `too_few_examples`) come from the file reader and the validator. JSON is read strictly (orjson):
  NaN, Infinity and lone surrogate escapes, which Python's `json` would take, are `invalid_json`.
  Unknown keys beside `messages` are only a warning (`example_unrecognized_key`): the API's handling
  is not documented.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.texts import with_prefix
from trainer.data.examples import API_EXAMPLE_KEYS, API_ROLES, NOTEBOOK_MESSAGE_KEYS, NOTEBOOK_ROLES, PREFERENCE_KEYS

NOTEBOOK_ERRORS = (
    "data_type",
    "missing_messages_list",
    "message_missing_key",
    "message_unrecognized_key",
    "unrecognized_role",
    "missing_content",
    "example_missing_assistant_message",
)

# name -> one-line fix shown beside every occurrence (the catalogue's `validation.fix.*`, in English).
FIXES: dict[str, str] = with_prefix("en", "validation.fix.")

# name -> the warning, with {count} (the catalogue's `validation.warning.*`, in English).
WARNING_TEXTS: dict[str, str] = with_prefix("en", "validation.warning.")


@dataclass(frozen=True)
class Finding:
    name: str
    detail: str


def check_example(example: Any) -> tuple[list[Finding], list[Finding], list[Finding]]:
    """(errors, warnings, notebook findings) for one chat (supervised) example."""
    return api_errors(example), example_warnings(example), notebook_errors(example)


def notebook_errors(example: Any) -> list[Finding]:
    """The notebook's format checks for one example, one finding per count it would add."""
    if not isinstance(example, dict):
        return [Finding("data_type", f"the example is {_json_kind(example)}, not a JSON object")]
    messages = example.get("messages", None)
    if not messages:
        return [Finding("missing_messages_list", 'there is no "messages" list, or it is empty')]
    if not isinstance(messages, list):
        return [Finding("missing_messages_list", f'"messages" is {_json_kind(messages)}, not a list')]
    found: list[Finding] = []
    for number, message in enumerate(messages, 1):
        if not isinstance(message, dict):
            continue  # the notebook would crash here; the API layer reports it
        if "role" not in message or "content" not in message:
            missing = " and ".join(repr(k) for k in ("role", "content") if k not in message)
            found.append(Finding("message_missing_key", f"message {number} has no {missing}"))
        unknown = [k for k in message if k not in NOTEBOOK_MESSAGE_KEYS]
        if unknown:
            found.append(Finding("message_unrecognized_key", f"message {number} has key(s) {', '.join(map(repr, unknown))}"))
        role = message.get("role", None)
        if role not in NOTEBOOK_ROLES:
            found.append(Finding("unrecognized_role", f"message {number} has role {_short(role)}"))
        content = message.get("content", None)
        function_call = message.get("function_call", None)
        if (not content and not function_call) or not isinstance(content, str):
            found.append(Finding("missing_content", f"message {number} ({_short(role)}) has content {_short(content)}"))
    if not any(isinstance(m, dict) and m.get("role", None) == "assistant" for m in messages):
        found.append(Finding("example_missing_assistant_message", "no message has the role 'assistant'"))
    return found


def api_errors(example: Any) -> list[Finding]:
    """What the fine-tuning API rejects in a chat example: the errors."""
    if not isinstance(example, dict):
        return [Finding("data_type", f"the example is {_json_kind(example)}, not a JSON object")]
    messages = example.get("messages", None)
    if not isinstance(messages, list) or not messages:
        what = "empty" if isinstance(messages, list) else ("missing" if messages is None else _json_kind(messages))
        return [Finding("missing_messages_list", f'"messages" is {what}; it must be a non-empty list')]
    found = _messages_errors(messages, 1)
    if not any(isinstance(m, dict) and m.get("role") == "assistant" for m in messages):
        found.append(Finding("example_missing_assistant_message", "no message has the role 'assistant'"))
    found.extend(_tool_list_errors(example))
    return found


def check_preference_example(example: Any) -> tuple[list[Finding], list[Finding]]:
    """(errors, warnings) for one preference (DPO) example."""
    if not isinstance(example, dict):
        return [Finding("data_type", f"the example is {_json_kind(example)}, not a JSON object")], []
    missing = [key for key in PREFERENCE_KEYS if key not in example]
    if missing:
        return [Finding("invalid_preference_example", f"the example has no {', '.join(map(repr, missing))}")], []
    found: list[Finding] = []
    source = example["input"]
    messages = source.get("messages") if isinstance(source, dict) else None
    if not isinstance(messages, list) or not messages:
        found.append(Finding("missing_messages_list", '"input" needs a non-empty "messages" list'))
    else:
        found.extend(_messages_errors(messages, 1))
        found.extend(_tool_list_errors(source))
    outputs = []
    for key in ("preferred_output", "non_preferred_output"):
        output = example[key]
        if not isinstance(output, list) or not output or not all(isinstance(m, dict) for m in output):
            found.append(Finding("invalid_preference_output", f'"{key}" is {_short(output)}, not a list of messages'))
            continue
        if not any(m.get("role") == "assistant" for m in output) or any(m.get("role") not in ("assistant", "tool") for m in output):
            found.append(Finding("invalid_preference_output", f'"{key}" needs assistant (or tool) messages only, one assistant message at least'))
            continue
        found.extend(_messages_errors(output, len(messages) + 1 if isinstance(messages, list) else 1, key))
        outputs.append(output)
    warnings = []
    extra = [k for k in example if k not in PREFERENCE_KEYS]
    if extra:
        warnings.append(Finding("example_unrecognized_key", f"extra key(s) {', '.join(map(repr, extra))}"))
    if len(outputs) == 2 and outputs[0] == outputs[1]:
        warnings.append(Finding("identical_preference", "the two outputs are the same"))
    if isinstance(messages, list):
        roles = {m.get("role") for m in messages if isinstance(m, dict)}
        if "system" not in roles:
            warnings.append(Finding("missing_system_message", "no system message"))
        if "user" not in roles:
            warnings.append(Finding("missing_user_message", "no user message"))
    return found, warnings


def example_warnings(example: Any) -> list[Finding]:
    """Per-example warnings that need no token counts."""
    if not isinstance(example, dict):
        return []
    found: list[Finding] = []
    extra = [k for k in example if k not in API_EXAMPLE_KEYS]
    if extra:
        found.append(Finding("example_unrecognized_key", f"extra key(s) {', '.join(map(repr, extra))}"))
    messages = example.get("messages")
    if not isinstance(messages, list):
        return found
    roles = {m.get("role") for m in messages if isinstance(m, dict) and isinstance(m.get("role"), str)}
    if "system" not in roles:
        found.append(Finding("missing_system_message", "no system message"))
    if "user" not in roles:
        found.append(Finding("missing_user_message", "no user message"))
    for number, message in enumerate(messages, 1):
        if isinstance(message, dict) and message.get("role") == "assistant":
            content = message.get("content")
            if isinstance(content, str) and content and not content.strip():
                found.append(Finding("empty_assistant_message", f"message {number} is only whitespace"))
    return found


# Message keys the API takes, by role (beyond role and content).
_ROLE_KEYS: dict[str, frozenset[str]] = {
    "system": frozenset({"name"}),
    "user": frozenset({"name"}),
    "assistant": frozenset({"name", "weight", "tool_calls", "function_call", "refusal"}),
    "tool": frozenset({"tool_call_id"}),
    "function": frozenset({"name"}),
}
# Keys with a check of their own, so a misplaced one is reported once, by that check.
_OWN_CHECKS = frozenset({"weight", "tool_calls", "function_call", "name"})


def _messages_errors(messages: list[Any], first: int, where: str = "") -> list[Finding]:
    found: list[Finding] = []
    tool_call_ids: set[str] = set()
    prefix = f"{where} " if where else ""
    for number, message in enumerate(messages, first):
        if not isinstance(message, dict):
            found.append(Finding("message_not_object", f"{prefix}message {number} is {_json_kind(message)}"))
            continue
        found.extend(_message_api_errors(number, message, tool_call_ids, prefix))
    return found


def _message_shape_errors(number: int, message: dict[str, Any], prefix: str) -> list[Finding]:
    """Role, keys and content: the API's side of the notebook's per-message checks."""
    role = message.get("role")
    where = f"{prefix}message {number} ({_short(role)})"
    if "role" not in message:
        return [Finding("message_missing_key", f"{prefix}message {number} has no 'role'")]
    if role not in API_ROLES:
        return [Finding("unrecognized_role", f"{where} has an unknown role")]
    found: list[Finding] = []
    unknown = [k for k in message if k not in ("role", "content") and k not in _ROLE_KEYS[role] and k not in _OWN_CHECKS]
    if unknown:
        found.append(Finding("message_unrecognized_key", f"{where} has key(s) {', '.join(map(repr, unknown))}"))
    calls = role == "assistant" and ("tool_calls" in message or message.get("function_call"))
    if "content" not in message:
        if not calls:
            found.append(Finding("message_missing_key", f"{where} has no 'content'"))
        return found
    content = message["content"]
    if calls and content in (None, ""):
        return found
    if not _valid_content(content, role):
        found.append(Finding("missing_content", f"{where} has content {_short(content)}"))
    return found


def _valid_content(content: Any, role: str) -> bool:
    if isinstance(content, str):
        return bool(content)
    if not isinstance(content, list) or not content:
        return False
    kinds = {"text", "image_url"} if role == "user" else {"text"}
    return all(
        isinstance(part, dict) and part.get("type") in kinds
        and (isinstance(part.get("text"), str) if part.get("type") == "text" else isinstance(part.get("image_url"), dict))
        for part in content
    )


def _tool_list_errors(container: dict[str, Any]) -> list[Finding]:
    found: list[Finding] = []
    for key in ("tools", "functions"):
        if key in container and not _valid_tool_list(key, container[key]):
            found.append(Finding("invalid_tools", f'"{key}" is not a list of function definitions'))
    if "parallel_tool_calls" in container and not isinstance(container["parallel_tool_calls"], bool):
        found.append(Finding("invalid_tools", '"parallel_tool_calls" must be true or false'))
    return found


def _message_api_errors(number: int, message: dict[str, Any], tool_call_ids: set[str], prefix: str = "") -> list[Finding]:
    found = _message_shape_errors(number, message, prefix)
    role = message.get("role")
    where = f"{prefix}message {number} ({_short(role)})"
    if "weight" in message:
        weight = message["weight"]
        if role != "assistant":
            found.append(Finding("weight_not_on_assistant", f"{where} has a weight"))
        elif type(weight) is not int or weight not in (0, 1):
            found.append(Finding("invalid_weight", f"{where} has weight {_short(weight)}"))
    if "name" in message and not isinstance(message["name"], str):
        found.append(Finding("invalid_name", f"{where} has name {_short(message['name'])}"))
    if role == "function" and "name" not in message:
        found.append(Finding("function_message_missing_name", f"{where} has no name"))
    if "function_call" in message and not (role == "assistant" and _valid_call(message["function_call"])):
        found.append(Finding("invalid_function_call", f"{where} has function_call {_short(message['function_call'])}"))
    if "tool_calls" in message:
        calls = message["tool_calls"]
        if role != "assistant" or not isinstance(calls, list) or not calls or not all(_valid_tool_call(c) for c in calls):
            found.append(Finding("invalid_tool_calls", f"{where} has tool_calls {_short(calls)}"))
        else:
            tool_call_ids.update(c["id"] for c in calls)
    if role == "tool":
        call_id = message.get("tool_call_id")
        if not isinstance(call_id, str) or not call_id:
            found.append(Finding("tool_message_missing_id", f"{where} has no tool_call_id"))
        elif call_id not in tool_call_ids:
            found.append(Finding("unknown_tool_call_id", f"{where} answers {call_id!r}, which no earlier assistant message called"))
    return found


def _valid_call(call: Any) -> bool:
    return isinstance(call, dict) and isinstance(call.get("name"), str) and isinstance(call.get("arguments"), str)


def _valid_tool_call(call: Any) -> bool:
    return (
        isinstance(call, dict)
        and isinstance(call.get("id"), str)
        and call.get("type", "function") == "function"
        and _valid_call(call.get("function"))
    )


def _valid_tool_list(key: str, value: Any) -> bool:
    if not isinstance(value, list):  # an empty list is fine: OpenAI's own preference example sends "tools": []
        return False
    if key == "functions":
        return all(isinstance(f, dict) and isinstance(f.get("name"), str) for f in value)
    return all(
        isinstance(t, dict) and t.get("type") == "function" and isinstance(t.get("function"), dict)
        and isinstance(t["function"].get("name"), str)
        for t in value
    )


def _json_kind(value: Any) -> str:
    kinds = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return "null" if value is None else kinds.get(type(value), type(value).__name__)


def _short(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
