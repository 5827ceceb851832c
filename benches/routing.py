"""Routing bench: does the offline router start drafting when a learner asks for training examples in their own
words, and keep questions *about* examples on the lesson?

    .venv/bin/python benches/routing.py [--final]

Messages (benches/data/, lines {"message", "lang", "expect": "draft" | "lesson"}):

- dev: routing_dev.jsonl, the phrasings the router's request patterns were written against, and
  routing_heldout.jsonl, the first held-out split: written by someone who had not seen the router, scored
  once before and once after the broader request patterns, then looked at and worked on, so now seen;
- held-out: routing_heldout2.jsonl, written the same way after that, and kept unseen: only its counts are
  ever printed (with --final).

"draft" must route to `draft_examples`, "lesson" to `search_lesson`. Targets, per language: >= 90 % of the
draft requests drafted and >= 95 % of the lesson questions kept on the lesson. The verdict line says PASS or
FAIL; the bench exits 1 on a miss (of the held-out targets with --final, else of the dev ones).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.router import route  # noqa: E402

DATA = ROOT / "benches" / "data"
TOOL = {"draft": "draft_examples", "lesson": "search_lesson"}
TARGET = {"draft": 0.90, "lesson": 0.95}


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def score(items: list[dict], show_misses: bool) -> tuple[dict[tuple[str, str], tuple[int, int]], list[str]]:
    """(lang, expect) -> (routed as expected, total), and the misses' descriptions when they may be shown."""
    counts: dict[tuple[str, str], list[int]] = {}
    misses = []
    for item in items:
        chosen = route(item["message"]).tool
        key = (item["lang"], item["expect"])
        hit = chosen == TOOL[item["expect"]]
        counts.setdefault(key, [0, 0])
        counts[key][0] += hit
        counts[key][1] += 1
        if not hit and show_misses:
            misses.append(f"  {item['lang']} {item['expect']:6} -> {chosen}: {item['message']}")
    return {key: (hits, total) for key, (hits, total) in counts.items()}, misses


def report(name: str, counts: dict[tuple[str, str], tuple[int, int]]) -> bool:
    ok = True
    for (lang, expect), (hits, total) in sorted(counts.items()):
        share = hits / total
        passed = share >= TARGET[expect]
        ok &= passed
        what = "drafted" if expect == "draft" else "kept on the lesson"
        print(f"{name:9} {lang} {expect:6}: {hits}/{total} {what} ({share:.0%}, target >= {TARGET[expect]:.0%}) "
              f"{'PASS' if passed else 'FAIL'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--final", action="store_true", help="also score the held-out messages (counts only)")
    args = parser.parse_args()
    dev, misses = score(load(DATA / "routing_dev.jsonl") + load(DATA / "routing_heldout.jsonl"), show_misses=True)
    ok = report("dev", dev)
    for line in misses:
        print(line)
    if args.final:
        held_out, _ = score(load(DATA / "routing_heldout2.jsonl"), show_misses=False)
        ok = report("held-out", held_out)
    else:
        print("held-out: not scored (run with --final; only its counts are printed)")
    print(f"verdict: {'PASS' if ok else 'FAIL'} ({'held-out' if args.final else 'dev'} targets)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
