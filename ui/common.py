"""Small helpers the tabs share: the learner id from the browser, errors shown as Gradio toasts."""

from __future__ import annotations

import gradio as gr

from assistant.tool_context import DEFAULT_LEARNER, LEARNER_ID


def learner_of(value: str | None) -> str:
    """The browser's learner id; API clients without one share the `default` learner."""
    return value if value and LEARNER_ID.fullmatch(value) else DEFAULT_LEARNER


def user_error(exc: BaseException) -> gr.Error:
    """A domain error as a toast: the message was written for the learner, so show it as is."""
    message = str(exc.args[0]) if isinstance(exc, LookupError) and exc.args else str(exc)
    return gr.Error(message, duration=12)
