"""Streaming JSONL into a `Tally`: the fast path, the slow path, and what they count.

`scan_jsonl` reads blocks of whole lines. A block of clean lines is decoded in one call with the
strict msgspec schema of `trainer.validation.fast_path`; lines it accepts are clean by construction and cost
no per-message Python work. Other blocks go line by line (`scan_batch`): runs of clean lines still
take the schema, and a line it rejects goes through `trainer.validation.rules` (the notebook's checks, then
the API's; a preference (DPO) file always takes the slow path). The notebook's counts
(`Tally.notebook`, kept apart from the errors) are therefore exactly the notebook's (`benches/validate.py` asserts this
against a reference). Duplicates are found by hashing lines as written (trailing whitespace
ignored), so a reformatted copy is not one.
"""

from __future__ import annotations

import gc
import os
from array import array
from collections import Counter
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Iterator

import numpy as np

from trainer.validation import fast_path
from trainer.validation.rules import FIXES, Finding, check_example, check_preference_example
from trainer.data.formats import UTF8_BOM, Record, parse_line
from trainer.data.tokens import TokenCounter

WARNING_LINES = 20
LONG_REPLY_TOKENS = 4096
BATCH_BYTES = 1 << 16  # small batches keep decoded objects in cache and memory flat
MAX_BACKOFF_BLOCKS = 64


@dataclass
class ErrorLine:
    line: int | None
    error: str
    message: str
    fix: str


@dataclass
class Tally:
    """Everything seen so far; the scanners feed it, `trainer.validation.report` turns it into a Report."""

    counter: TokenCounter | None
    limit: int
    duplicates: bool
    max_error_lines: int
    examples: int = 0
    errors: Counter = field(default_factory=Counter)
    error_lines: list[ErrorLine] = field(default_factory=list)
    warn_counts: Counter = field(default_factory=Counter)
    warn_lines: dict[str, list[int]] = field(default_factory=dict)
    tokens: array = field(default_factory=lambda: array("q"))
    assistant_tokens: int = 0
    hashes: array = field(default_factory=lambda: array("q"))
    hash_lines: array = field(default_factory=lambda: array("q"))
    lines: int = 0  # lines read (blank ones included)
    stopped: bool = False  # hit binary data and stopped reading
    method: str = "supervised"  # "dpo": preference examples, no fast path, no notebook checks
    notebook: Counter = field(default_factory=Counter)  # the cookbook notebook's counts, shown apart from errors

    def error(self, line: int | None, finding: Finding) -> None:
        self.errors[finding.name] += 1
        if len(self.error_lines) < self.max_error_lines:
            self.error_lines.append(ErrorLine(line, finding.name, finding.detail, FIXES[finding.name]))

    def warn(self, line: int, name: str) -> None:
        self.warn_counts[name] += 1
        lines = self.warn_lines.setdefault(name, [])
        if len(lines) < WARNING_LINES:
            lines.append(line)

    def fast(self, start: int, examples: list[fast_path.FastExample], raws: list[bytes]) -> None:
        """Examples that decoded with the strict schema, on lines start, start+1, ..."""
        self.examples += len(examples)
        for i in fast_path.find_irregular(examples):
            has_assistant, has_system, has_user, blank = fast_path.describe(examples[i])
            if not has_assistant:
                self.error(start + i, Finding("example_missing_assistant_message", "no message has the role 'assistant'"))
                self.notebook["example_missing_assistant_message"] += 1
            if not has_system:
                self.warn(start + i, "missing_system_message")
            if not has_user:
                self.warn(start + i, "missing_user_message")
            if blank:
                self.warn(start + i, "empty_assistant_message")
        if self.counter is not None:
            for i, example in enumerate(examples):
                self._add_tokens(start + i, *fast_path.count_tokens(example, self.counter))
        if self.duplicates:
            self.hashes.extend(map(hash, map(bytes.rstrip, raws)))
            self.hash_lines.frombytes(np.arange(start, start + len(raws), dtype=np.int64).tobytes())

    def record(self, record: Record, key: bytes) -> None:
        """One record on the slow path: parse problems, or the full checks."""
        if record.blank:
            self.warn(record.line, "blank_line")
            return
        if record.error:
            self.error(record.line, record.error)
            return
        self.examples += 1
        if self.method == "dpo":
            errors, warnings = check_preference_example(record.value)
        else:
            errors, warnings, notebook = check_example(record.value)
            self.notebook.update(finding.name for finding in notebook)
        for finding in errors:
            self.error(record.line, finding)
        for finding in warnings:
            self.warn(record.line, finding.name)
        if self.counter is not None:
            self._add_tokens(record.line, *self.counter.example(record.value))
        if self.duplicates:
            self.hashes.append(hash(key))
            self.hash_lines.append(record.line)

    def merge(self, other: Tally, offset: int) -> None:
        """Add the tally of the next byte range, whose line numbers start after `offset` lines."""
        self.examples += other.examples
        self.errors.update(other.errors)
        self.notebook.update(other.notebook)
        room = self.max_error_lines - len(self.error_lines)
        self.error_lines.extend(ErrorLine(e.line + offset if e.line else e.line, e.error, e.message, e.fix) for e in other.error_lines[:room])
        self.warn_counts.update(other.warn_counts)
        for name, lines in other.warn_lines.items():
            mine = self.warn_lines.setdefault(name, [])
            mine.extend(line + offset for line in lines[: WARNING_LINES - len(mine)])
        self.tokens.extend(other.tokens)
        self.assistant_tokens += other.assistant_tokens
        self.hashes.extend(other.hashes)
        self.hash_lines.frombytes((np.frombuffer(other.hash_lines, dtype=np.int64) + offset).tobytes())
        self.lines += other.lines
        self.stopped = other.stopped

    def _add_tokens(self, line: int, total: int, assistant: int, longest: int) -> None:
        self.tokens.append(total)
        self.assistant_tokens += assistant
        if total > self.limit:
            self.warn(line, "over_token_limit")
        if longest > LONG_REPLY_TOKENS:
            self.warn(line, "long_assistant_message")


def new_tally(encoding: str, limit: int, tokens: bool, duplicates: bool, max_error_lines: int, method: str = "supervised") -> Tally:
    return Tally(TokenCounter(encoding) if tokens else None, limit, duplicates, max_error_lines, method=method)


def scan_jsonl(path: Path, tally: Tally, start: int = 0, end: int | None = None) -> None:
    """Feed the lines of bytes [start, end) (whole lines; the whole file by default) to `tally`,
    numbering them from 1. Stops, with `tally.stopped`, at binary data."""
    enabled = gc.isenabled()
    gc.disable()  # decoded batches hold no cycles; the collector would only rescan them
    try:
        line = 1
        whole_blocks = not tally.duplicates and tally.method == "supervised"  # duplicates need each line's bytes
        wait, backoff = 0, 1  # blocks to go line by line before trying a whole one again; next wait
        for block in _line_blocks(path, start, end):
            if line == 1 and start == 0 and block.startswith(UTF8_BOM):
                block = block[len(UTF8_BOM):]
                tally.warn(1, "utf8_bom")
            if whole_blocks and not wait:
                # One call decodes a block of clean lines without a bytes object per line. A block
                # with any other line fails (or comes back short: decode_lines skips blank lines)
                # and goes line by line; in a file with many such lines trying costs more than it
                # saves, so each failure doubles how many blocks go line by line before the next try
                # (and each success halves it).
                count = block.count(b"\n") + (not block.endswith(b"\n"))
                examples = _decode_block(block)
                if examples is not None and len(examples) == count:
                    tally.lines += count
                    tally.fast(line, examples, [])
                    line += count
                    backoff = max(1, backoff // 2)
                    continue
                wait, backoff = backoff, min(2 * backoff, MAX_BACKOFF_BLOCKS)
            elif wait:
                wait -= 1
            raws = block.split(b"\n")
            if not raws[-1]:
                raws.pop()  # the empty piece after the block's last newline
            tally.lines += len(raws)
            if not scan_batch(line, raws, tally):
                tally.stopped = True
                return
            line += len(raws)
    finally:
        if enabled:
            gc.enable()


def _line_blocks(path: Path, start: int, end: int | None) -> Iterator[bytes]:
    """The bytes [start, end) in blocks of about BATCH_BYTES that end at line ends (the last may not)."""
    with open(path, "rb") as f:
        f.seek(start)
        remaining = (end if end is not None else os.fstat(f.fileno()).st_size) - start
        pending: list[bytes] = []  # the start of a line longer than a block, joined once it ends
        while remaining > 0:
            data = f.read(min(BATCH_BYTES, remaining))
            if not data:
                break
            remaining -= len(data)
            cut = data.rfind(b"\n") + 1
            if remaining > 0 and cut == 0:
                pending.append(data)
                continue
            if remaining <= 0:
                cut = len(data)
            yield b"".join([*pending, data[:cut]])
            pending = [data[cut:]] if cut < len(data) else []
        if pending:
            yield b"".join(pending)


def _decode_block(block: bytes) -> list[fast_path.FastExample] | None:
    try:
        return fast_path.DECODER.decode_lines(block)
    except fast_path.DECODE_ERRORS:
        return None


def scan_batch(start: int, raws: list[bytes], tally: Tally) -> bool:
    """Lines start, start+1, ...: runs of clean lines go to `tally.fast` together, the others one
    by one through the full checks. False after binary data (the scan stops there)."""
    decode, decode_errors = fast_path.DECODER.decode, fast_path.DECODE_ERRORS
    fast = tally.method == "supervised"  # the schema knows chat examples only
    i, n = 0, len(raws)
    while i < n:
        run: list[fast_path.FastExample] = []
        try:
            # extend() keeps what decoded before a failing line, so no clean line is decoded twice.
            if fast:
                run.extend(map(decode, islice(raws, i, None)))
        except decode_errors:
            pass
        if run:
            tally.fast(start + i, run, raws[i : i + len(run)])
            i += len(run)
        if i < n:
            record = parse_line(start + i, raws[i])
            tally.record(record, raws[i].rstrip())
            if record.error and record.error.name == "binary_file":
                return False
            i += 1
    return True
