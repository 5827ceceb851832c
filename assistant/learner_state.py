"""What the tutor remembers of a learner between turns and page loads: `LearnerState`, saved as JSON.

Learner ids are checked here (they name a folder); the state lives in `learners/<id>/state.json` and
every save is atomic (temp file, then rename).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from core.identity import LEARNER_ID
from core.settings import Settings

DEFAULT_LEARNER = "default"


class LearnerState(BaseModel):
    """Per-learner state that outlives a page reload: saved as JSON in the learner's folder."""

    lang: str | None = None
    current_dataset: str | None = None
    # Examples drafted in chat, shown to the learner, not yet added to a dataset.
    drafts: list[dict[str, Any]] = Field(default_factory=list)
    # The assistant the learner last described for drafting ("a support bot for my bike shop"): material pasted
    # in a later message is drafted for it.
    draft_topic: str = ""
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


def learner_language(settings: Settings, learner: str) -> str:
    """The language the learner's chat last used (English before their first message)."""
    return load_state(settings, learner).lang or "en"
