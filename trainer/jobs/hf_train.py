"""The training entry point inside a Hugging Face job: `python -m trainer.jobs.hf_train REPO_ID`.

Runs in the job's container (see `trainer.jobs.hf_jobs_runner`), which has no job store and no
settings of the app: it downloads `training/` (config and data) from the learner's repo, trains with the
same `train_lora` and callbacks as a local job, prints every metric row as a `tutor-metric {json}` line
for the follower to record, and pushes the adapter (and the best-validation one) to the repo's root.
HF_TOKEN comes as the job's secret; huggingface_hub reads it from the environment itself. SIGTERM
(the Hub's cancel) ends the process; the Hub then records the job CANCELED.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from trainer.jobs.hf_jobs_runner import BEST_ADAPTER_DIR, METRIC_PREFIX, RESULT_PREFIX, TRAINING_DIR


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m trainer.jobs.hf_train REPO_ID", file=sys.stderr)
        return 2
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    with tempfile.TemporaryDirectory(prefix="finetune-tutor-") as work:
        return train_and_push(args[0], Path(work))


def train_and_push(repo_id: str, work: Path) -> int:
    from huggingface_hub import HfApi

    from trainer.jobs.best_adapter import BestAdapterCallback
    from trainer.jobs.config import load_config
    from core.device import pick_cpu_threads
    from trainer.jobs.lora import ProgressCallback, train_lora

    api = HfApi(library_name="finetune-tutor")
    inputs = Path(api.snapshot_download(repo_id=repo_id, allow_patterns=[f"{TRAINING_DIR}/*"], local_dir=str(work / "repo")))
    config = load_config(inputs / TRAINING_DIR / "config.json")
    files = {"train_file": inputs / TRAINING_DIR / config.train_file}
    files["validation_file"] = inputs / TRAINING_DIR / config.validation_file if config.validation_file else None
    config = config.model_copy(update=files)
    print(f"training {config.base_model} on {config.train_file.name} for {repo_id}", flush=True)

    def record(step: int, **values: Any) -> None:
        print(METRIC_PREFIX + json.dumps({"step": step, **values}), flush=True)

    job_dir = work / "job"
    callbacks = [ProgressCallback(record, lambda: False), BestAdapterCallback(job_dir / BEST_ADAPTER_DIR)]
    result = train_lora(config, job_dir, _models_dir(), callbacks=callbacks, cpu_threads=pick_cpu_threads())
    if result is None:  # only a stop request ends training early, and nothing here makes one
        raise RuntimeError("Training stopped before its end; no adapter was saved.")
    api.upload_folder(repo_id=repo_id, folder_path=str(result.adapter_path), commit_message="LoRA adapter")
    if (job_dir / BEST_ADAPTER_DIR / "adapter_config.json").is_file():
        api.upload_folder(repo_id=repo_id, folder_path=str(job_dir / BEST_ADAPTER_DIR), path_in_repo=BEST_ADAPTER_DIR,
                          commit_message="Adapter at the best validation loss")
    print(RESULT_PREFIX + json.dumps(result.summary), flush=True)
    print(f"adapter pushed to {repo_id}", flush=True)
    return 0


def _models_dir() -> Path:
    # The packaged model's converted copy: in the Hub cache, so an image that kept it converts once.
    home = os.environ.get("HF_HOME") or str(Path.home() / ".cache" / "huggingface")
    return Path(home) / "finetune-tutor-models"


if __name__ == "__main__":
    sys.exit(main())
