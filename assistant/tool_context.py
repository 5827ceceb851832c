"""What a tool call knows about its surroundings: settings, the learner, their language and saved state."""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from pydantic import BaseModel, Field

from core.settings import Settings
from core.openai_api import redact

LEARNER_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
DEFAULT_LEARNER = "default"


class LearnerState(BaseModel):
    """Per-learner state that outlives a page reload: saved as JSON in the learner's folder."""

    lang: str | None = None
    current_dataset: str | None = None
    # Examples drafted in chat, shown to the learner, not yet added to a dataset.
    drafts: list[dict[str, Any]] = Field(default_factory=list)
    last_job: str | None = None
    guide_active: bool = False
    guide_step: int = 0
    guide_done: list[int] = Field(default_factory=list)
    guide_used: list[str] = Field(default_factory=list)


def check_learner_id(learner: str) -> str:
    if not LEARNER_ID.fullmatch(learner):
        raise ValueError("A learner id is 1-64 letters, digits, '-' or '_'.")
    return learner


def state_path(settings: Settings, learner: str) -> Path:
    return settings.learner_dir(check_learner_id(learner)) / "state.json"


def load_state(settings: Settings, learner: str) -> LearnerState:
    path = state_path(settings, learner)
    try:
        return LearnerState.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        # Missing or unreadable state starts fresh rather than breaking the chat.
        return LearnerState()


def save_state(settings: Settings, learner: str, state: LearnerState) -> None:
    path = state_path(settings, learner)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".state-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(state.model_dump_json(indent=2))
    os.replace(tmp, path)


@dataclass
class ToolContext:
    settings: Settings
    learner: str = DEFAULT_LEARNER
    lang: str = "en"
    state: LearnerState = field(default_factory=LearnerState)
    # Writes prose from a system and a user prompt when a capable model is configured; None offline.
    writer: Callable[[str, str], str] | None = None

    def secrets(self) -> list[str]:
        key = self.settings.openai_api_key
        return [key.get_secret_value()] if key else []

    def redact(self, text: str) -> str:
        return redact(text, self.secrets())

    def save(self) -> None:
        save_state(self.settings, self.learner, self.state)
