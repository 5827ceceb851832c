"""Settings: every environment variable the project reads, validated once at the edge.

Entry points (app.py, the CLIs, the worker) call `load_settings()` and pass the result down;
nothing below them reads the environment. Each field names its variable (`validation_alias`), so the
list of variables is declared once: pydantic-settings reads them, `environment()` writes them back
for a worker process, and an unknown `TUTOR_*` variable (a typo) is an error instead of a silent default.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal, Mapping

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings.sources.utils import parse_env_vars

# The packaged offline model; any Hugging Face model id or local folder works in its place.
DEFAULT_LOCAL_MODEL = "smollm2-135m-instruct"
SPACES_PERSISTENT_DIR = Path("/data")
JOB_RUNNERS = ("auto", "process", "inline", "ray", "hf-jobs")
# The image a Hugging Face job trains in: PyTorch with CUDA; the job installs the project into it.
DEFAULT_HF_IMAGE = "pytorch/pytorch:2.6.0-cuda12.4-cudnn9-devel"
# The test suite's own variables (artifact folder, model cache, timeouts) are not settings.
_TEST_PREFIX = "TUTOR_TEST_"


class Settings(BaseSettings):
    """Validated configuration. Field descriptions are the README's configuration table.

    Built directly (`Settings(data_dir=...)`) it reads nothing from the environment; `load_settings`
    is the one place that does.
    """

    model_config = SettingsConfigDict(extra="forbid", frozen=True, populate_by_name=True, env_ignore_empty=True)

    data_dir: Path = Field(Path("data"), validation_alias="TUTOR_DATA_DIR", description="All state (index, datasets, jobs, models).")
    model_cache: Path | None = Field(None, validation_alias="TUTOR_MODEL_CACHE", description="Converted base models (default DATA_DIR/models).")
    backend: Literal["auto", "local", "openai"] = Field(
        "auto", validation_alias="TUTOR_BACKEND", description="Chat backend; auto = openai when OPENAI_API_KEY is set, else local."
    )
    model: str | None = Field(None, validation_alias="TUTOR_MODEL", description="Chat model for the OpenAI-compatible backend (default gpt-4o-mini).")
    local_model: str = Field(
        DEFAULT_LOCAL_MODEL, validation_alias="TUTOR_LOCAL_MODEL",
        description="Local chat/fine-tune base model: the packaged SmolLM2, a HF model id or a folder.",
    )
    openai_api_key: SecretStr | None = Field(None, validation_alias="OPENAI_API_KEY", description="Enables the OpenAI backend and OpenAI fine-tune jobs.")
    openai_base_url: str | None = Field(None, validation_alias="OPENAI_BASE_URL", description="Any OpenAI-compatible endpoint (Azure, HF router, vLLM, Ollama).")
    azure_openai_endpoint: str | None = Field(
        None, validation_alias="AZURE_OPENAI_ENDPOINT", description="Azure OpenAI resource (https://NAME.openai.azure.com) for --backend azure fine-tuning."
    )
    azure_openai_api_key: SecretStr | None = Field(None, validation_alias="AZURE_OPENAI_API_KEY", description="The Azure OpenAI resource's key (sent as api-key).")
    openai_api_version: str | None = Field(
        None, validation_alias="OPENAI_API_VERSION", description="Azure OpenAI API version (default 2024-10-21, which has fine-tuning)."
    )
    chroma_host: str | None = Field(None, validation_alias="CHROMA_HOST", description="Use a Chroma server instead of the embedded store.")
    chroma_port: int = Field(8000, validation_alias="CHROMA_PORT", description="The Chroma server's port.")
    secret: SecretStr | None = Field(
        None, validation_alias="TUTOR_SECRET",
        description="Signs learner tokens (default: one generated once into DATA_DIR/.learner-secret, mode 0600).",
    )
    auth_file: Path | None = Field(
        None, validation_alias="TUTOR_AUTH_FILE",
        description="Password file (python -m core.identity add-user): sign-in required, the learner is the user.",
    )
    job_runner: Literal["auto", "process", "inline", "ray", "hf-jobs"] = Field(
        "auto", validation_alias="TUTOR_JOB_RUNNER",
        description="Where fine-tune jobs run; auto = inline on ZeroGPU, else process; ray = local-model jobs on the Ray cluster of RAY_ADDRESS; hf-jobs = on Hugging Face Jobs (HF_TOKEN, TUTOR_HF_FLAVOR).",
    )
    ray_address: str | None = Field(
        None, validation_alias="RAY_ADDRESS",
        description="A Ray cluster's job submission address (http://HEAD:8265); lets jobs run there (TUTOR_JOB_RUNNER=ray, or *train it on the cluster*).",
    )
    hf_token: SecretStr | None = Field(
        None, validation_alias="HF_TOKEN",
        description="Hugging Face token (write access) for Hugging Face Jobs: passed to the job as a secret, never logged or stored.",
    )
    hf_endpoint: str | None = Field(None, validation_alias="HF_ENDPOINT", description="The Hugging Face Hub's address (default https://huggingface.co).")
    hf_flavor: str | None = Field(
        None, validation_alias="TUTOR_HF_FLAVOR", description="Hugging Face Jobs hardware for jobs trained there, e.g. t4-small, a10g-small, a100-large.",
    )
    hf_namespace: str | None = Field(
        None, validation_alias="TUTOR_HF_NAMESPACE", description="User or organisation that runs the Hugging Face jobs and owns the adapter repos (default: HF_TOKEN's user).",
    )
    hf_image: str = Field(DEFAULT_HF_IMAGE, validation_alias="TUTOR_HF_IMAGE", description="Docker image a Hugging Face job trains in.")
    hf_code: str | None = Field(
        None, validation_alias="TUTOR_HF_CODE",
        description="pip requirement that installs this project inside a Hugging Face job (default on a Space: git+https://huggingface.co/spaces/SPACE_ID).",
    )
    job_slots: int | None = Field(
        None, ge=1, validation_alias="TUTOR_JOB_SLOTS",
        description="Local jobs training at once on this machine (default: 1 on CPU, one per GPU); the rest wait queued, in order.",
    )
    jobs_per_learner: int = Field(
        1, ge=1, validation_alias="TUTOR_JOBS_PER_LEARNER", description="Queued or running jobs one learner may have at once.",
    )
    mcp: bool = Field(
        False, validation_alias="TUTOR_MCP",
        description="Serve the tools to MCP clients at /gradio_api/mcp/ (as GRADIO_MCP_SERVER=True does).",
    )

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource, **_: PydanticBaseSettingsSource
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Only what the caller passes; load_settings adds the environment it is given.
        return (init_settings,)

    @field_validator("openai_api_key", "azure_openai_api_key", "secret", "hf_token", mode="before")
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
                "thread of the app; ray submits local-model jobs to the Ray cluster of RAY_ADDRESS; hf-jobs trains "
                "it on Hugging Face Jobs (needs HF_TOKEN and TUTOR_HF_FLAVOR)."
            )
        return choice

    @model_validator(mode="after")
    def _ray_needs_an_address(self) -> "Settings":
        if self.job_runner == "ray" and not self.ray_address:
            raise ValueError("TUTOR_JOB_RUNNER=ray needs RAY_ADDRESS, the cluster's job submission address "
                             "(http://HEAD:8265, the Ray dashboard's port); or pick another runner.")
        return self

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
    def job_runner_in_use(self) -> Literal["process", "inline", "ray", "hf-jobs"]:
        """`auto` resolved: ZeroGPU lends a GPU only inside the app's own process, so jobs run inline there."""
        if self.job_runner == "auto":
            from core.device import zero_gpu_active

            return "inline" if zero_gpu_active() else "process"
        return self.job_runner

    @property
    def job_slots_in_use(self) -> int:
        """`job_slots`, or by default one per GPU this process may use (1 without a GPU)."""
        if self.job_slots is not None:
            return self.job_slots
        from core.device import gpu_count

        return max(1, gpu_count())

    @property
    def chat_model(self) -> str:
        return self.model or "gpt-4o-mini"

    def learner_dir(self, learner: str) -> Path:
        return self.data_dir / "learners" / learner

    def environment(self) -> dict[str, str]:
        """These settings as the variables `load_settings` reads back (paths absolute, secrets revealed).

        For a worker process only: the values go into its environment, never into a log or record.
        """
        values = {**self.model_dump(), "data_dir": self.data_dir.resolve(), "model_cache": self.models_dir.resolve()}
        env: dict[str, str] = {}
        for name, field in type(self).model_fields.items():
            value = values[name]
            if value is not None:
                env[str(field.validation_alias)] = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
        return env


def variable_names() -> list[str]:
    """Every environment variable Settings reads, in field order."""
    return [str(field.validation_alias) for field in Settings.model_fields.values()]


class _GivenEnvironment(EnvSettingsSource):
    """pydantic-settings' environment source over a given mapping (os.environ, or a test's dict)."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(self._environ, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from the environment; unset or empty variables keep their defaults.

    Raises ValueError naming any `TUTOR_*` variable that is not a setting.
    """
    env = os.environ if environ is None else environ
    known = set(variable_names())
    unknown = sorted(n for n in env if n.startswith("TUTOR_") and not n.startswith(_TEST_PREFIX) and n not in known)
    if unknown:
        raise ValueError(
            f"Unknown setting {', '.join(unknown)}: finetune-tutor reads {', '.join(v for v in variable_names() if v.startswith('TUTOR_'))}."
        )
    values: dict[str, Any] = _GivenEnvironment(Settings, env)()
    if "data_dir" not in values and _on_spaces_with_storage(env):
        values["data_dir"] = SPACES_PERSISTENT_DIR
    if "hf_code" not in values and env.get("SPACE_ID"):
        # A Space's repository is a git repository holding this project: a Hugging Face job installs it from there.
        values["hf_code"] = f"git+https://huggingface.co/spaces/{env['SPACE_ID']}"
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
