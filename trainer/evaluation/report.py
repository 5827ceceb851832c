"""The evaluation report: what `evaluate_job` returns, stores beside the job and `status` shows.

`EvalReport.to_json()` is the CLI's `eval --json` contract: {"job", "examples", "metrics": {"base",
"tuned", "reference"?}, "wins"?, "rows"} plus a few descriptive keys (data, checkpoint, judge, ...).
The report is written to `DATA_DIR/jobs/<id>/eval.json` (the latest evaluation of the job);
`report_summary` is the short form job status carries.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

EVAL_NAME = "eval.json"
# Per-model metrics the summary keeps.
SUMMARY_METRICS = ("loss", "rougeL", "chrF", "format_match", "length")


@dataclass
class EvalReport:
    job: str
    examples: int
    metrics: dict[str, dict[str, float | None]]
    rows: list[dict[str, Any]]
    wins: dict[str, int] | None = None
    wins_by: str | None = None  # "judge" (an LLM judged both orders) or "chrF" (closer to the reference)
    data: str = ""
    checkpoint: str = "final"
    reference_model: str | None = None
    reference_dataset: str | None = None
    judge_model: str | None = None
    format_profile: dict[str, Any] = field(default_factory=dict)
    created_at: str = ""

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        if self.wins is None:
            out.pop("wins")
        return out


def save_report(job_dir: Path, report: EvalReport) -> Path:
    """Write eval.json atomically."""
    path = Path(job_dir) / EVAL_NAME
    fd, tmp = tempfile.mkstemp(prefix=".eval-", dir=job_dir)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(report.to_json(), handle, indent=1, ensure_ascii=False)
    os.replace(tmp, path)
    return path


def load_report(job_dir: Path) -> dict[str, Any] | None:
    """The job's stored evaluation (the `to_json` form), or None when it was never evaluated."""
    try:
        return json.loads((Path(job_dir) / EVAL_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def report_summary(report: dict[str, Any] | None) -> dict[str, Any] | None:
    """The stored report without its rows: what job status shows."""
    if not report:
        return None
    metrics = {name: {key: values.get(key) for key in SUMMARY_METRICS} for name, values in report.get("metrics", {}).items()}
    keys = ("examples", "wins", "wins_by", "data", "checkpoint", "reference_model", "reference_dataset", "judge_model", "created_at")
    return {"metrics": metrics, **{key: report.get(key) for key in keys}}
