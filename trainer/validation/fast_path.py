"""The fast path of validation: a strict msgspec schema that only clean, plain examples satisfy.

A JSONL line that decodes into `FastExample` has no error in either check layer (roles
system/user/assistant, non-empty string content, a string `name`, `weight` 0 or 1 on assistant
messages only, no other keys), so it needs no per-message Python checks. Everything else (tool
calls, function messages, empty content, odd types, bad JSON) fails to decode and takes the slow
path in `trainer.validation.rules`, which is the authority; this schema may only be stricter, never looser.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

import msgspec

from trainer.data.tokens import TOKENS_PER_MESSAGE, TOKENS_PER_NAME, TOKENS_REPLY_PRIMER, TokenCounter

_Text = Annotated[str, msgspec.Meta(min_length=1)]
_UnsetText = Union[str, msgspec.UnsetType]
# gc=False: these objects hold no cycles, and keeping them off the collector's lists saves time.
_OPTIONS = dict(forbid_unknown_fields=True, gc=False, tag_field="role")


class SystemMessage(msgspec.Struct, tag="system", **_OPTIONS):
    content: _Text
    name: _UnsetText = msgspec.UNSET


class UserMessage(msgspec.Struct, tag="user", **_OPTIONS):
    content: _Text
    name: _UnsetText = msgspec.UNSET


class AssistantMessage(msgspec.Struct, tag="assistant", **_OPTIONS):
    content: _Text
    name: _UnsetText = msgspec.UNSET
    weight: Union[Literal[0, 1], msgspec.UnsetType] = msgspec.UNSET


class FastExample(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    messages: Annotated[list[Union[SystemMessage, UserMessage, AssistantMessage]], msgspec.Meta(min_length=1)]


DECODER = msgspec.json.Decoder(FastExample)
DECODE_ERRORS = (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError)
ROLE_OF = {SystemMessage: "system", UserMessage: "user", AssistantMessage: "assistant"}


def find_irregular(examples: list[FastExample]) -> list[int]:
    """Indexes of examples that need a closer look: not system, user, ..., assistant, or a blank reply."""
    irregular = []
    for i, example in enumerate(examples):
        m = example.messages
        # One comparison chain for the usual shape; only the rest are looked at closely.
        if len(m) > 2 and type(m[0]) is SystemMessage and type(m[1]) is UserMessage and type(m[-1]) is AssistantMessage:
            if len(m) == 3:
                if not m[2].content.isspace():
                    continue
            elif not _has_blank_reply(m):
                continue
        irregular.append(i)
    return irregular


def describe(example: FastExample) -> tuple[bool, bool, bool, bool]:
    """(has assistant, has system, has user, has a whitespace-only assistant reply)."""
    kinds = {type(m) for m in example.messages}
    return AssistantMessage in kinds, SystemMessage in kinds, UserMessage in kinds, _has_blank_reply(example.messages)


def _has_blank_reply(messages: list) -> bool:
    for m in messages:
        if type(m) is AssistantMessage and m.content.isspace():
            return True
    return False


def count_tokens(example: FastExample, counter: TokenCounter) -> tuple[int, int, int]:
    """Same numbers as `TokenCounter.example` gives for the equivalent dict."""
    total = TOKENS_REPLY_PRIMER
    assistant = longest = 0
    count, remembered = counter.count, counter.text
    for m in example.messages:
        kind = type(m)
        n = remembered(m.content) if kind is SystemMessage else count(m.content)
        total += TOKENS_PER_MESSAGE + remembered(ROLE_OF[kind]) + n
        if m.name is not msgspec.UNSET:
            total += remembered(m.name) + TOKENS_PER_NAME
        if kind is AssistantMessage:
            assistant += n
            if n > longest:
                longest = n
    return total, assistant, longest
