"""Evaluating an OpenAI job end to end against the loopback OpenAI-compatible server: the tuned `ft:` model
and its base answer the held-out prompts, `--reference MODEL` records a third model's answers as the
references and as a dataset of the learner, the judge decides each pair in both orders, and endpoint
errors are one clear line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from pydantic import SecretStr

from core.settings import Settings
from trainer.data.store import learner_store
from trainer.evaluation.judge import JUDGE_SYSTEM
from trainer.jobs.config import TrainConfig
from trainer.jobs.control import start_job
from trainer.jobs.store import JobStore
from waiting import wait_for

ROOT = Path(__file__).resolve().parent.parent


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "trainer", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def _respond(body: dict) -> str | None:
    messages = body["messages"]
    if messages[0]["content"] == JUDGE_SYSTEM:
        first = messages[-1]["content"].split("Answer A:\n")[1].split("\n\nAnswer B:")[0]
        return json.dumps({"winner": "A" if first.startswith("Tuned") else "B", "reason": "It keeps the reference's form."})
    if body["model"].startswith("ft:"):
        return f"Tuned - {messages[-1]['content']} - in parts - as trained"
    return None  # the fake's default: "Fake MODEL reply to: PROMPT"


def test_openai_job_eval_with_reference_model_and_judge(settings: Settings, fake_openai, course_dir: Path) -> None:
    folder = course_dir / "18-fine-tuning" / "python" / "openai"
    remote = settings.model_copy(update={"openai_api_key": SecretStr(fake_openai.api_key), "openai_base_url": fake_openai.base_url})
    job = start_job(remote, TrainConfig(train_file=folder / "training-data.jsonl", validation_file=folder / "validation-data.jsonl",
                                        backend="openai", epochs=1, poll_interval=0.2))
    final = wait_for(lambda: (j := JobStore(settings.jobs_db).get(job.id)).finished and j, 60, "the OpenAI job")
    assert final.status == "succeeded", final.error
    fake_openai.responder = _respond
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    env.update(TUTOR_DATA_DIR=str(settings.data_dir), OPENAI_API_KEY=fake_openai.api_key, OPENAI_BASE_URL=fake_openai.base_url)

    result = _cli(env, "eval", job.id, "--reference", "gpt-4o-mini", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["job"], report["examples"]) == (job.id, 5)
    assert set(report["metrics"]) == {"base", "tuned", "reference"}
    for name in ("base", "tuned", "reference"):
        assert {"loss", "rougeL", "chrF", "format_match", "length"} <= set(report["metrics"][name])
        assert report["metrics"][name]["loss"] is None  # no teacher forcing through a chat API
    # The judge preferred the tuned answer in both orders every time.
    assert report["wins"] == {"tuned": 5, "base": 0, "tie": 0} and report["wins_by"] == "judge"
    prompts = [row["prompt"] for row in report["rows"]]
    assert prompts[0] == "Tell me about Neon" and len(prompts) == 5
    for row in report["rows"]:
        assert row["reference"] == f"Fake gpt-4o-mini reply to: {row['prompt']}"
        assert row["base"] == f"Fake {final.model} reply to: {row['prompt']}"
        assert row["tuned"].startswith("Tuned - ") and row["data_reference"]
        assert row["scores"]["judge"]["passes"] == ["tuned", "tuned"] and row["scores"]["judge"]["reasons"][0]
    # Scored against the reference model's answers, the base answers (same wording) are closer than the tuned ones.
    assert report["metrics"]["base"]["rougeL"] > report["metrics"]["tuned"]["rougeL"]

    # The recording is a dataset of the learner, ready to train on.
    saved = learner_store(settings, "default").load(report["reference_dataset"])
    assert [example["messages"][-1]["content"] for example in saved] == [row["reference"] for row in report["rows"]]
    asked = {request["body"]["model"] for request in fake_openai.requests if request["path"] == "/v1/chat/completions"}
    assert asked == {"gpt-4o-mini", final.model, final.fine_tuned_model}

    status = json.loads(_cli(env, "status", job.id, "--json").stdout)
    assert status["evaluation"]["wins"] == report["wins"] and status["evaluation"]["reference_model"] == "gpt-4o-mini"
    assert "rows" not in status["evaluation"]
    text = _cli(env, "status", job.id).stdout
    assert "wins (judge): tuned 5, base 0, tie 0" in text

    wrong = _cli({**env, "OPENAI_API_KEY": "sk-wrong-key-0123456789abcdef"}, "eval", job.id, "--json")
    assert wrong.returncode == 2 and "rejected the API key" in wrong.stderr
    assert "Traceback" not in wrong.stderr and "sk-wrong-key-0123456789abcdef" not in wrong.stderr + wrong.stdout
    unreachable = _cli({**env, "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}, "eval", job.id)
    assert unreachable.returncode == 2 and "Could not reach" in unreachable.stderr and "Traceback" not in unreachable.stderr
