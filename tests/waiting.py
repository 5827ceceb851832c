"""What the job tests share: polling until something holds, and the smallest real training config."""

from __future__ import annotations

import time
from typing import Any, Callable

# Small and fast: one packed block of at most 128 tokens per step.
TINY = {"max_seq_length": 128, "batch_size": 1, "learning_rate": 1e-3}


def wait_for(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    """`check()`'s first truthy value, polled every `interval` s; fails the test after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
