"""finetune-tutor's Gradio app (also the Hugging Face Spaces entry).

It assembles the tabs from ui/ around one Agent and exposes `/new_learner`, `/chat` and the MCP tools (`ui.mcp_tools`,
served to MCP clients at /gradio_api/mcp/ with TUTOR_MCP=1) for API clients; every
action calls a function in assistant/, knowledge/ or trainer/. Who the learner is (a Hugging Face sign-in, a user
of the password file, or a signed learner token) is decided by `ui.identity`.
Run `python app.py` (GRADIO_SERVER_NAME/PORT apply).
"""

from __future__ import annotations

import importlib.util
import os
from typing import Mapping

from core.settings import apply_offline_environment, load_settings
from core.device import limit_torch_threads, pick_cpu_threads, zero_gpu_active
from ui.gradio_import import skip_stub_writing

apply_offline_environment()  # before gradio and transformers are imported
skip_stub_writing()  # before gradio is imported: its .pyi writer is ~1.5 s of every start (ui/gradio_import.py)

if zero_gpu_active():
    # ZeroGPU patches torch when `spaces` is imported, which must happen before anything initialises CUDA.
    import spaces  # noqa: E402,F401


def _limit_torch_threads() -> None:
    # Leave a core for training workers: two processes spinning threads on the same cores slow both 10x.
    # Applied when something in this process first loads a torch model: a lesson answer needs no torch.
    limit_torch_threads(pick_cpu_threads())


def _report_start_up(readiness: "Readiness") -> None:
    report, stage = readiness.report, readiness.stage
    if stage.name == "failed" or report is None:
        print(f"Start-up failed: {stage.error}", flush=True)
        return
    print(
        f"Lesson index ready: {report.total_sections} sections ({report.added} files added, {report.updated} updated, "
        f"{report.skipped} unchanged; {report.prebuilt} from the prebuilt index, {report.embedded} texts embedded)",
        flush=True,
    )
    print(f"Ready to answer ({readiness.seconds:.1f} s of start-up work)", flush=True)


if __name__ == "__main__":
    from knowledge.startup import start_loading_native

    start_loading_native()  # native work, beside gradio's import on the other core

import gradio as gr  # noqa: E402

from assistant.conversation import Agent  # noqa: E402
from core.llm import make_backend  # noqa: E402
from core.settings import Settings  # noqa: E402
from core.texts import DEFAULT_LANGUAGE, text  # noqa: E402
from assistant.toolbox import default_toolbox  # noqa: E402
from knowledge.startup import Readiness  # noqa: E402
from ui import chat_tab, dataset_tab, jobs_tab, mcp_tools, startup_status  # noqa: E402
from ui.common import refusal  # noqa: E402
from ui.i18n import T  # noqa: E402
from ui.identity import Identity, resolve_learner  # noqa: E402


def hf_oauth_enabled(environ: Mapping[str, str] = os.environ) -> bool:
    """A Space with `hf_oauth: true` (the Hub sets OAUTH_CLIENT_ID) and gradio's OAuth extras installed."""
    if not (environ.get("SPACE_ID") and environ.get("OAUTH_CLIENT_ID")):
        return False
    if importlib.util.find_spec("authlib") is None or importlib.util.find_spec("itsdangerous") is None:
        print("hf_oauth is on but gradio[oauth] is not installed: sign-in is off, learners get tokens.")
        return False
    return True


# A chat turn waits this long for start-up (the lesson index, the models) before it goes ahead anyway.
READY_WAIT_S = 600.0


def build_app(settings: Settings, identity: Identity | None = None, readiness: Readiness | None = None) -> gr.Blocks:
    agent = Agent(settings, make_backend(settings), default_toolbox())
    identity = identity or Identity.from_settings(settings)
    readiness = readiness or Readiness.already_ready()

    def new_learner() -> str:
        """A token for a new learner of your own: pass it as `learner` to /chat. Keep it; it is the only key to that learner's datasets and jobs."""
        return identity.new_token()

    def chat(message: str, learner: str | None = None, request: gr.Request = None,
             profile: gr.OAuthProfile | None = None) -> str:
        """Ask finetune-tutor: a lesson question, a dataset request or a job request. Returns the answer in markdown, with citations.

        `learner` is the token from /new_learner (not needed when signed in): it keeps one client's datasets, jobs and language apart from another's.
        """
        if not isinstance(message, str):
            raise refusal(text(DEFAULT_LANGUAGE, "api.message_not_text"))
        who = resolve_learner(identity, learner, request, profile)
        readiness.wait(READY_WAIT_S)
        return agent.answer_text(message, learner=who)

    with gr.Blocks(title="finetune-tutor", fill_height=True) as demo:
        # The browser keeps its learner token in local storage: two browsers never share datasets, jobs or progress.
        learner = gr.BrowserState(None, storage_key="finetune-tutor-learner")
        gr.Markdown("## finetune-tutor")
        gr.Markdown(T("tagline"))
        startup_status.build(readiness)
        if identity.mode == "oauth":
            gr.LoginButton()
        # The tools first, so they keep their plain endpoint names where a tab's handler has the same name.
        tools = mcp_tools.register(settings, identity)
        with gr.Tabs():
            with gr.Tab(T("chat_tab"), id="chat"):
                chat_tab.build(agent, learner, identity, lambda: readiness.wait(READY_WAIT_S))
            with gr.Tab(T("dataset_tab"), id="dataset") as tab:
                dataset_tab.build(settings, learner, tab, identity)
            with gr.Tab(T("jobs_tab"), id="jobs") as tab:
                jobs_tab.build(settings, learner, tab, identity)
        gr.api(new_learner, api_name="new_learner")
        gr.api(chat, api_name="chat")
        mcp_tools.only_in_api(demo, ["new_learner", "chat", *tools])

        @demo.load(inputs=[learner], outputs=[learner], api_visibility="private")
        def _assign_learner(value: str | None) -> str:
            # A token this server signed stays; anything else (none yet, a plain id, an edited token) is a new learner.
            return identity.browser_token(value)

    return demo


def main() -> None:
    settings = load_settings()
    from knowledge.startup import start_preparing

    # The lesson side (the index, the retriever and the models a first answer loads) gets ready in a background
    # thread from here, once gradio is imported. Both are Python work under one GIL: started before gradio's
    # import, the two slowed each other. A warm start on 2 cores: the page is up at ~3.4 s, showing the
    # progress, and ready at ~3.6 s (benches/startup.py).
    readiness = start_preparing(settings, before=_limit_torch_threads, after=_report_start_up)
    from trainer.jobs.control import open_store, recover_jobs

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
    identity = Identity.from_settings(settings, oauth=hf_oauth_enabled())
    print(f"Learners: {identity.mode} mode")
    auth = identity.check_login if identity.mode == "password" else None
    # Gradio rebuilds its monitoring summary (a pandas frame of up to 10,000 past events) after every
    # event by default: ~10 ms per answer early on, more as a class goes on. Nothing here shows it.
    os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "1000")
    # The page is up at once; the page shows how far the lesson side is, and a chat turn waits for it.
    # TUTOR_MCP=1 turns the MCP server on; unset, Gradio's own GRADIO_MCP_SERVER decides.
    build_app(settings, identity, readiness).queue(default_concurrency_limit=8).launch(
        i18n=T, auth=auth, mcp_server=True if settings.mcp else None)


if __name__ == "__main__":
    main()
