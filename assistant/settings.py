"""Settings: every environment variable the project reads, validated once at the edge.

Entry points (app.py, the CLIs, the worker) call `load_settings()` and pass the result down;
nothing below them reads the environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

# The packaged offline model; any Hugging Face model id or local folder works in its place.
DEFAULT_LOCAL_MODEL = "smollm2-135m-instruct"
SPACES_PERSISTENT_DIR = Path("/data")
JOB_RUNNERS = ("auto", "process", "inline")


class Settings(BaseModel):
    """Validated configuration. Field descriptions are the README's configuration table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    data_dir: Path = Field(Path("data"), description="TUTOR_DATA_DIR: all state (index, datasets, jobs, models).")
    model_cache: Path | None = Field(None, description="TUTOR_MODEL_CACHE: converted base models (default DATA_DIR/models).")
    backend: Literal["auto", "local", "openai"] = Field(
        "auto", description="TUTOR_BACKEND: chat backend; auto = openai when OPENAI_API_KEY is set, else local."
    )
    model: str | None = Field(None, description="TUTOR_MODEL: chat model for the OpenAI-compatible backend (default gpt-4o-mini).")
    local_model: str = Field(
        DEFAULT_LOCAL_MODEL, description="TUTOR_LOCAL_MODEL: local chat/fine-tune base model: the packaged SmolLM2, a HF model id or a folder."
    )
    openai_api_key: SecretStr | None = Field(None, description="OPENAI_API_KEY: enables the OpenAI backend and OpenAI fine-tune jobs.")
    openai_base_url: str | None = Field(None, description="OPENAI_BASE_URL: any OpenAI-compatible endpoint (Azure, HF router, vLLM, Ollama).")
    chroma_host: str | None = Field(None, description="CHROMA_HOST: use a Chroma server instead of the embedded store.")
    chroma_port: int = Field(8000, description="CHROMA_PORT: the Chroma server's port.")
    job_runner: Literal["auto", "process", "inline"] = Field(
        "auto", description="TUTOR_JOB_RUNNER: where fine-tune jobs run; auto = inline on ZeroGPU, else process."
    )

    @field_validator("openai_api_key", mode="before")
    @classmethod
    def _blank_key_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("job_runner", mode="before")
    @classmethod
    def _check_job_runner(cls, value: object) -> object:
        choice = value.strip().lower() if isinstance(value, str) else value
        if choice not in JOB_RUNNERS:
            raise ValueError(
                f"TUTOR_JOB_RUNNER must be one of {', '.join(JOB_RUNNERS)} (got {value!r}): auto picks inline on "
                "ZeroGPU and process elsewhere; process runs each job in a worker process; inline runs it in a "
                "thread of the app."
            )
        return choice

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def models_dir(self) -> Path:
        return self.model_cache or self.data_dir / "models"

    @property
    def jobs_db(self) -> Path:
        return self.data_dir / "jobs.sqlite"

    @property
    def chat_backend(self) -> Literal["local", "openai"]:
        if self.backend == "auto":
            return "openai" if self.openai_api_key else "local"
        return self.backend

    @property
    def job_runner_in_use(self) -> Literal["process", "inline"]:
        """`auto` resolved: ZeroGPU lends a GPU only inside the app's own process, so jobs run inline there."""
        if self.job_runner == "auto":
            from trainer.gpu import zero_gpu_active

            return "inline" if zero_gpu_active() else "process"
        return self.job_runner

    @property
    def chat_model(self) -> str:
        return self.model or "gpt-4o-mini"

    def learner_dir(self, learner: str) -> Path:
        return self.data_dir / "learners" / learner


_ENV_FIELDS = {
    "TUTOR_DATA_DIR": "data_dir",
    "TUTOR_MODEL_CACHE": "model_cache",
    "TUTOR_BACKEND": "backend",
    "TUTOR_MODEL": "model",
    "TUTOR_LOCAL_MODEL": "local_model",
    "OPENAI_API_KEY": "openai_api_key",
    "OPENAI_BASE_URL": "openai_base_url",
    "CHROMA_HOST": "chroma_host",
    "CHROMA_PORT": "chroma_port",
    "TUTOR_JOB_RUNNER": "job_runner",
}


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from the environment; unset or empty variables keep their defaults."""
    env = os.environ if environ is None else environ
    values = {field: env[name] for name, field in _ENV_FIELDS.items() if env.get(name, "").strip()}
    if "data_dir" not in values and _on_spaces_with_storage(env):
        values["data_dir"] = SPACES_PERSISTENT_DIR
    return Settings(**values)


def _on_spaces_with_storage(env: Mapping[str, str]) -> bool:
    # Hugging Face Spaces mount persistent storage at /data; without it, state stays in the app folder.
    return bool(env.get("SPACE_ID")) and SPACES_PERSISTENT_DIR.is_dir() and os.access(SPACES_PERSISTENT_DIR, os.W_OK)


def offline_environment() -> dict[str, str]:
    """Variables that keep Hugging Face and Gradio libraries off the network; set before they are imported."""
    return {
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "ANONYMIZED_TELEMETRY": "False",
        "TOKENIZERS_PARALLELISM": "false",
    }


def apply_offline_environment() -> None:
    """Set the offline variables unless the user chose otherwise.

    On a Hugging Face Space (SPACE_ID is set) the hub is reachable and the packaged GGUF model is not
    installed, so only the telemetry switches are set there.
    """
    hub = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE")
    for name, value in offline_environment().items():
        if os.environ.get("SPACE_ID") and name in hub:
            continue
        os.environ.setdefault(name, value)
