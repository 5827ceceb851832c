"""The Ray job runner against a real Ray head on loopback: a job to success, one cancelled, one resumed.

The module starts `ray start --head` (dashboard and job submission server on 127.0.0.1, free ports,
its own temporary folder) and stops exactly the processes it started afterwards: `ray stop` would end
every Ray on the machine. Jobs are the real worker training the real SmolLM2 for a few LoRA steps,
submitted through `JobSubmissionClient`; the job store and folders are on a path both sides see.
Jobs run one at a time: two torch processes on two cores slow each other down many times over.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterator

import psutil
import pytest

from assistant.conversation import Agent
from assistant.toolbox import default_toolbox
from core.llm import LocalBackend
from core.settings import Settings
from trainer.jobs import control, inference
from trainer.jobs.config import TrainConfig
from trainer.jobs.store import JobStore, find_last_checkpoint, job_folder
from waiting import TINY, wait_for

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # the venv's bin: `ray`, and the `python` a job's entrypoint runs
SECRET = "sk-test-never-leaves-this-machine-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _head_processes(session: int) -> set[psutil.Process]:
    """Every process of the head's session, and their children (job drivers start sessions of their own)."""
    found: set[psutil.Process] = set()
    for process in psutil.process_iter():
        try:
            if os.getsid(process.pid) == session:
                found.add(process)
                found.update(process.children(recursive=True))
        except (psutil.Error, ProcessLookupError, PermissionError):
            continue
    return found


HEAD_ATTEMPTS = 3  # `ray start` gives its raylet a fixed 30 s to register, which a busy 2-core machine can miss
ARTIFACTS = ROOT / "test-artifacts"


def _start_head() -> tuple[subprocess.Popen, str, int, str]:
    """One `ray start --head`: (the starter process, its temp folder, the dashboard port, what it printed)."""
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's unix sockets live under it (108-byte limit)
    dashboard = free_port()
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "RAY_USAGE_STATS_ENABLED": "0"}
    command = [str(BIN / "ray"), "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(free_port()),
               "--num-cpus", "1", "--num-gpus", "0", "--object-store-memory", str(100 * 1024 * 1024),
               "--include-dashboard=true", "--dashboard-host", "127.0.0.1", "--dashboard-port", str(dashboard),
               "--ray-client-server-port", str(free_port()), "--dashboard-agent-listen-port", str(free_port()),
               "--dashboard-agent-grpc-port", str(free_port()), "--temp-dir", temp, "--disable-usage-stats"]
    # Its own session: the daemons it leaves behind keep it, which is how the fixture finds them to stop.
    starter = subprocess.Popen(command, env=env, cwd=temp, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    output, _ = starter.communicate(timeout=240)
    return starter, temp, dashboard, output


def _stop_head(starter: subprocess.Popen, temp: str, keep_logs: str | None = None) -> None:
    """End exactly the processes of this head's session; with `keep_logs`, keep Ray's logs in test-artifacts/."""
    processes = _head_processes(starter.pid)
    for process in processes:
        try:
            process.terminate()
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(list(processes), timeout=15)
    for process in alive:
        try:
            process.kill()
        except psutil.Error:
            pass
    logs = Path(temp) / "session_latest" / "logs"
    if keep_logs and logs.is_dir():
        subprocess.run(["cp", "-rL", str(logs), str(ARTIFACTS / keep_logs)], check=False)
    subprocess.run(["rm", "-rf", temp], check=False)


@pytest.fixture(scope="module")
def ray_head() -> Iterator[str]:
    """A real Ray head on loopback; yields its job submission address (http://127.0.0.1:PORT).

    A start whose raylet misses Ray's fixed registration window is stopped, its logs kept, and tried
    again with fresh ports and folder; the fixture fails, with every attempt's output, after HEAD_ATTEMPTS."""
    ARTIFACTS.mkdir(exist_ok=True)
    outputs = []
    for attempt in range(1, HEAD_ATTEMPTS + 1):
        starter, temp, dashboard, output = _start_head()
        if starter.returncode == 0:
            break
        outputs.append(f"attempt {attempt}:\n{output[-2000:]}")
        _stop_head(starter, temp, keep_logs=f"ray-head-attempt-{attempt}")
    else:
        pytest.fail("the Ray head did not start (logs in test-artifacts/ray-head-attempt-*):\n" + "\n".join(outputs))
    try:
        yield f"http://127.0.0.1:{dashboard}"
    finally:
        _stop_head(starter, temp)


@pytest.fixture(scope="module")
def ray_settings(tmp_path_factory: pytest.TempPathFactory, ray_head: str, model_cache: Path) -> Settings:
    # A key is configured (as on a real deployment) so the tests can check it never reaches the cluster.
    return Settings(data_dir=tmp_path_factory.mktemp("ray-jobs") / "data", model_cache=model_cache,
                    job_runner="ray", ray_address=ray_head, openai_api_key=SECRET)


@pytest.fixture(scope="module")
def train_file(tmp_path_factory: pytest.TempPathFactory, course_dir: Path) -> Path:
    source = course_dir / "18-fine-tuning" / "python" / "openai" / "training-data.jsonl"
    lines = [line for line in source.read_text(encoding="utf-8").splitlines() if line.strip()]
    path = tmp_path_factory.mktemp("ray-data") / "limericks.jsonl"
    path.write_text("\n".join(lines[:10]) + "\n", encoding="utf-8")
    return path


def client(settings: Settings) -> Any:
    from ray.job_submission import JobSubmissionClient

    return JobSubmissionClient(settings.ray_address)


def finished(settings: Settings, job_id: str, timeout: float = 300) -> Any:
    store = JobStore(settings.jobs_db)
    job = wait_for(lambda: (j := store.get(job_id)).finished and j, timeout, f"job {job_id} to end")
    return job


def log_of(settings: Settings, job_id: str) -> str:
    return (job_folder(settings.data_dir, job_id) / "worker.log").read_text(errors="replace")


def test_a_job_trains_on_the_cluster_and_its_adapter_comes_back(ray_settings: Settings, train_file: Path) -> None:
    from ray.job_submission import JobStatus

    job = control.start_job(ray_settings, TrainConfig(train_file=train_file, max_steps=2, save_steps=1, **TINY))
    assert job.runner == "ray" and job.remote_id and job.remote_url == ray_settings.ray_address
    final = finished(ray_settings, job.id)
    assert final.status == "succeeded", f"{final.error}\n{log_of(ray_settings, job.id)[-3000:]}"
    assert wait_for(lambda: client(ray_settings).get_job_status(job.remote_id) == JobStatus.SUCCEEDED, 30, "Ray's verdict")
    assert Path(final.adapter_path, "adapter_model.safetensors").is_file()
    assert [row["step"] for row in JobStore(ray_settings.jobs_db).metrics(job.id)] == [1, 2]
    # The Ray job's log came back into worker.log; the worker ran there, holding no slot of this machine.
    log = log_of(ray_settings, job.id)
    assert "training on the Ray cluster" in log and f"adapter saved to {final.adapter_path}" in log
    assert final.slot is None

    # Nothing secret went to the cluster (its dashboard shows a job's runtime env to anyone who can reach it).
    info = client(ray_settings).get_job_info(job.remote_id)
    assert SECRET not in json.dumps(info.runtime_env) and "OPENAI_API_KEY" not in info.runtime_env["env_vars"]
    assert info.runtime_env["env_vars"]["TUTOR_DATA_DIR"] == str(ray_settings.data_dir.resolve())

    # `status --json` says where it ran.
    env = {**os.environ, **{k: v for k, v in ray_settings.environment().items() if k != "OPENAI_API_KEY"}}
    result = subprocess.run([sys.executable, "-m", "trainer", "status", job.id, "--json"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert (status["runner"], status["remote_id"], status["hardware"], status["remote_url"]) == (
        "ray", job.remote_id, "CPU", ray_settings.ray_address)

    # The adapter trained on the cluster answers here, as a local one does.
    reply = inference.generate(ray_settings, job.id, "Tell me about helium", max_new_tokens=8)
    assert isinstance(reply, str) and reply.strip()


def test_cancel_stops_the_ray_job(ray_settings: Settings, train_file: Path) -> None:
    from ray.job_submission import JobStatus

    store = JobStore(ray_settings.jobs_db)
    job = control.start_job(ray_settings, TrainConfig(train_file=train_file, max_steps=500, save_steps=500, **TINY))
    wait_for(lambda: store.metrics(job.id), 240, "the first training step on the cluster")
    cancelled = control.cancel_job(ray_settings, job.id)
    assert cancelled.status == "cancelled" and cancelled.adapter_path is None
    assert wait_for(lambda: client(ray_settings).get_job_status(job.remote_id) == JobStatus.STOPPED, 30, "Ray to stop it")
    assert "cancelled" in wait_for(lambda: "job " + job.id + ": cancelled" in log_of(ray_settings, job.id) and
                                   log_of(ray_settings, job.id), 30, "the worker's own record of the cancel")
    with pytest.raises(Exception, match="finished|cancelled"):
        control.cancel_job(ray_settings, job.id)


def _worker_on_the_cluster(job_id: str) -> psutil.Process | None:
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info["cmdline"] or []
        if "trainer.jobs.worker" in cmdline and job_id in cmdline:
            return process
    return None


def test_a_job_whose_cluster_worker_died_resumes_from_its_checkpoint(ray_settings: Settings, train_file: Path) -> None:
    store = JobStore(ray_settings.jobs_db)
    job = control.start_job(ray_settings, TrainConfig(train_file=train_file, max_steps=4, save_steps=1, **TINY))
    folder = job_folder(ray_settings.data_dir, job.id)
    checkpoint = wait_for(lambda: find_last_checkpoint(folder), 240, "the first checkpoint")
    os.kill(wait_for(lambda: _worker_on_the_cluster(job.id), 10, "the worker's process").pid, signal.SIGKILL)  # a lost node
    failed = finished(ray_settings, job.id, 60)
    assert failed.status == "failed" and f"The Ray job {job.remote_id}" in failed.error and "Resume" in failed.error
    first_rows = {row["step"]: row for row in store.metrics(job.id)}

    resumed = control.resume_job(ray_settings, job.id)
    assert resumed.runner == "ray" and resumed.remote_id not in (None, job.remote_id)
    assert resumed.checkpoint and int(Path(resumed.checkpoint).name.split("-")[1]) >= int(checkpoint.name.split("-")[1])
    # The app restarts while the cluster trains (its follower is gone): the next look follows the same Ray job again.
    wait_for(lambda: store.get(job.id).status == "running", 120, "the resumed job to run")
    gone = subprocess.Popen(["true"])
    gone.wait()
    store.update(job.id, pid=gone.pid, pid_started_at=0.0)
    assert [j.id for j in control.recover_jobs(store, ray_settings)] == [job.id]
    followed = store.get(job.id)
    assert (followed.status, followed.remote_id, followed.pid) == ("running", resumed.remote_id, os.getpid())
    final = finished(ray_settings, job.id)
    assert final.status == "succeeded", f"{final.error}\n{log_of(ray_settings, job.id)[-3000:]}"
    assert f"following Ray job {resumed.remote_id} again" in log_of(ray_settings, job.id)
    rows = {row["step"]: row for row in store.metrics(job.id)}
    assert sorted(rows) == [1, 2, 3, 4]
    resumed_at = int(Path(resumed.checkpoint).name.split("-")[1])
    for step in range(1, resumed_at + 1):  # steps before the checkpoint were not trained again
        assert rows[step]["time"] == first_rows[step]["time"]
    assert "resuming from" in log_of(ray_settings, job.id)


def say(agent: Agent, message: str) -> tuple[str, list[Any]]:
    final = list(agent.respond(message, [], "ann"))[-1]
    return final[-1].content, [m.tool for m in final if m.tool]


def test_the_chat_trains_on_the_cluster_and_says_where(ray_settings: Settings, settings: Settings) -> None:
    process_settings = ray_settings.model_copy(update={"data_dir": settings.data_dir, "job_runner": "process"})
    agent = Agent(process_settings, LocalBackend(settings.local_model, settings.models_dir), default_toolbox())
    say(agent, "help me make examples for a limerick bot about chemical elements")
    say(agent, "add them")

    reply, tools = say(agent, "train it on the cluster")
    assert tools[0].name == "start_finetune" and tools[0].ok, tools[0].error
    job = tools[0].output.data["job"]
    assert job["runner"] == "ray" and job["remote_id"]
    reply, tools = say(agent, "how is my job doing?")
    assert f"the Ray cluster at {ray_settings.ray_address}, as Ray job `{job['remote_id']}` (CPU)" in reply
    reply, tools = say(agent, "cancel my job")
    assert tools[0].name == "cancel_job" and tools[0].output.data["status"] == "cancelled"
    from ui.jobs_tab import jobs_table  # the Jobs tab's table says where each job ran

    assert jobs_table(process_settings, "ann")[["id", "runner"]].values.tolist() == [[job["id"], "ray"]]

    # Where a job runs by default, the chat says so too; and without a cluster, asking for one says what to set.
    plain = Agent(settings, LocalBackend(settings.local_model, settings.models_dir), default_toolbox())  # same data, no cluster
    reply, tools = say(plain, "train it on the cluster")
    assert tools[0].name == "start_finetune" and not tools[0].ok
    assert "RAY_ADDRESS" in reply and "Traceback" not in reply
    reply, tools = say(plain, "start a quick fine-tune")
    assert tools[0].ok and "Where: this machine, in a worker process of its own." in tools[0].output.display
    control.cancel_job(settings, tools[0].output.data["job"]["id"])


def test_the_ray_runner_needs_an_address_and_trains_local_models_only(settings: Settings) -> None:
    from pydantic import ValidationError

    from core.settings import load_settings

    with pytest.raises(ValidationError, match="TUTOR_JOB_RUNNER=ray needs RAY_ADDRESS"):
        load_settings({"TUTOR_JOB_RUNNER": "ray"})
    on_ray = load_settings({"TUTOR_JOB_RUNNER": "ray", "RAY_ADDRESS": "http://127.0.0.1:8265"})
    assert control.pick_runner(on_ray, "local", None) == "ray"
    assert control.pick_runner(on_ray, "openai", None) == "process"  # the provider trains it; a process here follows it
    with pytest.raises(control.JobSetupError, match="provider's machines"):
        control.pick_runner(on_ray, "openai", "ray")
    with pytest.raises(control.JobSetupError, match="RAY_ADDRESS"):
        control.pick_runner(settings, "local", "ray")
    with pytest.raises(control.JobSetupError, match="RAY_ADDRESS") as refused:
        control.pick_runner(settings, "local", "ray", lang="fi")
    assert "klusteri" in str(refused.value)


def test_a_job_on_the_cluster_holds_no_slot_of_this_machine(settings: Settings) -> None:
    store = JobStore(settings.jobs_db)
    common = {"owner": "ann", "backend": "local", "model": "m", "dataset": "d", "config": {}}
    store.create(job_id="ft-cluster", runner="ray", **common)
    store.transition("ft-cluster", "running")
    store.create(job_id="ft-here", **common)
    assert store.queue_position("ft-cluster") is None and store.training() == []
    assert store.claim_slot("ft-here", 1, pid=None, pid_started_at=None) == "claimed"
    assert store.get("ft-here").slot == 0
