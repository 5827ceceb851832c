"""finetune-tutor's Gradio app (also the Hugging Face Spaces entry).

It assembles the tabs from ui/ around one Agent and exposes `/chat` for API clients; every action
calls a function in assistant/, knowledge/ or trainer/. Run `python app.py` (GRADIO_SERVER_NAME/PORT apply).
"""

from __future__ import annotations

import uuid

from core.settings import apply_offline_environment, load_settings
from core.device import zero_gpu_active

apply_offline_environment()  # before gradio and transformers are imported

if zero_gpu_active():
    # ZeroGPU patches torch when `spaces` is imported, which must happen before anything initialises CUDA.
    import spaces  # noqa: E402,F401

import gradio as gr  # noqa: E402

from assistant.learner_state import LEARNER_ID  # noqa: E402
from assistant.conversation import Agent  # noqa: E402
from core.llm import make_backend  # noqa: E402
from core.settings import Settings  # noqa: E402
from core.texts import DEFAULT_LANGUAGE, text  # noqa: E402
from assistant.toolbox import default_toolbox  # noqa: E402
from ui import chat_tab, dataset_tab, jobs_tab  # noqa: E402
from ui.i18n import T  # noqa: E402

# API clients that name no learner share this one.
API_LEARNER = "api"


def build_app(settings: Settings) -> gr.Blocks:
    agent = Agent(settings, make_backend(settings), default_toolbox())

    def chat(message: str, learner: str = API_LEARNER) -> str:
        """Ask finetune-tutor: a lesson question, a dataset request or a job request. Returns the answer in markdown, with citations.

        `learner` (optional) keeps one API client's datasets, jobs and language apart from another's.
        """
        if not isinstance(message, str):
            raise gr.Error(text(DEFAULT_LANGUAGE, "api.message_not_text"))
        if not isinstance(learner, str) or not LEARNER_ID.match(learner):
            raise gr.Error(text(DEFAULT_LANGUAGE, "api.bad_learner"))
        return agent.answer_text(message, learner=learner)

    with gr.Blocks(title="finetune-tutor", fill_height=True) as demo:
        learner = gr.BrowserState(None, storage_key="finetune-tutor-learner")
        gr.Markdown("## finetune-tutor")
        gr.Markdown(T("tagline"))
        with gr.Tabs():
            with gr.Tab(T("chat_tab"), id="chat"):
                chat_tab.build(agent, learner)
            with gr.Tab(T("dataset_tab"), id="dataset") as tab:
                dataset_tab.build(settings, learner, tab)
            with gr.Tab(T("jobs_tab"), id="jobs") as tab:
                jobs_tab.build(settings, learner, tab)
        gr.api(chat, api_name="chat")

        @demo.load(inputs=[learner], outputs=[learner])
        def _assign_learner(value: str | None) -> str:
            # A random id kept in the browser's storage: two browsers never share datasets, jobs or progress.
            return value if value and LEARNER_ID.match(value) else uuid.uuid4().hex[:16]

    return demo


def main() -> None:
    settings = load_settings()
    from knowledge.index import ensure_index

    import torch

    from trainer.jobs.control import open_store, recover_jobs
    from trainer.jobs.lora import pick_cpu_threads

    # Leave a core for training workers: two processes spinning threads on the same cores slow both 10x.
    torch.set_num_threads(pick_cpu_threads())

    report = ensure_index(settings)
    print(f"Lesson index ready: {report.total_sections} sections ({report.added} files added, {report.updated} updated, {report.skipped} unchanged)")
    # Jobs whose worker died while the app was down are marked interrupted (and can be resumed);
    # hosted jobs already created on the provider's side are followed again by their remote id, and
    # local jobs that were still queued get a new worker that waits in their place.
    for job in recover_jobs(open_store(settings), settings):
        if job.finished:
            print(f"Job {job.id} was interrupted: {job.error}")
        elif job.backend == "local":
            print(f"Job {job.id}: waiting in the queue again, in its place (its worker was gone)")
        else:
            print(f"Job {job.id}: following {job.backend} job {job.remote_id} again")
    build_app(settings).queue(default_concurrency_limit=8).launch(i18n=T)


if __name__ == "__main__":
    main()
