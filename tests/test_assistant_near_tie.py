"""Honest uncertainty through the real agent: when the top lesson sections are close, the answer says so and
offers the others as follow-ups that, sent back as they are, get that section answered first."""

from __future__ import annotations

import json

import pytest

from assistant.conversation import Agent, AgentMessage
from assistant.toolbox import default_toolbox
from core.llm import OpenAIBackend, make_backend
from core.settings import Settings
from core.texts import text

# Broad questions whose top sections score within the near-tie margin; the follow-ups lead to the
# runner-ups, in that order.
NEAR_TIES = [
    # The doc's overview and the definition both answer it.
    ("What is fine-tuning?", "en", ["en/01-what-is-fine-tuning.md#fine-tuning-definition"]),
    # The best match is the limits-and-risks overview; the sections about costs come close, and say so.
    ("Mitä kustannuksia mallin hienosäätöön liittyy?", "fi",
     ["fi/06-practical-notes.md#cost-estimate", "fi/02-when-and-why.md#costs"]),
]


def ask(agent: Agent, message: str, learner: str, history: list | None = None) -> list[AgentMessage]:
    return list(agent.respond(message, history or [], learner))[-1]


def first_cited(turn: list[AgentMessage]) -> str:
    """The source the lesson tool cited first in a turn."""
    [step] = [m for m in turn if m.tool is not None]
    assert step.tool.name == "search_lesson" and step.tool.output is not None, step
    return step.tool.output.data["sections"][0]["source"]


def close_line(lang: str, options: list[str]) -> str:
    return text(lang, "answer.near_tie", options=", ".join(f"*{option}*" for option in options))


@pytest.mark.parametrize(("question", "lang", "offered"), NEAR_TIES)
def test_a_near_tie_says_so_and_each_follow_up_finds_its_section(lesson_settings: Settings, question: str, lang: str,
                                                                  offered: list[str]) -> None:
    agent = Agent(lesson_settings, make_backend(lesson_settings), default_toolbox())
    turn = ask(agent, question, "ann")
    answer = turn[-1]
    assert len(answer.options) == len(offered), answer
    assert close_line(lang, answer.options) in answer.content, answer.content
    assert text(lang, "answer.sources") in answer.content
    assert first_cited(turn) not in offered, "the section answered first is not offered again"

    # A plain-text /chat client reads the same line, and can type the follow-ups back.
    assert close_line(lang, answer.options) in agent.answer_text(question, "bob")

    history = [{"role": "user", "content": question}, {"role": "assistant", "content": answer.content}]
    for option, source in zip(answer.options, offered, strict=True):
        reply = ask(agent, option, "ann", history)
        assert first_cited(reply) == source, option
        # In the learner's language (a short follow-up keeps the conversation's), that section first in its Sources.
        label = f"**{text(lang, 'answer.sources')}**"
        assert label in reply[-1].content, reply[-1].content
        sources = reply[-1].content.split(label)[1].strip().splitlines()
        assert sources[0].startswith("1. ") and source in sources[0], sources


@pytest.mark.parametrize(("question", "lang"), [("What is a LoRA adapter?", "en"), ("Kuinka monta esimerkkiä tarvitsen?", "fi")])
def test_a_clear_winner_offers_nothing(lesson_settings: Settings, question: str, lang: str) -> None:
    agent = Agent(lesson_settings, make_backend(lesson_settings), default_toolbox())
    answer = ask(agent, question, "ann")[-1]
    assert answer.options == []
    assert text(lang, "answer.near_tie", options="").strip() not in answer.content
    assert text(lang, "answer.sources") in answer.content


def test_a_capable_model_gets_the_follow_ups_and_the_answer_carries_them(lesson_settings: Settings, fake_openai) -> None:
    question, lang, offered = NEAR_TIES[0]
    offline = ask(Agent(lesson_settings, make_backend(lesson_settings), default_toolbox()), question, "ann")[-1].options
    fake_openai.queue_replies(
        {"content": "", "tool_calls": [{"name": "search_lesson", "arguments": {"question": question}}]},
        "Fine-tuning is extra training of an existing model [1]. Other sections come close.",
    )
    backend = OpenAIBackend(fake_openai.api_key, "gpt-4o-mini", fake_openai.base_url)
    turn = ask(Agent(lesson_settings, backend, default_toolbox()), question, "bob")
    assert turn[-1].tool is None and turn[-1].content.startswith("Fine-tuning is extra training")
    assert turn[-1].options == offline

    [step] = [m for m in turn if m.tool is not None]
    assert step.options == [], "the options sit on the answer, not on the tool step"
    to_model = [r for r in fake_openai.requests if r["path"].endswith("/chat/completions")][-1]["body"]["messages"][-1]
    result = json.loads(to_model["content"])
    assert result["follow_ups"] == offline and "come close" in result["note"]
    assert [s["source"] for s in result["sections"]][1 : 1 + len(offered)] == offered
