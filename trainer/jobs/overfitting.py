"""Overfitting surfaced: say when the validation loss turned, and where the best adapter is kept.

`trainer.jobs.best_adapter` saves the adapter at each new validation-loss low into `BEST_ADAPTER_DIR`
(no torch is imported here: job status reads this module). `detect_overfitting` reads a job's metric rows: the validation loss has
risen clearly above its best while the train loss kept falling. Its sentence for the learner comes
in every language of the catalogue (`job.overfitting`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.texts import LANGUAGES, text

BEST_ADAPTER_DIR = "best-adapter"
BEST_NAME = "best.json"
# The last validation loss must be this much above the best (relative) to count as a rise, not noise.
RISE = 0.05



def detect_overfitting(metrics: list[dict[str, Any]], job_dir: Path) -> dict[str, Any] | None:
    """{"best_step", "best_eval_loss", "last_step", "last_eval_loss", "checkpoint", "message": {en, fi}} or None."""
    evals = [row for row in metrics if row.get("eval_loss") is not None]
    trains = [row for row in metrics if row.get("train_loss") is not None]
    if len(evals) < 2 or not trains:
        return None
    best = min(evals, key=lambda row: row["eval_loss"])
    last = evals[-1]
    if last["step"] <= best["step"] or last["eval_loss"] <= best["eval_loss"] * (1 + RISE):
        return None
    train_at_best = _train_loss_near(trains, best["step"])
    train_last = _train_loss_near(trains, last["step"])
    if train_at_best is None or train_last is None or train_last >= train_at_best:
        return None  # both rising is not overfitting (a learning rate too high, say)
    checkpoint = Path(job_dir) / BEST_ADAPTER_DIR
    values = {"best_step": int(best["step"]), "best_eval_loss": float(best["eval_loss"]),
              "last_step": int(last["step"]), "last_eval_loss": float(last["eval_loss"])}
    return {**values, "checkpoint": str(checkpoint) if (checkpoint / "adapter_config.json").exists() else None,
            "message": {language: text(language, "job.overfitting", **values) for language in LANGUAGES}}


def _train_loss_near(trains: list[dict[str, Any]], step: int) -> float | None:
    # The mean of up to three train losses up to `step`: one step's loss is noisy.
    before = [row["train_loss"] for row in trains if row["step"] <= step][-3:]
    return sum(before) / len(before) if before else None
