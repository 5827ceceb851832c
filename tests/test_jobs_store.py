"""The job store, training config, recovery and job CLI errors; OpenAI jobs run by the real worker.

Nothing here loads a model: OpenAI jobs go through a worker process to the loopback fake API.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest
from pydantic import SecretStr, ValidationError

from core.settings import Settings
from trainer.jobs.store import FINISHED, InvalidTransition, JobNotFound, JobStore, new_job_id
from trainer.jobs.control import (
    JobSetupError,
    cancel_job,
    job_status,
    list_jobs,
    recover_jobs,
    resume_job,
    start_job,
)
from waiting import wait_for
from trainer.jobs.config import DEFAULT_OPENAI_MODEL, PRESETS, TrainConfig

ROOT = Path(__file__).resolve().parent.parent




def make_job(store: JobStore, owner: str = "default") -> str:
    job_id = new_job_id()
    store.create(job_id=job_id, owner=owner, backend="local", model="m", dataset="d",
                 config={"train_file": "t.jsonl", "backend": "local"})
    return job_id


@pytest.fixture
def course_files(course_dir: Path) -> tuple[Path, Path]:
    folder = course_dir / "18-fine-tuning" / "python" / "openai"
    return folder / "training-data.jsonl", folder / "validation-data.jsonl"


# -- store --------------------------------------------------------------------------------------


def test_lifecycle_is_validated_and_a_finished_job_stays_finished(settings: Settings) -> None:
    store = JobStore(settings.jobs_db)
    job_id = make_job(store)
    assert job_id.startswith("ft-") and len(job_id) == 11
    job = store.get(job_id)
    assert job.status == "queued" and job.created_at and job.started_at is None

    running = store.transition(job_id, "running", pid=os.getpid())
    assert running.started_at and running.pid == os.getpid()
    done = store.transition(job_id, "succeeded", adapter_path="/x/adapter")
    assert done.finished and done.finished_at and done.adapter_path == "/x/adapter"
    for status in ("running", "failed", "cancelled", "interrupted", "queued"):
        with pytest.raises(InvalidTransition):
            store.transition(job_id, status)
    with pytest.raises(InvalidTransition, match="already finished"):
        store.request_cancel(job_id)

    # A failed or interrupted job may be queued again (resume); that clears the last attempt.
    other = make_job(store)
    store.transition(other, "running", pid=123)
    store.transition(other, "interrupted", error="gone")
    again = store.transition(other, "queued", checkpoint="/c/checkpoint-2")
    assert (again.status, again.error, again.pid, again.finished_at, again.checkpoint) == ("queued", None, None, None, "/c/checkpoint-2")


def test_finish_records_the_first_end_only(settings: Settings) -> None:
    store = JobStore(settings.jobs_db)
    job_id = make_job(store)
    store.transition(job_id, "running", pid=123)
    cancelled = store.finish(job_id, "cancelled")
    assert cancelled is not None and cancelled.status == "cancelled"
    # The worker's own end arrives second: not recorded, and not an error.
    assert store.finish(job_id, "succeeded", adapter_path="/x/adapter") is None
    assert (store.get(job_id).status, store.get(job_id).adapter_path) == ("cancelled", None)
    with pytest.raises(ValueError, match="not a final status"):
        store.finish(make_job(store), "running")


def test_learners_see_only_their_jobs(settings: Settings) -> None:
    store = JobStore(settings.jobs_db)
    mine, theirs = make_job(store, "ada"), make_job(store, "grace")
    assert [job.id for job in store.list("ada")] == [mine]
    assert store.get(mine, "ada").id == mine
    with pytest.raises(JobNotFound):
        store.get(theirs, "ada")
    with pytest.raises(JobNotFound):
        job_status(settings, theirs, owner="ada")


def test_metric_rows_merge_eval_into_the_step_and_keep_extras(settings: Settings) -> None:
    store = JobStore(settings.jobs_db)
    job_id = make_job(store)
    store.add_metrics(job_id, 1, epoch=0.5, train_loss=2.0, learning_rate=1e-4, tokens_per_s=100.0, grad_norm=0.7)
    store.add_metrics(job_id, 2, epoch=1.0, train_loss=1.5)
    store.add_metrics(job_id, 2, epoch=1.0, eval_loss=1.8)
    rows = store.metrics(job_id)
    assert [(r["step"], r["train_loss"], r["eval_loss"]) for r in rows] == [(1, 2.0, None), (2, 1.5, 1.8)]
    assert rows[0]["grad_norm"] == 0.7 and rows[0]["tokens_per_s"] == 100.0


def test_concurrent_writers_from_threads_and_a_process(settings: Settings) -> None:
    store = JobStore(settings.jobs_db)
    job_id = make_job(store)
    store.transition(job_id, "running")
    code = (
        "import sys; from trainer.jobs.store import JobStore\n"
        "store = JobStore(sys.argv[1])\n"
        "for step in range(1000, 1100): store.add_metrics(sys.argv[2], step, train_loss=1.0)\n"
    )
    writer = subprocess.Popen([sys.executable, "-c", code, str(settings.jobs_db), job_id], cwd=ROOT)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda step: store.add_metrics(job_id, step, train_loss=float(step)), range(100)))
    assert writer.wait(60) == 0
    assert len(store.metrics(job_id)) == 200
    # Two processes racing to finish the same job: exactly one wins.
    results = []
    with ThreadPoolExecutor(2) as pool:
        for future in [pool.submit(store.transition, job_id, status) for status in ("succeeded", "cancelled")]:
            try:
                results.append(future.result().status)
            except InvalidTransition:
                results.append("refused")
    assert results.count("refused") == 1
    assert store.get(job_id).status in results


# -- config -------------------------------------------------------------------------------------


def test_presets_fill_what_is_not_set_and_typos_are_errors(tmp_path: Path) -> None:
    quick = TrainConfig(train_file=tmp_path / "t.jsonl")
    assert quick.lora_r == PRESETS["quick"]["lora_r"] and quick.learning_rate == PRESETS["quick"]["learning_rate"]
    thorough = TrainConfig(train_file=tmp_path / "t.jsonl", preset="thorough", lora_r=4)
    assert thorough.lora_r == 4 and thorough.epochs == PRESETS["thorough"]["epochs"]
    with pytest.raises(ValidationError, match="lora_rank"):
        TrainConfig(train_file=tmp_path / "t.jsonl", lora_rank=8)
    with pytest.raises(ValidationError):
        TrainConfig(train_file=tmp_path / "t.jsonl", preset="huge")
    # OpenAI leaves epochs, batch size and learning rate to the API unless set.
    remote = TrainConfig(train_file=tmp_path / "t.jsonl", backend="openai")
    assert remote.openai_hyperparameters() == {}
    assert TrainConfig(train_file=tmp_path / "t.jsonl", backend="openai", epochs=3).openai_hyperparameters() == {"n_epochs": 3}
    with pytest.raises(ValidationError, match="whole number"):
        TrainConfig(train_file=tmp_path / "t.jsonl", backend="openai", epochs=1.5)
    assert TrainConfig.model_validate_json(quick.model_dump_json()) == quick


# -- launching, recovery, CLI errors ----------------------------------------------------------------


def test_bad_data_is_refused_before_a_job_exists(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(JobSetupError, match="does not exist"):
        start_job(settings, TrainConfig(train_file=tmp_path / "missing.jsonl"))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": [{"role": "user", "content": "hi"}]}\nnot json\n', encoding="utf-8")
    with pytest.raises(JobSetupError, match=r"line 2") as error:
        start_job(settings, TrainConfig(train_file=bad))
    assert "line 1" in str(error.value)  # the example without an assistant reply
    assert list_jobs(settings) == []


def test_cli_errors_are_short_and_exit_2(settings: Settings, tmp_path: Path, course_files) -> None:
    env = dict(os.environ)

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "trainer", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)

    for args, expected in [
        (("train", str(tmp_path / "nope.jsonl")), "no saved dataset"),
        (("status", "ft-00000000"), "No fine-tune job"),
        (("train", str(ROOT / "pyproject.toml"), "--lora-r", "0"), "--lora-r"),
        (("compare", "ft-00000000", "hi"), "No fine-tune job"),
        (("train", str(course_files[0]), "--backend", "openai"), "OPENAI_API_KEY"),
    ]:
        result = cli(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert expected in result.stderr and "Traceback" not in result.stderr
    listing = cli("list", "--json")
    assert listing.returncode == 0 and json.loads(listing.stdout) == []


def test_a_job_whose_worker_is_gone_is_interrupted(settings: Settings) -> None:
    store = JobStore(settings.jobs_db)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    dead, reused, alive = make_job(store), make_job(store), make_job(store)
    store.transition(dead, "running", pid=gone.pid, pid_started_at=time.time() - 5)
    # Our own pid with another start time: the pid was reused, the worker is gone.
    store.transition(reused, "running", pid=os.getpid(), pid_started_at=psutil.Process().create_time() - 100)
    store.transition(alive, "running", pid=os.getpid(), pid_started_at=psutil.Process().create_time())
    assert sorted(job.id for job in recover_jobs(store)) == sorted([dead, reused])
    status = job_status(settings, dead)
    assert status["status"] == "interrupted" and "exited without reporting" in status["error"]
    assert store.get(alive).status == "running"
    with pytest.raises(JobSetupError, match="only a failed or interrupted"):
        resume_job(settings, alive)


# -- OpenAI jobs through the worker -----------------------------------------------------------------


def openai_settings(settings: Settings, fake) -> Settings:
    return settings.model_copy(update={"openai_api_key": SecretStr(fake.api_key), "openai_base_url": fake.base_url})


def test_openai_job_runs_in_the_worker_to_success(settings: Settings, fake_openai, course_files) -> None:
    train, validation = course_files
    remote_settings = openai_settings(settings, fake_openai)
    job = start_job(remote_settings, TrainConfig(train_file=train, validation_file=validation, backend="openai",
                                                 epochs=2, suffix="limericks", poll_interval=0.2), owner="ada")
    assert job.status == "queued" and job.model == DEFAULT_OPENAI_MODEL  # from the dated model table
    final = wait_for(lambda: (j := JobStore(settings.jobs_db).get(job.id)).finished and j, 60, "the OpenAI job")
    log = Path(job_status(remote_settings, job.id)["log_path"]).read_text()
    assert final.status == "succeeded", f"{final.error}\n{log}"
    status = job_status(remote_settings, job.id, owner="ada")
    assert status["fine_tuned_model"] and status["remote_id"] and status["hyperparameters"]["epochs"] == 2
    assert status["metrics"] and all(row["train_loss"] is not None for row in status["metrics"])
    created = [r for r in fake_openai.requests if r["path"].endswith("/fine_tuning/jobs") and r["method"] == "POST"]
    assert created[0]["body"]["suffix"] == "limericks"
    assert fake_openai.api_key not in log and fake_openai.api_key not in json.dumps(status)

    # Chat with the result: the tuned answer comes from the fine-tuned model id, the base from its base model.
    from trainer.jobs.inference import compare, generate

    answers = compare(remote_settings, job.id, "Tell me about Neon", owner="ada")
    assert answers == {"base": f"Fake {DEFAULT_OPENAI_MODEL} reply to: Tell me about Neon",
                       "tuned": f"Fake {status['fine_tuned_model']} reply to: Tell me about Neon"}
    assert generate(remote_settings, job.id, "Hi") == f"Fake {status['fine_tuned_model']} reply to: Hi"


def test_openai_job_cancel_reaches_the_api(settings: Settings, fake_openai, course_files) -> None:
    fake_openai.phase_seconds = 30  # stays queued remotely until cancelled
    remote_settings = openai_settings(settings, fake_openai)
    job = start_job(remote_settings, TrainConfig(train_file=course_files[0], backend="openai", poll_interval=0.2))
    store = JobStore(settings.jobs_db)
    remote_id = wait_for(lambda: store.get(job.id).remote_id, 30, "the remote job")
    cancelled = cancel_job(remote_settings, job.id)
    assert cancelled.status == "cancelled"
    assert fake_openai.jobs[remote_id].status == "cancelled"
    assert cancelled.status in FINISHED


def test_openai_failure_is_recorded_with_the_reason(settings: Settings, fake_openai, course_files) -> None:
    remote_settings = openai_settings(settings, fake_openai)
    job = start_job(remote_settings, TrainConfig(train_file=course_files[0], backend="openai", base_model="gpt-4o-mini-fail",
                                                 poll_interval=0.2))
    final = wait_for(lambda: (j := JobStore(settings.jobs_db).get(job.id)).finished and j, 60, "the failing job")
    assert final.status == "failed" and final.error
    assert fake_openai.api_key not in final.error


# -- training data and batch shape (no model) -------------------------------------------------------


def test_every_trained_assistant_turn_becomes_one_prompt_completion_row() -> None:
    from trainer.jobs.lora import to_prompt_completion

    conversation = {"messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello.", "weight": 0},
        {"role": "user", "content": "Capital of Finland?"},
        {"role": "assistant", "content": [{"type": "text", "text": "Helsinki."}]},
    ]}
    rows = to_prompt_completion([conversation])
    assert len(rows) == 1  # the weight-0 turn is context only
    assert rows[0]["completion"] == [{"role": "assistant", "content": "Helsinki."}]
    assert [m["role"] for m in rows[0]["prompt"]] == ["system", "user", "assistant", "user"]


def test_packed_blocks_go_one_at_a_time_without_flash_attention(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from trainer.jobs.lora import blocks_per_forward

    config = TrainConfig(train_file=tmp_path / "t.jsonl", batch_size=4, grad_accum=2)
    def model(attention: str) -> SimpleNamespace:
        return SimpleNamespace(config=SimpleNamespace(_attn_implementation=attention))

    assert blocks_per_forward(model("sdpa"), config) == (1, 8)  # same 8 blocks per optimizer step
    assert blocks_per_forward(model("flash_attention_2"), config) == (4, 2)
    assert blocks_per_forward(model("packed_sdpa"), config) == (4, 2)  # attention per example, like flash's varlen
    assert blocks_per_forward(model("sdpa"), config.model_copy(update={"packing": False})) == (4, 2)


def test_cli_data_may_name_a_saved_dataset(settings: Settings, course_files) -> None:
    from trainer.jobs.control import resolve_training_data
    from trainer.data.store import learner_store

    learner_store(settings, "ada").import_file("limericks", course_files[0])
    path, name = resolve_training_data(settings, "ada", "limericks")
    assert name == "limericks" and path.is_file()
    with pytest.raises(JobSetupError, match="no saved dataset"):
        resolve_training_data(settings, "grace", "limericks")
