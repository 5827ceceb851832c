"""Provider hiccups while following a hosted job: when to poll again, and what the job record says meanwhile.

A hosted job runs on the provider's side whatever happens to our connection to it, so a poll that
fails transiently (no answer, a timeout, 408/409/429 or a 5xx: `core.openai_api.is_transient`) is
retried after a doubling wait, or after the provider's Retry-After, for as long as it takes. The job
stays `running` meanwhile, and its summary's `last_error` (`retry_note`) says what went wrong, when,
and when the next try is; once a poll succeeds again the note stays, marked `retrying: false`
(`recovered_note`). Only the provider's own verdict (failed, cancelled) or an error that waiting
cannot fix (a rejected key, a job that no longer exists) ends the job.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from core.openai_api import OpenAIAPIError, redact
from core.texts import text

# Exponents above this would only overflow: the wait is long capped by then.
_MAX_DOUBLINGS = 30


@dataclass(frozen=True)
class RetryPolicy:
    """Waits between failed polls: `first_s`, doubling each time, never above `max_s`."""

    first_s: float = 2.0
    max_s: float = 60.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before the next poll after failure number `attempt` (1 = the first).

        The provider's Retry-After wins when it asks for longer than `first_s` (waiting less would only
        earn another 429), but the cap holds: a provider that asks for an hour is asked again after `max_s`.
        """
        backoff = self.first_s * 2.0 ** min(max(attempt - 1, 0), _MAX_DOUBLINGS)
        wanted = max(retry_after, self.first_s) if retry_after is not None else backoff
        return min(wanted, self.max_s)


def retry_note(error: OpenAIAPIError | Exception, attempt: int, wait_s: float, secrets: list[str], now: float | None = None) -> dict[str, Any]:
    """The summary's `last_error` while polls fail: when, the status (None: no answer), the redacted message, the next try.

    `error`: an `OpenAIAPIError`, or any error with the same `status` (the Hugging Face runner's `HubAPIError`)."""
    return {
        "at": _iso(now), "status": getattr(error, "status", None), "message": redact(str(error), secrets),
        "attempt": attempt, "retry_in_s": round(wait_s, 2), "retrying": True,
    }


def recovered_note(note: dict[str, Any], now: float | None = None) -> dict[str, Any]:
    """The same note once a poll got through again: kept for the record, no longer `retrying`."""
    return {**note, "retrying": False, "recovered_at": _iso(now)}


def describe_retrying(summary: dict[str, Any] | None, backend: str, lang: str) -> str | None:
    """"OpenAI returned 503 at 14:03 UTC, retrying in 8 s" in the learner's language; None unless polls are failing now."""
    note = (summary or {}).get("last_error")
    if not isinstance(note, dict) or not note.get("retrying"):
        return None
    provider = "Hugging Face" if (summary or {}).get("hub_repo") else "Azure OpenAI" if backend == "azure" else "OpenAI"
    values = {"provider": provider, "status": note.get("status"), "time": _clock(note.get("at")),
              "seconds": f"{float(note.get('retry_in_s') or 0):.0f}", "attempt": note.get("attempt") or 1}
    return text(lang, "job.retrying" if note.get("status") else "job.retrying_no_answer", **values)


def _iso(now: float | None) -> str:
    moment = datetime.fromtimestamp(now, timezone.utc) if now is not None else datetime.now(timezone.utc)
    return moment.isoformat(timespec="seconds")


def _clock(iso: Any) -> str:
    """HH:MM UTC of an ISO time (the note's own text when it is not one)."""
    try:
        return datetime.fromisoformat(str(iso)).astimezone(timezone.utc).strftime("%H:%M UTC")
    except ValueError:
        return str(iso)
