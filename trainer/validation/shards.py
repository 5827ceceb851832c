"""Validating one big JSONL file on several processes, one byte range (shard) each.

Shards start on line boundaries; each worker scans its range with `trainer.validation.scan` (numbering its
lines from 1) and the tallies are merged in file order with their line offsets, so the result is
the one a single process gives. Workers are forked: they share the parent's hash seed (duplicate
detection compares hashes across shards) and start in milliseconds. Forking a process that runs
other threads (a web server) is unsafe, so there `workers_for` answers 1. The gain needs idle
cores: on the shared 2-core development machine, under a load of 6-15, two processes were slower
than one (see benches/validate.py), hence the load-aware default.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from trainer.validation.scan import Tally, new_tally, scan_jsonl

# Each worker gets at least this much: only files of seconds of work are worth splitting.
MIN_SHARD_BYTES = 64 * 1024 * 1024
MAX_WORKERS = 8


def workers_for(path: Path, requested: int | None) -> int:
    """How many processes to use: `requested`, or as many as there are idle CPUs and 64 MB shards.

    On a busy machine extra processes only queue behind other work (measured: slower), so the
    default counts CPUs not already taken by the load average (this process is one of its runners).
    Always 1 where forking is unsafe.
    """
    if "fork" not in multiprocessing.get_all_start_methods() or threading.active_count() > 1:
        return 1
    if requested is not None:
        return max(1, requested)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        others = max(0.0, os.getloadavg()[0] - 1)
    except OSError:
        others = 0.0
    idle = int(cpus - others + 0.5)
    return max(1, min(idle, MAX_WORKERS, path.stat().st_size // MIN_SHARD_BYTES))


def plan_shards(path: Path, count: int) -> list[tuple[int, int]]:
    """`count` byte ranges covering the file, each starting at the beginning of a line."""
    size = path.stat().st_size
    starts = [0]
    with open(path, "rb") as f:
        for k in range(1, count):
            f.seek(max(size * k // count, starts[-1]))
            f.readline()  # finish the line the cut fell into
            starts.append(min(f.tell(), size))
    bounds = [*starts, size]
    return [(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]


def scan_in_shards(
    path: Path, workers: int, encoding: str, limit: int, tokens: bool, duplicates: bool, max_error_lines: int, method: str = "supervised"
) -> Tally:
    shards = plan_shards(path, workers)
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=len(shards), mp_context=context) as pool:
        futures = [
            pool.submit(_scan_shard, path, start, end, encoding, limit, tokens, duplicates, max_error_lines, method) for start, end in shards
        ]
        parts = [future.result() for future in futures]
    merged = new_tally(encoding, limit, tokens, duplicates, max_error_lines, method)
    for part in parts:
        merged.merge(part, merged.lines)
        if part.stopped:  # binary data: a single process would have stopped reading here too
            break
    return merged


def _scan_shard(
    path: Path, start: int, end: int, encoding: str, limit: int, tokens: bool, duplicates: bool, max_error_lines: int, method: str
) -> Tally:
    tally = new_tally(encoding, limit, tokens, duplicates, max_error_lines, method)
    scan_jsonl(path, tally, start, end)
    tally.counter = None  # the tokenizer stays in the worker; the rest travels back
    return tally
