"""Provider hiccups survived: hosted jobs driven by the real worker and the real `openai` client against the
loopback fake, with failures injected while the worker polls (5xx, 429 + Retry-After, reset connections,
timeouts), errors that waiting cannot fix, and an app restart that finds a running job without its worker."""

from __future__ import annotations

import calendar
import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fake_openai import FakeOpenAI, fake_azure_openai, fake_openai  # noqa: F401  (fixtures)
from pydantic import SecretStr

from assistant.job_tools import describe_progress
from core.openai_api import OpenAIAPIError, retry_after_seconds
from core.settings import Settings
from trainer.jobs import control
from trainer.jobs.config import TrainConfig
from trainer.jobs.control import job_status, open_store, recover_jobs, start_job
from trainer.jobs.hiccups import RetryPolicy, describe_retrying
from trainer.jobs.openai_backend import poll, submit
from trainer.jobs.store import Job, JobStore, job_folder
from waiting import wait_for

TRAIN = Path(__file__).parent / "data" / "tool_calling.jsonl"  # 10 valid examples: one step each per epoch
JOB_PATH = r"fine_tuning/jobs/"  # the job and its events (OpenAI's /v1/... and Azure's /openai/...), never the create
# Quick polls and short waits, so an outage of a few tries costs a test well under a second.
FAST = {"poll_interval": 0.05, "poll_retry_first": 0.05, "poll_retry_max": 2.0}


def openai_settings(settings: Settings, fake: FakeOpenAI) -> Settings:
    return settings.model_copy(update={"openai_api_key": SecretStr(fake.api_key), "openai_base_url": fake.base_url})


def azure_settings(settings: Settings, fake: FakeOpenAI) -> Settings:
    return settings.model_copy(update={"azure_openai_endpoint": fake.endpoint, "azure_openai_api_key": SecretStr(fake.api_key),
                                       "openai_api_version": "2024-10-21"})


def finished(settings: Settings, job_id: str, timeout: float = 60) -> Job:
    return wait_for(lambda: (j := JobStore(settings.jobs_db).get(job_id)).finished and j, timeout, f"job {job_id} to end")


def creates(fake: FakeOpenAI) -> int:
    """How many remote jobs were created (the worker must never create a second one for the same job)."""
    return sum(1 for r in fake.requests if r["method"] == "POST" and r["path"].endswith("fine_tuning/jobs"))


def job_requests(fake: FakeOpenAI) -> list[dict[str, Any]]:
    return [r for r in fake.requests if r["method"] == "GET" and JOB_PATH in r["path"]]


def everything_written(settings: Settings, job_id: str) -> str:
    """The job's log, its status JSON and every row of the job database: where a key must never appear."""
    status = job_status(settings, job_id)
    with sqlite3.connect(settings.jobs_db) as db:
        rows = [repr(row) for table in ("jobs", "metrics") for row in db.execute(f"SELECT * FROM {table}")]
    return Path(status["log_path"]).read_text() + json.dumps(status) + "".join(rows)


# -- the policy and the classification, through the real client --------------------------------------------


def test_backoff_doubles_honours_retry_after_and_stays_capped() -> None:
    policy = RetryPolicy(first_s=2.0, max_s=60.0)  # the production defaults
    assert [policy.delay(n) for n in range(1, 8)] == [2, 4, 8, 16, 32, 60, 60]
    assert policy.delay(5000) == 60  # hours of outage: no overflow, still the cap
    assert policy.delay(1, retry_after=30) == 30  # the provider's wait wins over a shorter backoff
    assert policy.delay(6, retry_after=5) == 5  # ... and over a longer one: it knows when it is back
    assert policy.delay(1, retry_after=3600) == 60  # but an hour is asked again after the cap
    assert policy.delay(1, retry_after=0) == 2  # "retry now" never becomes a busy loop
    assert TrainConfig(train_file=TRAIN, backend="openai").poll_retry_first == 2.0
    assert TrainConfig(train_file=TRAIN, backend="openai").poll_retry_max == 60.0


def test_poll_errors_say_whether_waiting_helps(fake_openai: FakeOpenAI) -> None:
    client = fake_openai.client()  # no SDK retries: each injected failure reaches us
    expected = [(503, True, None), (429, True, 7.0), (500, True, None), (408, True, None), (401, False, None), (404, False, None)]
    for status, transient, retry_after in expected:
        fake_openai.fail_next(status, f"simulated {status} for {fake_openai.api_key}", retry_after=retry_after)
        with pytest.raises(OpenAIAPIError) as caught:
            poll(client, "ftjob-x")
        error = caught.value
        assert (error.status, error.transient, error.retry_after) == (status, transient, retry_after), status
        assert fake_openai.api_key not in str(error)
    fake_openai.drop_next()
    with pytest.raises(OpenAIAPIError, match="Could not reach the OpenAI API") as dropped:
        poll(client, "ftjob-x")
    assert dropped.value.transient and dropped.value.status is None
    fake_openai.stall_next(2.0)
    with pytest.raises(OpenAIAPIError, match="did not answer in time") as slow:
        poll(fake_openai.client(timeout=0.5), "ftjob-x")
    assert slow.value.transient and slow.value.status is None
    # The real 404 of a job that does not exist is final too.
    with pytest.raises(OpenAIAPIError) as missing:
        poll(client, "ftjob-doesnotexist")
    assert not missing.value.transient and missing.value.status == 404


def test_retry_after_is_read_in_milliseconds_seconds_or_as_a_date() -> None:
    def failed(headers: dict[str, str]) -> Any:
        return SimpleNamespace(response=SimpleNamespace(headers=headers))

    assert retry_after_seconds(failed({"retry-after-ms": "1500", "retry-after": "9"})) == 1.5
    assert retry_after_seconds(failed({"retry-after": "2.5"})) == 2.5
    at = calendar.timegm((2015, 10, 21, 7, 28, 0))
    assert retry_after_seconds(failed({"retry-after": "Wed, 21 Oct 2015 07:28:30 GMT"}), now=at) == 30
    assert retry_after_seconds(failed({"retry-after": "soon"})) is None
    assert retry_after_seconds(failed({})) is None
    assert retry_after_seconds(ValueError("no response at all")) is None


def test_the_retry_note_reads_in_english_and_finnish() -> None:
    note = {"at": "2025-06-01T14:03:09+00:00", "status": 503, "message": "OpenAI had a server error (503).", "attempt": 3,
            "retry_in_s": 8.0, "retrying": True}
    assert describe_retrying({"last_error": note}, "openai", "en") == (
        "⏳ OpenAI returned 503 at 14:03 UTC; retrying in 8 s (failed polls in a row: 3). The job keeps running on OpenAI's side.")
    assert "Azure OpenAI palautti virheen 503 klo 14:03 UTC" in describe_retrying({"last_error": note}, "azure", "fi")
    no_answer = {**note, "status": None}
    assert describe_retrying({"last_error": no_answer}, "openai", "en").startswith("⏳ OpenAI did not answer at 14:03 UTC")
    assert describe_retrying({"last_error": no_answer}, "openai", "fi").startswith("⏳ OpenAI ei vastannut klo 14:03 UTC")
    assert describe_retrying({"last_error": {**note, "retrying": False}}, "openai", "en") is None  # recovered: nothing to say
    assert describe_retrying({}, "openai", "en") is None


# -- the worker rides out an outage ---------------------------------------------------------------------------


def test_5xx_then_429_with_retry_after_while_polling_the_job_still_succeeds(settings: Settings, fake_openai: FakeOpenAI) -> None:
    fake_openai.step_seconds = 0.1  # 30 steps: still training remotely when the outage ends
    remote = openai_settings(settings, fake_openai)
    # The provider is down for polls from the first one (the upload and the create go through).
    fake_openai.fail_next(503, "The server is overloaded or not ready yet.", method="GET", path=JOB_PATH, times=10_000)
    job = start_job(remote, TrainConfig(train_file=TRAIN, backend="openai", epochs=3, **FAST))
    store = JobStore(settings.jobs_db)

    during = wait_for(lambda: ((j := store.get(job.id)).finished or j.summary.get("last_error", {}).get("attempt", 0) >= 3) and j,
                      60, "three failed polls")
    note = during.summary["last_error"]
    assert during.status == "running" and during.error is None  # an outage does not end the job
    assert note["retrying"] is True and note["status"] == 503 and "server error (503)" in note["message"]
    assert "overloaded" in note["message"] and note["retry_in_s"] > 0 and note["at"].endswith("+00:00")
    # The read model the chat, the CLI and the Jobs tab share says so, in the learner's language.
    status = job_status(remote, job.id)
    assert status["status"] == "running" and status["summary"]["last_error"]["status"] == 503
    assert "OpenAI returned 503 at" in describe_progress(status, "en") and "retrying in" in describe_progress(status, "en")
    assert "OpenAI palautti virheen 503 klo" in describe_progress(status, "fi")

    fake_openai.clear_failures()  # back, but rate limiting: one 429 that asks for a second's wait
    asked_at = time.monotonic()
    fake_openai.fail_next(429, "Rate limit reached for requests.", type="requests", code="rate_limit_exceeded",
                          method="GET", path=JOB_PATH, retry_after=1)

    final = finished(settings, job.id)
    assert final.status == "succeeded", final.error
    assert final.fine_tuned_model and final.error is None
    assert creates(fake_openai) == 1
    # Every step arrived once: the events missed during the outage were read when it ended.
    assert [row["step"] for row in job_status(remote, job.id)["metrics"]] == list(range(1, 31))
    # The 429's Retry-After was honoured: the next look came a second later, not after the 0.05 s backoff.
    after = [r["at"] for r in job_requests(fake_openai) if r["at"] > asked_at]
    assert after[1] - after[0] >= 0.9
    # The record keeps the last hiccup, marked as over.
    last = final.summary["last_error"]
    assert last["status"] == 429 and last["retry_in_s"] == 1.0 and last["retrying"] is False and last["recovered_at"]
    assert "Rate limited" in last["message"]
    assert describe_retrying(final.summary, "openai", "en") is None
    assert fake_openai.api_key not in everything_written(remote, job.id)


def test_reset_connections_and_timeouts_are_retried(settings: Settings, fake_openai: FakeOpenAI) -> None:
    remote = openai_settings(settings, fake_openai)
    fake_openai.drop_next(times=2, method="GET", path=JOB_PATH)
    fake_openai.stall_next(3.0, method="GET", path=JOB_PATH)
    job = start_job(remote, TrainConfig(train_file=TRAIN, backend="openai", epochs=2, poll_timeout=1.0, **FAST))

    final = finished(settings, job.id)

    assert final.status == "succeeded", final.error
    assert creates(fake_openai) == 1
    last = final.summary["last_error"]  # the stall, the last hiccup: no answer, so no status
    assert last["status"] is None and "did not answer in time" in last["message"] and last["attempt"] == 3
    assert last["retrying"] is False
    log = Path(job_status(remote, job.id)["log_path"]).read_text()
    assert log.count("Could not reach the OpenAI API") == 2 and "did not answer in time" in log
    assert len(job_requests(fake_openai)) >= 4  # three failed looks, then the ones that got through


def test_the_provider_failing_the_job_still_fails_it(settings: Settings, fake_openai: FakeOpenAI) -> None:
    remote = openai_settings(settings, fake_openai)
    fake_openai.fail_next(502, "Bad gateway", method="GET", path=JOB_PATH, times=2)
    job = start_job(remote, TrainConfig(train_file=TRAIN, backend="openai", base_model="gpt-4o-mini-fail", epochs=2, **FAST))

    final = finished(settings, job.id)

    assert final.status == "failed"
    assert "The OpenAI fine-tuning job failed" in final.error and "loss became NaN" in final.error
    assert final.summary["last_error"]["status"] == 502 and final.summary["last_error"]["retrying"] is False
    assert creates(fake_openai) == 1


@pytest.mark.parametrize(("status", "expected"), [(401, "rejected the API key (401)"), (404, "Not found (404)")])
def test_an_error_waiting_cannot_fix_ends_the_job_at_once(settings: Settings, fake_openai: FakeOpenAI, status: int, expected: str) -> None:
    remote = openai_settings(settings, fake_openai)
    fake_openai.fail_next(status, f"simulated {status}: Incorrect API key provided: {fake_openai.api_key}.", method="GET", path=JOB_PATH)
    job = start_job(remote, TrainConfig(train_file=TRAIN, backend="openai", **FAST))

    final = finished(settings, job.id)

    assert final.status == "failed"
    assert expected in final.error
    assert f"resume the job (python -m trainer resume {job.id})" in final.error and final.remote_id in final.error
    assert len(job_requests(fake_openai)) == 1  # not retried
    assert "last_error" not in final.summary  # not a hiccup: the error says it all
    written = everything_written(remote, job.id)
    assert fake_openai.api_key not in written and "[redacted]" in final.error


def test_cancel_during_an_outage_is_not_held_up_by_the_backoff(settings: Settings, fake_openai: FakeOpenAI) -> None:
    # Inline: no signal wakes the runner, only the store's flag, looked at during the long wait too.
    remote = openai_settings(settings, fake_openai).model_copy(update={"job_runner": "inline"})
    fake_openai.phase_seconds = 30  # stays queued remotely until cancelled
    fake_openai.fail_next(503, "Service unavailable", method="GET", path=JOB_PATH, times=10_000)
    job = start_job(remote, TrainConfig(train_file=TRAIN, backend="openai", poll_interval=0.05, poll_retry_first=30, poll_retry_max=60))
    store = JobStore(settings.jobs_db)
    wait_for(lambda: store.get(job.id).summary.get("last_error"), 30, "the first failed poll")

    started = time.monotonic()
    cancelled = control.cancel_job(remote, job.id)

    assert cancelled.status == "cancelled" and time.monotonic() - started < 5  # not after the 30 s wait
    remote_job = fake_openai.jobs[cancelled.remote_id]
    assert remote_job.status == "cancelled"  # the cancel went through: only polls were failing
    assert "cancel_error" not in store.get(job.id).summary


# -- an app restart finds a running job without its worker ---------------------------------------------------


def orphan(settings: Settings, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, *, submitted: bool) -> Job:
    """A hosted job as a dead app left it: recorded running under a worker that is gone, created remotely if `submitted`."""
    with monkeypatch.context() as patched:
        patched.setattr(control, "_launch", lambda *args: None)  # recorded and set up, but nobody runs it
        job = start_job(settings, TrainConfig(train_file=TRAIN, backend="openai", epochs=2, **FAST))
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    store = JobStore(settings.jobs_db)
    store.transition(job.id, "running", pid=gone.pid, pid_started_at=time.time() - 3600)
    if submitted:
        folder = job_folder(settings.data_dir, job.id)  # not job_status: its recovery would find the orphan now
        remote_id = submit(fake.client(), model="gpt-4o-mini", train_path=folder / "train.jsonl", hyperparameters={"n_epochs": 2})
        store.update(job.id, remote_id=remote_id)
    return store.get(job.id)


def test_after_a_restart_a_running_hosted_job_is_followed_again(settings: Settings, fake_openai: FakeOpenAI,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    remote = openai_settings(settings, fake_openai).model_copy(update={"jobs_per_learner": 2})  # two orphans of one learner
    job = orphan(remote, fake_openai, monkeypatch, submitted=True)
    never_created = orphan(remote, fake_openai, monkeypatch, submitted=False)
    assert creates(fake_openai) == 1
    fake_openai.fail_next(503, "Service unavailable", method="GET", path=JOB_PATH)  # and the provider hiccups once, too

    recovered = recover_jobs(open_store(remote), remote)  # what the app does when it starts

    by_id = {j.id: j for j in recovered}
    assert set(by_id) == {job.id, never_created.id}
    assert by_id[job.id].status in ("queued", "running") and by_id[job.id].remote_id == job.remote_id  # claimed for a new runner
    assert by_id[job.id].pid != job.pid
    assert by_id[never_created.id].status == "interrupted"  # nothing remote to follow: resume it
    assert recover_jobs(open_store(remote), remote) == []  # claimed once: a second look starts no second runner

    final = finished(settings, job.id)
    assert final.status == "succeeded", final.error
    assert final.remote_id == job.remote_id and final.fine_tuned_model
    assert creates(fake_openai) == 1  # followed by its remote id, never submitted again
    assert [row["step"] for row in job_status(remote, job.id)["metrics"]] == list(range(1, 21))
    assert final.summary["last_error"]["status"] == 503
    assert f"following OpenAI job {job.remote_id} again" in Path(job_status(remote, job.id)["log_path"]).read_text()


def test_without_settings_recovery_still_only_marks_jobs_interrupted(settings: Settings, fake_openai: FakeOpenAI,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    remote = openai_settings(settings, fake_openai)
    job = orphan(remote, fake_openai, monkeypatch, submitted=True)
    recovered = recover_jobs(open_store(remote))
    assert [(j.id, j.status) for j in recovered] == [(job.id, "interrupted")]
    # ... and resuming it follows the same remote job.
    resumed = control.resume_job(remote, job.id)
    assert resumed.status in ("queued", "running")
    assert finished(settings, job.id).status == "succeeded"
    assert creates(fake_openai) == 1


# -- Azure -----------------------------------------------------------------------------------------------------


def test_azure_job_survives_5xx_and_429_while_polling(settings: Settings, fake_azure_openai: FakeOpenAI) -> None:
    remote = azure_settings(settings, fake_azure_openai)
    fake_azure_openai.fail_next(500, "Internal server error", method="GET", path=JOB_PATH, times=3)
    fake_azure_openai.fail_next(429, "Requests to the fine-tuning API have exceeded the rate limit.", code="429",
                                method="GET", path=JOB_PATH, retry_after=0.3)
    job = start_job(remote, TrainConfig(train_file=TRAIN, backend="azure", epochs=2, **FAST))

    final = finished(settings, job.id)

    assert final.status == "succeeded", final.error
    assert creates(fake_azure_openai) == 1
    assert all(r["path"].startswith("/openai/") for r in job_requests(fake_azure_openai))
    last = final.summary["last_error"]
    assert last["status"] == 429 and last["retry_in_s"] == 0.3 and last["attempt"] == 4 and last["retrying"] is False
    assert "by the hour" in final.summary["note"]
    assert [row["step"] for row in job_status(remote, job.id)["metrics"]] == list(range(1, 21))
    assert fake_azure_openai.api_key not in everything_written(remote, job.id)
