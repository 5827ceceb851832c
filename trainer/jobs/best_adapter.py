"""Keep the adapter with the best validation loss while a job trains.

`BestAdapterCallback` saves the LoRA adapter (a few MB) whenever the validation loss reaches a new
low, so the best point survives however long training goes on after it (`save_total_limit` keeps
only the last checkpoints). Evaluation and chat load it as checkpoint "best".
"""

from __future__ import annotations

import json
from pathlib import Path

from transformers import TrainerCallback

from trainer.jobs.overfitting import BEST_NAME


class BestAdapterCallback(TrainerCallback):
    """Save the adapter to `target` each time the validation loss reaches a new low."""

    def __init__(self, target: Path) -> None:
        self.target = Path(target)
        self.best: float | None = None
        try:  # a resumed job keeps the best it found before it stopped
            self.best = float(json.loads((self.target / BEST_NAME).read_text(encoding="utf-8"))["eval_loss"])
        except (OSError, ValueError, KeyError, TypeError):
            pass

    def on_evaluate(self, args, state, control, metrics=None, model=None, **kwargs):
        loss = (metrics or {}).get("eval_loss")
        if loss is None or model is None or not state.is_world_process_zero:
            return
        if self.best is not None and loss >= self.best:
            return
        self.best = float(loss)
        model.save_pretrained(str(self.target))
        (self.target / BEST_NAME).write_text(json.dumps({"step": state.global_step, "eval_loss": self.best}), encoding="utf-8")
