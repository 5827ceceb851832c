"""Run by tests/test_jobs_inline.py in a subprocess: the app's ZeroGPU paths against a loopback device API.

`python tests/zero_gpu_probe.py DATA_DIR MODEL_CACHE TRAIN_FILE` with SPACES_ZERO_GPU=true and
SPACES_ZERO_DEVICE_API_URL set prints one JSON object: what a `gpu_task` call, an inline job and a
tuned-model reply did when the device API lent no GPU.

`spaces` in ZeroGPU mode patches a CUDA build of torch when it is imported; the test machines' torch
is CPU-only, so torch is made unimportable here and `spaces` takes its own path for a torch-less
process. Nothing below needs torch: every GPU call is refused before its body runs.
"""

from __future__ import annotations

import sys

sys.modules["torch"] = None  # type: ignore[assignment]  # before anything imports it

import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Callable  # noqa: E402


def describe(call: Callable[[], Any]) -> str:
    try:
        call()
    except Exception as exc:  # the refusal is what the test looks at
        return f"{type(exc).__module__}.{type(exc).__name__}: {getattr(exc, 'message', exc)}"
    return "no error"


def main(data_dir: str, model_cache: str, train_file: str) -> None:
    from core.settings import load_settings
    from trainer.jobs import inference
    from core.device import gpu_task, zero_gpu_active
    from trainer.jobs.inline_runner import estimate_gpu_seconds
    from trainer.jobs.control import open_store, start_job
    from trainer.jobs.config import TrainConfig

    settings = load_settings({"TUTOR_DATA_DIR": data_dir, "TUTOR_MODEL_CACHE": model_cache})
    out: dict[str, Any] = {"zero_gpu": zero_gpu_active(), "runner": settings.job_runner_in_use}

    ran: list[int] = []

    @gpu_task(duration=lambda x: 7 + x)
    def double(x: int) -> int:
        ran.append(x)
        return 2 * x

    out["call"] = describe(lambda: double(3))
    out["ran"] = ran

    job = start_job(settings, TrainConfig(train_file=Path(train_file)))
    store = open_store(settings)
    deadline = time.monotonic() + 60
    while not store.get(job.id).finished and time.monotonic() < deadline:
        time.sleep(0.1)
    final = store.get(job.id)
    out["job"] = {"status": final.status, "error": final.error, "runner": final.runner, "pid": final.pid,
                  "metrics": store.metrics(job.id), "estimate": estimate_gpu_seconds(settings, job.id)}
    out["reply"] = describe(lambda: inference.generate(settings, None, "Hello"))
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
