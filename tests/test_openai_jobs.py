"""The OpenAI fine-tuning backend, driven through the real `openai` client against the loopback fake API."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fake_openai import FakeOpenAI, fake_openai  # noqa: F401  (fixture)

from core.settings import Settings
from core.openai_api import OpenAIAPIError, make_client, redact
from trainer.jobs.openai_backend import RemoteState, cancel, chat_with_model, poll, submit


@pytest.fixture(scope="module")
def course_files(course_dir: Path) -> tuple[Path, Path]:
    folder = course_dir / "18-fine-tuning" / "python" / "openai"
    return folder / "training-data.jsonl", folder / "validation-data.jsonl"


def poll_until(client, remote_id: str, done, timeout: float = 10.0) -> tuple[RemoteState, list[RemoteState]]:
    """Poll as the worker does, passing back the last event id; return the final state and every state seen."""
    states: list[RemoteState] = []
    after = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = poll(client, remote_id, after)
        states.append(state)
        after = state.last_event_id
        if done(state):
            return state, states
        time.sleep(0.02)
    raise AssertionError(f"job {remote_id} did not get there in {timeout}s; last status {states[-1].status}")


def test_job_runs_to_success_with_metrics_and_model(fake_openai: FakeOpenAI, course_files) -> None:
    train, valid = course_files
    client = fake_openai.client()
    remote_id = submit(client, model="gpt-4o-mini", train_path=train, validation_path=valid,
                       hyperparameters={"n_epochs": 2, "learning_rate_multiplier": None}, suffix="elle")

    final, states = poll_until(client, remote_id, lambda s: s.finished)

    assert final.status == "succeeded" and final.error is None
    assert final.fine_tuned_model == f"ft:gpt-4o-mini-2024-07-18:fake-org:elle:{remote_id[-8:]}"
    assert final.trained_tokens and final.trained_tokens > 0
    assert [s.status for s in states][0] == "queued" and "running" in [s.status for s in states]
    # Every step arrives exactly once across polls (10 examples x 2 epochs, batch 1), in order, in our metric names.
    metrics = [point for s in states for point in s.metrics]
    assert [p["step"] for p in metrics] == list(range(1, 21))
    assert metrics[-1]["epoch"] == 2.0 and metrics[-1]["train_loss"] < metrics[0]["train_loss"]
    assert 0 < metrics[-1]["train_accuracy"] <= 1
    assert any("eval_loss" in p for p in metrics)
    # The result file repeats the whole series once the job has succeeded.
    assert [p["step"] for p in final.result_metrics] == list(range(1, 21))
    assert final.result_metrics[-1]["train_loss"] == metrics[-1]["train_loss"]
    messages = [m for s in states for m in s.messages]
    assert any("validat" in m.lower() for m in messages) and any("completed" in m for m in messages)
    # Only the hyperparameters that were set reach the API, under the supervised method.
    create = next(r for r in fake_openai.requests if r["path"] == "/v1/fine_tuning/jobs" and r["method"] == "POST")
    assert create["body"]["method"] == {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 2}}}
    assert create["body"]["validation_file"] and create["body"]["suffix"] == "elle"

    reply = chat_with_model(client, final.fine_tuned_model, [{"role": "user", "content": "Tell me about Neon"}], max_tokens=50)
    assert "Tell me about Neon" in reply
    assert fake_openai.api_key not in repr(fake_openai.requests)


def test_poll_reads_events_across_pages(fake_openai: FakeOpenAI, course_files) -> None:
    fake_openai.phase_seconds = fake_openai.step_seconds = 0  # finishes at the first look: 120 steps, more than one page of events
    client = fake_openai.client()
    remote_id = submit(client, model="gpt-4o-mini-2024-07-18", train_path=course_files[0], hyperparameters={"n_epochs": 12})
    state = poll(client, remote_id)
    assert state.status == "succeeded"
    assert [p["step"] for p in state.metrics] == list(range(1, 121))
    assert not any("eval_loss" in p for p in state.metrics)  # no validation file, no validation loss
    again = poll(client, remote_id, state.last_event_id)
    assert again.metrics == [] and again.messages == [] and again.last_event_id == state.last_event_id


@pytest.mark.parametrize(
    ("model", "use_validation_as_training", "expected"),
    [
        ("gpt-4o-mini", True, "at least 10"),  # 5 examples: the API refuses the dataset while validating files
        ("gpt-4o-mini-fail", False, "loss became NaN"),  # the fake's scenario switch: fails half-way through training
    ],
)
def test_failed_job_reports_its_reason(fake_openai: FakeOpenAI, course_files, model, use_validation_as_training, expected) -> None:
    train = course_files[1] if use_validation_as_training else course_files[0]
    client = fake_openai.client()
    remote_id = submit(client, model=model, train_path=train, hyperparameters={"n_epochs": 1})
    final, states = poll_until(client, remote_id, lambda s: s.finished)
    assert final.status == "failed" and final.fine_tuned_model is None
    assert final.error and expected in final.error and "failed" in final.error
    assert any(m.startswith("error: ") for s in states for m in s.messages)


def test_cancel_while_running(fake_openai: FakeOpenAI, course_files) -> None:
    fake_openai.step_seconds = 0.5  # slow enough to be caught running
    client = fake_openai.client()
    remote_id = submit(client, model="gpt-4o-mini", train_path=course_files[0], hyperparameters={"n_epochs": 3, "batch_size": 1})
    running, states = poll_until(client, remote_id, lambda s: s.status == "running")

    cancelled = cancel(client, remote_id, running.last_event_id)

    assert cancelled.status == "cancelled" and cancelled.finished and cancelled.fine_tuned_model is None
    assert any("cancel" in m for m in cancelled.messages)
    assert poll(client, remote_id).status == "cancelled"
    with pytest.raises(OpenAIAPIError, match="cannot be cancelled"):
        cancel(client, remote_id)


def test_invalid_training_file_is_refused_clearly(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}\n'
        '{"messages": [{"role": "user", "content": "Only a question"}]}\n',
        encoding="utf-8",
    )
    with pytest.raises(OpenAIAPIError) as caught:
        submit(fake_openai.client(), model="gpt-4o-mini", train_path=bad)
    message = str(caught.value)
    assert "training data" in message and "Line 2" in message and "assistant" in message and "Fix the file" in message
    assert not any(r["path"] == "/v1/fine_tuning/jobs" for r in fake_openai.requests)


@pytest.mark.parametrize("wrong_key", ["sk-proj-wrongWRONGwrong1234567890", "plain-wrong-key-without-prefix-42"])
def test_wrong_key_gives_clear_error_without_the_key(fake_openai: FakeOpenAI, course_files, wrong_key: str) -> None:
    client = fake_openai.client(api_key=wrong_key)
    with pytest.raises(OpenAIAPIError) as caught:
        submit(client, model="gpt-4o-mini", train_path=course_files[0])
    message = str(caught.value)
    assert "401" in message and "OPENAI_API_KEY" in message
    assert wrong_key not in message and wrong_key[:12] not in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__  # the openai exception (and its request) is dropped


def test_unreachable_server_gives_connection_error(fake_openai: FakeOpenAI) -> None:
    client = fake_openai.client()
    fake_openai.stop()
    with pytest.raises(OpenAIAPIError, match=r"Could not reach the OpenAI API at http://127\.0\.0\.1:\d+\. Check the network"):
        poll(client, "ftjob-anything")


def test_slow_server_gives_timeout_error(fake_openai: FakeOpenAI) -> None:
    fake_openai.responder = lambda request: time.sleep(1.0)
    with pytest.raises(OpenAIAPIError, match="did not answer in time"):
        chat_with_model(fake_openai.client(timeout=0.3), "gpt-4o-mini", [{"role": "user", "content": "hi"}])


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (429, "rate_limit_exceeded", "Wait a minute"),
        (429, "insufficient_quota", "out of quota"),
        (500, None, "server error (500)"),
        (403, None, "may not do that"),
    ],
)
def test_api_errors_say_what_to_do(fake_openai: FakeOpenAI, status: int, code: str | None, expected: str) -> None:
    fake_openai.fail_next(status, f"simulated {status} for {fake_openai.api_key}", code=code)
    with pytest.raises(OpenAIAPIError) as caught:
        poll(fake_openai.client(), "ftjob-x")
    assert expected in str(caught.value) and fake_openai.api_key not in str(caught.value)


def test_unknown_job_and_model_are_explained(fake_openai: FakeOpenAI, course_files) -> None:
    client = fake_openai.client()
    with pytest.raises(OpenAIAPIError, match="Not found \\(404\\)"):
        poll(client, "ftjob-doesnotexist")
    with pytest.raises(OpenAIAPIError, match="cannot be fine-tuned"):
        submit(client, model="gpt-2", train_path=course_files[0])
    with pytest.raises(OpenAIAPIError, match="does not exist"):
        chat_with_model(client, "ft:gpt-4o-mini-2024-07-18:fake-org::nope", [{"role": "user", "content": "hi"}])


def test_bad_settings_fail_before_any_request(fake_openai: FakeOpenAI, course_files, tmp_path: Path) -> None:
    client = fake_openai.client()
    with pytest.raises(OpenAIAPIError, match="n_epochs=0 must be 'auto' or a whole number from 1 to 50"):
        submit(client, model="gpt-4o-mini", train_path=course_files[0], hyperparameters={"n_epochs": 0})
    with pytest.raises(OpenAIAPIError, match="unknown setting 'epochs'"):
        submit(client, model="gpt-4o-mini", train_path=course_files[0], hyperparameters={"epochs": 3})
    with pytest.raises(OpenAIAPIError, match="Cannot read the training file"):
        submit(client, model="gpt-4o-mini", train_path=tmp_path / "missing.jsonl")
    assert fake_openai.requests == []


def test_make_client_uses_settings(fake_openai: FakeOpenAI, settings: Settings) -> None:
    with pytest.raises(OpenAIAPIError, match="Set OPENAI_API_KEY"):
        make_client(settings)
    configured = Settings(**{**settings.model_dump(), "openai_api_key": fake_openai.api_key, "openai_base_url": fake_openai.base_url})
    client = make_client(configured, max_retries=0)
    assert "gpt-4o-mini-2024-07-18" in [m.id for m in client.models.list()]


def test_redact_removes_keys_and_tokens() -> None:
    text = "key my-custom-secret-value, other sk-abc123DEF456ghi, header Authorization: Bearer tok.en-123"
    cleaned = redact(text, ["my-custom-secret-value", None, ""])
    assert "my-custom-secret-value" not in cleaned and "sk-abc123DEF456ghi" not in cleaned and "tok.en-123" not in cleaned
    assert cleaned.startswith("key [redacted], other [redacted key]")
    assert redact("nothing secret here: scikit-learn, sk-1") == "nothing secret here: scikit-learn, sk-1"
