"""Dated provider facts: the model table's dates and default, OpenAI's warning before a job, and its refusal after the last day."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from pydantic import SecretStr

from core.settings import Settings
from trainer.data.prices import load_prices
from trainer.data.tokens import DEFAULT_MODEL
from trainer.jobs import openai_backend
from trainer.jobs.config import DEFAULT_OPENAI_MODEL, TrainConfig
from trainer.jobs.control import JobSetupError, start_job, start_notices
from trainer.jobs.store import JobStore
from waiting import wait_for

TRAIN = Path(__file__).parent / "data" / "tool_calling.jsonl"
LAST_DAY = date(2027, 1, 6)


def openai_settings(settings: Settings, fake) -> Settings:
    return settings.model_copy(update={"openai_api_key": SecretStr(fake.api_key), "openai_base_url": fake.base_url})


def test_table_is_dated_with_the_wind_down() -> None:
    table = load_prices()
    assert date.fromisoformat(table.as_of) >= date(2026, 12, 1)
    assert table.platform.closed_to_new_users_from == date(2026, 5, 7) and table.platform.new_jobs_until == LAST_DAY
    for model in ("gpt-4o-2024-08-06", "gpt-4o-mini-2024-07-18", "gpt-4.1-2025-04-14", "gpt-4.1-mini-2025-04-14"):
        assert table.tuned_serving_until(model) == date(2027, 1, 14)
    assert table.tuned_serving_until("gpt-4.1-nano-2025-04-14") is None  # no date announced
    assert [name for name, m in table.models.items() if m.in_guide] == ["gpt-4.1-2025-04-14", "gpt-4.1-mini-2025-04-14", "gpt-4.1-nano-2025-04-14"]
    assert table.accepts_new_jobs("gpt-4.1-mini-2025-04-14", LAST_DAY)
    assert not table.accepts_new_jobs("gpt-4.1-mini-2025-04-14", date(2027, 1, 7))


def test_default_model_comes_from_the_table() -> None:
    table = load_prices()
    assert DEFAULT_OPENAI_MODEL == DEFAULT_MODEL == table.default_model == "gpt-4.1-mini-2025-04-14"
    assert table.models[table.default_model].in_guide
    for backend in ("openai", "azure"):
        assert TrainConfig(train_file=TRAIN, backend=backend).with_base_model("local-model").base_model == table.default_model


def test_a_learner_table_moves_the_default_and_dates(settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True)
    (settings.data_dir / "prices.json").write_text(json.dumps({
        "as_of": "2026-12-20", "default_model": "gpt-4.1-nano-2025-04-14",
        "platform": {"new_jobs_until": "2026-12-31"}, "models": {"gpt-4.1-nano-2025-04-14": {"tuned_serving_until": "2027-02-01"}},
    }))
    table = load_prices(settings.data_dir)
    assert table.default_model == "gpt-4.1-nano-2025-04-14" and table.new_jobs_until("gpt-4o-2024-08-06") == date(2026, 12, 31)
    nano = table.models["gpt-4.1-nano-2025-04-14"]
    assert nano.tuned_serving_until == date(2027, 2, 1) and nano.training_per_1m == 1.5  # the shipped price stays
    with pytest.raises(JobSetupError, match="after 2026-12-31"):
        start_job(settings.model_copy(update={"openai_api_key": SecretStr("sk-test-1234567890")}),
                  TrainConfig(train_file=TRAIN, backend="openai"), today=date(2027, 1, 1))


def test_openai_warning_quotes_the_table_in_english_and_finnish() -> None:
    (english,) = openai_backend.start_notices("openai", "gpt-4.1-mini")
    assert "closed to new users since 2026-05-07" in english and "no new jobs after 2027-01-06" in english
    assert "gpt-4.1-mini-2025-04-14 stop answering on 2027-01-14" in english and "without fine-tuning access" in english
    assert "--backend local" in english and "--backend azure" in english and "as of 2026-12-05" in english
    (finnish,) = openai_backend.start_notices("openai", "gpt-4.1-mini", "fi")
    assert "2026-05-07 alkaen" in finnish and "2027-01-06 jälkeen" in finnish and "2027-01-14" in finnish and "hienosäätöoikeutta" in finnish
    # A model the guide no longer lists gets a second note naming the ones it does.
    closure, guide = openai_backend.start_notices("openai", "gpt-4o-mini")
    assert "gpt-4o-mini-2024-07-18 stop answering on 2027-01-14" in closure
    assert guide.startswith("gpt-4o-mini-2024-07-18 is no longer listed") and "gpt-4.1-nano-2025-04-14" in guide
    assert openai_backend.start_notices("local", "smollm2") == []


def test_openai_job_is_refused_after_the_last_day(settings: Settings, fake_openai) -> None:
    remote = settings.model_copy(update={"openai_api_key": SecretStr("sk-test-1234567890")})  # OpenAI's own platform
    config = TrainConfig(train_file=TRAIN, backend="openai")
    with pytest.raises(JobSetupError) as refused:
        start_job(remote, config, today=date(2027, 1, 7))
    assert str(refused.value).startswith("OpenAI accepts no new fine-tuning jobs after 2027-01-06")
    assert "today is 2027-01-07" in str(refused.value) and "--backend local" in str(refused.value)
    with pytest.raises(JobSetupError, match="OpenAI ei ota uusia hienosäätötöitä vastaan 2027-01-06 jälkeen"):
        start_job(remote, config, today=date(2027, 1, 7), lang="fi")
    assert JobStore(settings.jobs_db).list("default") == []
    # Another OpenAI-compatible endpoint (here the loopback fake) keeps its own schedule; the warning still shows.
    other = openai_settings(settings, fake_openai)
    job = start_job(other, config.model_copy(update={"poll_interval": 0.2}), today=date(2027, 1, 7))
    assert "no new jobs after 2027-01-06" in start_notices(other, config)[0]
    assert wait_for(lambda: JobStore(settings.jobs_db).get(job.id).finished, 60, "the job on another endpoint")
    # Azure is not OpenAI's platform either: its notice is about billing.
    assert start_notices(remote, config.model_copy(update={"backend": "azure"}))[0].startswith("Azure OpenAI:")


def test_cli_warns_before_the_openai_job(settings: Settings, fake_openai, monkeypatch, capsys) -> None:
    from trainer.cli.main import main

    monkeypatch.setattr(openai_backend, "today_utc", lambda: date(2026, 12, 5))
    for name, value in {"TUTOR_DATA_DIR": str(settings.data_dir), "OPENAI_API_KEY": fake_openai.api_key,
                        "OPENAI_BASE_URL": fake_openai.base_url}.items():
        monkeypatch.setenv(name, value)
    assert main(["train", str(TRAIN), "--backend", "openai", "--poll-interval", "0.2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Note: Before this job is created (model table as of 2026-12-05)") and lines[1].startswith("Started openai")
    job_id = lines[1].split()[4]
    assert wait_for(lambda: JobStore(settings.jobs_db).get(job_id).finished, 60, "the OpenAI job")
    monkeypatch.setattr(openai_backend, "today_utc", lambda: date(2027, 1, 7))
    monkeypatch.delenv("OPENAI_BASE_URL")  # OpenAI's own platform
    assert main(["train", str(TRAIN), "--backend", "openai", "--json"]) == 2
    assert "no new fine-tuning jobs after 2027-01-06" in capsys.readouterr().err


def test_chat_start_tool_warns_in_the_learners_language(settings: Settings, fake_openai) -> None:
    from assistant.tool_context import ToolContext
    from assistant.toolbox import default_toolbox
    from trainer.data.store import learner_store

    remote = openai_settings(settings, fake_openai)
    learner_store(remote, "ann").import_file("elements", TRAIN)
    context = ToolContext(remote, learner="ann", lang="fi")
    record = default_toolbox().call("start_finetune", {"dataset": "elements", "backend": "openai"}, context)
    assert record.ok, record.error
    reply = record.output.reply
    assert reply.startswith("⚠️ Ennen kuin työ luodaan") and "2027-01-06 jälkeen" in reply and "Aloitin hienosäätötyön" in reply
    job_id = record.output.data["job"]["id"]
    assert wait_for(lambda: JobStore(settings.jobs_db).get(job_id).finished, 60, "the chat's OpenAI job")
