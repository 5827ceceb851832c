"""The Jobs tab: start a fine-tune, the jobs table, live status and loss curves, cancel, chat and compare.

Handlers are thin: a start goes through the chat tool's `assistant.job_tools.start_training`, every other
action is a call into `trainer.jobs.control` / `trainer.jobs.inference`, and the status text is the one
the chat gives (`assistant.job_tools.describe_progress`).
"""

from __future__ import annotations

from typing import Any

import gradio as gr
import pandas as pd

from assistant.dataset_tools import dataset_names, learner_dataset
from assistant.job_tools import describe_progress, run_evaluation, start_training, stored_evaluation
from assistant.learner_state import learner_language
from core.settings import Settings
from core.texts import text
from trainer.jobs import control, inference
from ui.common import learner_text, refusal, user_error
from ui.i18n import T
from ui.identity import Identity, identified

JOB_COLUMNS = ["id", "status", "backend", "runner", "model", "dataset", "created_at"]
ACTIVE = ("queued", "running")
# Up to this many steps the loss plot labels every step (see plot_update).
FEW_STEPS = 40


def jobs_table(settings: Settings, learner: str) -> pd.DataFrame:
    jobs = control.list_jobs(settings, learner)
    return pd.DataFrame([{k: j.get(k) for k in JOB_COLUMNS} for j in jobs], columns=JOB_COLUMNS)


def loss_frame(metrics: list[dict[str, Any]]) -> pd.DataFrame:
    """Metric rows in long form (step, loss, series) for one line per series on the plot."""
    rows = []
    for row in metrics:
        for key, series in (("train_loss", "train"), ("eval_loss", "validation")):
            if row.get(key) is not None:
                rows.append({"step": row["step"], "loss": row[key], "series": series})
    # Typed even when empty: the plot fixes its axis types on the first data it sees.
    return pd.DataFrame(rows, columns=["step", "loss", "series"]).astype({"step": "int64", "loss": "float64", "series": "str"})


def plot_update(curve: pd.DataFrame, caption: str) -> dict[str, Any]:
    """The loss plot's update: with few steps the steps are categories in step order, so each tick is a whole step.

    Vega-Lite picks about one tick per 40 px, so a 14-step quantitative axis would read 1.0, 1.5, 2.0, ...;
    past FEW_STEPS the automatic ticks fall on whole steps anyway and a category per step would crowd the axis.
    """
    steps = sorted(int(step) for step in curve["step"].unique())
    if len(steps) <= FEW_STEPS:
        return gr.update(value=curve.astype({"step": "str"}), sort=[str(step) for step in steps], caption=caption)
    return gr.update(value=curve, sort=None, caption=caption)


def build(settings: Settings, learner: gr.BrowserState, tab: gr.Tab, identity: Identity) -> None:
    """Lay out the tab inside the current Blocks; it reloads whenever the learner opens it.

    Every event's first input is the learner's token; `identified` resolves it (or refuses) before a handler runs.
    """
    with gr.Row():
        dataset = gr.Dropdown(label=T("dataset"), choices=[], allow_custom_value=True, elem_id="job-dataset")
        preset = gr.Radio(["quick", "balanced", "thorough"], value="quick", label=T("preset"), elem_id="job-preset")
        backend = gr.Radio(["local", "openai", "azure"], value="local", label=T("backend"))
        epochs = gr.Dropdown(["preset", 1, 2, 3, 5, 10], value="preset", label=T("epochs"))
    start = gr.Button(T("start_job"), variant="primary", elem_id="start-job")
    table = gr.Dataframe(headers=JOB_COLUMNS, interactive=False, label=T("jobs"), elem_id="jobs-table")
    with gr.Row():
        selected = gr.Dropdown(label=T("job"), choices=[], elem_id="job-select")
        cancel = gr.Button(T("cancel_job"), variant="stop", elem_id="cancel-job")
    status = gr.Markdown(elem_id="job-status")
    plot = gr.LinePlot(x="step", y="loss", color="series", title=T("loss_curve"), height=280, elem_id="loss-plot")
    with gr.Row():
        checkpoint = gr.Radio(["final", "best"], value="final", label=T("checkpoint"), elem_id="eval-checkpoint")
        run_eval = gr.Button(T("evaluate"), variant="primary", elem_id="evaluate-button")
    with gr.Row():
        prompt = gr.Textbox(label=T("prompt"), placeholder=T("prompt_placeholder"), scale=3, elem_id="compare-prompt")
        ask = gr.Button(T("ask_tuned"))
        compare = gr.Button(T("compare"), variant="primary", elem_id="compare-button")
    with gr.Row():
        base_answer = gr.Textbox(label=T("base_model"), lines=6, interactive=False, elem_id="base-answer")
        tuned_answer = gr.Textbox(label=T("tuned_model"), lines=6, interactive=False, elem_id="tuned-answer")
    evaluation = gr.Markdown(elem_id="eval-report")
    timer = gr.Timer(2.0)

    def refresh(who: str, job_id: str | None):
        frame = jobs_table(settings, who)
        ids = frame["id"].tolist()
        job_id = job_id if job_id in ids else (ids[0] if ids else None)
        if job_id is None:
            return frame, gr.update(choices=ids, value=None), "", None
        job = control.job_status(settings, job_id, who)
        lang = learner_language(settings, who)
        curve = loss_frame(job["metrics"])
        # No plot value until there is a point: a plot first given an empty frame never draws its lines (gradio 6).
        # The plot fixes its series (colour domain) when it is drawn and only swaps data on later updates, so the
        # caption names the series: its change when validation loss first arrives makes gradio redraw the chart.
        series = "plot.with_validation" if (curve["series"] == "validation").any() else "plot.train_only"
        plot = plot_update(curve, text(lang, series)) if len(curve) else None
        return frame, gr.update(choices=ids, value=job_id), describe_progress(job, lang), plot

    def start_job(who: str, name: str | None, preset_name: str, backend_name: str, epoch_count: int | str):
        if not name:
            raise refusal(learner_text(settings, who, "error.choose_dataset"))
        try:
            job, notices = start_training(settings, who, name, preset=preset_name, backend=backend_name,
                                          epochs=None if epoch_count == "preset" else int(epoch_count),
                                          lang=learner_language(settings, who))
        except (ValueError, OSError) as exc:
            raise user_error(exc) from None
        for notice in notices:
            gr.Warning(notice, duration=20)
        return refresh(who, job.id)

    def cancel_job(who: str, job_id: str | None):
        if not job_id:
            raise refusal(learner_text(settings, who, "error.choose_job"))
        try:
            control.cancel_job(settings, job_id, owner=who)
        except (ValueError, LookupError) as exc:
            raise user_error(exc) from None
        return refresh(who, job_id)

    def run_compare(who: str, job_id: str | None, text: str, which: str):
        if not job_id or not text.strip():
            raise refusal(learner_text(settings, who, "error.choose_finished_job"))
        try:
            answers = inference.compare(settings, job_id, text, owner=who, checkpoint=which)
        except (ValueError, LookupError) as exc:
            raise user_error(exc) from None
        return answers["base"], answers["tuned"]

    def run_tuned(who: str, job_id: str | None, text: str, which: str):
        if not job_id or not text.strip():
            raise refusal(learner_text(settings, who, "error.choose_finished_job"))
        try:
            return "", inference.generate(settings, job_id, text, owner=who, checkpoint=which)
        except (ValueError, LookupError) as exc:
            raise user_error(exc) from None

    def do_evaluate(who: str, job_id: str | None, which: str):
        if not job_id:
            raise refusal(learner_text(settings, who, "error.choose_job"))
        try:
            return run_evaluation(settings, who, job_id, learner_language(settings, who), checkpoint=which)[1]
        except (ValueError, LookupError, OSError) as exc:
            raise user_error(exc) from None

    def show_evaluation(who: str, job_id: str | None):
        return stored_evaluation(settings, who, job_id, learner_language(settings, who)) if job_id else ""

    def datasets(who: str):
        names = dataset_names(settings, who)
        chosen = learner_dataset(settings, who)
        return gr.update(choices=names, value=chosen if chosen in names else None)

    def on(fn, quiet=None):
        return identified(identity, fn, quiet=quiet)

    outputs = [table, selected, status, plot]
    start.click(on(start_job), [learner, dataset, preset, backend, epochs], outputs)
    cancel.click(on(cancel_job), [learner, selected], outputs)
    selected.input(on(refresh), [learner, selected], outputs).then(on(show_evaluation), [learner, selected], [evaluation])
    run_eval.click(on(do_evaluate), [learner, selected, checkpoint], [evaluation])
    # The timer also ticks before the page has its token: it then leaves the tab as it is.
    timer.tick(on(refresh, quiet=lambda: (gr.skip(),) * len(outputs)), [learner, selected], outputs, show_progress="hidden")
    compare.click(on(run_compare), [learner, selected, prompt, checkpoint], [base_answer, tuned_answer])
    ask.click(on(run_tuned), [learner, selected, prompt, checkpoint], [base_answer, tuned_answer])
    tab.select(on(refresh), [learner, selected], outputs).then(on(datasets), [learner], [dataset]).then(
        on(show_evaluation), [learner, selected], [evaluation])
