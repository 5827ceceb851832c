"""A fake OpenAI API on loopback for tests and demos: files, fine-tuning jobs, chat completions, models.

- `FakeOpenAI` (server.py): start/stop or use as a context manager; `base_url`, `api_key`, `client()`
  (a real `openai.OpenAI` for it, no retries), `requests` (the request log, never any header),
  `phase_seconds`/`step_seconds`/`min_examples` (job speed and validation), `files`, `jobs`.
- Chat scripting (chat.py): `queue_replies(*replies)` first, then `responder(request_json)`, then an echo.
  A reply is text, or {"content": ..., "tool_calls": [{"name": ..., "arguments": {...}}]}.
- Errors: `fail_next(status, message, code=..., times=...)`; a wrong key gets 401 in OpenAI's error shape.
  Provider hiccups: `fail_next(..., method="GET", path=r"fine_tuning/jobs/", retry_after=1)` hits only matching
  requests (and sends Retry-After); `drop_next` resets the connection unanswered, `stall_next(seconds)` answers
  late; `clear_failures()` ends an outage. Each logged request has `at` (time.monotonic()).
- Fine-tuning (training.py): jobs advance with the clock to succeeded; < `min_examples` examples fail
  validation; a model name containing "fail" fails half-way; invalid JSONL uploads get a 400.
- Azure: `FakeOpenAI(azure=True)` answers Azure OpenAI's paths (`/openai/files`,
  `/openai/fine_tuning/jobs?api-version=...`) with the key in an `api-key` header; `endpoint` is the
  resource URL and `client()` an `openai.AzureOpenAI`.

Tests use the `fake_openai` fixture (or `fake_azure_openai`); demos run `python -m tests.fake_openai --port 8765`.
"""

from __future__ import annotations

from collections.abc import Iterator

from .server import FakeOpenAI
from .training import ApiError

__all__ = ["ApiError", "FakeOpenAI", "fake_azure_openai", "fake_openai"]

try:
    import pytest
except ImportError:  # the demo server runs without the dev extra
    pytest = None  # type: ignore[assignment]

if pytest is not None:

    @pytest.fixture
    def fake_openai() -> Iterator[FakeOpenAI]:
        """A started fake OpenAI server; `fake_openai.client()` is a real `openai.OpenAI` pointed at it."""
        with FakeOpenAI() as server:
            yield server

    @pytest.fixture
    def fake_azure_openai() -> Iterator[FakeOpenAI]:
        """A started fake Azure OpenAI resource; `client()` is a real `openai.AzureOpenAI` pointed at it."""
        with FakeOpenAI(azure=True, api_key="0123456789abcdef0123456789abcdef") as server:
            yield server
