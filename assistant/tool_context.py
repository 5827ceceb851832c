"""What a tool call knows about its surroundings: settings, the learner, their language and saved state, and redaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from assistant.learner_state import DEFAULT_LEARNER, LearnerState, save_state
from core.openai_api import redact
from core.settings import Settings


@dataclass
class ToolContext:
    settings: Settings
    learner: str = DEFAULT_LEARNER
    lang: str = "en"
    state: LearnerState = field(default_factory=LearnerState)
    # Writes prose from a system and a user prompt when a capable model is configured; None offline.
    writer: Callable[[str, str], str] | None = None
    # The state as it was read (`LearnerState.model_dump()`); None: unknown, so `save` always writes.
    loaded: dict | None = None

    def secrets(self) -> list[str]:
        key = self.settings.openai_api_key
        return [key.get_secret_value()] if key else []

    def redact(self, text: str) -> str:
        return redact(text, self.secrets())

    def save(self) -> None:
        """Write the state back, unless the turn left it as it was read (most lesson questions do: a write per answer is wasted work)."""
        if self.loaded is not None and self.state.model_dump() == self.loaded:
            return
        save_state(self.settings, self.learner, self.state)
        self.loaded = self.state.model_dump()
