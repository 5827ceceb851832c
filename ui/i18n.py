"""The page's labels for gr.I18n (the browser's language picks one), built from the text catalogue's `ui.` keys."""

from __future__ import annotations

import gradio as gr

from core.texts import LANGUAGES, with_prefix

T = gr.I18n(**{lang: with_prefix(lang, "ui.") for lang in LANGUAGES})
