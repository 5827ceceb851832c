"""The fake's HTTP side: `FakeOpenAI` holds the state, routes requests and serves them on loopback.

A real `ThreadingHTTPServer` on a background thread, so the real `openai` client is exercised end to end
(multipart uploads, cursor pagination, SSE streaming, error mapping). Every request is checked for
`Authorization: Bearer <api_key>` and logged in `requests` without its headers.

`FakeOpenAI(azure=True)` speaks Azure OpenAI's dialect instead, for the SDK's `AzureOpenAI` client:
the same resources under `/openai/...` (no `/v1`), every request carrying `?api-version=` (one of
`api_versions`) and the key in an `api-key` header. `endpoint` is then the resource URL to give as
`azure_endpoint`.
"""

from __future__ import annotations

import json
import re
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import chat
from .training import FINE_TUNABLE, ORG, ApiError, Job, StoredFile, check_training_jsonl, new_id, resolve_hyperparameters

PURPOSES = {"fine-tune", "assistants", "batch", "vision", "user_data", "evals"}
# Azure OpenAI API versions this fake answers (GA and preview versions with fine-tuning).
AZURE_API_VERSIONS = ("2024-10-21", "2025-04-01-preview")


class ConnectionDropped(Exception):
    """Raised by `respond` for a scripted drop: the handler resets the connection without a reply."""


@dataclass
class _Hiccup:
    """One scripted failure: an API error, a reset connection ("drop") or a reply held back `seconds` ("stall").

    It hits the first request whose method is `method` and whose path (as sent, Azure's too) matches
    the regex `path`; either left None matches any. Requests it does not match are served normally.
    """

    action: str
    error: ApiError | None = None
    seconds: float = 0.0
    method: str | None = None
    path: str | None = None

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (self.path is None or re.search(self.path, path) is not None)


class FakeOpenAI:
    """The server's state and behaviour; `start()` serves it on `host` (port 0 = an ephemeral port)."""

    def __init__(self, *, api_key: str = "sk-fake-test-0123456789abcdef", host: str = "127.0.0.1", port: int = 0,
                 phase_seconds: float = 0.05, step_seconds: float = 0.01, min_examples: int = 10, azure: bool = False):
        self.api_key, self.host, self.port = api_key, host, port
        self.azure = azure
        # Read when a job is created, so a test may change them before submitting.
        self.phase_seconds, self.step_seconds, self.min_examples = phase_seconds, step_seconds, min_examples
        self.responder: Callable[[dict[str, Any]], chat.Reply | None] | None = None
        self.requests: list[dict[str, Any]] = []
        self.files: dict[str, StoredFile] = {}
        self.jobs: dict[str, Job] = {}
        self._replies: list[chat.Reply] = []
        self._failures: list[_Hiccup] = []
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle ----
    def start(self) -> FakeOpenAI:
        self._server = ThreadingHTTPServer((self.host, self.port), _Handler)
        self._server.daemon_threads = True
        self._server.fake = self  # type: ignore[attr-defined]
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    @property
    def endpoint(self) -> str:
        """The Azure resource URL (`AZURE_OPENAI_ENDPOINT`); the client adds `/openai`."""
        return f"http://{self.host}:{self.port}"

    def client(self, api_key: str | None = None, **options: Any) -> Any:
        """An `openai.OpenAI` (or, for an Azure fake, `openai.AzureOpenAI`) for this server; no retries by default."""
        import openai

        options.setdefault("max_retries", 0)
        options.setdefault("timeout", 10.0)
        if self.azure:
            options.setdefault("api_version", AZURE_API_VERSIONS[0])
            return openai.AzureOpenAI(api_key=api_key or self.api_key, azure_endpoint=self.endpoint, **options)
        return openai.OpenAI(api_key=api_key or self.api_key, base_url=self.base_url, **options)

    # ---- scripting ----
    def queue_replies(self, *replies: chat.Reply) -> None:
        """Chat replies served in order before `responder` is asked."""
        with self._lock:
            self._replies.extend(replies)

    def fail_next(self, status: int, message: str, *, type: str = "server_error", code: str | None = None, times: int = 1,
                  method: str | None = None, path: str | None = None, retry_after: float | None = None) -> None:
        """The next `times` requests (after the key check) get this error; only those with `method` and a path
        matching the regex `path`, when given. `retry_after` adds a Retry-After header (seconds)."""
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
        self._script(_Hiccup("error", ApiError(status, message, type=type, code=code, headers=headers), method=method, path=path), times)

    def drop_next(self, *, times: int = 1, method: str | None = None, path: str | None = None) -> None:
        """The next `times` matching requests get no reply: the connection is reset (a proxy or the network gave out)."""
        self._script(_Hiccup("drop", method=method, path=path), times)

    def stall_next(self, seconds: float, *, times: int = 1, method: str | None = None, path: str | None = None) -> None:
        """The next `times` matching requests are answered only after `seconds` (past a client's timeout)."""
        self._script(_Hiccup("stall", seconds=seconds, method=method, path=path), times)

    def clear_failures(self) -> None:
        """Forget every scripted failure not yet served (the provider is back)."""
        with self._lock:
            self._failures.clear()

    def _script(self, hiccup: _Hiccup, times: int) -> None:
        with self._lock:
            self._failures.extend(hiccup for _ in range(times))

    def _next_hiccup(self, method: str, path: str) -> _Hiccup | None:
        with self._lock:
            for index, hiccup in enumerate(self._failures):
                if hiccup.matches(method, path):
                    return self._failures.pop(index)
        return None

    # ---- requests ----
    def handle(self, method: str, path: str, query: dict[str, str], authorization: str | None, content_type: str, raw: bytes,
               api_key: str | None = None) -> tuple[int, Any]:
        """Answer one request: (status, JSON-able body | bytes | iterator of SSE payloads).

        `authorization` is the Authorization header, `api_key` the api-key header (Azure's)."""
        status, payload, _ = self.respond(method, path, query, authorization, content_type, raw, api_key)
        return status, payload

    def respond(self, method: str, path: str, query: dict[str, str], authorization: str | None, content_type: str, raw: bytes,
                api_key: str | None = None) -> tuple[int, Any, dict[str, str]]:
        """`handle`'s answer plus the extra headers to send; raises ConnectionDropped for a scripted drop."""
        try:
            body = _parse_body(content_type, raw)
            with self._lock:
                self.requests.append({"method": method, "path": path, "query": query, "body": _loggable(body), "at": time.monotonic()})
            sent_path = path
            if self.azure:
                self._check_azure_key(api_key)
                path = self._azure_path(path, query)
            else:
                self._check_key(authorization)
            hiccup = self._next_hiccup(method, sent_path)
            if hiccup is not None and hiccup.action == "drop":
                raise ConnectionDropped()
            if hiccup is not None and hiccup.action == "stall":
                time.sleep(hiccup.seconds)
            elif hiccup is not None and hiccup.error is not None:
                raise hiccup.error
            return 200, self._route(method, path, query, body), {}
        except ApiError as error:
            return error.status, error.body(), error.headers

    def _check_azure_key(self, key: str | None) -> None:
        if not key:
            raise ApiError(401, "Access denied due to missing subscription key. Send the key in the 'api-key' header.", code="401")
        if key != self.api_key:
            # As harsh as the OpenAI fake: the key comes back whole, so callers' redaction is tested.
            raise ApiError(401, f"Access denied due to invalid subscription key {key} or wrong API endpoint.", code="401")

    def _azure_path(self, path: str, query: dict[str, str]) -> str:
        """Azure's `/openai/...?api-version=` as the OpenAI route it stands for."""
        version = query.get("api-version")
        if version is None:
            raise ApiError(404, "Resource not found (no api-version query parameter).", code="404")
        if version not in AZURE_API_VERSIONS:
            raise ApiError(400, f"Unsupported api-version {version!r}; use one of {', '.join(AZURE_API_VERSIONS)}.", code="BadRequest")
        if not path.startswith("/openai/"):
            raise ApiError(404, "Resource not found.", code="404")
        return "/v1/" + path[len("/openai/"):]

    def _check_key(self, authorization: str | None) -> None:
        if not authorization or not authorization.startswith("Bearer "):
            raise ApiError(401, "No API key was sent; pass it as 'Authorization: Bearer <key>'.", code="invalid_api_key")
        key = authorization[len("Bearer "):]
        if key != self.api_key:
            # Harsher than the real service, which masks the middle: the key comes back whole, so callers' redaction is tested.
            raise ApiError(401, f"Incorrect API key provided: {key}. Check the key you configured.", code="invalid_api_key")

    def _route(self, method: str, path: str, query: dict[str, str], body: Any) -> Any:
        routes: list[tuple[str, str, Callable[..., Any]]] = [
            ("POST", r"/v1/files", lambda: self._create_file(body)),
            ("GET", r"/v1/files/([\w-]+)/content", lambda file_id: self._file(file_id).data),
            ("GET", r"/v1/files/([\w-]+)", lambda file_id: self._file(file_id).as_json()),
            ("POST", r"/v1/fine_tuning/jobs", lambda: self._create_job(body or {})),
            ("GET", r"/v1/fine_tuning/jobs", lambda: _page([job.as_json() for job in self._advanced_jobs()][::-1], query)),
            ("GET", r"/v1/fine_tuning/jobs/([\w-]+)", lambda job_id: self._job(job_id).as_json()),
            ("GET", r"/v1/fine_tuning/jobs/([\w-]+)/events", lambda job_id: _page(self._job(job_id).events[::-1], query)),
            ("POST", r"/v1/fine_tuning/jobs/([\w-]+)/cancel", lambda job_id: self._cancel(job_id)),
            ("POST", r"/v1/chat/completions", lambda: self._chat(body or {})),
            ("GET", r"/v1/models", lambda: {"object": "list", "data": [_model(m) for m in self._model_ids()]}),
            ("GET", r"/v1/models/(.+)", lambda model_id: _model(self._known_model(model_id))),
        ]
        for verb, pattern, action in routes:
            match = re.fullmatch(pattern, path)
            if match and verb == method:
                return action(*match.groups())
        raise ApiError(404, f"Unknown endpoint {method} {path}.", code="unknown_url")

    def _create_file(self, form: Any) -> dict[str, Any]:
        if not isinstance(form, dict) or not isinstance(form.get("file"), tuple):
            raise ApiError(400, "Send the file as multipart form data with a 'file' part.", param="file")
        filename, data = form["file"]
        purpose = form.get("purpose")
        if purpose not in PURPOSES:
            raise ApiError(400, f"Unknown purpose {purpose!r}.", param="purpose")
        stored = StoredFile(new_id("file"), filename or "upload", purpose, data)
        if purpose == "fine-tune":
            stored.examples, stored.tokens = check_training_jsonl(filename or "", data)
        with self._lock:
            self.files[stored.id] = stored
        return stored.as_json()

    def _file(self, file_id: str) -> StoredFile:
        with self._lock:
            if file_id not in self.files:
                raise ApiError(404, f"No such file: {file_id}.", param="file_id", code="file_not_found")
            return self.files[file_id]

    def _create_job(self, body: dict[str, Any]) -> dict[str, Any]:
        model = str(body.get("model") or "")
        if not (model in FINE_TUNABLE or model in FINE_TUNABLE.values() or model.startswith("ft:") or "fail" in model):
            raise ApiError(400, f"Model {model!r} is not available for fine-tuning or does not exist.", param="model", code="model_not_available")
        training = self._fine_tune_file(body.get("training_file"), "training_file")
        validation = self._fine_tune_file(body["validation_file"], "validation_file") if body.get("validation_file") else None
        suffix = body.get("suffix")
        if suffix is not None and (not isinstance(suffix, str) or len(suffix) > 64):
            raise ApiError(400, "suffix must be a string of at most 64 characters.", param="suffix")
        method = body.get("method") or {}
        requested = (method.get("supervised") or {}).get("hyperparameters") or body.get("hyperparameters") or {}
        job = Job(new_id("ftjob"), FINE_TUNABLE.get(model, model), training, validation, suffix,
                  resolve_hyperparameters(requested, training.examples), self.phase_seconds, self.step_seconds, self.min_examples)
        with self._lock:
            self.jobs[job.id] = job
        return job.as_json()

    def _fine_tune_file(self, file_id: Any, param: str) -> StoredFile:
        with self._lock:
            stored = self.files.get(str(file_id))
        if stored is None:
            raise ApiError(400, f"invalid {param}: no file with id {file_id!r}.", param=param, code=f"invalid_{param}")
        if stored.purpose != "fine-tune":
            raise ApiError(400, f"{param} {stored.id} was uploaded with purpose {stored.purpose!r}, not 'fine-tune'.", param=param)
        return stored

    def _job(self, job_id: str) -> Job:
        """The job, advanced to now (the clock drives it; no background thread needed)."""
        with self._lock:
            job = self.jobs.get(job_id)
            if job is None:
                raise ApiError(404, f"Could not find fine-tuning job {job_id}.", param="fine_tuning_job_id", code="fine_tune_not_found")
            result = job.advance()
            if result is not None:
                self.files[result.id] = result
            return job

    def _advanced_jobs(self) -> list[Job]:
        with self._lock:
            return [self._job(job_id) for job_id in list(self.jobs)]

    def _cancel(self, job_id: str) -> dict[str, Any]:
        with self._lock:
            job = self._job(job_id)
            job.cancel()
            return job.as_json()

    def _model_ids(self) -> list[str]:
        tuned = [job.fine_tuned_model for job in self._advanced_jobs() if job.fine_tuned_model]
        return sorted(set(FINE_TUNABLE.values())) + ["gpt-4o-mini", "text-embedding-3-small"] + tuned

    def _known_model(self, model: str) -> str:
        if model.startswith("ft:") and model not in self._model_ids():
            raise ApiError(404, f"The model `{model}` does not exist or you do not have access to it.", param="model", code="model_not_found")
        return model

    def _chat(self, body: dict[str, Any]) -> Any:
        chat.check_request(body)
        self._known_model(body["model"])
        with self._lock:
            reply = self._replies.pop(0) if self._replies else None
        if reply is None and self.responder is not None:
            reply = self.responder(body)
        return chat.completion(body, chat.default_reply(body) if reply is None else reply)


def _parse_body(content_type: str, raw: bytes) -> Any:
    if content_type.startswith("multipart/form-data"):
        message = BytesParser(policy=policy.HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw)
        form: dict[str, Any] = {}
        for part in message.iter_parts():
            payload = part.get_payload(decode=True) or b""
            name = part.get_param("name", header="content-disposition")
            form[name] = (part.get_filename(), payload) if part.get_filename() else payload.decode()
        return form
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise ApiError(400, "The request body is not valid JSON.") from None


def _loggable(body: Any) -> Any:
    """Request bodies as logged: uploads shrink to their name and size."""
    if isinstance(body, dict):
        return {k: ({"filename": v[0], "bytes": len(v[1])} if isinstance(v, tuple) else v) for k, v in body.items()}
    return body


def _page(items: list[dict[str, Any]], query: dict[str, str]) -> dict[str, Any]:
    """Cursor pagination as the API does it: newest first; `after` is the last id of the previous page."""
    if "after" in query:
        ids = [item["id"] for item in items]
        items = items[ids.index(query["after"]) + 1:] if query["after"] in ids else []
    limit = int(query.get("limit", 20))
    return {"object": "list", "data": items[:limit], "has_more": len(items) > limit}


def _model(model_id: str) -> dict[str, Any]:
    return {"object": "model", "id": model_id, "created": 1700000000, "owned_by": ORG if model_id.startswith("ft:") else "system"}


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.0: one request per connection, so a stopped server refuses the next call instead of a pooled socket answering it.
    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        fake: FakeOpenAI = self.server.fake  # type: ignore[attr-defined]
        try:
            status, payload, headers = fake.respond(method, url.path, query, self.headers.get("Authorization"),
                                                    self.headers.get("Content-Type", ""), raw, api_key=self.headers.get("api-key"))
        except ConnectionDropped:
            self._reset()
            return
        try:
            self._reply(status, payload, headers)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test); nobody is listening

    def _reset(self) -> None:
        """Close the connection with a TCP reset (SO_LINGER 0) and no reply, as a dying proxy does."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def _reply(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if isinstance(payload, Iterator):
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for data in payload:
                self.wfile.write(f"data: {data}\n\n".encode())
                self.wfile.flush()
            return
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_header("Content-Type", "application/octet-stream" if isinstance(payload, bytes) else "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the request log is `FakeOpenAI.requests`; stderr stays quiet in tests
