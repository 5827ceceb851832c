"""`python -m trainer eval JOB_ID [--data FILE] [--limit N] [--reference MODEL] [--checkpoint final|best] [--json]`.

With `--json` it prints the `EvalReport.to_json()` object (the contract: job, examples, metrics per
model, wins, rows); otherwise a table of the metrics and a few example rows. Exit 0 whenever the
evaluation ran, whatever it found.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from core.openai_api import OpenAIAPIError
from core.settings import Settings
from trainer.evaluation.heldout import EvalDataError
from trainer.evaluation.report import SUMMARY_METRICS

USER_ERRORS: tuple[type[BaseException], ...] = (EvalDataError, OpenAIAPIError)
ROWS_SHOWN = 3


def register(subparsers: argparse._SubParsersAction) -> None:
    from trainer.cli.main import add_learner_option

    parser = subparsers.add_parser("eval", help="Evaluate a finished job against its base model on held-out examples.",
                                   description="Evaluate a finished job against its base model on held-out examples.")
    add_learner_option(parser)
    parser.add_argument("id", help="Job id of a succeeded job.")
    parser.add_argument("--data", help="Held-out chat examples, a JSONL path or dataset name (default: the job's validation data).")
    parser.add_argument("--limit", type=int, help="Evaluate at most N examples.")
    parser.add_argument("--reference", metavar="MODEL", help="A model on the OpenAI-compatible endpoint whose answers become the "
                        "references (and a dataset of the learner).")
    parser.add_argument("--checkpoint", choices=["final", "best"], default="final",
                        help="Which adapter of a local job: the final one or the one with the best validation loss.")
    parser.add_argument("--json", action="store_true", help="Print the report as one JSON object.")
    parser.set_defaults(handler=_eval)


def _eval(args: argparse.Namespace, settings: Settings) -> int:
    from trainer.evaluation.run import evaluate_job

    report = evaluate_job(settings, args.id, data=args.data, limit=args.limit, reference=args.reference,
                          owner=args.learner, checkpoint=args.checkpoint)
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
        return 0
    print(f"Evaluation of {report.job} ({report.checkpoint} adapter) on {report.examples} held-out examples from {report.data}")
    for line in metrics_table(report.metrics):
        print(line)
    if report.wins:
        print(f"wins ({report.wins_by}): tuned {report.wins['tuned']}, base {report.wins['base']}, tie {report.wins['tie']}")
    if report.reference_dataset:
        print(f"{report.reference_model}'s answers saved as dataset {report.reference_dataset!r}")
    for row in report.rows[:ROWS_SHOWN]:
        print(f"\n> {row['prompt']}\n  base:  {_short(row['base'])}\n  tuned: {_short(row['tuned'])}")
    return 0


def metrics_table(metrics: dict[str, dict[str, Any]]) -> list[str]:
    """The per-model metrics as aligned text lines (also used by `status`)."""
    lines = [f"{'model':<10}" + "".join(f"{key:>13}" for key in SUMMARY_METRICS)]
    for name, values in metrics.items():
        cells = "".join(f"{'-' if values.get(key) is None else format(values[key], '.3f'):>13}" for key in SUMMARY_METRICS)
        lines.append(f"{name:<10}{cells}")
    return lines


def _short(text: str, width: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 1] + "…"
