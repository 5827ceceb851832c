"""The answer writer for `python -m knowledge ask`: the configured OpenAI-compatible backend, or none.

The chat builds its own writer from the backend it already holds; this one is for the CLI,
and uses the same backend code (assistant.llm) so there is one OpenAI implementation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from knowledge.answer import Writer

if TYPE_CHECKING:
    from assistant.settings import Settings


def writer_from_settings(settings: "Settings") -> Writer | None:
    """A writer when an OpenAI-compatible backend is configured; None means extractive answers."""
    if settings.chat_backend != "openai":
        return None
    from assistant.llm import make_backend

    backend = make_backend(settings)
    return writer_for_backend(backend)


def writer_for_backend(backend) -> Writer:
    """Wrap a chat backend (assistant.llm.ChatBackend) as `writer(system_prompt, user_prompt) -> text`."""
    from assistant.llm import complete

    def write(system_prompt: str, user_prompt: str) -> str:
        messages = [{"role": "system", "content": system_prompt}, {"role": "user", "content": user_prompt}]
        return complete(backend, messages).text

    return write
