"""The start-up line of the page (ui.startup_status): what it says at each stage, in the browser's language."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from core.texts import text
from knowledge.startup import Readiness, Stage
from ui.startup_status import browser_language, status_text


@pytest.mark.parametrize(
    ("header", "lang"),
    [("fi-FI,fi;q=0.9,en;q=0.8", "fi"), ("de-DE,fi;q=0.5", "fi"), ("en-GB", "en"), ("de-DE", "en"), ("", "en")],
)
def test_the_browsers_first_catalogue_language_is_used(header: str, lang: str) -> None:
    assert browser_language(SimpleNamespace(headers={"accept-language": header})) == lang  # type: ignore[arg-type]


def test_no_request_means_english() -> None:
    assert browser_language(None) == "en"


@pytest.mark.parametrize("lang", ["en", "fi"])
def test_each_stage_says_where_start_up_is(lang: str) -> None:
    assert status_text(Stage("index", 42), lang) == text(lang, "startup.index", percent=42)
    assert "42 %" in status_text(Stage("index", 42), lang)
    assert status_text(Stage("models"), lang) == text(lang, "startup.models")
    failed = status_text(Stage("failed", error="Folder not found: /nowhere"), lang)
    assert "Folder not found: /nowhere" in failed and failed == text(lang, "startup.failed", error="Folder not found: /nowhere")
    assert status_text(Stage("ready"), lang) == ""
    assert status_text(Stage("index", 42), "fi") != status_text(Stage("index", 42), "en")


def test_readiness_ends_on_ready_or_failed_only() -> None:
    readiness = Readiness()
    readiness.set(Stage("index", 50))
    readiness.set(Stage("models"))
    assert not readiness.wait(0)
    readiness.set(Stage("failed", error="x"))
    assert readiness.wait(0)
    assert Readiness.already_ready().wait(0)
