"""OpenAI API helpers every part may use: the clients, secret redaction, and errors explained.

`make_client` gives an `openai.OpenAI` for OPENAI_API_KEY (and OPENAI_BASE_URL); `make_azure_client`
an `openai.AzureOpenAI` for AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY and OPENAI_API_VERSION (the
same client API over Azure's paths and its `api-key` header). Every text built from an API response
or error passes through `redact`, so a key never reaches logs, job records, errors or chat.
`explain_api_error` says what went wrong and what to do next, naming the provider's own variables;
`explained` raises it as `OpenAIAPIError`, marked `transient` (worth retrying: no answer, a timeout,
408/409/429 or a 5xx) with the status and any Retry-After the provider sent, so a caller that polls can
decide to wait and try again.
"""

from __future__ import annotations

import email.utils
import math
import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from pydantic import SecretStr

from core.settings import Settings

if TYPE_CHECKING:
    import openai
# `openai` is imported where it is used: half a second of every app start otherwise, on a path (the lesson
# answers, the offline chat) that never calls it.

_KEY_LIKE = re.compile(r"\b(?:sk|rk|sess)-[A-Za-z0-9_\-*]{6,}")
_BEARER = re.compile(r"(?i)\bbearer\s+[^\s,;\"'}]+")
_NO_KEY = "Set OPENAI_API_KEY to run OpenAI fine-tuning jobs (and OPENAI_BASE_URL for an OpenAI-compatible endpoint)."
_NO_AZURE = ("Azure OpenAI fine-tuning needs AZURE_OPENAI_ENDPOINT (https://YOUR-RESOURCE.openai.azure.com) and "
             "AZURE_OPENAI_API_KEY (the resource's Keys and Endpoint page); OPENAI_API_VERSION is optional.")
# A GA Azure OpenAI API version with files and fine-tuning jobs.
AZURE_DEFAULT_API_VERSION = "2024-10-21"


# Statuses the provider uses for "not now": request timeout, lock conflict, rate limit (5xx are added below).
_TRANSIENT_STATUSES = frozenset({408, 409, 429})


class OpenAIAPIError(RuntimeError):
    """An OpenAI call failed; the message is safe to show (no key) and says what to do next.

    `transient`: the same call may well succeed later (the provider did not answer, or answered
    408/409/429/5xx); `status` the HTTP status when there was one; `retry_after` the seconds the
    provider asked us to wait (Retry-After / retry-after-ms), if it said.
    """

    def __init__(self, message: str, *, transient: bool = False, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.transient, self.status, self.retry_after = transient, status, retry_after


def make_client(settings: Settings, *, timeout: float = 60.0, max_retries: int = 2) -> openai.OpenAI:
    """A client for the configured key and endpoint; OpenAIAPIError when no key is set."""
    import openai

    if settings.openai_api_key is None:
        raise OpenAIAPIError(_NO_KEY)
    return openai.OpenAI(
        api_key=settings.openai_api_key.get_secret_value(), base_url=settings.openai_base_url or None,
        timeout=timeout, max_retries=max_retries,
    )


def make_azure_client(settings: Settings, *, timeout: float = 60.0, max_retries: int = 2) -> openai.AzureOpenAI:
    """A client for the configured Azure OpenAI resource; OpenAIAPIError naming what is missing."""
    import openai

    if settings.azure_openai_api_key is None or not settings.azure_openai_endpoint:
        missing = [name for name, value in (("AZURE_OPENAI_ENDPOINT", settings.azure_openai_endpoint),
                                            ("AZURE_OPENAI_API_KEY", settings.azure_openai_api_key)) if not value]
        raise OpenAIAPIError(f"{' and '.join(missing)} not set. {_NO_AZURE}")
    return openai.AzureOpenAI(
        api_key=settings.azure_openai_api_key.get_secret_value(), azure_endpoint=settings.azure_openai_endpoint,
        api_version=settings.openai_api_version or AZURE_DEFAULT_API_VERSION, timeout=timeout, max_retries=max_retries,
    )


def configured_secrets(settings: Settings) -> list[str]:
    """Every key the settings hold, for redacting texts that did not come through a client."""
    keys = (settings.openai_api_key, settings.azure_openai_api_key, settings.hf_token)
    return [key.get_secret_value() for key in keys if key is not None]


def redact(text: str, secrets: Iterable[str | SecretStr | None] = ()) -> str:
    """`text` without the given secrets, anything shaped like an API key, or bearer tokens."""
    values = [s.get_secret_value() if isinstance(s, SecretStr) else s for s in secrets]
    for secret in sorted((v for v in values if v and len(v) >= 4), key=len, reverse=True):
        text = text.replace(secret, "[redacted]")
    text = _KEY_LIKE.sub("[redacted key]", text)
    return _BEARER.sub("Bearer [redacted]", text)


def explain_api_error(exc: BaseException, secrets: Iterable[str | SecretStr | None] = (), *, azure: bool = False) -> str:
    """A one- or two-line explanation of a failed API call with the next step; never contains the key.

    `azure`: the call went to Azure OpenAI, so the advice names its variables.
    """
    import openai

    detail = _detail(exc)
    said = f" The API said: {detail}" if detail else ""
    api = "Azure OpenAI API" if azure else "OpenAI API"
    if isinstance(exc, openai.APITimeoutError):
        text = f"The {api} at {_host(exc)} did not answer in time. Check the network and try again; a job already created keeps running remotely."
    elif isinstance(exc, openai.APIConnectionError):
        where = "AZURE_OPENAI_ENDPOINT" if azure else "OPENAI_BASE_URL"
        text = f"Could not reach the {api} at {_host(exc)}. Check the network connection and {where}, then try again."
    elif isinstance(exc, openai.AuthenticationError) and azure:
        text = (f"Azure OpenAI rejected the key (401).{said}\nSet AZURE_OPENAI_API_KEY to a key of the resource named in "
                "AZURE_OPENAI_ENDPOINT (Azure portal: the resource's Keys and Endpoint page) and restart.")
    elif isinstance(exc, openai.AuthenticationError):
        text = f"OpenAI rejected the API key (401).{said}\nSet OPENAI_API_KEY to a current key from https://platform.openai.com/api-keys and restart."
    elif isinstance(exc, openai.NotFoundError) and azure:
        text = (f"Not found on Azure OpenAI (404).{said}\nCheck AZURE_OPENAI_ENDPOINT, OPENAI_API_VERSION (one with fine-tuning, "
                f"such as {AZURE_DEFAULT_API_VERSION}) and the job or file id.")
    elif isinstance(exc, openai.PermissionDeniedError):
        text = f"This API key may not do that (403).{said}\nCheck the key's project permissions and model access, or use another key."
    elif isinstance(exc, openai.NotFoundError):
        text = f"Not found (404).{said}\nCheck the job, file or model id; fine-tuned models are visible only to the organization that trained them."
    elif isinstance(exc, openai.RateLimitError):
        if getattr(exc, "code", None) == "insufficient_quota" or "quota" in detail.lower():
            text = f"The OpenAI account is out of quota (429).{said}\nAdd credit or raise the limit in the billing settings, then submit again."
        else:
            text = f"Rate limited by OpenAI (429).{said}\nWait a minute and try again."
    elif isinstance(exc, openai.BadRequestError):
        text = _explain_bad_request(exc, said)
    elif isinstance(exc, openai.InternalServerError):
        where = "https://azure.status.microsoft" if azure else "https://status.openai.com"
        text = f"{'Azure OpenAI' if azure else 'OpenAI'} had a server error ({exc.status_code}).{said}\nWait a few minutes and try again (status: {where})."
    elif isinstance(exc, openai.APIStatusError):
        text = f"The OpenAI API refused the request ({exc.status_code}).{said}"
    elif isinstance(exc, openai.OpenAIError):
        text = f"OpenAI client error: {exc}. {_NO_KEY if 'api_key' in str(exc) else ''}".strip()
    else:
        text = f"{type(exc).__name__}: {exc}"
    return redact(text, [*secrets, _request_key(exc)])


def _explain_bad_request(exc: openai.BadRequestError, said: str) -> str:
    code, param = getattr(exc, "code", None) or "", getattr(exc, "param", None) or ""
    lowered = said.lower()
    if code == "model_not_available" or "not available for fine-tuning" in lowered or param == "model":
        return f"That model cannot be fine-tuned with this key (400).{said}\nPick a model the fine-tuning guide lists, such as gpt-4.1-mini-2025-04-14 or gpt-4.1-nano-2025-04-14 (on Azure: one your region offers for fine-tuning)."
    if param in {"file", "training_file", "validation_file"} or "file" in code:
        return f"OpenAI rejected the training data (400).{said}\nFix the file (the dataset validator lists each problem) and submit again."
    if param.startswith("hyperparameters") or param == "suffix":
        return f"OpenAI rejected the setting {param!r} (400).{said}\nChange that setting and submit again."
    return f"OpenAI rejected the request (400).{said}\nFix what it names and try again."


def _detail(exc: BaseException) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        message = body.get("message")
        return str(message).strip() if message else ""
    if isinstance(body, str):
        return body.strip()[:300]
    return ""


def _host(exc: BaseException) -> str:
    # Scheme, host and port only: query strings (Azure's api-version, some proxies' keys) stay out of messages.
    try:
        url = exc.request.url  # type: ignore[attr-defined]
        return f"{url.scheme}://{url.netloc.decode() if isinstance(url.netloc, bytes) else url.netloc}"
    except Exception:
        return "the configured endpoint"


def _request_key(exc: BaseException) -> str | None:
    try:
        headers = exc.request.headers  # type: ignore[attr-defined]
        header, azure_key = headers.get("Authorization", ""), headers.get("api-key")
    except Exception:
        return None
    if azure_key:
        return azure_key
    return header.split(" ", 1)[1] if header.lower().startswith("bearer ") else None


def is_transient(exc: BaseException) -> bool:
    """Is this failure worth retrying: no answer (connection, timeout), or 408, 409, 429 or a 5xx?"""
    import openai

    if isinstance(exc, openai.APIConnectionError):  # APITimeoutError is one too
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in _TRANSIENT_STATUSES or exc.status_code >= 500
    return False


def retry_after_seconds(exc: BaseException, now: float | None = None) -> float | None:
    """The wait the provider asked for in its reply's headers (retry-after-ms, Retry-After seconds or date)."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    for header, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        try:
            value = float(headers.get(header, ""))
        except (TypeError, ValueError):
            continue
        if math.isfinite(value) and value >= 0:
            return value / divisor
    parsed = email.utils.parsedate_tz(headers.get("retry-after") or "")
    if parsed is None:
        return None
    return max(0.0, email.utils.mktime_tz(parsed) - (time.time() if now is None else now))


def secrets_of(client: openai.OpenAI) -> list[str]:
    key = getattr(client, "api_key", None)
    return [key] if isinstance(key, str) else []


@contextmanager
def explained(client: openai.OpenAI) -> Iterator[None]:
    """Turn any openai exception into OpenAIAPIError; `from None` keeps the original (and its request) out of tracebacks."""
    import openai

    try:
        yield
    except openai.OpenAIError as exc:
        azure = isinstance(client, openai.AzureOpenAI)
        status = exc.status_code if isinstance(exc, openai.APIStatusError) else None
        raise OpenAIAPIError(explain_api_error(exc, secrets_of(client), azure=azure), transient=is_transient(exc), status=status,
                             retry_after=retry_after_seconds(exc)) from None
