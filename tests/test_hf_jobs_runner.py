"""Training on Hugging Face Jobs end to end, against a loopback Hub whose jobs really run.

The fake Hub (`tests/fake_hf`) speaks the paths `huggingface_hub` uses and runs each job's command as
given (pip is a no-op shim there): the real entry point downloads the inputs from the learner's repo,
trains the real SmolLM2 on CPU for a few steps and pushes the adapter back; the worker here follows the
job's log into metric rows and downloads the adapter, which chat then loads. Also: a failed job keeps
its reason, a cancel reaches the Hub, the chat's *train it on a GPU*, and HF_TOKEN is nowhere it should not be.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.conversation import Agent
from assistant.toolbox import default_toolbox
from core.llm import LocalBackend
from core.settings import Settings, load_settings
from fake_hf import FakeHub
from trainer.evaluation.run import evaluate_job
from trainer.jobs import control, inference
from trainer.jobs.config import TrainConfig
from trainer.jobs.store import JobStore
from waiting import TINY, wait_for

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
MODEL_CACHE = Path(os.environ.get("TUTOR_TEST_MODEL_CACHE", ROOT / ".cache" / "models"))
TOKEN = "hf_testTOKENnever0logged1234567890abcd"
FLAVOR = "a10g-small"
FINISHED = {"succeeded", "failed", "cancelled", "interrupted"}


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeHub]:
    # The jobs' HOME keeps the converted base model, as an image with it baked in would: here it is the tests' cache.
    home = tmp_path_factory.mktemp("hf-job-home")
    MODEL_CACHE.mkdir(parents=True, exist_ok=True)
    (home / ".cache" / "huggingface").mkdir(parents=True)
    (home / ".cache" / "huggingface" / "finetune-tutor-models").symlink_to(MODEL_CACHE.resolve())
    with FakeHub(token=TOKEN, user="learner", job_home=home) as server:
        yield server


def hub_settings(data_dir: Path, hub: FakeHub, **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(data_dir=data_dir, model_cache=MODEL_CACHE, job_runner="hf-jobs", hf_token=TOKEN,
                                  hf_endpoint=hub.url, hf_flavor=FLAVOR, hf_code="git+https://huggingface.co/spaces/learner/finetune-tutor")
    return Settings(**{**values, **overrides})


def finished(settings: Settings, job_id: str, timeout: float = 420) -> dict[str, Any]:
    return wait_for(lambda: (job := control.job_status(settings, job_id, "ann"))["status"] in FINISHED and job,
                    timeout, f"job {job_id} to end (log: {settings.data_dir / 'jobs' / job_id / 'worker.log'})", interval=0.5)


def assert_no_token(settings: Settings, *texts: str) -> None:
    """HF_TOKEN appears in no file under the data folder (store, job folders, logs, adapters) nor in `texts`."""
    for path in settings.data_dir.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), f"HF_TOKEN written to {path}"
    for text in texts:
        assert TOKEN not in text


def test_a_job_on_hugging_face_trains_reports_metrics_and_its_adapter_comes_back(hub: FakeHub, tmp_path: Path,
                                                                                 limericks: Path) -> None:
    settings = hub_settings(tmp_path / "data", hub)
    # Two failed looks at the job (a Hub hiccup) are retried; the job carries on.
    hub.fail_next(503, times=2, path=r"^/api/jobs/learner/[0-9a-f]+$")
    config = TrainConfig(train_file=limericks, max_steps=2, logging_steps=1, eval_steps=2, save_steps=100,
                         poll_interval=0.5, poll_retry_first=0.2, poll_retry_max=0.5, **TINY)
    job = control.start_job(settings, config, owner="ann")
    assert job.runner == "hf-jobs"

    # The worker following it dies: the job on the Hub goes on, and resuming follows that job, never a second one.
    remote = wait_for(lambda: control.job_status(settings, job.id, "ann")["remote_id"], 120, "the job to be submitted")
    follower = control.job_status(settings, job.id, "ann")
    store = JobStore(settings.jobs_db)
    os.killpg(os.getpgid(store.get(job.id).pid), signal.SIGKILL)
    # Read the store itself meanwhile: a status read would re-attach the orphan before its launcher records the death.
    assert wait_for(lambda: store.get(job.id).finished, 30, "the launcher to record the death") and store.get(job.id).status == "failed"
    assert control.resume_job(settings, job.id, "ann").remote_id == remote

    status = finished(settings, job.id)
    assert status["status"] == "succeeded", status["error"]
    assert [r["path"] for r in hub.requests if r["method"] == "POST" and r["path"] == "/api/jobs/learner"] == ["/api/jobs/learner"]
    assert follower["queue_position"] is None  # it never waited for this machine's training slot
    assert status["runner"] == "hf-jobs" and status["hardware"] == FLAVOR and status["remote_id"] in hub.jobs
    assert status["hub_repo"] == f"learner/finetune-tutor-{job.id}"
    assert status["summary"]["last_error"]["status"] == 503 and status["summary"]["last_error"]["retrying"] is False
    # The log's metric lines became the store's rows, the same fields a local job records.
    rows = {row["step"]: row for row in status["metrics"]}
    assert sorted(rows) == [1, 2] and all(rows[step]["train_loss"] > 0 for step in (1, 2))
    assert rows[2]["eval_loss"] > 0 and rows[1]["tokens_per_s"] > 0 and rows[1]["learning_rate"] is not None
    assert status["summary"]["global_step"] == 2

    # The job ran what the README says, on the flavour asked, with the token only as a secret.
    spec = hub.jobs[status["remote_id"]].spec
    assert spec["flavor"] == FLAVOR and spec["dockerImage"] == settings.hf_image
    assert spec["secrets"] == {"HF_TOKEN": TOKEN}
    assert TOKEN not in json.dumps({k: v for k, v in spec.items() if k != "secrets"})
    assert "python -m trainer.jobs.hf_train learner/finetune-tutor-" in spec["command"][-1]
    # The adapter went to the learner's private repo, beside the inputs it was trained on, and came back here.
    repo = hub.repos[status["hub_repo"]]
    assert repo.private and {"adapter_config.json", "adapter_model.safetensors", "training/train.jsonl"} <= set(repo.files)
    adapter = Path(status["adapter_path"])
    assert adapter == settings.data_dir / "jobs" / job.id / "adapter"
    assert (adapter / "adapter_model.safetensors").read_bytes() == repo.files["adapter_model.safetensors"]
    assert not (adapter / "training").exists()

    # Chatting with the result loads the downloaded adapter like a local job's; evaluation takes the best-validation
    # adapter the job pushed beside it.
    reply = inference.generate(settings, job.id, "Tell me about helium", max_new_tokens=8, owner="ann")
    assert reply.strip()
    assert (settings.data_dir / "jobs" / job.id / "best-adapter" / "adapter_model.safetensors").is_file()
    report = evaluate_job(settings, job.id, owner="ann", limit=1, checkpoint="best", max_new_tokens=8)
    assert report.examples == 1 and report.checkpoint == "best" and set(report.metrics) == {"base", "tuned"}

    log = (settings.data_dir / "jobs" / job.id / "worker.log").read_text(encoding="utf-8")
    assert "[hf] tutor-metric" in log and "503" in log
    assert_no_token(settings, json.dumps(status), log, json.dumps(hub.requests))


def test_a_failed_job_keeps_the_reason_from_its_log(hub: FakeHub, tmp_path: Path) -> None:
    data = tmp_path / "context-only.jsonl"  # valid, but no turn to learn from: the entry point refuses it
    data.write_text("\n".join(json.dumps({"messages": [{"role": "user", "content": f"Tell me about {name}"},
                                                       {"role": "assistant", "content": f"{name} is an element.", "weight": 0}]})
                              for name in ("neon", "argon", "xenon")) + "\n", encoding="utf-8")
    settings = hub_settings(tmp_path / "data", hub)
    job = control.start_job(settings, TrainConfig(train_file=data, holdout=0, poll_interval=0.5, **TINY), owner="ann")

    status = finished(settings, job.id)
    assert status["status"] == "failed"
    assert f"The Hugging Face job {status['remote_id']} failed: Job failed with exit code: 1" in status["error"]
    assert "no assistant turns to learn from" in status["error"]  # the Python error, from the job's log
    assert status["summary"]["remote_status"] == "ERROR"
    assert_no_token(settings, json.dumps(status))


def test_train_it_on_a_gpu_from_the_chat_then_cancel(hub: FakeHub, tmp_path: Path) -> None:
    # Without the Hub's settings the chat says what to set, and nothing starts.
    plain = Settings(data_dir=tmp_path / "plain", model_cache=MODEL_CACHE)
    agent = Agent(plain, LocalBackend(plain.local_model, plain.models_dir), default_toolbox())
    say(agent, "help me make examples for a limerick bot about chemical elements")
    say(agent, "add them")
    reply, tools = say(agent, "train it on a GPU")
    assert tools[0].name == "start_finetune" and not tools[0].ok
    assert "HF_TOKEN" in reply and "TUTOR_HF_FLAVOR" in reply
    assert control.list_jobs(plain, "ann") == []

    # With them (and TUTOR_JOB_RUNNER left at auto), *on a GPU* sends this job to Hugging Face Jobs.
    settings = hub_settings(tmp_path / "data", hub, job_runner="auto")
    agent = Agent(settings, LocalBackend(settings.local_model, settings.models_dir), default_toolbox())
    say(agent, "help me make examples for a limerick bot about chemical elements")
    say(agent, "add them")
    reply, tools = say(agent, "train it on a GPU")
    assert tools[0].name == "start_finetune" and tools[0].ok, tools[0].error
    job_id = tools[0].output.data["job"]["id"]
    assert f"on a GPU at Hugging Face Jobs ({FLAVOR})" in reply
    assert control.job_status(settings, job_id, "ann")["runner"] == "hf-jobs"

    remote = wait_for(lambda: control.job_status(settings, job_id, "ann")["remote_id"], 120, "the job to be submitted")
    wait_for(lambda: hub.jobs[remote].stage == "RUNNING" and hub.jobs[remote].logs, 120, "the remote job to run")
    reply, _ = say(agent, "how is my job doing?")
    assert f"Hugging Face Jobs ({FLAVOR})" in reply and remote in reply

    reply, tools = say(agent, f"cancel the job {job_id}")
    assert tools[0].name == "cancel_job" and tools[0].ok, tools[0].error
    assert finished(settings, job_id, timeout=60)["status"] == "cancelled"
    wait_for(lambda: hub.jobs[remote].stage == "CANCELED", 30, "the Hub to record the cancel")
    assert any(r["method"] == "POST" and r["path"] == f"/api/jobs/learner/{remote}/cancel" for r in hub.requests)
    assert_no_token(settings, reply)


def test_hf_jobs_settings_are_checked_before_anything_starts(tmp_path: Path, limericks: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", model_cache=MODEL_CACHE, hf_token=TOKEN)
    with pytest.raises(control.JobSetupError, match="TUTOR_HF_FLAVOR") as error:
        control.start_job(settings, TrainConfig(train_file=limericks), owner="ann", runner="hf-jobs")
    assert "HF_TOKEN," not in str(error.value) and TOKEN not in str(error.value)
    assert control.list_jobs(settings, "ann") == []
    with pytest.raises(ValueError, match="hf-jobs"):
        Settings(job_runner="hf-job")
    assert load_settings({"TUTOR_JOB_RUNNER": "hf-jobs"}).job_runner_in_use == "hf-jobs"
    # On a Space the job installs the app from the Space's own repository; a blank token is no token.
    on_space = load_settings({"SPACE_ID": "learner/finetune-tutor", "HF_TOKEN": " "})
    assert on_space.hf_code == "git+https://huggingface.co/spaces/learner/finetune-tutor" and on_space.hf_token is None


def test_cancelling_a_job_whose_follower_is_gone_cancels_it_on_the_hub(hub: FakeHub, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import HfApi, constants

    settings = hub_settings(tmp_path / "data", hub)
    store = JobStore(settings.jobs_db)

    def orphan(job_id: str) -> str:
        """A running hf-jobs job with no follower left, and its job really running on the Hub."""
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
        remote = HfApi(endpoint=hub.url, token=TOKEN).run_job(image="x", command=["sleep", "60"], namespace="learner").id
        store.create(job_id=job_id, owner="ann", backend="local", model="m", dataset="d", config={"train_file": "t.jsonl"},
                     runner="hf-jobs")
        store.transition(job_id, "running", remote_id=remote, summary={"namespace": "learner"})
        wait_for(lambda: hub.jobs[remote].stage == "RUNNING", 10, "the remote job to run")
        return remote

    remote = orphan("ft-0000000a")
    assert control.cancel_job(settings, "ft-0000000a", "ann").status == "cancelled"
    wait_for(lambda: hub.jobs[remote].stage == "CANCELED", 10, "the Hub to cancel it")

    # Where this process may not reach the Hub (the app keeps HF_HUB_OFFLINE=1 off a Space), the job still ends
    # cancelled here, and its record says to cancel it on the Hub.
    remote = orphan("ft-0000000b")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    job = control.cancel_job(settings, "ft-0000000b", "ann")
    assert job.status == "cancelled" and "HF_HUB_OFFLINE" in job.summary["cancel_error"] and remote in job.summary["cancel_error"]
    assert hub.jobs[remote].stage == "RUNNING"
    hub.jobs[remote].process.kill()


def test_a_job_on_hugging_face_holds_no_training_slot_here(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.sqlite")
    for job_id, runner in (("ft-00000001", "hf-jobs"), ("ft-00000002", "process")):
        store.create(job_id=job_id, owner="ann", backend="local", model="m", dataset="d", config={}, runner=runner)
    assert store.queue_position("ft-00000001") is None and store.queue_position("ft-00000002") == (1, 1)
    store.transition("ft-00000001", "running")
    assert store.claim_slot("ft-00000002", 1, pid=None, pid_started_at=None) == "claimed"
    assert [job.id for job in store.training()] == ["ft-00000002"]


def say(agent: Agent, text: str, learner: str = "ann") -> tuple[str, list[Any]]:
    final = list(agent.respond(text, [], learner))[-1]
    return final[-1].content, [m.tool for m in final if m.tool]


def test_one_runner_choice_for_the_cluster_and_hugging_face(tmp_path: Path) -> None:
    """Ray and hf-jobs are the remote runners of one table, chosen in one place (`pick_runner`)."""
    assert control.REMOTE_RUNNERS == {"ray", "hf-jobs"}
    plain = load_settings({"TUTOR_DATA_DIR": str(tmp_path)})
    with pytest.raises(control.JobSetupError, match="HF_TOKEN, TUTOR_HF_FLAVOR, TUTOR_HF_CODE"):
        control.pick_runner(plain, "local", "hf-jobs")
    on_hf = load_settings({"TUTOR_DATA_DIR": str(tmp_path), "TUTOR_JOB_RUNNER": "hf-jobs", "HF_TOKEN": TOKEN,
                           "TUTOR_HF_FLAVOR": FLAVOR, "TUTOR_HF_CODE": "git+https://example.invalid/tutor"})
    assert control.pick_runner(on_hf, "local", None) == "hf-jobs"
    assert control.pick_runner(on_hf, "openai", None) == "process"  # the provider trains it; a process here follows it
    with pytest.raises(control.JobSetupError, match="Hugging Face Jobs"):
        control.pick_runner(on_hf, "openai", "hf-jobs")
