"""The default toolbox: every tool the chat offers, from the lesson, dataset, job and guide modules.

The order is the offline router's: it tries each tool's routes in turn, the most specific first, so a
phrase two tools could claim goes to the earlier one. `search_lesson`'s route takes any text, so it
comes last: whatever nothing else claims is a lesson question.
"""

from __future__ import annotations

from assistant.dataset_tools import (add_drafts, add_example, create_dataset, draft_examples, edit_example, estimate_cost,
                                     export_dataset, list_datasets, remove_example, show_dataset, validate_dataset)
from assistant.guide import guide
from assistant.job_tools import cancel_job, chat_with_model, compare, evaluate, job_status, list_jobs, start_finetune
from assistant.lesson_tools import search_lesson
from assistant.registry import Tool, Toolbox

TOOLS: tuple[Tool, ...] = (
    guide,
    draft_examples, add_drafts, edit_example, remove_example, add_example, create_dataset, list_datasets,
    validate_dataset, estimate_cost, export_dataset, show_dataset,
    cancel_job, evaluate, compare, chat_with_model, list_jobs, job_status, start_finetune,
    search_lesson,
)


def default_toolbox() -> Toolbox:
    return Toolbox.of(*TOOLS)
