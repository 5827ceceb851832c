"""The whole guided path in a real headless chromium, as a learner types it.

A lesson question, the guided path's check questions, ten drafted examples added to a dataset,
validation and cost, a quick local LoRA job watched in the Jobs tab (status and loss plot update),
then base vs tuned, and the guided path's progress panel. Every tab, tool and panel is asserted:
nothing here is optional.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from app_server import AppServer
from assistant.guide import STEPS
from core.settings import Settings
from assistant.toolbox import default_toolbox
from chat_page import ChatPage, OpenChat
from trainer.jobs.control import job_status

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MIN_EXAMPLES = 10
JOB_TIMEOUT_S = 420
TERMINAL = ("succeeded", "failed", "cancelled", "interrupted")


def require_tools(*names: str) -> None:
    missing = [name for name in names if name not in default_toolbox().tools]
    assert not missing, f"chat tool {', '.join(missing)} is missing from the toolbox"


def require_element(chat: ChatPage, selector: str, what: str) -> None:
    expect(chat.page.locator(selector), f"{what} ({selector})").to_have_count(1, timeout=15_000)


def send_expecting_tool(chat: ChatPage, message: str, tool: str, timeout_s: float = 60) -> str:
    """Send, check the reply used `tool` without an error mark, and return the answer text."""
    chat.send(message, timeout_s)
    titles = chat.latest_tools()
    assert any(title.endswith(f"Used tool {tool}") for title in titles), (message, titles, chat.latest_answer())
    return chat.latest_answer()


def answer_check_questions(chat: ChatPage, answer: str) -> str:
    """Answer the guided path's check questions (the right letter for the step shown) until a task step."""
    for _ in range(len(STEPS)):
        if "Answer with a, b or c" not in answer:
            return answer
        number = int(re.search(r"Step (\d+)/\d+", answer).group(1))
        check = STEPS[number - 1].check
        assert check is not None, answer
        answer = send_expecting_tool(chat, check.correct, "guide")
        assert "Right!" in answer, answer
    return answer


def test_guided_path_from_a_question_to_base_vs_tuned(open_chat: OpenChat, app_server: AppServer):
    before = app_server.learner_ids()
    chat = open_chat()

    # A lesson question first, as a learner would.
    answer = send_expecting_tool(chat, "What is fine-tuning and how is it different from RAG?", "search_lesson")
    assert "Sources" in answer
    (learner,) = app_server.learner_ids() - before

    require_tools("guide")
    answer = send_expecting_tool(chat, "start the guided path", "guide")
    assert re.search(r"Step \d+/\d+", answer), answer
    chat.screenshot("guide-started")
    answer = answer_check_questions(chat, answer)
    assert "help me make examples" in answer, answer  # the dataset step's task

    # Ten examples: draft, look, add (again if a round drafted fewer).
    require_tools("draft_examples", "add_drafts")
    total = 0
    for _ in range(3):
        answer = send_expecting_tool(chat, "help me make examples for a limerick bot about chemical elements", "draft_examples")
        drafted = int(re.search(r"Here are (\d+) drafts", answer).group(1))
        assert drafted >= 1
        chat.screenshot("drafts")
        answer = send_expecting_tool(chat, "add them", "add_drafts")
        total = int(re.search(r"it now has (\d+)", answer).group(1))
        if total >= MIN_EXAMPLES:
            break
    assert total >= MIN_EXAMPLES, answer

    assert chat.has_tab("Dataset")
    chat.open_tab("Dataset")
    require_element(chat, "#examples-table", "the Dataset tab's examples table")
    expect(chat.page.locator("#examples-table [role=row]:has([role=gridcell])")).to_have_count(total, timeout=15_000)
    expect(chat.page.locator("#examples-table")).to_contain_text("limerick", ignore_case=True)
    chat.screenshot("dataset-tab")
    chat.open_tab("Chat")

    require_tools("validate_dataset", "estimate_cost")
    answer = send_expecting_tool(chat, "validate my dataset", "validate_dataset")
    assert f"{total} examples, no errors" in answer, answer
    answer = send_expecting_tool(chat, "what would this cost on gpt-4o-mini?", "estimate_cost")
    assert re.search(r"gpt-4o-mini[^\n]*\$\d+\.\d+", answer), answer
    chat.screenshot("validated")

    # A quick local LoRA job, watched from the Jobs tab.
    require_tools("start_finetune", "job_status")
    answer = send_expecting_tool(chat, "start a quick fine-tune", "start_finetune", timeout_s=120)
    job_id = re.search(r"Started fine-tune job \*?\*?(ft-[0-9a-f]+)", answer).group(1)
    answer = send_expecting_tool(chat, "how is my job doing?", "job_status")
    assert job_id in answer and re.search(r"queued|running|succeeded", answer), answer

    assert chat.has_tab("Jobs")
    watch_job_in_jobs_tab(chat, job_id)
    chat.open_tab("Chat")
    settings = Settings(data_dir=app_server.data_dir, model_cache=app_server.model_cache)
    status = wait_for_job(settings, job_id, learner)
    assert status["status"] == "succeeded", (status["error"], status["log_path"])
    assert len(status["metrics"]) >= 1

    answer = send_expecting_tool(chat, "how is my job doing?", "job_status")
    assert "succeeded" in answer and "train loss" in answer, answer

    require_tools("compare")
    answer = send_expecting_tool(chat, "compare: Tell me about helium", "compare", timeout_s=240)
    assert "Base model:" in answer and f"Fine-tuned ({job_id}):" in answer, answer
    base, _, tuned = answer.partition(f"Fine-tuned ({job_id}):")
    assert base.replace("Base model:", "").strip(" \n-") and tuned.strip(), answer
    chat.screenshot("compare")

    # Step 6: the evaluation against the base on the held-out share, as a table framed by the benefits to confirm.
    require_tools("evaluate")
    answer = send_expecting_tool(chat, "evaluate my model", "evaluate", timeout_s=420)
    assert f"Evaluation of {job_id}" in answer and "benefits to confirm" in answer, answer
    assert "answers in the training data's form" in answer and "Wins: tuned" in answer, answer
    assert "Next steps, from these numbers" in answer, answer
    chat.screenshot("evaluation")
    # The Jobs tab shows the same stored report.
    chat.open_tab("Jobs")
    require_element(chat, "#eval-report", "the Jobs tab's evaluation report")
    expect(chat.page.locator("#eval-report")).to_contain_text(f"Evaluation of {job_id}", timeout=15_000)
    chat.screenshot("jobs-tab-evaluation")
    chat.open_tab("Chat")

    # The guided path's panel (an accordion above the chat) shows the steps done.
    require_element(chat, "#guide-panel", "the guided path's panel")
    chat.page.locator("#guide-panel").get_by_text("Guided path", exact=True).click()
    progress = chat.page.locator("#guide-progress")
    expect(progress).to_contain_text("✅")
    # learn, decide, dataset, validate, fine-tune, evaluate
    assert progress.inner_text().count("✅") >= 6, progress.inner_text()
    chat.screenshot("guide-progress")


def plotted_steps(chat: ChatPage) -> int:
    """The last step the loss plot shows, from the x axis's accessible description (Vega writes it),
    0 while no line is drawn."""
    axes = chat.page.locator("#loss-plot [aria-roledescription=axis]")
    if not axes.count() or not chat.page.locator("#loss-plot [aria-roledescription='line mark']").count():
        return 0
    label = axes.first.get_attribute("aria-label") or ""
    found = re.search(r"from [\d.]+ to ([\d.]+)", label) or re.search(r"with (\d+) values?", label)
    return int(float(found.group(1))) if found else 0


def watch_job_in_jobs_tab(chat: ChatPage, job_id: str) -> None:
    """Open the Jobs tab and watch the job's status and loss plot change until it finishes."""
    chat.open_tab("Jobs")
    require_element(chat, "#job-status", "the Jobs tab's status")
    require_element(chat, "#loss-plot", "the Jobs tab's loss plot")
    status = chat.page.locator("#job-status")
    expect(status).to_contain_text(job_id, timeout=15_000)
    chat.screenshot("jobs-tab-started")
    points_at_start = plotted_steps(chat)
    seen: list[str] = []
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while time.monotonic() < deadline:
        text = status.inner_text()
        state = re.search(r"\b(queued|running|succeeded|failed|cancelled|interrupted)\b", text)
        step = re.search(r"step (\d+)", text)
        moment = f"{state.group(1) if state else '?'}-step-{step.group(1) if step else 0}"
        if moment not in seen:
            seen.append(moment)
            chat.screenshot(f"jobs-tab-{moment}")
        if state and state.group(1) in TERMINAL:
            break
        chat.page.wait_for_timeout(1000)
    text = status.inner_text()
    assert "succeeded" in text and "train loss" in text, (seen, text)
    assert len(seen) >= 2, seen  # the status changed while we watched (queued/running → succeeded)
    # The plot is redrawn by the tab's timer as metrics arrive: more steps than when the job started.
    for _ in range(10):
        if plotted_steps(chat) > points_at_start:
            break
        chat.page.wait_for_timeout(500)
    assert plotted_steps(chat) > points_at_start, (points_at_start, plotted_steps(chat))
    # Two series on one plot: the held-back share gives a validation loss beside the train loss.
    expect(chat.page.locator("#loss-plot")).to_contain_text("validation", timeout=10_000)
    expect(chat.page.locator("#loss-plot")).to_contain_text("train", timeout=10_000)
    # Whole steps on the axis: Vega-Lite's own ticks on a short run would read 1.0, 1.5, 2.0, ...
    axis = chat.page.locator("#loss-plot [aria-roledescription=axis]").first.get_attribute("aria-label") or ""
    assert "discrete scale" in axis and not re.search(r"\d\.\d", axis), axis
    chat.screenshot("jobs-tab-finished")


def wait_for_job(settings: Settings, job_id: str, learner: str) -> dict:
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while True:
        status = job_status(settings, job_id, learner)
        if status["status"] in TERMINAL or time.monotonic() > deadline:
            return status
        time.sleep(2)
