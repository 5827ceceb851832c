"""Shared test set-up: offline environment, a private data directory per test, the shared model cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from assistant.settings import Settings, offline_environment

ROOT = Path(__file__).resolve().parent.parent
COURSE = ROOT.parent / "shared" / "course"
# Converted base models are reused across tests and runs; converting the GGUF costs ~13 s.
MODEL_CACHE = Path(os.environ.get("TUTOR_TEST_MODEL_CACHE", ROOT / ".cache" / "models"))

for _name, _value in offline_environment().items():
    os.environ[_name] = _value


@pytest.fixture(autouse=True)
def _private_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own TUTOR_DATA_DIR; no test sees a developer's ./data or the user's keys."""
    data_dir = tmp_path / "data"
    monkeypatch.setenv("TUTOR_DATA_DIR", str(data_dir))
    monkeypatch.setenv("TUTOR_MODEL_CACHE", str(MODEL_CACHE))
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "TUTOR_MODEL", "TUTOR_BACKEND", "CHROMA_HOST", "SPACE_ID"):
        monkeypatch.delenv(name, raising=False)
    return data_dir


@pytest.fixture
def settings(_private_data_dir: Path) -> Settings:
    return Settings(data_dir=_private_data_dir, model_cache=MODEL_CACHE)


@pytest.fixture(scope="session")
def course_dir() -> Path:
    if not COURSE.is_dir():
        pytest.skip(f"test material not found at {COURSE}")
    return COURSE
