"""The inline job runner (jobs in a thread of the app, as ZeroGPU needs) and the ZeroGPU plumbing.

Local jobs train the real SmolLM2 for a few steps in this test process; OpenAI jobs run against the
loopback fake API; ZeroGPU is the real `spaces` package in a subprocess whose device API (a loopback
server here) lends no GPU, so what it is asked for can be checked.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import SecretStr, ValidationError

from core.settings import Settings, load_settings
from core.device import gpu_task
from trainer.jobs.store import JobStore
from trainer.jobs.control import cancel_job, job_status, recover_jobs, start_job
from waiting import TINY, wait_for
from trainer.jobs.config import TrainConfig

ROOT = Path(__file__).resolve().parent.parent
FINISHED = ("succeeded", "failed", "cancelled", "interrupted")




def job_threads(job_id: str) -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == f"job-{job_id}"]


@pytest.fixture
def inline_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"job_runner": "inline"})


# -- settings and the decorator (no model) ------------------------------------------------------


def test_job_runner_setting_takes_auto_process_inline_and_rejects_others(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SPACES_ZERO_GPU", raising=False)
    assert load_settings({}).job_runner == "auto"
    assert load_settings({}).job_runner_in_use == "process"  # not on ZeroGPU
    assert load_settings({"TUTOR_JOB_RUNNER": "process"}).job_runner_in_use == "process"
    assert load_settings({"TUTOR_JOB_RUNNER": " Inline "}).job_runner_in_use == "inline"
    with pytest.raises(ValidationError, match="TUTOR_JOB_RUNNER must be one of auto, process, inline") as error:
        load_settings({"TUTOR_JOB_RUNNER": "thread"})
    assert "'thread'" in str(error.value)

    pytest.importorskip("spaces")  # auto means inline only where `spaces` can lend the GPU
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    assert load_settings({}).job_runner_in_use == "inline"
    assert load_settings({"TUTOR_JOB_RUNNER": "process"}).job_runner_in_use == "process"


def test_gpu_task_is_the_identity_off_zero_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SPACES_ZERO_GPU", raising=False)

    def double(x: int) -> int:
        return 2 * x

    assert gpu_task(30)(double) is double
    assert gpu_task(lambda x: x)(double)(4) == 8


def test_a_store_from_before_inline_runners_gains_the_runner_column(settings: Settings) -> None:
    import sqlite3

    store = JobStore(settings.jobs_db)
    store.create(job_id="ft-00000001", owner="default", backend="local", model="m", dataset="d", config={})
    with sqlite3.connect(settings.jobs_db) as conn:  # the schema as it was
        conn.execute("ALTER TABLE jobs DROP COLUMN runner")
    reopened = JobStore(settings.jobs_db)
    assert reopened.get("ft-00000001").runner == "process"  # every earlier job had a worker process
    reopened.update("ft-00000001", runner="inline")
    assert JobStore(settings.jobs_db).get("ft-00000001").runner == "inline"


@pytest.fixture
def device_api() -> Iterator[tuple[str, list[dict[str, list[str]]]]]:
    """A loopback ZeroGPU device API that has no GPU to lend: its URL and the /schedule queries it gets."""
    scheduled: list[dict[str, list[str]]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/schedule":
                scheduled.append(parse_qs(url.query))
            self.send_response(503)  # what the service answers when no GPU is free
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", scheduled
    server.shutdown()
    server.server_close()


def test_on_zero_gpu_jobs_and_replies_ask_spaces_for_a_gpu(settings: Settings, limericks: Path, device_api) -> None:
    pytest.importorskip("spaces")
    url, scheduled = device_api
    env = {**os.environ, "SPACES_ZERO_GPU": "true", "SPACES_ZERO_DEVICE_API_URL": url}
    env.pop("TUTOR_JOB_RUNNER", None)  # auto: inline because this is ZeroGPU
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "zero_gpu_probe.py"), str(settings.data_dir), str(settings.models_dir),
         str(limericks)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["zero_gpu"] and out["runner"] == "inline"

    durations = [int(query["durationSeconds"][0]) for query in scheduled]
    assert len(durations) == 3, scheduled  # the decorated call, the job, the reply: each asked for a GPU
    # A duration computed from the call's arguments reaches ZeroGPU; refused, the body never ran.
    assert durations[0] == 7 + 3 and out["ran"] == []
    assert "No GPU was available" in out["call"]

    # The job ran inline (this probe's pid), asked for its estimate (quick preset: 7 epochs of the 9
    # examples left after one is held back, 63 steps at most), and was recorded failed with the reason
    # instead of left running.
    job = out["job"]
    assert job["runner"] == "inline" and job["status"] == "failed" and job["metrics"] == []
    assert durations[1] == job["estimate"] == 40 + 32
    assert "No GPU was available" in job["error"] and "at most 300 s" in job["error"]

    assert durations[2] == 30 and "No GPU was available" in out["reply"]


# -- inline OpenAI jobs: cancel and recovery (no model) -----------------------------------------


def test_inline_openai_job_cancel_reaches_the_api_and_spares_the_app(inline_settings: Settings, fake_openai,
                                                                   limericks: Path) -> None:
    fake_openai.phase_seconds = 30  # stays queued remotely until cancelled
    remote = inline_settings.model_copy(update={"openai_api_key": SecretStr(fake_openai.api_key),
                                                "openai_base_url": fake_openai.base_url})
    job = start_job(remote, TrainConfig(train_file=limericks, backend="openai", poll_interval=0.2))
    store = JobStore(remote.jobs_db)
    remote_id = wait_for(lambda: store.get(job.id).remote_id, 30, "the remote job")
    running = store.get(job.id)
    assert running.runner == "inline" and running.pid == os.getpid() and job_threads(job.id)

    started = time.monotonic()
    cancelled = cancel_job(remote, job.id)
    assert cancelled.status == "cancelled" and time.monotonic() - started < 5
    assert fake_openai.jobs[remote_id].status == "cancelled"  # the runner's poll loop saw the flag
    wait_for(lambda: not job_threads(job.id), 5, "the job's thread to end")


APP_SCRIPT = """
import sys, time
from pathlib import Path
from core.settings import load_settings
from trainer.jobs.control import start_job
from trainer.jobs.config import TrainConfig
job = start_job(load_settings(), TrainConfig(train_file=Path(sys.argv[1]), backend="openai", poll_interval=0.2))
print(job.id, flush=True)
time.sleep(120)
"""


def test_a_running_inline_job_whose_app_is_gone_is_interrupted(settings: Settings, fake_openai, limericks: Path) -> None:
    fake_openai.phase_seconds = 30
    env = {**os.environ, "TUTOR_JOB_RUNNER": "inline", "TUTOR_DATA_DIR": str(settings.data_dir),
           "OPENAI_API_KEY": fake_openai.api_key, "OPENAI_BASE_URL": fake_openai.base_url}
    app = subprocess.Popen([sys.executable, "-c", APP_SCRIPT, str(limericks)], cwd=ROOT, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        job_id = app.stdout.readline().strip()
        assert job_id.startswith("ft-"), app.stderr.read() if app.poll() is not None else job_id
        store = JobStore(settings.jobs_db)
        running = wait_for(lambda: (j := store.get(job_id)).remote_id and j, 30, "the app's inline job to run")
        assert running.status == "running" and running.runner == "inline" and running.pid == app.pid
        assert recover_jobs(store) == []  # its app is alive
    finally:
        app.send_signal(signal.SIGKILL)
        app.wait(10)
        app.stdout.close()
        app.stderr.close()
    assert [job.id for job in recover_jobs(store)] == [job_id]
    status = job_status(settings, job_id)
    assert status["status"] == "interrupted" and "exited without reporting" in status["error"]


# -- inline local LoRA jobs in this process ----------------------------------------------------


@pytest.fixture(scope="module")
def _restore_torch_threads() -> Iterator[None]:
    """Inline training sets this process's torch threads; later tests get theirs back."""
    import torch

    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.mark.slow
def test_inline_local_job_trains_in_this_process_to_success(inline_settings: Settings, limericks: Path,
                                                            _restore_torch_threads: None) -> None:
    store = JobStore(inline_settings.jobs_db)
    job = start_job(inline_settings, TrainConfig(train_file=limericks, max_steps=3, **TINY))
    seen = [job.status]

    def finished() -> bool:
        status = store.get(job.id).status
        if status != seen[-1]:
            seen.append(status)
        return status in FINISHED

    wait_for(finished, 180, "the inline job to finish", interval=0.05)
    final = store.get(job.id)
    assert final.status == "succeeded", final.error
    assert seen[0] == "queued" and "running" in seen and seen[-1] == "succeeded"
    assert final.runner == "inline" and final.pid == os.getpid()  # trained here, no worker process
    rows = store.metrics(job.id)
    assert [row["step"] for row in rows] == [1, 2, 3]
    assert all(row["train_loss"] > 0 and row["tokens_per_s"] > 0 for row in rows)
    assert Path(final.adapter_path, "adapter_model.safetensors").is_file()
    wait_for(lambda: not job_threads(job.id), 5, "the job's thread to end")


@pytest.mark.slow
def test_inline_local_job_cancel_ends_it_within_seconds(inline_settings: Settings, limericks: Path,
                                                        _restore_torch_threads: None) -> None:
    store = JobStore(inline_settings.jobs_db)
    job = start_job(inline_settings, TrainConfig(train_file=limericks, max_steps=500, **TINY))
    wait_for(lambda: store.metrics(job.id), 120, "the first training step")

    started = time.monotonic()
    cancelled = cancel_job(inline_settings, job.id)
    assert cancelled.status == "cancelled" and time.monotonic() - started < 10
    # The training loop stopped on the flag (it was not merely recorded over): the thread ends, no adapter.
    wait_for(lambda: not job_threads(job.id), 10, "the job's thread to end")
    final = store.get(job.id)
    assert final.status == "cancelled" and final.adapter_path is None
    assert len(store.metrics(job.id)) < 50
