"""LLM backends behind one small protocol: an OpenAI-compatible endpoint, or a local transformers model.

`stream()` yields text pieces as they arrive and, last, one `Completion` with the whole text and any
tool calls. Only the OpenAI-compatible backend does native tool calls; the local default model's
chat template has none, so the conversation routes by intent for it instead.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol

from core.openai_api import explain_api_error
from core.settings import Settings


@dataclass
class ToolCallRequest:
    id: str
    name: str
    arguments: str


@dataclass
class Completion:
    text: str
    tool_calls: list[ToolCallRequest] = field(default_factory=list)


class BackendError(RuntimeError):
    """The model could not answer; the message says why and what to do, with no secret in it."""


class ChatBackend(Protocol):
    name: str
    supports_tools: bool

    def stream(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> Iterator[str | Completion]: ...


def complete(backend: ChatBackend, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> Completion:
    """Run a streamed call to its end and return the Completion."""
    for item in backend.stream(messages, tools):
        if isinstance(item, Completion):
            return item
    raise BackendError(f"{backend.name} returned no completion")


class OpenAIBackend:
    """Any OpenAI-compatible chat endpoint: OpenAI, Azure OpenAI, the HF router, vLLM, Ollama."""

    supports_tools = True

    def __init__(self, api_key: str, model: str, base_url: str | None = None, timeout: float = 60.0):
        from openai import OpenAI

        self._client = OpenAI(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=1)
        self._secret = api_key
        self.model = model
        self.name = f"openai:{model}"

    def stream(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> Iterator[str | Completion]:
        import openai

        kwargs: dict[str, Any] = {"model": self.model, "messages": messages, "stream": True}
        if tools:
            kwargs["tools"] = tools
        text: list[str] = []
        calls: dict[int, dict[str, str]] = {}
        try:
            for chunk in self._client.chat.completions.create(**kwargs):
                if not chunk.choices:
                    continue
                delta = chunk.choices[0].delta
                if delta.content:
                    text.append(delta.content)
                    yield delta.content
                for call in delta.tool_calls or []:
                    slot = calls.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
                    slot["id"] = call.id or slot["id"]
                    if call.function:
                        slot["name"] += call.function.name or ""
                        slot["arguments"] += call.function.arguments or ""
        except openai.APIError as exc:
            raise BackendError(explain_api_error(exc, [self._secret])) from None
        requests = [ToolCallRequest(c["id"] or f"call_{i}", c["name"], c["arguments"]) for i, c in sorted(calls.items())]
        yield Completion("".join(text), requests)


class LocalBackend:
    """A local transformers chat model, loaded on first use and shared by all sessions of the process."""

    supports_tools = False

    def __init__(self, model_name: str, cache_dir: Path, max_new_tokens: int = 256):
        self.model_name = model_name
        self.cache_dir = cache_dir
        self.max_new_tokens = max_new_tokens
        self.name = f"local:{model_name}"
        self._loaded: tuple[Any, Any] | None = None
        # One generation at a time: the model is shared, and two at once on 2 cores only slows both.
        self._lock = threading.Lock()

    def _load(self) -> tuple[Any, Any]:
        if self._loaded is None:
            from core.device import zero_gpu_active
            from core.model_loading import detect_device, load_causal_lm

            # On ZeroGPU the app's process itself has no GPU (CUDA there is a stand-in until a
            # `spaces.GPU` call); the small chat model streams from the CPU instead.
            device = "cpu" if zero_gpu_active() else detect_device()
            model, tokenizer = load_causal_lm(self.model_name, self.cache_dir, device=device)
            model.eval()
            self._loaded = (model, tokenizer)
        return self._loaded

    def stream(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> Iterator[str | Completion]:
        from transformers import TextIteratorStreamer

        with self._lock:
            model, tokenizer = self._load()
            inputs = tokenizer.apply_chat_template(
                messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
            ).to(model.device)
            streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
            worker = threading.Thread(
                target=model.generate,
                kwargs={**inputs, "streamer": streamer, "max_new_tokens": self.max_new_tokens, "do_sample": False,
                        "pad_token_id": tokenizer.pad_token_id},
                daemon=True,
            )
            worker.start()
            text: list[str] = []
            for piece in streamer:
                text.append(piece)
                yield piece
            worker.join()
        yield Completion("".join(text).strip())


def make_backend(settings: Settings) -> ChatBackend:
    """The chat backend the settings ask for."""
    if settings.chat_backend == "openai":
        if settings.openai_api_key is None:
            raise BackendError("TUTOR_BACKEND=openai needs OPENAI_API_KEY (any value for a local server such as Ollama).")
        return OpenAIBackend(settings.openai_api_key.get_secret_value(), settings.chat_model, settings.openai_base_url)
    return LocalBackend(settings.local_model, settings.models_dir)


# Writes prose from a system and a user prompt (lesson answers, drafts, judge verdicts); None offline.
Writer = Callable[[str, str], str]


def writer_for_backend(backend: ChatBackend) -> Writer:
    """Wrap a chat backend as `writer(system_prompt, user_prompt) -> text`."""

    def write(system_prompt: str, user_prompt: str) -> str:
        messages = [{"role": "system", "content": system_prompt}, {"role": "user", "content": user_prompt}]
        return complete(backend, messages).text

    return write


def writer_from_settings(settings: Settings) -> Writer | None:
    """A writer when an OpenAI-compatible backend is configured; None means the caller answers without a model."""
    if settings.chat_backend != "openai":
        return None
    return writer_for_backend(make_backend(settings))
