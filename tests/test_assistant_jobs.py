"""Fine-tune jobs driven from the chat: a real quick LoRA job of the real small model, watched, compared, cancelled."""

from __future__ import annotations

import time

import pytest

from assistant.learner_state import load_state
from assistant.conversation import Agent
from core.llm import LocalBackend
from assistant.toolbox import default_toolbox
from trainer.jobs import control

pytestmark = pytest.mark.slow


def say(agent, text, learner="ann"):
    final = list(agent.respond(text, [], learner))[-1]
    return final[-1].content, [m.tool for m in final if m.tool]


def wait_for(settings, job_id, statuses, timeout=300):
    deadline = time.time() + timeout
    while time.time() < deadline:
        job = control.job_status(settings, job_id, "ann")
        if job["status"] in statuses:
            return job
        time.sleep(1)
    raise AssertionError(f"job {job_id} still {job['status']} after {timeout}s; log: {job['log_path']}")


def test_start_watch_compare_and_cancel_from_chat(settings):
    agent = Agent(settings, LocalBackend(settings.local_model, settings.models_dir), default_toolbox())
    say(agent, "help me make examples for a limerick bot about chemical elements")
    say(agent, "add them")

    reply, tools = say(agent, "start a quick fine-tune")
    assert tools[0].name == "start_finetune" and tools[0].ok, tools[0].error
    job_id = tools[0].output.data["job"]["id"]
    assert job_id in reply and load_state(settings, "ann").last_job == job_id
    # One copy of the data in the job's folder (a share held back as its validation file); nothing left
    # behind under the learner's folder.
    folder = settings.data_dir / "jobs" / job_id
    copied = (folder / "train.jsonl").read_bytes().splitlines() + (
        (folder / "validation.jsonl").read_bytes().splitlines() if (folder / "validation.jsonl").exists() else [])
    assert sorted(copied) == sorted((settings.learner_dir("ann") / "datasets" / "my-dataset.jsonl").read_bytes().splitlines())
    assert not (settings.learner_dir("ann") / "tmp").exists()

    reply, tools = say(agent, "how is my job doing?")
    assert tools[0].name == "job_status" and job_id in reply

    job = wait_for(settings, job_id, {"succeeded", "failed"})
    assert job["status"] == "succeeded", job["error"]
    reply, _ = say(agent, "how is my job doing?")
    assert "succeeded" in reply and "train loss" in reply

    reply, tools = say(agent, "compare: Tell me about helium")
    assert tools[0].name == "compare" and tools[0].ok, tools[0].error
    answers = tools[0].output.data
    assert answers["base"].strip() and answers["tuned"].strip()
    assert "Base model" in reply and "Fine-tuned" in reply

    # The guided path's step 6 from the chat: the held-out share scored for base and tuned, stored with the job.
    reply, tools = say(agent, "evaluate my model")
    assert tools[0].name == "evaluate" and tools[0].ok, tools[0].error
    data = tools[0].output.data
    assert data["job"] == job_id and data["examples"] >= 1
    assert set(data["metrics"]) == {"base", "tuned"} and sum(data["wins"].values()) == data["examples"]
    assert f"Evaluation of {job_id}" in reply and "| loss on the references" in reply and "Next steps" in reply
    assert control.job_status(settings, job_id, "ann")["evaluation"]["examples"] == data["examples"]
    reply, _ = say(agent, "how is my job doing?")
    assert "Evaluated" in reply and "tuned wins" in reply, reply

    reply, tools = say(agent, "start a balanced fine-tune")
    second = tools[0].output.data["job"]["id"]
    reply, tools = say(agent, f"cancel the job {second}")
    assert tools[0].name == "cancel_job" and tools[0].ok, tools[0].error
    assert wait_for(settings, second, {"cancelled", "failed", "succeeded"}, timeout=60)["status"] == "cancelled"
    assert control.job_status(settings, job_id, "ann")["status"] == "succeeded"


def test_job_questions_without_jobs_get_guidance(settings):
    agent = Agent(settings, LocalBackend(settings.local_model, settings.models_dir), default_toolbox())
    reply, tools = say(agent, "how is my job doing?")
    assert not tools[0].ok and "start a quick fine-tune" in reply
    reply, tools = say(agent, "start a quick fine-tune")
    assert not tools[0].ok and "dataset" in reply.lower()
