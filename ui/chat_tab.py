"""The Chat tab: the streaming chat, the guided-path panel, and the conversion of agent messages to Gradio's.

A tool step becomes a collapsible assistant message (metadata title, pending → done, duration). An answer's
follow-ups become Gradio's message options (buttons under the last answer); a click sends one as the learner's
next message, through the same `respond` as typing it.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

import gradio as gr

from assistant import guide
from assistant.conversation import Agent, AgentMessage
from ui.i18n import T
from ui.identity import Identity, identified

EXAMPLES = [
    "What is fine-tuning and how is it different from RAG?",
    "Milloin hienosäätö kannattaa?",
    "help me make examples for a limerick bot about chemical elements",
    "start the guided path",
]


def to_gradio(message: AgentMessage) -> gr.ChatMessage:
    """An agent message as a Gradio chat message; tool steps become collapsible, with status and duration."""
    if message.tool is None:
        return gr.ChatMessage(role="assistant", content=message.content,
                              options=[{"value": option, "label": option} for option in message.options])
    record = message.tool
    metadata: dict[str, Any] = {"title": message.title or record.name, "status": "pending" if message.pending else "done"}
    if not message.pending:
        metadata["duration"] = round(record.seconds, 2)
    if record.error:
        metadata["title"] += " ⚠️"
    arguments = ", ".join(f"{k}={v!r}" for k, v in record.arguments.items() if v not in (None, "", [], {}))
    content = f"`{record.name}({arguments})`\n\n{message.content}".strip()
    return gr.ChatMessage(role="assistant", content=content, metadata=metadata)


def build(agent: Agent, learner: gr.BrowserState, identity: Identity, wait_ready: Callable[[], object] = lambda: None) -> None:
    """Lay out the chat inside the current Blocks; every event names its learner by the browser's token.

    `wait_ready` blocks until the app's start-up is done: a question asked meanwhile shows at once and is answered then.
    """
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

    def respond(who: str, message: str, history: list[dict[str, Any]]) -> Iterator[tuple[str, list]]:
        shown = list(history) + [gr.ChatMessage(role="user", content=message)]
        yield "", shown
        wait_ready()
        for messages in agent.respond(message, history, who):
            yield "", shown + [to_gradio(m) for m in messages]

    def show_progress(who: str) -> str:
        return guide.panel_markdown(agent.context(who, ""))

    def follow_up(who: str, history: list[dict[str, Any]], option: gr.SelectData) -> Iterator[tuple[str, list]]:
        yield from respond(who, option.value, history)

    def send(phrase: str):
        def say(who: str, history: list[dict[str, Any]]) -> Iterator[tuple[str, list]]:
            yield from respond(who, phrase, history)
        return identified(identity, say)

    progress_shown = identified(identity, show_progress, quiet=gr.skip)
    textbox.submit(identified(identity, respond), [learner, textbox, chatbot], [textbox, chatbot]).then(
        progress_shown, [learner], [progress])
    chatbot.option_select(identified(identity, follow_up), [learner, chatbot], [textbox, chatbot]).then(
        progress_shown, [learner], [progress])
    start.click(send("start the guided path"), [learner, chatbot], [textbox, chatbot]).then(progress_shown, [learner], [progress])
    step.click(send("next step"), [learner, chatbot], [textbox, chatbot]).then(progress_shown, [learner], [progress])
    learner.change(progress_shown, [learner], [progress])
