"""A learner in a real headless chromium: lesson questions in English and Finnish, tool steps, languages, learners, keyboard."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app_server import AppServer
from chat_page import CHAT_TEXTBOX, STORAGE_KEY, OpenChat

pytestmark = pytest.mark.browser

FINNISH_TABS = {"Chat": "Keskustelu", "Dataset": "Aineisto", "Jobs": "Työt"}
SOURCE = re.compile(r"\b(en|fi)/[\w\-]+\.md#[\w\-]+")


def test_lesson_question_shows_an_answer_with_sources_and_a_collapsed_tool_step(open_chat: OpenChat):
    chat = open_chat()
    chat.screenshot("start")
    reply = chat.send("What is fine-tuning and how is it different from RAG?")

    assert any("Used tool search_lesson" in title for title in chat.latest_tools()), reply
    answer = chat.latest_answer()
    assert "RAG" in answer
    assert "Sources" in answer and {m.group(1) for m in SOURCE.finditer(answer)} == {"en"}, answer

    # The tool step is one collapsed message: its title shows, its details open on a click.
    group = chat.tool_groups().last
    title = group.locator(".title")
    expect(title).to_contain_text("Used tool search_lesson")
    expect(group.locator(".content")).to_have_count(0)
    chat.screenshot("lesson-answer")
    title.click()
    details = group.locator(".content")
    expect(details).to_be_visible()
    expect(details).to_contain_text("search_lesson(")
    expect(details).to_contain_text(re.compile(r"en/[\w\-]+\.md#"))
    # It slides open: wait until it has its full height before the screenshot.
    chat.page.wait_for_function("(el) => el.getBoundingClientRect().height > 30 && !el.getAnimations().length",
                                arg=details.element_handle())
    chat.screenshot("tool-step-open")
    title.click()
    expect(group.locator(".content")).to_have_count(0)
    assert chat.external_requests == []


def test_finnish_question_gets_a_finnish_answer(open_chat: OpenChat):
    chat = open_chat()
    chat.send("Mitä hienosäätö tarkoittaa ja miten se eroaa RAGista?")
    answer = chat.latest_answer()
    assert "Lähteet" in answer and "Sources" not in answer, answer
    assert {m.group(1) for m in SOURCE.finditer(answer)} == {"fi"}, answer
    assert re.search(r"[äö]", answer.split("Lähteet")[0])
    assert any("Käytetty työkalu" in title for title in chat.latest_tools())
    chat.screenshot("finnish-answer")


def test_a_near_tie_offers_follow_up_buttons_and_a_click_asks_one(open_chat: OpenChat):
    chat = open_chat()
    chat.send("What is fine-tuning?")
    answer = chat.latest_answer()
    assert "Several sections come close; you could also ask about:" in answer, answer
    buttons = chat.follow_ups()
    # The doc's overview is answered first; the definition comes close.
    expect(buttons).to_have_count(1)
    labels = [label.strip() for label in buttons.all_inner_texts()]
    assert labels == ["Fine-tuning in a nutshell"]
    assert all(label in answer for label in labels), "the answer names them too, for a reader without buttons"
    chat.screenshot("near-tie-follow-ups")

    chat.choose_follow_up("Fine-tuning in a nutshell")
    assert chat.latest_question() == "Fine-tuning in a nutshell"
    assert any("Used tool search_lesson" in title for title in chat.latest_tools())
    answer = chat.latest_answer()
    sources = answer.split("Sources", 1)[1]
    assert SOURCE.search(sources).group(0) == "en/01-what-is-fine-tuning.md#fine-tuning-definition", answer
    # That answer has a clear winner: no buttons under it, and the earlier ones are gone with the new turn.
    expect(buttons).to_have_count(0)
    chat.screenshot("follow-up-answered")


def test_finnish_browser_gets_finnish_labels(open_chat: OpenChat):
    english = open_chat()
    finnish = open_chat(locale="fi-FI")
    english_tabs = english.tab_names()
    assert "Chat" in english_tabs
    expected = [FINNISH_TABS[name] for name in english_tabs if name in FINNISH_TABS]
    assert finnish.tab_names() == expected
    assert "hienosäädöstä" in (finnish.textbox.get_attribute("placeholder") or "")
    # No untranslated i18n placeholders leak into the page.
    assert "i18n" not in finnish.page.locator("body").inner_text()
    finnish.screenshot("finnish-labels")


def test_each_browser_gets_its_own_learner_and_keeps_it(open_chat: OpenChat, app_server: AppServer):
    before = app_server.learner_ids()
    first = open_chat()
    first.send("What is LoRA?")
    after_first = app_server.learner_ids()
    second = open_chat()
    second.send("What is LoRA?")
    after_second = app_server.learner_ids()

    new_first, new_second = after_first - before, after_second - after_first
    assert len(new_first) == 1 and len(new_second) == 1, (before, after_first, after_second)
    assert new_first != new_second
    assert all(re.fullmatch(r"[0-9a-f]{16}", learner) for learner in new_first | new_second)
    assert "default" not in after_second - before
    # The id lives in the browser's storage: a reload keeps the same learner.
    assert first.page.evaluate(f"() => localStorage.getItem({STORAGE_KEY!r})")
    first.reload()
    first.send("What does LoRA change?")
    assert app_server.learner_ids() == after_second


def test_keyboard_alone_reaches_the_message_box_and_enter_sends(open_chat: OpenChat):
    chat = open_chat()
    chat.page.locator("body").click(position={"x": 5, "y": 5})
    for _ in range(40):
        chat.page.keyboard.press("Tab")
        if chat.page.evaluate("(selector) => document.activeElement === document.querySelector(selector)", CHAT_TEXTBOX):
            break
    else:
        pytest.fail("Tab never reached the message box")
    expected = chat.user_message_count() + 1
    chat.page.keyboard.type("How many training examples do I need?")
    chat.screenshot("keyboard-typed")
    chat.page.keyboard.press("Enter")
    chat.wait_for_reply(expected)
    assert "Sources" in chat.latest_answer()
    # After sending, the box is empty and ready for the next question.
    expect(chat.textbox).to_have_value("")
