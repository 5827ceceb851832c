"""Local fine-tune jobs end to end: a real LoRA run of the real SmolLM2 in a worker process.

One job is trained through the CLI for the whole module (3 steps on 10 short examples); the other
tests start their own short-lived workers to cancel, kill and resume. Workers run one at a time:
two torch processes on two cores slow each other down many times over.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from core.settings import Settings
from trainer.jobs.store import JobStore, find_last_checkpoint, job_folder
from trainer.jobs.control import job_status, recover_jobs, resume_job, start_job, worker_alive
from waiting import TINY, wait_for
from trainer.jobs.config import TrainConfig

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
MODEL_CACHE = Path(os.environ.get("TUTOR_TEST_MODEL_CACHE", ROOT / ".cache" / "models"))
STATUS_KEYS = {"id", "status", "backend", "model", "metrics", "error", "adapter_path", "created_at", "started_at",
               "finished_at", "dataset", "hyperparameters", "fine_tuned_model", "owner"}




def run_cli(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "trainer", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module", autouse=True)
def _threads_like_the_worker() -> Any:
    """In-process inference uses the worker's thread policy (oversubscribed cores are many times slower)."""
    import torch

    from core.device import pick_cpu_threads

    before = torch.get_num_threads()
    torch.set_num_threads(pick_cpu_threads())
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def data_files(tmp_path_factory: pytest.TempPathFactory, course_dir: Path) -> tuple[Path, Path]:
    folder = course_dir / "18-fine-tuning" / "python" / "openai"
    lines = [line for line in (folder / "training-data.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    train = tmp_path_factory.mktemp("dataset") / "limericks.jsonl"
    train.write_text("\n".join(lines[:10]) + "\n", encoding="utf-8")
    return train, folder / "validation-data.jsonl"


@pytest.fixture(scope="module")
def module_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(data_dir=tmp_path_factory.mktemp("jobs") / "data", model_cache=MODEL_CACHE)


@pytest.fixture(scope="module")
def cli_env(module_settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    env.update(TUTOR_DATA_DIR=str(module_settings.data_dir), TUTOR_MODEL_CACHE=str(MODEL_CACHE))
    return env


@pytest.fixture(scope="module")
def trained_job(module_settings: Settings, cli_env: dict[str, str], data_files: tuple[Path, Path]) -> dict[str, Any]:
    """A job started with `python -m trainer train ... --json` and followed until it ends."""
    train, validation = data_files
    started = time.monotonic()
    result = run_cli(cli_env, "train", str(train), "--validation", str(validation), "--max-steps", "3",
                     "--max-seq-length", "128", "--batch-size", "1", "--learning-rate", "1e-3",
                     "--eval-steps", "2", "--save-steps", "2", "--merge", "--json")
    returned_after = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    job_id = json.loads(result.stdout.strip().splitlines()[-1])["id"]
    store = JobStore(module_settings.jobs_db)
    seen = [store.get(job_id).status]

    def finished() -> bool:
        status = store.get(job_id).status
        if status != seen[-1]:
            seen.append(status)
        return status in ("succeeded", "failed", "cancelled", "interrupted")

    wait_for(finished, 240, "the CLI-started job to finish", interval=0.1)
    log = (job_folder(module_settings.data_dir, job_id) / "worker.log").read_text(errors="replace")
    assert store.get(job_id).status == "succeeded", f"{store.get(job_id).error}\n{log[-3000:]}"
    return {"id": job_id, "seen": seen, "returned_after": returned_after, "settings": module_settings}


def test_cli_train_returns_at_once_and_the_job_succeeds(trained_job: dict[str, Any], cli_env: dict[str, str]) -> None:
    assert trained_job["returned_after"] < 15
    assert trained_job["seen"][0] == "queued" and trained_job["seen"][-1] == "succeeded"
    assert "running" in trained_job["seen"]

    result = run_cli(cli_env, "status", trained_job["id"], "--json")
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert STATUS_KEYS <= set(status)
    assert (status["id"], status["status"], status["backend"]) == (trained_job["id"], "succeeded", "local")
    assert status["error"] is None and status["hyperparameters"]["max_steps"] == 3
    steps = [row["step"] for row in status["metrics"]]
    assert steps == [1, 2, 3]
    assert all(row["train_loss"] > 0 and row["tokens_per_s"] > 0 for row in status["metrics"])
    # Validation every 2 steps, and once more at the end.
    assert [row["eval_loss"] is not None for row in status["metrics"]] == [False, True, True]

    folder = job_folder(trained_job["settings"].data_dir, trained_job["id"])
    assert Path(status["adapter_path"]) == folder / "adapter"
    assert {"adapter_config.json", "adapter_model.safetensors"} <= {p.name for p in (folder / "adapter").iterdir()}
    assert (folder / "config.json").is_file() and (folder / "train.jsonl").is_file() and (folder / "validation.jsonl").is_file()
    assert (folder / "merged" / "config.json").is_file()

    listing = json.loads(run_cli(cli_env, "list", "--json").stdout)
    assert trained_job["id"] in [job["id"] for job in listing]
    assert run_cli(cli_env, "list", "--learner", "someone-else", "--json").stdout.strip() == "[]"


def test_adapter_loads_with_peft_lora_changed_base_did_not(trained_job: dict[str, Any]) -> None:
    import torch
    from peft import PeftModel
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    from core.model_loading import load_causal_lm

    settings, job_id = trained_job["settings"], trained_job["id"]
    adapter = job_folder(settings.data_dir, job_id) / "adapter"
    weights = load_file(str(adapter / "adapter_model.safetensors"))
    assert weights and all("lora_" in name for name in weights)  # only adapter weights were saved
    lora_b = [tensor for name, tensor in weights.items() if "lora_B" in name]
    assert lora_b and all(tensor.abs().sum() > 0 for tensor in lora_b)  # B starts at zero: training moved it

    model, tokenizer = load_causal_lm(settings.local_model, settings.models_dir)
    inputs = tokenizer.apply_chat_template([{"role": "user", "content": "Tell me about Neon"}], add_generation_prompt=True,
                                           return_tensors="pt", return_dict=True)
    with torch.no_grad():
        pristine = model(**inputs).logits
    tuned_model = PeftModel.from_pretrained(model, str(adapter))
    with torch.no_grad():
        tuned = tuned_model(**inputs).logits
        with tuned_model.disable_adapter():
            base_again = tuned_model(**inputs).logits
    assert torch.equal(base_again, pristine)  # the base weights are untouched
    assert not torch.allclose(tuned, pristine, atol=1e-3)  # the adapter changes the output

    output = tuned_model.generate(**inputs, max_new_tokens=8, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    assert output.shape[1] > inputs["input_ids"].shape[1]

    merged = AutoModelForCausalLM.from_pretrained(job_folder(settings.data_dir, job_id) / "merged")
    with torch.no_grad():
        assert torch.allclose(merged(**inputs).logits, tuned, atol=1e-3)  # merge-and-export = base + adapter


def test_chat_and_compare_with_the_result(trained_job: dict[str, Any], cli_env: dict[str, str]) -> None:
    from trainer.jobs import inference

    settings, job_id = trained_job["settings"], trained_job["id"]
    inference.clear_cache()  # other tests in this process may have loaded models
    result = run_cli(cli_env, "compare", job_id, "Tell me about Neon", "--max-new-tokens", "12", "--json")
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout)
    assert set(answers) == {"base", "tuned"} and answers["base"] and answers["tuned"]

    first = inference.generate(settings, job_id, "Tell me about Neon", max_new_tokens=12)
    cached = len(inference._cache)
    second = inference.generate(settings, job_id, [{"role": "user", "content": "Tell me about Neon"}], max_new_tokens=12)
    assert first == second == answers["tuned"]  # greedy, same model in both processes
    assert len(inference._cache) == cached == 1  # the second turn reused the loaded model
    inference.clear_cache()


def test_cancel_stops_a_running_job_within_seconds(module_settings: Settings, cli_env: dict[str, str],
                                                  data_files: tuple[Path, Path]) -> None:
    store = JobStore(module_settings.jobs_db)
    job = start_job(module_settings, TrainConfig(train_file=data_files[0], max_steps=500, **TINY))
    wait_for(lambda: store.metrics(job.id), 120, "the first training step")
    running = store.get(job.id)
    assert running.status == "running" and worker_alive(running)

    started = time.monotonic()
    result = run_cli(cli_env, "cancel", job.id, "--json")
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"id": job.id, "status": "cancelled"}
    assert elapsed < 15
    assert not worker_alive(running)
    assert store.get(job.id).adapter_path is None

    again = run_cli(cli_env, "cancel", job.id)
    assert again.returncode == 2 and "already finished" in again.stderr and "Traceback" not in again.stderr


def test_killed_worker_is_interrupted_and_resumes_from_its_checkpoint(
    module_settings: Settings, cli_env: dict[str, str], data_files: tuple[Path, Path]
) -> None:
    store = JobStore(module_settings.jobs_db)
    result = run_cli(cli_env, "train", str(data_files[0]), "--max-steps", "4", "--save-steps", "1", "--max-seq-length",
                     "128", "--batch-size", "1", "--json")
    job_id = json.loads(result.stdout.strip().splitlines()[-1])["id"]
    folder = job_folder(module_settings.data_dir, job_id)
    checkpoint = wait_for(lambda: find_last_checkpoint(folder), 120, "the first checkpoint")
    job = store.get(job_id)
    assert job.status == "running"
    os.killpg(os.getpgid(job.pid), signal.SIGKILL)
    wait_for(lambda: not worker_alive(job), 10, "the killed worker to go")
    first_rows = {row["step"]: row for row in store.metrics(job_id)}

    # Nobody was left to report (the CLI that started it has exited): the next look finds it gone.
    assert [j.id for j in recover_jobs(store)] == [job_id]
    status = job_status(module_settings, job_id)
    assert status["status"] == "interrupted" and "exited without reporting" in status["error"]

    resumed = resume_job(module_settings, job_id)
    assert resumed.status == "queued"
    assert resumed.checkpoint is not None and Path(resumed.checkpoint).name.startswith("checkpoint-")
    assert int(Path(resumed.checkpoint).name.split("-")[1]) >= int(checkpoint.name.split("-")[1])
    wait_for(lambda: store.get(job_id).finished, 180, "the resumed job to finish")
    final = store.get(job_id)
    assert final.status == "succeeded", final.error
    assert final.error is None and Path(final.adapter_path, "adapter_model.safetensors").is_file()
    rows = {row["step"]: row for row in store.metrics(job_id)}
    assert sorted(rows) == [1, 2, 3, 4]
    resumed_at = int(Path(resumed.checkpoint).name.split("-")[1])
    for step in range(1, resumed_at + 1):  # steps before the checkpoint were not trained again
        assert rows[step]["time"] == first_rows[step]["time"]
    assert "resuming from" in (folder / "worker.log").read_text(errors="replace")


def test_worker_killed_under_its_launcher_is_recorded_failed(module_settings: Settings, data_files: tuple[Path, Path]) -> None:
    store = JobStore(module_settings.jobs_db)
    job = start_job(module_settings, TrainConfig(train_file=data_files[0], max_steps=50, **TINY))
    running = wait_for(lambda: (j := store.get(job.id)).status == "running" and j, 60, "the worker to start")
    os.killpg(os.getpgid(running.pid), signal.SIGKILL)
    final = wait_for(lambda: (j := store.get(job.id)).finished and j, 10, "the launcher to record the death")
    assert final.status == "failed"
    assert "SIGKILL" in final.error and "Resume" in final.error
