"""The Azure OpenAI fine-tuning backend end to end: the real `AzureOpenAI` client against a loopback
server that speaks Azure's paths (`/openai/...?api-version=`, `api-key` header), driven by the real worker."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from fake_openai import FakeOpenAI, fake_azure_openai  # noqa: F401  (fixture)
from pydantic import SecretStr

from core.openai_api import OpenAIAPIError, make_azure_client
from core.settings import Settings, load_settings
from trainer.jobs.config import DEFAULT_OPENAI_MODEL, TrainConfig
from trainer.jobs.control import JobSetupError, cancel_job, job_status, start_job, start_notices
from trainer.jobs.inference import NotReady, generate
from trainer.jobs.openai_backend import poll, remote_model_name, submit
from trainer.jobs.store import JobStore
from waiting import wait_for

DATA = Path(__file__).parent / "data"
TRAIN = DATA / "tool_calling.jsonl"  # 10 valid examples (tool calling: Azure takes the same format)


def azure_settings(settings: Settings, fake: FakeOpenAI, key: str | None = None) -> Settings:
    return settings.model_copy(update={"azure_openai_endpoint": fake.endpoint, "azure_openai_api_key": SecretStr(key or fake.api_key),
                                       "openai_api_version": "2024-10-21"})


def everything_written(settings: Settings, job_id: str) -> str:
    """The job's log, status JSON and every row of the job database: where a key must never appear."""
    status = job_status(settings, job_id)
    with sqlite3.connect(settings.jobs_db) as db:
        rows = [repr(row) for table in ("jobs", "metrics") for row in db.execute(f"SELECT * FROM {table}")]
    return Path(status["log_path"]).read_text() + json.dumps(status) + "".join(rows)


def test_azure_variables_are_settings() -> None:
    settings = load_settings({"AZURE_OPENAI_ENDPOINT": "https://res.openai.azure.com", "AZURE_OPENAI_API_KEY": "k" * 32,
                              "OPENAI_API_VERSION": "2025-04-01-preview"})
    assert settings.azure_openai_endpoint == "https://res.openai.azure.com" and settings.openai_api_version == "2025-04-01-preview"
    env = settings.environment()  # what a worker process gets
    assert env["AZURE_OPENAI_API_KEY"] == "k" * 32 and env["OPENAI_API_VERSION"] == "2025-04-01-preview"
    assert "k" * 32 not in repr(settings)


def test_backend_speaks_azure_paths(fake_azure_openai: FakeOpenAI) -> None:
    client = fake_azure_openai.client()
    remote_id = submit(client, model="gpt-4.1-mini-2025-04-14", train_path=TRAIN, hyperparameters={"n_epochs": 2})
    state = wait_for(lambda: (s := poll(client, remote_id)).finished and s, 20, "the Azure job")
    assert state.status == "succeeded" and state.fine_tuned_model
    paths = {(r["method"], r["path"]) for r in fake_azure_openai.requests}
    assert {("POST", "/openai/files"), ("POST", "/openai/fine_tuning/jobs"), ("GET", f"/openai/fine_tuning/jobs/{remote_id}/events")} <= paths
    assert all(r["query"]["api-version"] == "2024-10-21" for r in fake_azure_openai.requests)
    assert not any(r["path"].startswith("/v1") for r in fake_azure_openai.requests)
    # Azure names gpt-3.5 "gpt-35"; the dated table knows, other snapshots keep their names.
    assert remote_model_name("azure", "gpt-3.5-turbo") == "gpt-35-turbo-0125"
    assert remote_model_name("azure", "gpt-4.1-mini") == "gpt-4.1-mini-2025-04-14"
    assert remote_model_name("openai", "gpt-3.5-turbo") == "gpt-3.5-turbo"


def test_azure_job_runs_in_the_worker_with_metrics_and_the_billing_note(settings: Settings, fake_azure_openai: FakeOpenAI) -> None:
    remote = azure_settings(settings, fake_azure_openai)
    config = TrainConfig(train_file=TRAIN, backend="azure", epochs=2, suffix="elements", poll_interval=0.2)
    notices = start_notices(remote, config)
    assert len(notices) == 1 and "by the hour" in notices[0] and "Developer tier" in notices[0]
    assert "tunneittain" in start_notices(remote, config, "fi")[0]
    job = start_job(remote, config, owner="ada")
    assert job.backend == "azure" and job.model == DEFAULT_OPENAI_MODEL
    final = wait_for(lambda: (j := JobStore(settings.jobs_db).get(job.id)).finished and j, 60, "the Azure job")
    status = job_status(remote, job.id, owner="ada")
    assert final.status == "succeeded", f"{final.error}\n{Path(status['log_path']).read_text()}"
    # The same metric rows as an OpenAI or local job: 10 examples x 2 epochs, one step each.
    assert [row["step"] for row in status["metrics"]] == list(range(1, 21))
    assert all(row["train_loss"] is not None for row in status["metrics"])
    assert status["fine_tuned_model"] and status["remote_id"] and "by the hour" in status["summary"]["note"]
    created = next(r for r in fake_azure_openai.requests if r["path"] == "/openai/fine_tuning/jobs" and r["method"] == "POST")
    assert created["body"]["model"] == DEFAULT_OPENAI_MODEL and created["body"]["suffix"] == "elements"
    assert fake_azure_openai.api_key not in everything_written(remote, job.id)
    # Chat needs a deployment, which bills by the hour: the app says so instead of guessing a deployment name.
    with pytest.raises(NotReady, match="Deploy it"):
        generate(remote, job.id, "Tell me about neon")


def test_azure_cancel_reaches_the_api(settings: Settings, fake_azure_openai: FakeOpenAI) -> None:
    fake_azure_openai.phase_seconds = 30  # stays queued remotely until cancelled
    remote = azure_settings(settings, fake_azure_openai)
    job = start_job(remote, TrainConfig(train_file=TRAIN, backend="azure", poll_interval=0.2))
    store = JobStore(settings.jobs_db)
    remote_id = wait_for(lambda: store.get(job.id).remote_id, 30, "the remote job")
    cancelled = cancel_job(remote, job.id)
    assert cancelled.status == "cancelled"
    assert fake_azure_openai.jobs[remote_id].status == "cancelled"
    assert any(r["path"] == f"/openai/fine_tuning/jobs/{remote_id}/cancel" for r in fake_azure_openai.requests)


def test_wrong_azure_key_fails_the_job_with_a_clear_reason_and_no_key(settings: Settings, fake_azure_openai: FakeOpenAI) -> None:
    wrong = "fedcba9876543210fedcba9876543210"
    remote = azure_settings(settings, fake_azure_openai, key=wrong)
    job = start_job(remote, TrainConfig(train_file=TRAIN, backend="azure", poll_interval=0.2))
    final = wait_for(lambda: (j := JobStore(settings.jobs_db).get(job.id)).finished and j, 60, "the failing job")
    assert final.status == "failed"
    assert "Azure OpenAI rejected the key (401)" in final.error and "AZURE_OPENAI_API_KEY" in final.error
    written = everything_written(remote, job.id)
    assert wrong not in written and fake_azure_openai.api_key not in written
    # The backend's own error, raised to a caller, is as clean.
    with pytest.raises(OpenAIAPIError) as caught:
        submit(make_azure_client(remote, max_retries=0), model="gpt-4.1-mini-2025-04-14", train_path=TRAIN)
    assert wrong not in str(caught.value) and "[redacted]" in str(caught.value)


def test_azure_without_its_variables_is_refused_before_anything_starts(settings: Settings) -> None:
    with pytest.raises(JobSetupError, match="AZURE_OPENAI_ENDPOINT .*AZURE_OPENAI_API_KEY"):
        start_job(settings, TrainConfig(train_file=TRAIN, backend="azure"))
    with pytest.raises(OpenAIAPIError, match="AZURE_OPENAI_API_KEY not set"):
        make_azure_client(settings.model_copy(update={"azure_openai_endpoint": "https://res.openai.azure.com"}))
    assert JobStore(settings.jobs_db).list("default") == []


def test_cli_trains_on_azure_and_prints_the_note(settings: Settings, fake_azure_openai: FakeOpenAI, monkeypatch, capsys) -> None:
    from trainer.cli.main import main

    for name, value in {"TUTOR_DATA_DIR": str(settings.data_dir), "AZURE_OPENAI_ENDPOINT": fake_azure_openai.endpoint,
                        "AZURE_OPENAI_API_KEY": fake_azure_openai.api_key, "OPENAI_API_VERSION": "2024-10-21"}.items():
        monkeypatch.setenv(name, value)
    assert main(["train", str(TRAIN), "--backend", "azure", "--poll-interval", "0.2", "--json"]) == 0
    started = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert started["backend"] == "azure" and "by the hour" in started["notices"][0]
    final = wait_for(lambda: (j := JobStore(settings.jobs_db).get(started["id"])).finished and j, 60, "the CLI's Azure job")
    assert final.status == "succeeded", final.error
    assert main(["train", str(TRAIN), "--backend", "azure", "--poll-interval", "0.2"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("Note: Azure OpenAI:") and "Started azure fine-tune job" in text
