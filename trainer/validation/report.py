"""Validate a fine-tuning file (chat or preference examples) or a list of examples: errors, warnings, tokens and cost.

`validate_file` streams the file through `trainer.validation.scan` (a big JSONL file on several processes,
see `trainer.validation.shards`); `validate_examples` checks examples held in memory the same way.

Report shape (`Report.to_dict()`, the CLI's `--json` contract):
`{"examples", "errors": {name: count}, "error_lines": [{"line", "error", "message", "fix"}],
"warnings": [{"warning", "message", "count", "lines"}], "tokens": {...}, "estimate": {"epochs",
"billed_tokens", "cost_usd", "model"}, "method", "notebook_checks": {name: count}}`. `errors` are
what the fine-tuning API (or the local trainer) would reject; `notebook_checks` are the cookbook
notebook's seven counts, shown for comparison (the notebook predates tool calling and flags data
the API accepts); `method` is "supervised" (chat examples) or "dpo" (preference examples). `error_lines` lists at most `max_error_lines` entries
(the counts in `errors` are always complete); a warning lists the first 20 lines it concerns.
`examples` counts records that parsed as JSON. `tokens` holds `model` (the snapshot), `encoding`,
`limit`, `total`, `assistant_total`, `per_example_min`/`_max`/`_mean`, `over_limit` and
`per_example`; it is `{}` and `estimate` is null when tokens were not counted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Literal

import numpy as np

from trainer.validation.rules import NOTEBOOK_ERRORS, WARNING_TEXTS, Finding
from trainer.data.examples import Example, Method, dump_example
from trainer.data.formats import UTF8_BOM, Record, inspect_file, iter_json_array, iter_records
from trainer.data.prices import PriceTable, load_prices
from trainer.validation.scan import ErrorLine, Tally, new_tally, scan_jsonl
from trainer.validation.shards import scan_in_shards, workers_for
from trainer.data.tokens import DEFAULT_MODEL, billed_tokens_per_epoch, default_epochs, resolve_model

__all__ = ["ErrorLine", "Estimate", "Report", "WarningEntry", "format_report", "validate_examples", "validate_file"]

Purpose = Literal["train", "validation"]
MIN_EXAMPLES = 10
RECOMMENDED_EXAMPLES = 50


@dataclass
class WarningEntry:
    warning: str
    message: str
    count: int
    lines: list[int]


@dataclass
class Estimate:
    epochs: int
    billed_tokens: int
    cost_usd: float | None
    model: str


@dataclass
class Report:
    examples: int
    errors: dict[str, int]
    error_lines: list[ErrorLine]
    warnings: list[WarningEntry]
    tokens: dict[str, Any]
    estimate: Estimate | None
    # Kept as an array (a list of millions of ints costs ~36 bytes each); `to_dict` lists it as tokens.per_example.
    per_example_tokens: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    notebook: dict[str, int] = field(default_factory=dict)  # the cookbook notebook's counts; not errors by themselves
    method: str = "supervised"

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        return {
            "examples": self.examples,
            "errors": dict(self.errors),
            "error_lines": [asdict(e) for e in self.error_lines],
            "warnings": [asdict(w) for w in self.warnings],
            "tokens": {**self.tokens, "per_example": self.per_example_tokens.tolist()} if self.tokens else {},
            "estimate": asdict(self.estimate) if self.estimate else None,
            "method": self.method,
            "notebook_checks": dict(self.notebook),
        }


def validate_file(
    path: Path,
    model: str = DEFAULT_MODEL,
    *,
    purpose: Purpose = "train",
    compare_with: Path | None = None,
    tokens: bool = True,
    duplicates: bool = True,
    prices: PriceTable | None = None,
    max_error_lines: int = 1000,
    workers: int | None = None,
    container: Literal["auto", "jsonl"] = "auto",
    method: Method = "supervised",
) -> Report:
    """Validate a JSONL (or JSON array) file of chat examples for fine-tuning `model`.

    `purpose="validation"` drops the 10-example minimum (it applies to training files);
    `compare_with` names the other file of a train/validation pair to warn about overlap;
    `tokens`/`duplicates` off skip that work; `workers` (default: by file size and CPUs) splits a
    big JSONL file across processes; `container="jsonl"` reads the file as JSONL even when it is
    one line holding a list; `method="dpo"` reads preference examples. Raises DatasetError only for
    an unknown model or a bad path.
    """
    path = Path(path)
    spec = resolve_model(model)
    info = inspect_file(path)
    if container == "jsonl":
        info = replace(info, container="jsonl")
    n_workers = workers_for(path, workers) if info.container == "jsonl" and not info.problem else 1
    if n_workers > 1:
        tally = scan_in_shards(path, n_workers, spec.encoding, spec.training_limit, tokens, duplicates, max_error_lines, method)
    else:
        tally = new_tally(spec.encoding, spec.training_limit, tokens, duplicates, max_error_lines, method)
        if info.problem:
            tally.error(1, info.problem)
        elif info.container == "json":
            for record in iter_json_array(path):
                tally.record(record, dump_example(record.value) if record.value is not None else b"")
        else:
            scan_jsonl(path, tally)
    other = _file_hashes(Path(compare_with)) if compare_with and duplicates else None
    return _finish(tally, model, purpose, tokens, other, prices)


def validate_examples(
    examples: Iterable[Example],
    model: str = DEFAULT_MODEL,
    *,
    purpose: Purpose = "train",
    tokens: bool = True,
    prices: PriceTable | None = None,
    max_error_lines: int = 1000,
    method: Method = "supervised",
) -> Report:
    """Validate examples already in memory; example i (from 1) is reported as line i."""
    spec = resolve_model(model)
    tally = new_tally(spec.encoding, spec.training_limit, tokens, True, max_error_lines, method)
    for number, example in enumerate(examples, 1):
        tally.record(Record(number, value=example), dump_example(example))
    return _finish(tally, model, purpose, tokens, None, prices)


def format_report(report: Report, title: str, shown_errors: int = 20) -> str:
    """The report as plain text, for a terminal or a chat message."""
    out = [f"{title}: {report.examples} examples, " + (f"{sum(report.errors.values())} error(s)" if report.errors else "no errors")]
    if report.errors:
        out.append("Errors: " + ", ".join(f"{name} x{count}" for name, count in report.errors.items()))
        for e in report.error_lines[:shown_errors]:
            out.append(f"  {'line ' + str(e.line) if e.line else 'file'}: {e.error}: {e.message}\n      fix: {e.fix}")
        hidden = sum(report.errors.values()) - min(shown_errors, len(report.error_lines))
        if hidden > 0:
            out.append(f"  ... {hidden} more (use --json for every line)")
    if report.notebook:
        out.append(
            "The cookbook notebook's checks: " + ", ".join(f"{name} x{report.notebook[name]}" for name in NOTEBOOK_ERRORS if name in report.notebook)
            + " (shown for comparison; the notebook predates tool calling, so only the errors above block a job)"
        )
    for w in report.warnings:
        lines = f" (lines {', '.join(map(str, w.lines))}{', ...' if w.count > len(w.lines) else ''})" if w.lines else ""
        out.append(f"Warning: {w.message}{lines}")
    if report.tokens and report.estimate:
        t, e = report.tokens, report.estimate
        out.append(
            f"Tokens ({t['model']}, {t['encoding']}): {t['total']:,} in all, {t['per_example_min']:,}-{t['per_example_max']:,} "
            f"per example (mean {t['per_example_mean']:,}), {t['assistant_total']:,} in assistant replies, "
            f"{t['over_limit']} over the {t['limit']:,}-token limit"
        )
        cost = f" = about ${e.cost_usd:,.2f}" if e.cost_usd is not None else " (no price for this model in the table)"
        out.append(f"Estimate: {e.epochs} epoch(s) by default, {e.billed_tokens:,} billed training tokens{cost}")
    return "\n".join(out)


def _file_hashes(path: Path) -> np.ndarray:
    """Hashes of the other file's examples, made the way the scanned file's are."""
    info = inspect_file(path)
    if info.container == "json":
        keys = [hash(dump_example(r.value)) for r in iter_records(path) if r.value is not None]
    else:
        with open(path, "rb") as f:
            keys = [hash(raw.rstrip().removeprefix(UTF8_BOM)) for raw in f if raw.strip()]
    return np.asarray(keys, dtype=np.int64)


def _finish(tally: Tally, model: str, purpose: Purpose, tokens: bool, other: np.ndarray | None, prices: PriceTable | None) -> Report:
    if purpose == "train" and tally.examples < MIN_EXAMPLES:
        tally.error(None, Finding("too_few_examples", f"the file has {tally.examples} example(s); fine-tuning needs at least {MIN_EXAMPLES}"))
    elif purpose == "train" and tally.examples < RECOMMENDED_EXAMPLES:
        tally.warn_counts["few_examples"] = tally.examples  # a count of the file, not of lines
    if tally.duplicates and len(tally.hashes):
        hashes = np.frombuffer(tally.hashes, dtype=np.int64)
        lines = np.frombuffer(tally.hash_lines, dtype=np.int64)
        for line in _repeated(hashes, lines):
            tally.warn(int(line), "duplicate_example")
        if other is not None and len(other):
            for line in lines[np.isin(hashes, other)]:
                tally.warn(int(line), "train_validation_overlap")
    warnings = [
        WarningEntry(name, WARNING_TEXTS[name].format(count=count), count, tally.warn_lines.get(name, []))
        for name, count in tally.warn_counts.items()
    ]
    extra = {"notebook": dict(tally.notebook), "method": tally.method}
    if not tokens:
        return Report(tally.examples, dict(tally.errors), tally.error_lines, warnings, {}, None, **extra)
    spec = resolve_model(model)
    per_example = np.frombuffer(tally.tokens, dtype=np.int64).copy() if len(tally.tokens) else np.zeros(0, dtype=np.int64)
    epochs = default_epochs(tally.examples)
    billed = billed_tokens_per_epoch(per_example, spec.training_limit) * epochs
    table = prices or load_prices()
    summary = {
        "model": spec.name,
        "encoding": spec.encoding,
        "limit": spec.training_limit,
        "total": int(per_example.sum()),
        "assistant_total": tally.assistant_tokens,
        "per_example_min": int(per_example.min()) if per_example.size else 0,
        "per_example_max": int(per_example.max()) if per_example.size else 0,
        "per_example_mean": round(float(per_example.mean()), 1) if per_example.size else 0.0,
        "over_limit": int((per_example > spec.training_limit).sum()),
    }
    estimate = Estimate(epochs, billed, table.training_cost(spec.name, billed), model)
    return Report(tally.examples, dict(tally.errors), tally.error_lines, warnings, summary, estimate, per_example, **extra)


def _repeated(hashes: np.ndarray, lines: np.ndarray) -> np.ndarray:
    """Lines whose hash appeared on an earlier line, in line order."""
    order = np.lexsort((lines, hashes))
    sorted_hashes = hashes[order]
    again = np.zeros(len(order), dtype=bool)
    again[1:] = sorted_hashes[1:] == sorted_hashes[:-1]
    return np.sort(lines[order][again])
