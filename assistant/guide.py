"""The guided path: seven steps from "what is fine-tuning?" to chatting with your own tuned model.

Each step knows how to tell it is done, from the learner's real state (their dataset, their jobs) or
from a check question answered right; progress is saved with the learner's state. The `guide` tool
shows the path and the current step; after any other tool call in a guided session, the
conversation appends `proposal()` so the assistant always proposes the next step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Callable, Literal

from pydantic import Field

from assistant.tool_context import ToolContext
from assistant.dataset_tools import dataset_store, estimate_cost, validate_dataset
from assistant.evaluation_text import next_steps
from assistant.job_tools import evaluate
from assistant.registry import Tool, ToolOutput, tool
from assistant.routes import Route, patterns
from core.texts import text
from trainer.data.tokens import DEFAULT_MODEL
from trainer.jobs import control

MIN_EXAMPLES = 10
OPTIONS = "abc"  # a check question's option letters
# A lone option letter, "b" or "(b)": the answer to the open check question.
CHECK_ANSWER = re.compile(r"^\s*\(?([abc])\)?[.!]?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Check:
    """A multiple-choice check question; its question, options and explanation are in the catalogue."""

    correct: str  # the right option's letter


@dataclass(frozen=True)
class Step:
    """One step of the path; its words are in the catalogue under `guide.<key>.` (title, task, and for a
    check question: question, option.a/b/c, explain)."""

    key: str
    check: Check | None = None
    # Done from the learner's real state (None: no state condition).
    done: Callable[[ToolContext], bool] | None = None
    # Tools the learner must have used for the step to count (any one of them): the tools themselves, never names.
    marked_by: tuple[Tool, ...] = ()

    def __post_init__(self) -> None:
        wrong = [t for t in self.marked_by if not isinstance(t, Tool)]
        if wrong:
            raise TypeError(f"guide step {self.key!r}: marked_by takes tools declared with @tool, not {wrong!r}")

    def words(self, lang: str, part: str) -> str:
        return text(lang, f"guide.{self.key}.{part}", min_examples=MIN_EXAMPLES)

    def complete(self, context: ToolContext) -> bool:
        """Whether doing the work has completed the step (check questions are marked when answered)."""
        if self.check is not None or (self.done is None and not self.marked_by):
            return False
        used = not self.marked_by or any(t.name in context.state.guide_used for t in self.marked_by)
        return used and (self.done is None or self.done(context))


def _dataset_size(context: ToolContext) -> int:
    name = context.state.current_dataset
    if not name:
        return 0
    try:
        return len(dataset_store(context).load(name))
    except (ValueError, LookupError, OSError):
        return 0


def _dataset_valid(context: ToolContext) -> bool:
    if _dataset_size(context) < MIN_EXAMPLES:
        return False
    return not dataset_store(context).validate(context.state.current_dataset, DEFAULT_MODEL).errors


def _job_succeeded(context: ToolContext) -> bool:
    return any(j["status"] == "succeeded" for j in control.list_jobs(context.settings, context.learner))


STEPS: list[Step] = [
    Step("learn", Check(correct="a")),
    Step("decide", Check(correct="b")),
    Step("dataset", done=lambda c: _dataset_size(c) >= MIN_EXAMPLES),
    Step("validate", done=_dataset_valid, marked_by=(validate_dataset, estimate_cost)),
    Step("finetune", done=_job_succeeded),
    Step("evaluate", marked_by=(evaluate,)),
    Step("next"),
]


def refresh_progress(context: ToolContext) -> None:
    """Mark steps whose real-world condition now holds, and move the current step to the first open one."""
    done = set(context.state.guide_done)
    for number, step in enumerate(STEPS):
        if number not in done and step.complete(context):
            done.add(number)
    context.state.guide_done = sorted(done)
    open_steps = [n for n in range(len(STEPS)) if n not in done]
    context.state.guide_step = open_steps[0] if open_steps else len(STEPS) - 1


def mark_tool_used(context: ToolContext, tool_name: str) -> None:
    """Remember a tool the learner used while on the guided path (some steps are done by doing)."""
    if context.state.guide_active and tool_name not in context.state.guide_used:
        context.state.guide_used.append(tool_name)


def progress_markdown(context: ToolContext) -> str:
    lines = []
    for number, step in enumerate(STEPS):
        mark = "✅" if number in context.state.guide_done else ("👉" if number == context.state.guide_step else "⬜")
        lines.append(f"{mark} {number + 1}. {step.words(context.lang, 'title')}")
    return "\n".join(lines)


def panel_markdown(context: ToolContext) -> str:
    """The progress panel beside the chat: the path with its marks while the learner follows it, else nothing."""
    if not context.state.guide_active:
        return ""
    refresh_progress(context)
    return progress_markdown(context)


def step_text(context: ToolContext) -> str:
    lang = context.lang
    number = context.state.guide_step
    step = STEPS[number]
    if len(context.state.guide_done) == len(STEPS):
        return text(lang, "guide.finished", task=step.words(lang, "task"))
    heading = text(lang, "guide.step", number=number + 1, total=len(STEPS), title=step.words(lang, "title"))
    shown = f"{heading}\n\n{step.words(lang, 'task')}"
    if step.key == "next":
        shown += _next_from_evaluation(context)
    if step.check:
        options = "\n".join(f"{letter}) {step.words(lang, f'option.{letter}')}" for letter in OPTIONS)
        shown += f"\n\n❓ {step.words(lang, 'question')}\n{options}\n\n{text(lang, 'guide.answer_prompt')}"
    return shown


def _next_from_evaluation(context: ToolContext) -> str:
    """Step 7 proposes what to try next from the learner's own evaluation, when there is one."""
    from trainer.jobs import control

    if not context.state.last_job:
        return ""
    try:
        status = control.job_status(context.settings, context.state.last_job, context.learner)
    except (LookupError, ValueError):
        return ""
    if not status.get("evaluation"):
        return ""
    report = {"job": status["id"], **status["evaluation"]}
    steps = next_steps(report, status.get("overfitting"), context.lang)
    return "\n\n" + text(context.lang, "eval.next") + "\n" + "\n".join(f"- {step}" for step in steps)


def proposal(context: ToolContext) -> str:
    """One line proposing the next step, appended to replies during a guided session."""
    refresh_progress(context)
    step = STEPS[context.state.guide_step]
    task = step.words(context.lang, "task")
    if step.key == "dataset" and context.state.drafts:
        task = text(context.lang, "guide.add_drafts")
    return text(context.lang, "guide.proposal", task=task)


def awaiting_answer(context: ToolContext) -> bool:
    """Whether the current step is waiting for its check question's answer."""
    if not context.state.guide_active:
        return False
    number = context.state.guide_step
    return STEPS[number].check is not None and number not in context.state.guide_done


def _check_answer(match: re.Match[str], text: str) -> dict[str, Any]:
    return {"action": "answer", "answer": text}


def _guide_action(match: re.Match[str], text: str) -> dict[str, Any]:
    if re.search(r"\b(next|continue|resume|seuraava|jatka)\b", text, re.IGNORECASE):
        return {"action": "next"}
    return {"action": "start"}


@tool(routes=[
    Route((CHECK_ANSWER,), _check_answer, answering=True),
    Route(patterns(
        r"^\s*(start|begin|open|show|continue|resume)\b.*\b(guided?|tutorial|path|walkthrough)\b",
        r"^\s*(next step|what('s| is) next|continue the guide)\b",
        r"^\s*(aloita|avaa|näytä|jatka)\b.*\b(opastu\w*|polku\w*|ohjattu\w*|opas\w*)",
        r"^\s*(seuraava vaihe|mitä seuraavaksi|jatka opastusta)\b",
    ), _guide_action),
])
def guide(
    context: ToolContext,
    action: Annotated[Literal["start", "next", "status", "answer"], Field(description="start/next/status of the guided path, or answer a check question.")] = "status",
    answer: Annotated[str | None, Field(description="The learner's answer (a, b or c) to the current check question.")] = None,
) -> ToolOutput:
    """The guided path through learning, deciding, building a dataset, validating, fine-tuning and evaluating."""
    lang = context.lang
    context.state.guide_active = True
    refresh_progress(context)
    feedback = ""
    step = STEPS[context.state.guide_step]
    if action == "answer" and step.check and answer:
        found = CHECK_ANSWER.match(answer)
        letter = found.group(1).lower() if found else answer.strip().lower()[:1]
        if letter == step.check.correct:
            context.state.guide_done = sorted(set(context.state.guide_done) | {context.state.guide_step})
            feedback = text(lang, "guide.right", explain=step.words(lang, "explain")) + "\n\n"
            refresh_progress(context)
        else:
            feedback = text(lang, "guide.wrong") + "\n\n"
    elif action == "next" and step.key == "next":
        # A step with nothing to check (next steps) is done once seen.
        context.state.guide_done = sorted(set(context.state.guide_done) | {context.state.guide_step})
        refresh_progress(context)
    progress = progress_markdown(context)
    reply = f"{feedback}{progress}\n\n{step_text(context)}"
    data = {"step": context.state.guide_step + 1, "done": [n + 1 for n in context.state.guide_done], "steps": len(STEPS)}
    return ToolOutput(data, progress, reply)
