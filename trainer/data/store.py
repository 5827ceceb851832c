"""A learner's named datasets: one JSONL file of chat examples per dataset, changed only atomically.

`DatasetStore(root)` works in `settings.learner_dir(learner) / "datasets"` (see `learner_store`).
Every change writes a complete new file next to the old one and renames it into place under a
per-dataset lock, so a crash, a concurrent writer or a rejected upload never leaves a damaged file.
Examples are numbered from 1, like the lines of the file and the validator's `line`.
Stored lines are compact JSON (`trainer.data.examples.dump_example`), so exporting copies them as they
are and an exported file re-imports to the identical dataset.
"""

from __future__ import annotations

import re
import shutil
from array import array
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO, Iterator, Literal

from filelock import FileLock, Timeout

from core.files import atomic_writer
from core.settings import Settings
from trainer.validation.rules import FIXES
from trainer.data.examples import DatasetError, Example, dump_example, load_example
from trainer.data.formats import (
    IMPORT_FORMATS,
    RecordFormat,
    convert_fix,
    detect_format,
    iter_records,
    to_chat,
    to_hf,
    write_jsonl,
)
from trainer.data.prices import PriceTable, load_prices
from trainer.data.split import held_back, reply_key
from trainer.data.tokens import DEFAULT_MODEL
from trainer.validation.report import ErrorLine, Report, validate_examples, validate_file

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
NAME_RULE = "use 1-64 lowercase letters, digits, '-' or '_', starting with a letter or digit (e.g. 'sarcastic-bot')"
ImportMode = Literal["replace", "append"]
ExportFormat = Literal["openai", "hf"]
ERRORS_IN_MESSAGE = 5
LOCK_SECONDS = 30


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    examples: int
    updated_at: str  # ISO 8601, UTC


@dataclass
class ImportReport:
    name: str
    format: str
    imported: int
    total: int
    warnings: list[str] = field(default_factory=list)


def check_name(name: str, what: str = "Dataset") -> str:
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise DatasetError(f"{what} name {name!r} is not allowed: {NAME_RULE}.")
    return name


def learner_store(settings: Settings, learner: str = "default") -> DatasetStore:
    """The dataset store of one learner (learners never see each other's datasets)."""
    return DatasetStore(settings.learner_dir(check_name(learner, "Learner")) / "datasets", prices_dir=settings.data_dir)


class DatasetStore:
    """`root` holds the datasets; `prices_dir` may hold a learner-edited prices.json (the data dir)."""

    def __init__(self, root: Path, prices_dir: Path | None = None) -> None:
        self.root = Path(root)
        self.prices_dir = prices_dir

    # -- reading -------------------------------------------------------------------------------
    def path(self, name: str) -> Path:
        return self.root / f"{check_name(name)}.jsonl"

    def exists(self, name: str) -> bool:
        return self.path(name).is_file()

    def list(self) -> list[DatasetInfo]:
        if not self.root.is_dir():
            return []
        infos = []
        for path in sorted(self.root.glob("*.jsonl")):
            if NAME_PATTERN.fullmatch(path.stem):
                stamp = datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc).isoformat(timespec="seconds")
                infos.append(DatasetInfo(path.stem, _count_lines(path), stamp))
        return infos

    def iter_examples(self, name: str) -> Iterator[Example]:
        with open(self._existing(name), "rb") as f:
            for raw in f:
                if raw.strip():
                    yield load_example(raw)

    def load(self, name: str) -> list[Example]:
        return list(self.iter_examples(name))

    def count(self, name: str) -> int:
        return _count_lines(self._existing(name))

    def validate(self, name: str, model: str = DEFAULT_MODEL, *, prices: PriceTable | None = None) -> Report:
        """The full report for the dataset as a training file (10-example minimum included)."""
        prices = prices or load_prices(self.prices_dir)
        return validate_file(self._existing(name), model, prices=prices, container="jsonl")

    # -- changing ------------------------------------------------------------------------------
    def create(self, name: str, exist_ok: bool = False) -> Path:
        path = self.path(name)
        with self._lock(name):
            if path.exists():
                if exist_ok:
                    return path
                raise DatasetError(f"A dataset named {name!r} already exists; pick another name or add to it.")
            write_jsonl(path, [])
        return path

    def add(self, name: str, examples: Example | list[Example]) -> int:
        """Append one example or a list; each is checked first. Returns the dataset's new size."""
        batch = [examples] if isinstance(examples, dict) else list(examples)
        _require_valid(batch, "the example" if len(batch) == 1 else "the examples")
        path = self._existing(name)
        with self._lock(name), atomic_writer(path) as out:
            with open(path, "rb") as current:
                shutil.copyfileobj(current, out)
            for example in batch:
                out.write(dump_example(example) + b"\n")
        return self.count(name)

    def edit(self, name: str, number: int, example: Example) -> None:
        """Replace example `number` (from 1) with a checked new one."""
        _require_valid([example], "the new example")
        self._rewrite(name, number, dump_example(example) + b"\n")

    def remove(self, name: str, number: int) -> Example:
        """Delete example `number` (from 1); returns what was removed."""
        return self._rewrite(name, number, b"")

    def delete(self, name: str) -> None:
        with self._lock(name):
            self._existing(name).unlink()

    def import_file(self, name: str, source: Path, fmt: str = "auto", mode: ImportMode = "replace") -> ImportReport:
        """Convert and check a whole file, then replace (or append to) the dataset in one rename.

        Any error leaves the saved dataset byte-identical and raises DatasetError naming the
        lines and fixes. The dataset is created if it does not exist yet.
        """
        if fmt not in IMPORT_FORMATS:
            raise DatasetError(f"Unknown format {fmt!r}; use one of {', '.join(IMPORT_FORMATS)}.")
        if mode not in ("replace", "append"):
            raise DatasetError("Import mode must be 'replace' or 'append'.")
        path = self.path(name)
        source = Path(source)
        with self._lock(name), atomic_writer(path) as out:
            kept = 0
            if mode == "append" and path.exists():
                with open(path, "rb") as current:
                    shutil.copyfileobj(current, out)
                kept = _count_lines(path)
            converted, source_lines, used = _convert_into(out, source, fmt)
            out.flush()
            report = validate_file(Path(out.name), purpose="validation", tokens=False, container="jsonl")
            if report.errors:
                # Error lines point into the merged temp file; map them back to the source's lines.
                mapped = [_source_error(e, kept, source_lines) for e in report.error_lines]
                raise DatasetError(_describe_failure(source, sum(report.errors.values()), mapped))
        notes = [w.message for w in report.warnings if w.warning != "few_examples"]
        return ImportReport(name, used, converted, kept + converted, notes)

    def export(
        self,
        name: str,
        dest_dir: Path,
        fmt: ExportFormat = "openai",
        validation_fraction: float = 0.0,
        seed: int = 0,
    ) -> list[Path]:
        """Write the dataset for upload (`openai`) or for `datasets.load_dataset("json")` (`hf`).

        With a validation fraction the examples are split with `seed`; examples that teach the same reply
        (exact repeats, rewordings of one question) stay on the same side, so the split creates no overlap.
        """
        if fmt not in ("openai", "hf"):
            raise DatasetError("Export format must be 'openai' or 'hf'.")
        if not 0.0 <= validation_fraction < 1.0:
            raise DatasetError("The validation fraction must be at least 0 and below 1 (e.g. 0.2).")
        source = self._existing(name)
        dest_dir = Path(dest_dir)
        suffix = ".jsonl" if fmt == "openai" else ".hf.jsonl"
        convert = (lambda raw: raw) if fmt == "openai" else (lambda raw: dump_example(to_hf(load_example(raw))) + b"\n")
        if validation_fraction == 0.0:
            target = dest_dir / f"{name}{suffix}"
            with open(source, "rb") as lines, atomic_writer(target) as out:
                out.writelines(convert(_newline(raw)) for raw in lines if raw.strip())
            return [target]
        with open(source, "rb") as f:
            lines = [_newline(raw) for raw in f if raw.strip()]
        train, validation = _split(lines, validation_fraction, seed)
        targets = {dest_dir / f"{name}.train{suffix}": train, dest_dir / f"{name}.validation{suffix}": validation}
        for target, chunk in targets.items():
            with atomic_writer(target) as out:
                out.writelines(map(convert, chunk))
        return list(targets)

    # -- helpers ---------------------------------------------------------------------------------
    def _existing(self, name: str) -> Path:
        path = self.path(name)
        if not path.is_file():
            known = ", ".join(i.name for i in self.list()) or "none yet"
            raise DatasetError(f"No dataset named {name!r} (datasets: {known}). Create it first.")
        return path

    @contextmanager
    def _lock(self, name: str) -> Iterator[None]:
        """One writer per dataset at a time (the chat, the UI and the CLI may share a learner)."""
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            with FileLock(str(self.root / f".{check_name(name)}.lock"), timeout=LOCK_SECONDS):
                yield
        except Timeout:
            raise DatasetError(f"Dataset {name!r} is busy with another change; try again in a moment.") from None

    def _rewrite(self, name: str, number: int, replacement: bytes) -> Example:
        path = self._existing(name)
        with self._lock(name):
            lines = [raw for raw in path.read_bytes().splitlines(keepends=True) if raw.strip()]
            if not isinstance(number, int) or not 1 <= number <= len(lines):
                raise DatasetError(f"Dataset {name!r} has examples 1 to {len(lines)}; there is no example {number}.")
            old = load_example(lines[number - 1])
            lines[number - 1] = replacement
            with atomic_writer(path) as out:
                out.writelines(lines)
        return old


def _require_valid(examples: list[Example], what: str) -> None:
    if not all(isinstance(e, dict) for e in examples):
        raise DatasetError(f'{what.capitalize()} must be a JSON object like {{"messages": [...]}}.')
    report = validate_examples(examples, purpose="validation", tokens=False)
    if report.errors:
        first = report.error_lines[0]
        where = f"example {first.line}: " if len(examples) > 1 else ""
        raise DatasetError(f"Not saved: {what} has errors ({', '.join(report.errors)}). {where}{first.message}. Fix: {first.fix}")


def _convert_into(out: BinaryIO, source: Path, fmt: str) -> tuple[int, array, str]:
    """Write the source's records as chat JSONL into `out`; conversion errors raise at the end.

    Returns how many were written, the source line of each, and the format used."""
    used: RecordFormat | None = None if fmt == "auto" else fmt  # type: ignore[assignment]
    converted = 0
    source_lines = array("q")
    problems: list[ErrorLine] = []
    total = 0
    for record in iter_records(source):
        if record.blank:
            continue
        if record.error:
            total += 1
            if len(problems) < ERRORS_IN_MESSAGE:
                problems.append(ErrorLine(record.line, record.error.name, record.error.detail, FIXES[record.error.name]))
            continue
        used = used or detect_format(record.value) or "openai"
        try:
            example = to_chat(record.value, used)
        except DatasetError as exc:
            total += 1
            if len(problems) < ERRORS_IN_MESSAGE:
                problems.append(ErrorLine(record.line, "invalid_record", str(exc), convert_fix(used)))
            continue
        out.write(dump_example(example) + b"\n")
        source_lines.append(record.line)
        converted += 1
    if problems:
        raise DatasetError(_describe_failure(source, total, problems))
    if converted == 0:
        raise DatasetError(f"{source.name} has no examples; nothing was imported.")
    return converted, source_lines, used or "openai"


def _source_error(error: ErrorLine, kept: int, source_lines: array) -> ErrorLine:
    if error.line is None:
        return error
    if error.line <= kept:  # only when the saved file was edited by hand
        return ErrorLine(None, error.error, f"saved example {error.line}: {error.message}", error.fix)
    return ErrorLine(source_lines[error.line - kept - 1], error.error, error.message, error.fix)


def _describe_failure(source: Path, total: int, problems: list[ErrorLine]) -> str:
    shown = "\n".join(
        f"  line {p.line}: {p.error}: {p.message}. Fix: {p.fix}" if p.line else f"  {p.error}: {p.message}. Fix: {p.fix}"
        for p in problems[:ERRORS_IN_MESSAGE]
    )
    more = f"\n  ... and {total - len(problems[:ERRORS_IN_MESSAGE])} more" if total > ERRORS_IN_MESSAGE else ""
    return f"Nothing was imported: {source.name} has {total} error(s); the saved dataset is unchanged.\n{shown}{more}"


def _split(lines: list[bytes], fraction: float, seed: int) -> tuple[list[bytes], list[bytes]]:
    target = max(1, round(len(lines) * fraction)) if len(lines) > 1 else 0
    held = held_back([reply_key(load_example(raw)) for raw in lines], target, seed)
    train = [raw for index, raw in enumerate(lines) if index not in held]
    if not train:
        raise DatasetError("The split would leave no training examples; lower the validation fraction or add examples.")
    return train, [raw for index, raw in enumerate(lines) if index in held]


def _newline(raw: bytes) -> bytes:
    return raw if raw.endswith(b"\n") else raw + b"\n"


def _count_lines(path: Path) -> int:
    n = 0
    with open(path, "rb") as f:
        for raw in f:
            if raw.strip():
                n += 1
    return n
