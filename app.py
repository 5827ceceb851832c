"""finetune-tutor's Gradio app (also the Hugging Face Spaces entry).

It builds the Blocks and turns the agent's messages into Gradio messages; every action calls a
function in assistant/, knowledge/ or trainer/. Run `python app.py` (GRADIO_SERVER_NAME/PORT apply).
"""

from __future__ import annotations

import uuid
from typing import Any, Iterator

from assistant.settings import apply_offline_environment, load_settings

apply_offline_environment()  # before gradio and transformers are imported

import gradio as gr  # noqa: E402

from assistant import prompts  # noqa: E402
from assistant.context import LEARNER_ID  # noqa: E402
from assistant.conversation import Agent, AgentMessage  # noqa: E402
from assistant.llm import make_backend  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from assistant.toolbox import default_toolbox  # noqa: E402
from knowledge.lang import detect_language  # noqa: E402

TRANSLATIONS = gr.I18n(
    en={
        "title": "finetune-tutor",
        "tagline": "Learn to fine-tune LLMs, build a dataset, run a real fine-tune — in one chat.",
        "chat_tab": "Chat",
        "dataset_tab": "Dataset",
        "jobs_tab": "Jobs",
        "placeholder": "Ask about fine-tuning, or say \"help\"…",
    },
    fi={
        "title": "finetune-tutor",
        "tagline": "Opi hienosäätämään kielimalleja, rakenna aineisto ja aja oikea hienosäätö — yhdessä keskustelussa.",
        "chat_tab": "Keskustelu",
        "dataset_tab": "Aineisto",
        "jobs_tab": "Työt",
        "placeholder": "Kysy hienosäädöstä tai kirjoita \"apua\"…",
    },
)

EXAMPLES = [
    "What is fine-tuning and how is it different from RAG?",
    "Milloin hienosäätö kannattaa?",
    "help me make examples for a limerick bot about chemical elements",
    "start the guided path",
]


def to_gradio(message: AgentMessage, lang: str) -> gr.ChatMessage:
    """An agent message as a Gradio chat message; tool steps become collapsible, with status and duration."""
    if message.tool is None:
        return gr.ChatMessage(role="assistant", content=message.content)
    record = message.tool
    metadata: dict[str, Any] = {"title": prompts.tool_title(record.name, lang), "status": "pending" if message.pending else "done"}
    if not message.pending:
        metadata["duration"] = round(record.seconds, 2)
    if record.error:
        metadata["title"] += " ⚠️"
    arguments = ", ".join(f"{k}={v!r}" for k, v in record.arguments.items() if v not in (None, "", [], {}))
    content = f"`{record.name}({arguments})`\n\n{message.content}".strip()
    return gr.ChatMessage(role="assistant", content=content, metadata=metadata)


def build_app(settings: Settings) -> gr.Blocks:
    agent = Agent(settings, make_backend(settings), default_toolbox())

    def learner_of(value: str | None) -> str:
        return value if value and LEARNER_ID.match(value) else "default"

    def respond(message: str, history: list[dict[str, Any]], learner: str | None) -> Iterator[list[gr.ChatMessage]]:
        lang = detect_language(message) if message.strip() else "en"
        for messages in agent.respond(message, history, learner_of(learner)):
            yield [to_gradio(m, lang) for m in messages]

    def chat(message: str) -> str:
        """Ask finetune-tutor: a lesson question, a dataset request or a job request. Returns the answer in markdown, with citations."""
        return agent.answer_text(message, learner="api")

    with gr.Blocks(title="finetune-tutor", fill_height=True) as demo:
        learner = gr.BrowserState(None, storage_key="finetune-tutor-learner")
        gr.Markdown(f"## {TRANSLATIONS('title')}\n{TRANSLATIONS('tagline')}")
        with gr.Tabs():
            with gr.Tab(TRANSLATIONS("chat_tab"), id="chat"):
                chatbot = gr.Chatbot(height=560, label="finetune-tutor", buttons=["copy"], layout="bubble")
                gr.ChatInterface(
                    respond,
                    chatbot=chatbot,
                    textbox=gr.Textbox(placeholder=TRANSLATIONS("placeholder"), submit_btn=True, show_label=False),
                    additional_inputs=[learner],
                    examples=[[e, None] for e in EXAMPLES],
                    api_name="respond",
                    api_visibility="undocumented",
                    fill_height=True,
                )
        gr.api(chat, api_name="chat")

        @demo.load(inputs=[learner], outputs=[learner])
        def _assign_learner(value: str | None) -> str:
            # A random id kept in the browser's storage: two browsers never share datasets, jobs or progress.
            return value if value and LEARNER_ID.match(value) else uuid.uuid4().hex[:16]

    return demo


def main() -> None:
    settings = load_settings()
    from knowledge.index import ensure_index

    report = ensure_index(settings)
    print(f"Lesson index ready: {report}")
    build_app(settings).queue(default_concurrency_limit=8).launch(i18n=TRANSLATIONS)


if __name__ == "__main__":
    main()
