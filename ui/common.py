"""Small helpers the tabs share: the learner id from the browser, texts in the learner's language, errors as toasts."""

from __future__ import annotations

import gradio as gr

from assistant.learner_state import DEFAULT_LEARNER, LEARNER_ID, learner_language
from core.settings import Settings
from core.texts import text


def learner_of(value: str | None) -> str:
    """The browser's learner id; API clients without one share the `default` learner."""
    return value if value and LEARNER_ID.fullmatch(value) else DEFAULT_LEARNER


def user_error(exc: BaseException) -> gr.Error:
    """A domain error as a toast: the message was written for the learner, so show it as is."""
    message = str(exc.args[0]) if isinstance(exc, LookupError) and exc.args else str(exc)
    return gr.Error(message, duration=12)


def learner_text(settings: Settings, learner_id: str | None, key: str) -> str:
    """A catalogue text in the learner's language (the one their chat last used)."""
    return text(learner_language(settings, learner_of(learner_id)), key)
