"""The Chat tab: the streaming chat, the guided-path panel, and the conversion of agent messages to Gradio's.

A tool step becomes a collapsible assistant message (metadata title, pending → done, duration).
"""

from __future__ import annotations

from typing import Any, Iterator

import gradio as gr

from assistant import guide
from assistant.conversation import Agent, AgentMessage
from ui.common import learner_of
from ui.i18n import T

EXAMPLES = [
    "What is fine-tuning and how is it different from RAG?",
    "Milloin hienosäätö kannattaa?",
    "help me make examples for a limerick bot about chemical elements",
    "start the guided path",
]


def to_gradio(message: AgentMessage) -> gr.ChatMessage:
    """An agent message as a Gradio chat message; tool steps become collapsible, with status and duration."""
    if message.tool is None:
        return gr.ChatMessage(role="assistant", content=message.content)
    record = message.tool
    metadata: dict[str, Any] = {"title": message.title or record.name, "status": "pending" if message.pending else "done"}
    if not message.pending:
        metadata["duration"] = round(record.seconds, 2)
    if record.error:
        metadata["title"] += " ⚠️"
    arguments = ", ".join(f"{k}={v!r}" for k, v in record.arguments.items() if v not in (None, "", [], {}))
    content = f"`{record.name}({arguments})`\n\n{message.content}".strip()
    return gr.ChatMessage(role="assistant", content=content, metadata=metadata)


def build(agent: Agent, learner: gr.BrowserState) -> None:
    """Lay out the chat inside the current Blocks."""
    with gr.Accordion(T("guide"), open=False, elem_id="guide-panel"):
        progress = gr.Markdown(elem_id="guide-progress", line_breaks=True)
        with gr.Row():
            start = gr.Button(T("start_guide"), variant="primary", elem_id="guide-start")
            step = gr.Button(T("next_step"), elem_id="guide-next")
    chatbot = gr.Chatbot(height=600, label="finetune-tutor", buttons=["copy"], elem_id="chatbot", autoscroll=True)
    with gr.Row():
        textbox = gr.Textbox(placeholder=T("placeholder"), show_label=False, scale=8, autofocus=True,
                             submit_btn=True, elem_id="chat-input")
    gr.Examples(EXAMPLES, inputs=[textbox], label=T("examples_label"))

    def respond(message: str, history: list[dict[str, Any]], learner_id: str | None) -> Iterator[tuple[str, list]]:
        shown = list(history) + [gr.ChatMessage(role="user", content=message)]
        yield "", shown
        for messages in agent.respond(message, history, learner_of(learner_id)):
            yield "", shown + [to_gradio(m) for m in messages]

    def show_progress(learner_id: str | None) -> str:
        return guide.panel_markdown(agent.context(learner_of(learner_id), ""))

    def send(phrase: str):
        return lambda history, learner_id: (yield from respond(phrase, history, learner_id))

    textbox.submit(respond, [textbox, chatbot, learner], [textbox, chatbot]).then(show_progress, [learner], [progress])
    start.click(send("start the guided path"), [chatbot, learner], [textbox, chatbot]).then(show_progress, [learner], [progress])
    step.click(send("next step"), [chatbot, learner], [textbox, chatbot]).then(show_progress, [learner], [progress])
    learner.change(show_progress, [learner], [progress])
