"""The start-up line at the top of the page: "Preparing the lesson index… 40 %" until the lesson side is ready.

The app serves the page while `knowledge.startup.prepare` runs in the background; a timer reads its
stage twice a second and stops once start-up has ended. The text is in the browser's language (the one
gr.I18n picks the labels by), from the catalogue's `startup.*` keys.
"""

from __future__ import annotations

import gradio as gr

from core.texts import DEFAULT_LANGUAGE, LANGUAGES, text
from knowledge.startup import Readiness, Stage

_POLL_S = 0.5


def browser_language(request: gr.Request | None) -> str:
    """The first language of the browser's Accept-Language that the catalogue has (English otherwise)."""
    header = request.headers.get("accept-language", "") if request is not None else ""
    for part in header.split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return DEFAULT_LANGUAGE


def status_text(stage: Stage, lang: str) -> str:
    """What the page says about start-up; empty once ready."""
    if stage.name == "index":
        return text(lang, "startup.index", percent=stage.percent)
    if stage.name == "models":
        return text(lang, "startup.models")
    if stage.name == "failed":
        return text(lang, "startup.failed", error=stage.error)
    return ""


def build(readiness: Readiness) -> None:
    """Lay out the status line and its timer inside the current Blocks."""
    first = readiness.stage
    status = gr.Markdown(status_text(first, DEFAULT_LANGUAGE), elem_id="startup-status", visible=first.name != "ready")
    timer = gr.Timer(_POLL_S, active=first.name not in ("ready", "failed"))

    # Named apart from the tabs' handlers: an event's default API name is its function's, first come first served.
    def show_startup(request: gr.Request):
        stage = readiness.stage
        ended = stage.name in ("ready", "failed")
        return gr.Markdown(status_text(stage, browser_language(request)), visible=stage.name != "ready"), gr.Timer(active=not ended)

    # On each page load too: a page opened after start-up shows nothing and starts no timer.
    gr.on(None, show_startup, None, [status, timer], show_progress="hidden", api_visibility="private")
    timer.tick(show_startup, None, [status, timer], show_progress="hidden", api_visibility="private")
