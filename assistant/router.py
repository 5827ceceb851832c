"""Offline tool routing: match the learner's message to a tool call by intent, in English and Finnish.

The offline default model cannot call tools, so for it the conversation asks this module which tool
a message wants. Each tool declares its own routes (`@tool(routes=[...])`, see `assistant.routes`);
they are tried in the toolbox's order, the most specific first. Broad routes (`fallback`) come after every
tool's specific ones: a freely worded request for examples, then `search_lesson`'s route, which takes
anything not matched before it. Greetings and "help" get the help reply without a tool.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from assistant.registry import Tool
from assistant.toolbox import TOOLS


@dataclass
class Routed:
    """Where a message goes: a tool (by its name) with arguments, or a reply key for messages that need no tool."""

    tool: str | None
    arguments: dict[str, Any] = field(default_factory=dict)
    # For messages that need no tool: a key into the chat texts (`chat.help`, `chat.empty`).
    reply: str | None = None


GREETING = re.compile(r"^\s*(hi|hello|hey|moi|hei|terve|moikka)\b[\s!.]*$", re.IGNORECASE)
HELP = re.compile(r"^\s*(help|apua|ohje|what can you do|mitä osaat|mitä voit tehdä)\b[\s?!.]*$", re.IGNORECASE)


def route(message: str, *, awaiting_answer: bool = False, tools: Iterable[Tool] | None = None) -> Routed:
    """The tool a message asks for; a lesson search when nothing more specific matches.

    `awaiting_answer`: the guided path has asked a multiple-choice question, so a lone "b" answers it.
    `tools`: the tools to try, in order (default: the default toolbox's).
    """
    text = message.strip()
    if not text:
        return Routed(None, reply="empty")
    if GREETING.match(text) or HELP.match(text):
        return Routed(None, reply="help")
    candidates = TOOLS if tools is None else tuple(tools)
    for fallback in (False, True):
        for candidate in candidates:
            for rule in candidate.routes:
                if rule.fallback != fallback or (rule.answering and not awaiting_answer):
                    continue
                if rule.accepts is not None and not rule.accepts(text):
                    continue
                for pattern in rule.patterns:
                    match = pattern.search(text)
                    if match:
                        return Routed(candidate.name, rule.extract(match, text))
    return Routed(None, reply="help")  # a toolbox without a lesson search: nothing takes the message
