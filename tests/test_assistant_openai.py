"""The agent on an OpenAI-compatible backend: native tool calls against the loopback server, real client."""

from __future__ import annotations

import json

from assistant.conversation import Agent
from core.llm import OpenAIBackend
from assistant.toolbox import default_toolbox


def _agent(settings, fake):
    return Agent(settings, OpenAIBackend(fake.api_key, "gpt-4o-mini", fake.base_url), default_toolbox())


def test_model_calls_search_lesson_then_answers_from_its_sections(lesson_settings, fake_openai):
    fake_openai.queue_replies(
        {"content": "", "tool_calls": [{"name": "search_lesson", "arguments": {"question": "What is LoRA?"}}]},
        "LoRA trains small low-rank matrices. (*LoRA*, `en/06-practical-notes.md#lora`)",
    )
    turns = list(_agent(lesson_settings, fake_openai).respond("What is LoRA?", [], "ann"))
    final = turns[-1]
    tool_steps = [m for m in final if m.tool]
    assert [m.tool.name for m in tool_steps] == ["search_lesson"]
    assert tool_steps[0].tool.ok and tool_steps[0].tool.output.data["covered"] is True
    assert any(not m.pending for m in final if m.tool)
    assert any(m.pending for turn in turns for m in turn if m.tool), "the tool step is shown as pending first"
    assert final[-1].tool is None and final[-1].content.startswith("LoRA trains small")

    chat_requests = [r for r in fake_openai.requests if r["path"].endswith("/chat/completions")]
    assert len(chat_requests) == 2
    first, second = chat_requests[0]["body"], chat_requests[1]["body"]
    assert {t["function"]["name"] for t in first["tools"]} >= {"search_lesson"}
    assert "search_lesson" in first["messages"][0]["content"], "the system prompt tells the model to use the lesson"
    tool_message = second["messages"][-1]
    assert tool_message["role"] == "tool"
    sections = json.loads(tool_message["content"])["sections"]
    assert any(s["source"].endswith("#lora") for s in sections)


def test_backend_errors_are_shown_without_the_key(lesson_settings, fake_openai):
    fake_openai.fail_next(401, f"Incorrect API key provided: {fake_openai.api_key}", type="invalid_request_error", code="invalid_api_key")
    final = list(_agent(lesson_settings, fake_openai).respond("What is LoRA?", [], "ann"))[-1]
    assert "API key" in final[-1].content
    assert fake_openai.api_key not in final[-1].content


def test_finnish_question_gets_finnish_system_prompt(lesson_settings, fake_openai):
    fake_openai.queue_replies("Hienosäätö on ...")
    list(_agent(lesson_settings, fake_openai).respond("Mitä hienosäätö tarkoittaa?", [], "ann"))
    body = [r for r in fake_openai.requests if r["path"].endswith("/chat/completions")][0]["body"]
    assert "Vastaa suomeksi" in body["messages"][0]["content"]
