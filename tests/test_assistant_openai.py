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


def test_model_drafts_from_pasted_material_then_more_like_one_example(settings, fake_openai):
    """With a capable backend the model fills the drafts from the learner's material, then 'make 5 more like example 3'."""
    material = ("Q: Do you service kids' bikes?\nA: Yes, a kids' bike service is 35 euros.\n"
                "Q: Can I buy a gift card?\nA: Yes, in the shop, from 20 euros upwards.\n")
    written = [{"user": f"Question number {i} about gift cards?", "assistant": f"Gift card answer {i}."} for i in range(8)]
    more = [{"user": f"Another kids' service question {i}?", "assistant": f"Kids' service answer {i}, 35 euros."} for i in range(5)]
    fake_openai.queue_replies(
        {"content": "", "tool_calls": [{"name": "draft_examples",
                                        "arguments": {"topic": "a support bot for my bike shop", "material": material}}]},
        json.dumps(written),
        "Here are your drafts.",
        {"content": "", "tool_calls": [{"name": "draft_examples", "arguments": {"like": 2, "count": 5}}]},
        "```json\n" + json.dumps(more) + "\n```",
        "Five more, in the style of example 2.",
    )
    agent = _agent(settings, fake_openai)
    final = list(agent.respond("help me make examples for a support bot for my bike shop\n" + material, [], "ann"))[-1]
    step = next(m.tool for m in final if m.tool)
    assert step.ok, step.error
    drafts = step.output.data["drafts"]
    assert [d["messages"][1]["content"] for d in drafts[:2]] == ["Do you service kids' bikes?", "Can I buy a gift card?"]
    assert [d["messages"][1]["content"] for d in drafts[2:]] == [w["user"] for w in written], "the model filled the rest"
    assert step.output.data["source"] == "qa"
    writer_request = [r for r in fake_openai.requests if r["path"].endswith("/chat/completions")][1]["body"]
    assert "Can I buy a gift card?" in writer_request["messages"][1]["content"], "the model drafts from the material"

    final = list(agent.respond("make 5 more like example 2", [], "ann"))[-1]
    step = next(m.tool for m in final if m.tool)
    assert step.ok, step.error
    assert [d["messages"][1]["content"] for d in step.output.data["drafts"]] == [m["user"] for m in more]
    assert step.output.data["first_number"] == 11
    like_request = [r for r in fake_openai.requests if r["path"].endswith("/chat/completions")][4]["body"]
    assert "Can I buy a gift card?" in like_request["messages"][1]["content"], "example 2 is the model's model"
    assert final[-1].content == "Five more, in the style of example 2."
