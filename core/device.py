"""The machine's compute: ZeroGPU support (whether the app runs on ZeroGPU, and `gpu_task`, which lends a GPU to
one call there), the CUDA devices a process may use, and how many CPU threads a training job gets.

On ZeroGPU (Hugging Face's shared GPU pool) a process gets a GPU only inside a function decorated
with `spaces.GPU`, for one call, in a worker the `spaces` package forks from the app. Everywhere
else `gpu_task` returns the function unchanged, and `spaces` is never imported, so nothing changes
off Spaces (and the package need not be installed).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from typing import Any, Callable, TypeVar

F = TypeVar("F", bound=Callable[..., Any])
# The variable the Space's ZeroGPU hardware sets, read by `spaces` itself with the same truth values.
ZERO_GPU_ENV = "SPACES_ZERO_GPU"
# A duration in seconds, or a function of the decorated call's arguments returning one.
Duration = int | Callable[..., int]


def zero_gpu_active() -> bool:
    """True on ZeroGPU hardware with the `spaces` package installed (found, not imported)."""
    flag = os.environ.get(ZERO_GPU_ENV, "").strip().lower()
    return flag in ("1", "t", "true") and importlib.util.find_spec("spaces") is not None


def pick_cpu_threads(concurrent_jobs: int = 1) -> int:
    """Torch threads for CPU training: one core left for the app, the rest shared among running jobs.

    Oversubscribed cores are far worse than idle ones here: spinning OpenMP threads of two processes
    on two cores made a step 10-20x slower than one thread each (measured on the 2-core CI box).
    """
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, (available - 1) // max(1, concurrent_jobs))


_torch_threads: int | None = None  # set by `limit_torch_threads`; applied by `apply_torch_threads`


def limit_torch_threads(threads: int) -> None:
    """Give this process's torch `threads` CPU threads, now if torch is loaded, else when a model loads.

    The app calls it at start without importing torch (a second or more of its start-up): the places
    that load a torch model in-process (MiniLM, the local chat model, evaluation) call `apply_torch_threads`.
    """
    global _torch_threads
    _torch_threads = threads
    if "torch" in sys.modules:
        apply_torch_threads()


def apply_torch_threads() -> None:
    """Apply the limit `limit_torch_threads` set, if any (importing torch); once is enough for the process."""
    global _torch_threads
    threads, _torch_threads = _torch_threads, None
    if threads is not None:
        import torch

        torch.set_num_threads(threads)


def gpu_devices() -> list[str]:
    """The CUDA devices this process may use, as CUDA_VISIBLE_DEVICES entries, found without importing torch.

    CUDA_VISIBLE_DEVICES when set (empty or -1: none); else the NVIDIA driver's list of GPUs (Linux);
    else torch's count where torch is already imported; else none. ZeroGPU lends its GPU per call, so
    there a job slot is not a device (this counts what the driver shows, usually nothing).
    """
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        entries = [part.strip() for part in visible.split(",") if part.strip()]
        return [] if not entries or entries[0] == "-1" else entries
    try:
        return [str(index) for index in range(len(os.listdir("/proc/driver/nvidia/gpus")))]
    except OSError:
        pass
    import sys

    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        return [str(index) for index in range(torch.cuda.device_count())]
    return []


def gpu_count() -> int:
    return len(gpu_devices())


def gpu_task(duration: Duration) -> Callable[[F], F]:
    """Decorator factory: `spaces.GPU(duration=...)` on ZeroGPU, the identity elsewhere.

    `duration` is the most GPU time one call may need; ZeroGPU checks it against the visitor's
    quota before lending the GPU, so ask for what the call needs rather than the maximum.
    """

    def decorate(function: F) -> F:
        if not zero_gpu_active():
            return function
        import spaces  # imported here only: on ZeroGPU it patches torch, which app.py arranges to happen first

        return spaces.GPU(duration=duration)(function)

    return decorate
