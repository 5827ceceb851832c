"""The turn loop: one learner message in, a growing list of assistant messages out.

With a backend that calls tools natively, the model chooses tools and writes the answer from their
results. Offline, `router.route` chooses the tool and the tool's own `reply` is the answer. Either
way each tool call appears as its own message (pending, then done) before the answer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterator

from assistant import guide
from assistant.learner_state import load_state
from assistant.registry import ToolCallRecord, Toolbox, tool_title
from assistant.router import route
from assistant.tool_context import ToolContext
from core.llm import BackendError, ChatBackend, Completion, writer_for_backend
from core.settings import Settings
from core.texts import text
from knowledge.lang import detect_language

MAX_TOOL_ROUNDS = 5
SHORT_MESSAGE_WORDS = 2


@dataclass
class AgentMessage:
    """An assistant message; with `tool`, a tool step shown collapsed in the chat."""

    content: str
    tool: ToolCallRecord | None = None
    # A tool step's title in the learner's language ("Used tool …"); None for answer text.
    title: str | None = None
    # Follow-ups the learner can send as they are (e.g. the close lesson sections of a near tie).
    options: list[str] = field(default_factory=list)

    @property
    def pending(self) -> bool:
        return self.tool is not None and self.tool.output is None and self.tool.error is None


class Agent:
    def __init__(self, settings: Settings, backend: ChatBackend, toolbox: Toolbox):
        self.settings = settings
        self.backend = backend
        self.toolbox = toolbox

    def context(self, learner: str, message: str) -> ToolContext:
        state = load_state(self.settings, learner)
        loaded = state.model_dump()
        state.lang = language_of(message, state.lang)
        return ToolContext(self.settings, learner, state.lang, state, writer=self._writer(), loaded=loaded)

    def _writer(self):
        # Only a capable (tool-calling) model writes prose; offline answers stay extractive.
        return writer_for_backend(self.backend) if self.backend.supports_tools else None

    def respond(self, message: str, history: list[dict[str, Any]] | None = None, learner: str = "default") -> Iterator[list[AgentMessage]]:
        """Yield the whole reply so far after every change (for streaming UIs)."""
        context = self.context(learner, message)
        try:
            if self.backend.supports_tools and message.strip():
                yield from self._respond_with_tools(message, history or [], context)
            else:
                yield from self._respond_routed(message, context)
        finally:
            context.save()

    def answer_text(self, message: str, learner: str = "default") -> str:
        """The final answer as plain markdown (for the HTTP API and the CLI)."""
        final: list[AgentMessage] = []
        for final in self.respond(message, [], learner):
            pass
        return "\n\n".join(m.content for m in final if m.tool is None and m.content).strip()

    # -- offline: intent routing ------------------------------------------------------------
    def _respond_routed(self, message: str, context: ToolContext) -> Iterator[list[AgentMessage]]:
        chosen = route(message, awaiting_answer=guide.awaiting_answer(context), tools=self.toolbox.tools.values())
        if chosen.tool is None:
            yield [AgentMessage(text(context.lang, f"chat.{chosen.reply or 'help'}"))]
            return
        done: list[AgentMessage] = []
        record = yield from self._run_tool(chosen.tool, chosen.arguments, context, done)
        options: list[str] = []
        if record.error:
            reply = text(context.lang, "chat.tool_failed", error=record.error)
        else:
            assert record.output is not None
            reply = record.output.reply or record.output.display
            options = list(record.output.options)
            if context.state.guide_active and chosen.tool != guide.guide.name:
                reply += "\n\n" + guide.proposal(context)
        yield done + [AgentMessage(reply, options=options)]

    # -- native tool calls ------------------------------------------------------------------
    def _respond_with_tools(self, message: str, history: list[dict[str, Any]], context: ToolContext) -> Iterator[list[AgentMessage]]:
        messages: list[dict[str, Any]] = [{"role": "system", "content": text(context.lang, "chat.system_prompt")}]
        messages += _text_history(history)
        messages.append({"role": "user", "content": message})
        done: list[AgentMessage] = []
        options: list[str] = []  # the last tool result's follow-ups, offered under the final answer
        for _ in range(MAX_TOOL_ROUNDS):
            streamed = ""
            completion: Completion | None = None
            try:
                for item in self.backend.stream(messages, self.toolbox.schemas()):
                    if isinstance(item, Completion):
                        completion = item
                    else:
                        streamed += item
                        yield done + [AgentMessage(streamed)]
            except BackendError as exc:
                yield done + [AgentMessage(text(context.lang, "chat.backend_failed", error=context.redact(str(exc))))]
                return
            if completion is None or not completion.tool_calls:
                yield done + [AgentMessage(streamed or (completion.text if completion else ""), options=options)]
                return
            messages.append({
                "role": "assistant", "content": completion.text or None,
                "tool_calls": [{"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                               for c in completion.tool_calls],
            })
            for call in completion.tool_calls:
                record = yield from self._run_tool(call.name, call.arguments, context, done)
                if record.output is not None:
                    options = list(record.output.options)
                result = {"error": record.error} if record.error else record.output.data  # type: ignore[union-attr]
                messages.append({"role": "tool", "tool_call_id": call.id, "content": json.dumps(result, ensure_ascii=False, default=str)})
        yield done + [AgentMessage(text(context.lang, "chat.too_many_steps"))]

    def _run_tool(self, name: str, arguments: Any, context: ToolContext, done: list[AgentMessage]):
        """Show the call as pending, run it, then show it done; returns the record."""
        pending = ToolCallRecord(name, arguments if isinstance(arguments, dict) else _loads(arguments))
        title = tool_title(name, context.lang)
        yield done + [AgentMessage(text(context.lang, "chat.tool_pending"), pending, title)]
        record = self.toolbox.call(name, arguments, context)
        if record.ok:
            guide.mark_tool_used(context, name)
        shown = record.error if record.error else (record.output.display if record.output else "")
        done.append(AgentMessage(shown, record, title))
        yield list(done)
        return record


def language_of(message: str, previous: str | None) -> str:
    """The learner's language for this turn; "a" or "add them" is too short to tell, so the previous one holds."""
    if previous and len(message.split()) <= SHORT_MESSAGE_WORDS:
        return previous
    return detect_language(message) if message.strip() else (previous or "en")


def _loads(arguments: str | None) -> dict[str, Any]:
    try:
        value = json.loads(arguments or "{}")
        return value if isinstance(value, dict) else {}
    except json.JSONDecodeError:
        return {}


def _text_history(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Prior turns as plain text messages; tool steps shown in the UI are not replayed to the model."""
    turns = []
    for message in history[-20:]:
        if message.get("metadata") and message["metadata"].get("title"):
            continue
        content = message.get("content")
        if isinstance(content, str) and message.get("role") in ("user", "assistant") and content.strip():
            turns.append({"role": message["role"], "content": content})
    return turns
