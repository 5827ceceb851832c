"""The default toolbox: every tool the chat offers, from the lesson, dataset, job and guide modules."""

from __future__ import annotations

from assistant.dataset_tools import DATASET_TOOLS
from assistant.guide import guide
from assistant.job_tools import JOB_TOOLS
from assistant.lesson_tools import search_lesson
from assistant.registry import Toolbox


def default_toolbox() -> Toolbox:
    return Toolbox.of(search_lesson, *DATASET_TOOLS, *JOB_TOOLS, guide)
