"""The loopback fake OpenAI API behaves like the parts of the real one we use, seen through the real `openai` client."""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import openai
import pytest
from fake_openai import FakeOpenAI, fake_openai  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parent.parent
GOOD = {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}


def jsonl(*examples: object) -> bytes:
    return "".join((e if isinstance(e, str) else json.dumps(e)) + "\n" for e in examples).encode()


def upload(client: openai.OpenAI, data: bytes, name: str = "train.jsonl") -> str:
    return client.files.create(file=(name, data), purpose="fine-tune").id


def test_key_is_checked_with_openai_error_shape(fake_openai: FakeOpenAI) -> None:
    with pytest.raises(openai.AuthenticationError) as caught:
        fake_openai.client(api_key="sk-not-the-right-one-123").models.list()
    assert caught.value.status_code == 401
    assert set(caught.value.body) == {"message", "type", "param", "code"} and caught.value.code == "invalid_api_key"
    assert fake_openai.client().models.list().data  # the right key works
    assert "sk-not-the-right-one-123" not in repr(fake_openai.requests) and fake_openai.api_key not in repr(fake_openai.requests)


@pytest.mark.parametrize(
    ("name", "data", "problem"),
    [
        ("train.csv", jsonl(GOOD), "must be JSONL"),
        ("train.jsonl", b'{"messages": [\n', "Line 1: not valid JSON"),
        ("train.jsonl", jsonl(GOOD, [1, 2]), "Line 2: each line must be a JSON object"),
        ("train.jsonl", jsonl(GOOD, {"messages": [{"role": "user", "content": "Q"}]}), "Line 2: no assistant message"),
        ("train.jsonl", jsonl({"messages": [{"role": "robot", "content": "x"}, {"role": "assistant", "content": "y"}]}), "invalid role 'robot'"),
        ("train.jsonl", jsonl({"messages": [{"role": "assistant", "content": "y", "weight": 2}]}), "weight must be 0 or 1"),
        ("train.jsonl", jsonl({"messages": [{"role": "assistant", "content": "y", "mood": "happy"}]}), "unrecognized key 'mood'"),
        ("train.jsonl", b"\n\n", "no training examples"),
    ],
)
def test_upload_refuses_invalid_fine_tuning_data(fake_openai: FakeOpenAI, name: str, data: bytes, problem: str) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        upload(fake_openai.client(), data, name)
    assert problem in caught.value.body["message"] and caught.value.param == "file"


def test_upload_and_read_back(fake_openai: FakeOpenAI, course_dir: Path) -> None:
    data = (course_dir / "18-fine-tuning" / "python" / "openai" / "training-data.jsonl").read_bytes()
    client = fake_openai.client()
    created = client.files.create(file=("training-data.jsonl", data), purpose="fine-tune")
    assert created.purpose == "fine-tune" and created.bytes == len(data) and created.filename == "training-data.jsonl"
    assert client.files.content(created.id).read() == data
    assert fake_openai.files[created.id].examples == 10
    assert fake_openai.requests[0]["body"] == {"purpose": "fine-tune", "file": {"filename": "training-data.jsonl", "bytes": len(data)}}


def test_job_lifecycle_events_pagination_and_result_file(fake_openai: FakeOpenAI) -> None:
    fake_openai.phase_seconds, fake_openai.step_seconds = 0.05, 0
    client = fake_openai.client()
    training, validation = upload(client, jsonl(*[GOOD] * 12)), upload(client, jsonl(GOOD, GOOD), "valid.jsonl")
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=training, validation_file=validation,
                                         hyperparameters={"n_epochs": 2, "batch_size": 4}, suffix="demo")
    assert job.status == "validating_files" and job.hyperparameters.n_epochs == 2
    time.sleep(0.2)
    job = client.fine_tuning.jobs.retrieve(job.id)
    assert job.status == "succeeded" and job.fine_tuned_model == f"ft:gpt-4o-mini-2024-07-18:fake-org:demo:{job.id[-8:]}"

    first = client.fine_tuning.jobs.list_events(job.id, limit=3)
    assert first.has_more and len(first.data) == 3 and first.data[0].message == "The job has successfully completed."
    everything = list(client.fine_tuning.jobs.list_events(job.id, limit=3))  # the client follows the `after` cursor
    steps = [e.data["step"] for e in everything if e.type == "metrics"]
    assert steps == list(range(6, 0, -1))  # newest first; 12 examples / batch 4 x 2 epochs
    assert {"train_loss", "train_mean_token_accuracy", "total_steps"} <= set(everything[2].data)
    assert any("valid_loss" in e.data for e in everything if e.type == "metrics")

    csv_text = base64.b64decode(client.files.content(job.result_files[0]).read()).decode()
    assert csv_text.splitlines()[0].startswith("step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy")
    assert len(csv_text.splitlines()) == 7
    assert [j.id for j in client.fine_tuning.jobs.list()] == [job.id]
    assert job.fine_tuned_model in [m.id for m in client.models.list()]


def test_job_create_validates_request(fake_openai: FakeOpenAI) -> None:
    client = fake_openai.client()
    training = upload(client, jsonl(GOOD))
    with pytest.raises(openai.BadRequestError, match="not available for fine-tuning"):
        client.fine_tuning.jobs.create(model="gpt-2", training_file=training)
    with pytest.raises(openai.BadRequestError, match="no file with id"):
        client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file="file-missing")
    with pytest.raises(openai.BadRequestError) as caught:
        client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=training,
                                       method={"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 99}}})
    assert caught.value.param == "hyperparameters.n_epochs"


def test_cancel_only_while_unfinished(fake_openai: FakeOpenAI) -> None:
    fake_openai.step_seconds = 1.0
    client = fake_openai.client()
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=upload(client, jsonl(*[GOOD] * 10)))
    assert client.fine_tuning.jobs.cancel(job.id).status == "cancelled"
    with pytest.raises(openai.BadRequestError, match="cannot be cancelled"):
        client.fine_tuning.jobs.cancel(job.id)


def test_chat_default_queued_and_responder_replies(fake_openai: FakeOpenAI) -> None:
    client = fake_openai.client()
    ask = [{"role": "user", "content": "What is LoRA?"}]
    assert client.chat.completions.create(model="gpt-4o-mini", messages=ask).choices[0].message.content == "Fake gpt-4o-mini reply to: What is LoRA?"
    fake_openai.queue_replies("first", "second")
    fake_openai.responder = lambda request: f"responder saw {len(request['messages'])} message(s)"
    replies = [client.chat.completions.create(model="gpt-4o-mini", messages=ask).choices[0].message.content for _ in range(3)]
    assert replies == ["first", "second", "responder saw 1 message(s)"]


def test_chat_tool_calls_round_trip(fake_openai: FakeOpenAI) -> None:
    tools = [{"type": "function", "function": {"name": "search_lessons", "parameters": {"type": "object", "properties": {"query": {"type": "string"}}}}}]
    fake_openai.responder = lambda request: (
        {"tool_calls": [{"name": request["tools"][0]["function"]["name"], "arguments": {"query": "learning rate"}}]}
        if request["messages"][-1]["role"] == "user" else f"Tool said: {request['messages'][-1]['content']}"
    )
    client = fake_openai.client()
    messages = [{"role": "user", "content": "Find the lesson on learning rates"}]
    first = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=tools).choices[0]
    assert first.finish_reason == "tool_calls" and first.message.content is None
    call = first.message.tool_calls[0]
    assert call.function.name == "search_lessons" and json.loads(call.function.arguments) == {"query": "learning rate"}

    messages += [first.message.model_dump(exclude_none=True), {"role": "tool", "tool_call_id": call.id, "content": "lesson 18"}]
    second = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=tools).choices[0]
    assert second.finish_reason == "stop" and second.message.content == "Tool said: lesson 18"
    assert fake_openai.requests[-1]["body"]["messages"][-1]["tool_call_id"] == call.id


def test_chat_streaming_text_and_tool_calls(fake_openai: FakeOpenAI) -> None:
    client = fake_openai.client()
    fake_openai.queue_replies(
        "Low-rank adapters train   a few matrices.",
        {"content": "Let me look.", "tool_calls": [{"name": "start_job", "arguments": {"dataset": "elle", "epochs": 3}}]},
    )
    ask = [{"role": "user", "content": "hi"}]
    chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=ask, stream=True, stream_options={"include_usage": True}))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Low-rank adapters train   a few matrices."
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 3  # really streamed in pieces
    assert chunks[-2].choices[0].finish_reason == "stop" and chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0

    text, calls, finish = "", {}, None
    for chunk in client.chat.completions.create(model="gpt-4o-mini", messages=ask, stream=True):
        delta = chunk.choices[0].delta
        text += delta.content or ""
        for part in delta.tool_calls or []:
            call = calls.setdefault(part.index, {"id": part.id, "name": "", "arguments": ""})
            call["name"] += part.function.name or ""
            call["arguments"] += part.function.arguments or ""
        finish = chunk.choices[0].finish_reason or finish
    assert text == "Let me look." and finish == "tool_calls"
    assert calls[0]["name"] == "start_job" and calls[0]["id"].startswith("call-")
    assert json.loads(calls[0]["arguments"]) == {"dataset": "elle", "epochs": 3}


def test_fail_next_then_recovers(fake_openai: FakeOpenAI) -> None:
    fake_openai.fail_next(429, "Slow down.", type="requests", code="rate_limit_exceeded")
    client = fake_openai.client()
    with pytest.raises(openai.RateLimitError):
        client.models.list()
    assert client.models.list().data


def test_runs_as_a_module_for_demos(course_dir: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "tests.fake_openai", "--port", str(port), "--key", "sk-demo-key-123456"],
                              cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert f"http://127.0.0.1:{port}/v1" in server.stdout.readline()
        client = openai.OpenAI(api_key="sk-demo-key-123456", base_url=f"http://127.0.0.1:{port}/v1", max_retries=0, timeout=5)
        assert client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "ping"}]).choices[0].message.content
    finally:
        server.terminate()
        server.wait(timeout=10)
