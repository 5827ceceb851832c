"""Small helpers the tabs share: texts in the learner's language, errors as toasts.

Which learner an event is for is decided by `ui.identity` (the handlers get the resolved id).
"""

from __future__ import annotations

import gradio as gr

from assistant.learner_state import learner_language
from core.settings import Settings
from core.texts import text


def refusal(message: str) -> gr.Error:
    """A toast for what the learner (or an API caller) asked wrongly: expected, so no traceback in the server's log."""
    return gr.Error(message, duration=12, print_exception=False)


def user_error(exc: BaseException) -> gr.Error:
    """A domain error as a toast: the message was written for the learner, so show it as is."""
    message = str(exc.args[0]) if isinstance(exc, LookupError) and exc.args else str(exc)
    return refusal(message)


def learner_text(settings: Settings, learner: str, key: str) -> str:
    """A catalogue text in the learner's language (the one their chat last used)."""
    return text(learner_language(settings, learner), key)
