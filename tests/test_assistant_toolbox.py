"""Each tool is declared once: its routes sit on it, its titles are in every catalogue, and a wrong reference fails at once."""

from __future__ import annotations

import pytest

from assistant.guide import STEPS, Step
from assistant.lesson_tools import search_lesson
from assistant.registry import Toolbox, tool, tool_title
from assistant.router import route
from assistant.routes import patterns
from assistant.toolbox import TOOLS, default_toolbox
from core.texts import LANGUAGES, catalogue


def test_every_route_reaches_a_registered_tool():
    box = default_toolbox()
    assert list(box.tools) == [t.name for t in TOOLS]
    for declared in TOOLS:
        assert box.tools[declared.name] is declared
        assert declared.routes, f"{declared.name} has no offline route"
        # The router answers with this tool's name for a message its own route takes.
        assert all(rule.patterns for rule in declared.routes)


def test_lesson_search_is_the_last_route_and_takes_anything():
    assert TOOLS[-1] is search_lesson
    assert route("Quelle heure est-il ?").tool == "search_lesson"
    assert route("Quelle heure est-il ?", tools=TOOLS[:-1]).reply == "help"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_tool_has_a_title_in_every_language(lang: str):
    texts = catalogue(lang)
    missing = [t.name for t in TOOLS if f"tool.{t.name}" not in texts]
    assert missing == []
    titles = [t.title(lang) for t in TOOLS]
    assert len(set(titles)) == len(titles), "two tools share a title"


def test_titles_read_as_the_chat_shows_them():
    assert tool_title("search_lesson", "en") == "🛠️ Used tool search_lesson"
    assert tool_title("validate_dataset", "fi") == "🛠️ Käytetty työkalu aineiston tarkistus"
    # A name the model made up keeps its own name rather than failing the turn.
    assert tool_title("nope", "en") == "🛠️ Used tool nope"


def test_the_guides_steps_name_registered_tools():
    registered = set(map(id, TOOLS))
    used = [t for step in STEPS for t in step.marked_by]
    assert used and all(id(t) in registered for t in used)


def test_a_name_where_a_tool_belongs_fails_at_declaration():
    with pytest.raises(TypeError, match="marked_by"):
        Step("validate", marked_by=("validate_datset",))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Tool objects"):
        Toolbox.of(search_lesson, "guide")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="two tools are named search_lesson"):
        Toolbox.of(search_lesson, search_lesson)
    with pytest.raises(TypeError, match="routes must be Route objects"):
        tool(routes=patterns(r"validate"))(lambda: None)  # type: ignore[arg-type]
    with pytest.raises(NameError):
        exec("Step('validate', marked_by=(validate_datset,))", {"Step": Step})
