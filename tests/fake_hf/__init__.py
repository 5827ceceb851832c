"""A fake Hugging Face Hub on loopback for tests: repos, file upload and download, and Jobs that really run.

`FakeHub` (server.py): start/stop or use as a context manager; `url` (give it as HF_ENDPOINT), `token`
(the one it accepts), `user`, `repos` (files per repo), `jobs` (spec, stage, log lines), `requests` (the
request log, never any header), `fail_next(status, times, path=regex)`. `tests/test_hf_jobs_runner.py`
starts one per module.
"""

from __future__ import annotations

from .server import FakeHub

__all__ = ["FakeHub"]
