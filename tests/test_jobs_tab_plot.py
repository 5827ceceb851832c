"""The Jobs tab's loss plot data: long form, one series per loss, whole steps on the axis."""

from __future__ import annotations

from ui.jobs_tab import FEW_STEPS, loss_frame, plot_update


def metrics(steps: int, eval_every: int = 5) -> list[dict]:
    return [{"step": s, "train_loss": 3.0 - s / 100, "eval_loss": 2.0 if s % eval_every == 0 else None} for s in range(1, steps + 1)]


def test_loss_frame_has_a_validation_row_only_where_it_was_measured() -> None:
    frame = loss_frame(metrics(12))
    assert (frame["series"] == "train").sum() == 12
    assert frame.loc[frame["series"] == "validation", "step"].tolist() == [5, 10]


def test_few_steps_become_categories_in_numeric_order() -> None:
    update = plot_update(loss_frame(metrics(12)), "caption")
    # Numeric order, not text order ("1", "10", "11", "12", "2", ...): the line runs left to right by step.
    assert update["sort"] == [str(s) for s in range(1, 13)]
    assert not str(update["value"]["step"].dtype).startswith("int") and set(update["value"]["step"]) == {str(s) for s in range(1, 13)}
    assert update["caption"] == "caption"


def test_many_steps_stay_numeric() -> None:
    update = plot_update(loss_frame(metrics(FEW_STEPS + 1)), "caption")
    assert update["sort"] is None
    assert str(update["value"]["step"].dtype) == "int64"
