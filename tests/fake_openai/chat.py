"""The fake's chat completions: scripted replies turned into OpenAI response shapes, whole or streamed.

A reply is a str (text), or a dict with "content" and/or "tool_calls": [{"name", "arguments" (dict or JSON
str), optional "id"}] and an optional "finish_reason". Streaming yields the SSE `data:` payloads in the order
the real service sends them: role, content pieces, tool-call deltas, finish, optional usage, [DONE].
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

from .training import ApiError, estimate_tokens, new_id

Reply = str | dict[str, Any]


def check_request(body: dict[str, Any]) -> None:
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise ApiError(400, "you must provide a model parameter", param="model")
    if not isinstance(body.get("messages"), list) or not body["messages"]:
        raise ApiError(400, "messages must be a non-empty array.", param="messages")


def default_reply(body: dict[str, Any]) -> str:
    """A deterministic answer that shows which model was asked what."""
    return f"Fake {body['model']} reply to: {last_user_text(body['messages'])}"


def completion(body: dict[str, Any], reply: Reply) -> dict[str, Any] | Iterator[str]:
    """The response to `body`: a chat.completion object, or SSE payloads when it asked to stream."""
    content, tool_calls, finish = normalise(reply)
    completion_id, created, model = new_id("chatcmpl"), int(time.time()), body["model"]
    usage = {"prompt_tokens": estimate_tokens(json.dumps(body["messages"])),
             "completion_tokens": estimate_tokens((content or "") + json.dumps(tool_calls))}
    usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    if body.get("stream"):
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        return stream(completion_id, created, model, content, tool_calls, finish, usage if include_usage else None)
    message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None, "annotations": []}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {"object": "chat.completion", "id": completion_id, "created": created, "model": model, "usage": usage,
            "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}]}


def normalise(reply: Reply) -> tuple[str | None, list[dict[str, Any]], str]:
    """(content, tool calls in API shape, finish_reason) from a scripted reply."""
    if isinstance(reply, str):
        return reply, [], "stop"
    tool_calls = []
    for call in reply.get("tool_calls") or []:
        arguments = call.get("arguments", {})
        tool_calls.append({"id": call.get("id") or new_id("call"), "type": "function",
                           "function": {"name": call["name"], "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments)}})
    return reply.get("content"), tool_calls, reply.get("finish_reason") or ("tool_calls" if tool_calls else "stop")


def stream(completion_id: str, created: int, model: str, content: str | None, tool_calls: list[dict[str, Any]],
           finish: str, usage: dict[str, int] | None) -> Iterator[str]:
    def chunk(delta: dict[str, Any] | None, finish_reason: str | None = None, **extra: Any) -> str:
        choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}]
        return json.dumps({"object": "chat.completion.chunk", "id": completion_id, "created": created, "model": model, "choices": choices, **extra})

    yield chunk({"role": "assistant", "content": "" if content is not None else None, "refusal": None})
    for piece in re.findall(r"\S+\s*|\s+", content or ""):
        yield chunk({"content": piece})
    for index, call in enumerate(tool_calls):
        head = {"index": index, "id": call["id"], "type": "function", "function": {"name": call["function"]["name"], "arguments": ""}}
        yield chunk({"tool_calls": [head]})
        arguments = call["function"]["arguments"]
        for start in range(0, len(arguments), 8):
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": arguments[start:start + 8]}}]})
    yield chunk({}, finish)
    if usage is not None:
        yield chunk(None, usage=usage)
    yield "[DONE]"


def last_user_text(messages: list[Any]) -> str:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
            return str(content)
    return ""
