"""Done-when of the evaluation: a real quick job on the course's 10 limerick examples, started through the CLI with
the preset's defaults, then `python -m trainer eval` in another process on held-out prompts this test writes itself
(elements that are in neither course file). The tuned model answers in the training answers' form and the base
model does not; the tuned model gives the references a lower loss; the report is stored and `status` shows it.
The same run overfits (the validation loss rises while the train loss falls): status says so and keeps the best
checkpoint, which `eval --checkpoint best` evaluates."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from core.settings import Settings
from trainer.jobs.store import JobStore
from waiting import wait_for

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
MODEL_CACHE = Path(os.environ.get("TUTOR_TEST_MODEL_CACHE", ROOT / ".cache" / "models"))
# The reports this run produced, kept for reading the figures afterwards (like the browser tests' screenshots).
ARTIFACTS = ROOT / "test-artifacts" / "evaluation"
# Written for this test in the training answers' form: five " - "-separated lines opening with the element.
HELD_OUT = {
    "Zinc": "Zinc, a metal of blue-grey - It keeps steel from rusting away - In brass, it's a part - "
            "And in batteries, it's smart - It's needed by the body each day",
    "Potassium": "Potassium, so soft and so light - In water it bursts into light - In bananas it's found - "
                 "In the soil all around - It keeps nerves and muscles just right",
    "Calcium": "Calcium, the builder of bone - In milk and in chalk it is known - In teeth, it's the base - "
               "In cement, it's in place - A metal that's rarely alone",
    "Nitrogen": "Nitrogen, the gas of the air - Most of each breath, it is there - In plants, it's a feed - "
                "For the growth that they need - As a liquid, it's cold, so take care",
}


def run_cli(env: dict[str, str], *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "trainer", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("eval") / "data", model_cache=MODEL_CACHE)
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    env.update(TUTOR_DATA_DIR=str(settings.data_dir), TUTOR_MODEL_CACHE=str(MODEL_CACHE))
    return env


@pytest.fixture(scope="module")
def train_file(course_dir: Path) -> Path:
    return course_dir / "18-fine-tuning" / "python" / "openai" / "training-data.jsonl"


@pytest.fixture(scope="module")
def held_out(tmp_path_factory: pytest.TempPathFactory, train_file: Path) -> Path:
    system = json.loads(train_file.read_text(encoding="utf-8").splitlines()[0])["messages"][0]
    path = tmp_path_factory.mktemp("held-out") / "elements.jsonl"
    path.write_text("".join(json.dumps({"messages": [system, {"role": "user", "content": f"Tell me about {element}"},
                                                     {"role": "assistant", "content": answer}]}) + "\n"
                            for element, answer in HELD_OUT.items()), encoding="utf-8")
    return path


def keep(name: str, content: dict[str, Any]) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"{name}.json").write_text(json.dumps(content, indent=2, ensure_ascii=False), encoding="utf-8")


def train(env: dict[str, str], train_file: Path, *options: str) -> str:
    """Start a job through the CLI, wait for it and return its id."""
    started = run_cli(env, "train", str(train_file), *options, "--json", timeout=60)
    assert started.returncode == 0, started.stderr
    job_id = json.loads(started.stdout.strip().splitlines()[-1])["id"]
    store = JobStore(Settings(data_dir=Path(env["TUTOR_DATA_DIR"]), model_cache=MODEL_CACHE).jobs_db)
    wait_for(lambda: store.get(job_id).finished, 900, f"job {job_id}", interval=1)
    assert store.get(job_id).status == "succeeded", store.get(job_id).error
    return job_id


@pytest.fixture(scope="module")
def quick_job(env: dict[str, str], train_file: Path, held_out: Path) -> dict[str, Any]:
    """The guided path's default: the quick preset, nothing else set."""
    return {"id": train(env, train_file), "env": env, "held_out": held_out}


def test_quick_preset_learns_the_form_and_eval_shows_it(quick_job: dict[str, Any]) -> None:
    env, job_id = quick_job["env"], quick_job["id"]
    status = json.loads(run_cli(env, "status", job_id, "--json").stdout)
    # The preset chose its epochs from the dataset's size and held one example back for validation.
    assert status["hyperparameters"]["held_out"] == 1 and status["hyperparameters"]["epochs"] == 7

    result = run_cli(env, "eval", job_id, "--data", str(quick_job["held_out"]), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    keep("quick-job", {"status": {k: status[k] for k in ("hyperparameters", "started_at", "finished_at")}, "report": report})
    assert report["job"] == job_id and report["examples"] == len(HELD_OUT) and "wins" in report
    base, tuned = report["metrics"]["base"], report["metrics"]["tuned"]
    rows = "\n".join(f"{row['prompt']}\n  base: {row['base']}\n  tuned: {row['tuned']}" for row in report["rows"])
    assert tuned["format_match"] >= 0.75, rows
    assert base["format_match"] <= 0.25, rows
    assert tuned["loss"] < base["loss"], (tuned, base)
    assert [row["prompt"] for row in report["rows"]] == [f"Tell me about {element}" for element in HELD_OUT]
    assert all({"base", "tuned", "winner"} <= set(row["scores"]) for row in report["rows"])

    status = json.loads(run_cli(env, "status", job_id, "--json").stdout)
    assert status["evaluation"]["metrics"]["tuned"]["format_match"] == tuned["format_match"]
    assert status["evaluation"]["wins"] == report["wins"] and status["evaluation"]["checkpoint"] == "final"
    text = run_cli(env, "status", job_id).stdout
    assert "evaluation (final adapter, 4 examples" in text and "format_match" in text


def test_the_longer_run_reports_overfitting_and_keeps_the_best_checkpoint(env: dict[str, str], train_file: Path,
                                                                         held_out: Path) -> None:
    job_id = train(env, train_file, "--epochs", "15")
    status = json.loads(run_cli(env, "status", job_id, "--json").stdout)
    evals = [row for row in status["metrics"] if row["eval_loss"] is not None]
    assert len(evals) >= 3 and all(isinstance(row["step"], int) for row in evals)
    found = status["overfitting"]
    keep("longer-job", {"eval_losses": evals, "overfitting": found})
    assert found is not None, evals
    assert found["best_step"] < found["last_step"] and found["last_eval_loss"] > found["best_eval_loss"]
    assert Path(found["checkpoint"], "adapter_config.json").is_file()
    assert f"step {found['best_step']}" in found["message"]["en"] and f"askeleella {found['best_step']}" in found["message"]["fi"]
    assert "Overfitting" in run_cli(env, "status", job_id).stdout

    result = run_cli(env, "eval", job_id, "--data", str(held_out), "--limit", "1", "--checkpoint", "best", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["checkpoint"] == "best" and report["examples"] == 1 and report["rows"][0]["tuned"].strip()

    # The learner can chat with the best checkpoint as well as the final adapter.
    prompt = "Tell me about zinc"
    best = run_cli(env, "compare", job_id, prompt, "--checkpoint", "best", "--max-new-tokens", "24", "--json")
    final = run_cli(env, "compare", job_id, prompt, "--max-new-tokens", "24", "--json")
    assert best.returncode == 0 and final.returncode == 0, (best.stderr, final.stderr)
    best_answers, final_answers = json.loads(best.stdout), json.loads(final.stdout)
    assert best_answers["base"] == final_answers["base"], "the base model is the same either way"
    assert best_answers["tuned"].strip() and final_answers["tuned"].strip(), (best_answers, final_answers)
