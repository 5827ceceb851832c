"""An evaluation report in the learner's words: the metrics table, wins, example rows and next steps.

The chat's `evaluate` tool, the guided path's last steps and the Jobs tab show the same text, built
here from the report `trainer.evaluation` stores with the job.
"""

from __future__ import annotations

from typing import Any

from core.texts import text

# The metrics shown, in order, with whether a higher value is better.
SHOWN = (("loss", False), ("rougeL", True), ("chrF", True), ("format_match", True), ("length", None))
ROWS_SHOWN = 3
# A format share at least this high counts as "the form is learned".
FORM_LEARNED = 0.75
# Below this chrF (0-100) the tuned answers' content is far from the references.
CONTENT_FAR = 35.0


def _cell(value: float | None, key: str) -> str:
    if value is None:
        return "–"
    if key == "format_match":
        return f"{value:.0%}"
    if key == "length":
        return f"{value:.0f}"
    return f"{value:.3f}" if key == "loss" else f"{value:.2f}"


def metrics_markdown(report: dict[str, Any], lang: str) -> str:
    """A markdown table: one row per metric, one column per model (base, tuned, reference)."""
    models = [name for name in ("base", "tuned", "reference") if name in report.get("metrics", {})]
    header = "| " + text(lang, "eval.metric") + " | " + " | ".join(text(lang, f"eval.model.{m}") for m in models) + " |"
    lines = [header, "|" + " --- |" * (len(models) + 1)]
    for key, _ in SHOWN:
        values = [report["metrics"][m].get(key) for m in models]
        if all(v is None for v in values):
            continue
        lines.append(f"| {text(lang, f'eval.metric.{key}')} | " + " | ".join(_cell(v, key) for v in values) + " |")
    return "\n".join(lines)


def next_steps(report: dict[str, Any], overfitting: dict[str, Any] | None, lang: str) -> list[str]:
    """What to try next, read from the numbers (most telling first)."""
    base, tuned = report["metrics"].get("base", {}), report["metrics"].get("tuned", {})
    steps = []
    if overfitting:
        steps.append(text(lang, "eval.next.fewer_epochs", step=overfitting["best_step"]))
    form_learned = (tuned.get("format_match") or 0) >= FORM_LEARNED
    if form_learned and (tuned.get("chrF") or 0) < CONTENT_FAR:
        steps.append(text(lang, "eval.next.bigger_model"))
    wins = report.get("wins") or {}
    if not form_learned or wins.get("tuned", 0) <= wins.get("base", 0):
        steps.append(text(lang, "eval.next.more_data"))
    if base.get("loss") is not None and tuned.get("loss") is not None and tuned["loss"] >= base["loss"]:
        steps.append(text(lang, "eval.next.loss_not_better"))
    return steps or [text(lang, "eval.next.grow")]


def describe_evaluation(report: dict[str, Any], lang: str, overfitting: dict[str, Any] | None = None,
                        rows: int = ROWS_SHOWN) -> str:
    """The whole evaluation for the chat or the Jobs tab, framed by the benefits a fine-tune must show."""
    parts = [text(lang, "eval.header", job=report["job"], examples=report["examples"], checkpoint=report.get("checkpoint", "final")),
             text(lang, "eval.frame"), metrics_markdown(report, lang)]
    wins = report.get("wins")
    if wins:
        parts.append(text(lang, "eval.wins", tuned=wins["tuned"], base=wins["base"], tie=wins["tie"],
                          by=text(lang, "eval.by_judge" if report.get("wins_by") == "judge" else "eval.by_chrf")))
    if report.get("reference_dataset"):
        parts.append(text(lang, "eval.reference_saved", model=report.get("reference_model"), dataset=report["reference_dataset"]))
    for row in report.get("rows", [])[:rows]:
        parts.append(text(lang, "eval.row", prompt=_short(row["prompt"]), reference=_short(row["reference"]),
                          base=_short(row["base"]), tuned=_short(row["tuned"])))
    if overfitting:
        parts.append("⚠️ " + overfitting["message"].get(lang, overfitting["message"]["en"]))
    parts.append(text(lang, "eval.next") + "\n" + "\n".join(f"- {step}" for step in next_steps(report, overfitting, lang)))
    return "\n\n".join(parts)


def _short(value: str, width: int = 200) -> str:
    value = " ".join(str(value).split())
    return value if len(value) <= width else value[:width - 1] + "…"
