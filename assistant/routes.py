"""Offline routes, declared with each tool: the patterns that pick a tool, and how a match becomes its arguments.

The offline default model cannot call tools, so `@tool(routes=[...])` gives a tool the English and Finnish
phrasings that ask for it; `router.route` tries them. The shared pieces (name, job and model patterns and
the common extractors) live here; an extractor that only one tool needs sits beside that tool.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

Extractor = Callable[[re.Match[str], str], dict[str, Any]]

MODEL = r"(gpt-[\w.\-]+|ft:[\w.:\-]+)"
NAME = r"[A-Za-z0-9][A-Za-z0-9_\-]{0,63}"
JOB = r"(ft-[0-9a-f]{4,}|ftjob-[A-Za-z0-9]+)"


def no_arguments(match: re.Match[str], text: str) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Route:
    """Patterns tried in order (the first that matches wins) and the extractor of the tool's arguments."""

    patterns: tuple[re.Pattern[str], ...]
    extract: Extractor = no_arguments
    # Only while the guided path waits for a check question's answer (a lone "b" is an answer then).
    answering: bool = False
    # A test of the whole message that a regular expression cannot say (e.g. "holds pasted questions and answers").
    accepts: Callable[[str], bool] | None = None
    # A broad route, tried only when no tool's other routes match (in the toolbox's order): the lesson search's
    # catch-all, and requests worded so freely that a more specific tool's phrase should win over them.
    fallback: bool = False


def patterns(*sources: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, re.IGNORECASE | re.DOTALL) for p in sources)


def group(match: re.Match[str], name: str) -> str | None:
    value = match.groupdict().get(name)
    return value.strip() if value else None


def named(match: re.Match[str], text: str) -> dict[str, Any]:
    """The pattern's named groups, stripped, as arguments."""
    return {k: v.strip() for k, v in match.groupdict().items() if v and v.strip()}


def job_in_text(match: re.Match[str], text: str) -> dict[str, Any]:
    """A job id anywhere in the message (none: the tool takes the learner's latest job)."""
    job = re.search(JOB, text)
    return {"job_id": job.group(1)} if job else {}
