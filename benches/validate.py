"""Validation speed and memory: trainer.validation.report against the cookbook notebook's own way, same run.

    python benches/validate.py [--examples 100000] [--gb 1.0] [--skip-big]

The reference is the notebook as written: `json.loads` every line into a list, then its loops
(and, for the token rows, its `num_tokens_from_messages` / `num_assistant_tokens_from_messages`
with `bpe_openai` in place of tiktoken, skipping the integer `weight` that `encode` cannot take).
Each measurement runs in a fresh subprocess (best of --repeat), which also gives its peak RSS
(VmHWM). What each side computes, per row:

  checks   reference: the 7 notebook error counts.
           ours: validate_file(tokens=False, duplicates=False): the same counts, plus the API-level
           checks, the per-line error list and the per-example warnings (all but duplicates/tokens).
  report   ours also finds duplicates (hashes every line); the reference as in "checks".
  tokens   reference: checks + per-example total and assistant tokens (notebook formulas).
           ours: the full report (everything above + tokens, limits, epochs, cost).
Ours runs in 1 process and, forced, in 2 (the sharded path `trainer.validation.shards`).

Both sides build their tokenizer before the timed region (the reference its `bpe_openai` encoding,
ours its counter), so the figures compare validating, not loading vocabularies. The text is
realistic: words drawn from the project's lesson docs (thousands of distinct English and Finnish
words, with their punctuation), eight system prompts, user turns of 5-80 words and replies of
10-250, some multi-turn.

Verdict: ours, in one process, at least as fast (wall) as the reference in every row, and the big
file's peak RSS under 1 GB (memory stays flat however large the file). Prints PASS or FAIL and exits
1 on a miss.

The error counts are asserted equal, and for the token rows the token totals too. "wall" is
elapsed time, "cpu" user+system time of the process and its workers: on a shared machine the cpu
ratio is the steadier figure.
Two files: "clean" (all valid) and "dirty" (1% broken lines of every kind the notebook can count
without crashing). The big file (--gb) is validated by ours only (the reference would need ~8x
the file size in RAM) to show that memory stays flat.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the notebook reference, shared with the tests

from notebook_reference import notebook_format_errors  # noqa: E402

DOCS = ROOT / "knowledge" / "docs"
SYSTEM_PROMPTS = (
    "You are a patient tutor who answers briefly.",
    "You are a support agent for a bicycle shop. Be friendly and precise, and ask for the order number when needed.",
    "Answer as a senior data engineer reviewing a pull request: point out risks first.",
    "Olet ystävällinen asiakaspalvelija. Vastaa lyhyesti suomeksi.",
    "You write product descriptions in a warm, plain style, under 80 words.",
    "You are a careful medical-records assistant. Never guess; say when information is missing.",
    "Translate the user's text into formal English and explain any idiom you changed.",
    "You are a limerick bot: every answer is a five-line limerick about the topic.",
)
MAX_BIG_PEAK_MB = 1024


def vocabulary() -> list[str]:
    """Words as the lesson docs write them (with trailing punctuation), in both languages: thousands."""
    words = []
    for path in sorted(DOCS.rglob("*.md")):
        text = re.sub(r"<!--.*?-->|\{#[^}]*\}", " ", path.read_text(encoding="utf-8"), flags=re.DOTALL)
        words.extend(w for w in text.split() if w.isprintable() and not w.startswith(("#", "|", "```")))
    return words


WORDS = vocabulary()


# -- the reference: the notebook's code -----------------------------------------------------------
def reference_checks(path: str, with_tokens: bool, encoding) -> dict:
    with open(path, "r", encoding="utf-8") as f:
        dataset = [json.loads(line) for line in f]

    result = {"examples": len(dataset), "errors": notebook_format_errors(dataset)}
    if with_tokens:

        def num_tokens_from_messages(messages, tokens_per_message=3, tokens_per_name=1):
            num_tokens = 0
            for message in messages:
                num_tokens += tokens_per_message
                for key, value in message.items():
                    if isinstance(value, str):  # the notebook encodes every value; weight is an int
                        num_tokens += len(encoding.encode(value))
                    if key == "name":
                        num_tokens += tokens_per_name
            num_tokens += 3
            return num_tokens

        def num_assistant_tokens_from_messages(messages):
            num_tokens = 0
            for message in messages:
                if message["role"] == "assistant":
                    num_tokens += len(encoding.encode(message["content"]))
            return num_tokens

        convo_lens, assistant_lens = [], []
        for ex in dataset:  # token counts only make sense on a valid file (the notebook assumes one)
            convo_lens.append(num_tokens_from_messages(ex["messages"]))
            assistant_lens.append(num_assistant_tokens_from_messages(ex["messages"]))
        result["tokens_total"] = sum(convo_lens)
        result["assistant_total"] = sum(assistant_lens)
    return result


# -- ours ------------------------------------------------------------------------------------------
def ours(path: str, mode: str, workers: int | None) -> dict:
    from trainer.validation.report import validate_file

    if mode == "checks":
        report = validate_file(Path(path), tokens=False, duplicates=False, purpose="validation", workers=workers)
    elif mode == "report":
        report = validate_file(Path(path), tokens=False, purpose="validation", workers=workers)
    else:
        report = validate_file(Path(path), "gpt-4o-mini", purpose="validation", workers=workers)
    result = {
        "examples": report.examples,
        "errors": report.notebook,  # the notebook's own counts, which the reference must match
        "all_errors": sum(report.errors.values()),
    }
    if report.tokens:
        result["tokens_total"] = report.tokens["total"]
        result["assistant_total"] = report.tokens["assistant_total"]
    return result


def child(side: str, path: str, mode: str, repeat: int, workers: int | None) -> None:
    """Run one measurement in this fresh process and print JSON with timings and peak memory.

    CPU time includes worker processes; peak memory is this process's and the largest worker's."""
    import resource

    encoding = None
    if side == "reference" and mode == "tokens":
        import bpe_openai

        encoding = bpe_openai.get_encoding("o200k_base")
        encoding.encode("warm up")
    elif side == "ours" and mode == "tokens":
        from trainer.data.tokens import TokenCounter

        TokenCounter("o200k_base").text("warm up")  # the tokenizer is cached per process
    best_wall = best_cpu = float("inf")
    result: dict = {}
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), _cpu()
        result = reference_checks(path, mode == "tokens", encoding) if side == "reference" else ours(path, mode, workers)
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, _cpu() - cpu)
    status = Path("/proc/self/status")
    peak = int(re.search(r"VmHWM:\s+(\d+)", status.read_text()).group(1)) // 1024 if status.exists() else -1
    workers_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
    print(json.dumps({**result, "wall_s": best_wall, "cpu_s": best_cpu, "peak_mb": peak, "workers_peak_mb": workers_peak}))


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def measure(side: str, path: Path, mode: str, repeat: int, workers: int | None = 1) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, __file__, "--child", side, str(path), mode, str(repeat), str(workers or 0)]
    return json.loads(subprocess.run(command, capture_output=True, text=True, env=env, check=True).stdout)


# -- data ------------------------------------------------------------------------------------------
def clean_example(rng: random.Random) -> dict:
    def say(lo: int, hi: int) -> str:
        # A run of the docs' own words from a random place reads like text, not a word salad.
        n = rng.randint(lo, hi)
        start = rng.randrange(len(WORDS) - n)
        return " ".join(WORDS[start:start + n])

    messages = [{"role": "system", "content": rng.choice(SYSTEM_PROMPTS)}]
    for turn in range(rng.choice((1, 1, 1, 2, 3))):
        messages.append({"role": "user", "content": say(5, 80)})
        reply = {"role": "assistant", "content": say(10, 250)}
        if turn == 0 and len(messages) > 2 and rng.random() < 0.5:
            reply["weight"] = 0
        messages.append(reply)
    return {"messages": messages}


def broken_example(rng: random.Random) -> object:
    example = clean_example(rng)
    kind = rng.randrange(8)
    message = example["messages"][1]
    if kind == 0:
        return [example]
    if kind == 1:
        return {"messages": []}
    if kind == 2:
        del message["content"]
    elif kind == 3:
        message["lang"] = "en"
    elif kind == 4:
        message["role"] = "human"
    elif kind == 5:
        message["content"] = ""
    elif kind == 6:
        example["messages"] = example["messages"][:2]
    else:
        message["content"] = None
    return example


def write_dataset(path: Path, n: int, broken_share: float, seed: int) -> None:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as f:
        for start in range(0, n, 10_000):
            rows = [broken_example(rng) if rng.random() < broken_share else clean_example(rng) for _ in range(min(10_000, n - start))]
            f.write("".join(json.dumps(r) + "\n" for r in rows))


def write_big(path: Path, size_bytes: int, seed: int) -> int:
    """Cycle a pool of distinct lines with a running number until the file reaches size_bytes."""
    rng = random.Random(seed)
    pool = [json.dumps(clean_example(rng)) for _ in range(5_000)]
    n = 0
    with open(path, "w", encoding="utf-8") as f:
        while f.tell() < size_bytes:
            chunk = []
            for _ in range(10_000):
                line = pool[n % len(pool)]
                chunk.append(line.replace('"content": "', f'"content": "({n}) ', 1) + "\n")
                n += 1
            f.write("".join(chunk))
    return n


def _row(mode: str, n: int, ref: dict, mine: dict, workers: int | None) -> str:
    who = "1 process" if workers == 1 else f"{workers} processes"
    return (
        f"  {mode:7s} reference {n / ref['wall_s']:>8,.0f} ex/s ({ref['wall_s']:.2f} s wall, {ref['cpu_s']:.2f} s cpu, {ref['peak_mb']} MB)"
        f" | ours, {who:12s} {n / mine['wall_s']:>9,.0f} ex/s ({mine['wall_s']:.2f} s wall, {mine['cpu_s']:.2f} s cpu, {mine['peak_mb']} MB)"
        f" | x{ref['wall_s'] / mine['wall_s']:.1f} wall, x{ref['cpu_s'] / mine['cpu_s']:.1f} cpu"
    )


# -- the bench -------------------------------------------------------------------------------------
def verdict(rows: list[dict]) -> bool:
    """PASS when ours (1 process) is at least as fast as the reference in every row and the big file stays flat."""
    checks = []
    for row in rows:
        if "ref" in row and row["workers"] == 1:
            ratio = row["ref"]["wall_s"] / row["ours"]["wall_s"]
            checks.append((f"{row['file']} {row['mode']}: ours x{ratio:.2f} the reference's speed (wall, target >= 1)", ratio >= 1.0))
        elif row["file"] == "big":
            peak = row["ours"]["peak_mb"]
            checks.append((f"big {row['mode']} ({row['workers']} workers): peak RSS {peak} MB (target < {MAX_BIG_PEAK_MB} MB)", 0 <= peak < MAX_BIG_PEAK_MB))
    print("\nverdict:")
    for text, ok in checks:
        print(f"   {'PASS' if ok else 'FAIL'}  {text}")
    passed = bool(checks) and all(ok for _, ok in checks)
    print(f"verdict: {'PASS' if passed else 'FAIL'}")
    return passed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=100_000)
    parser.add_argument("--gb", type=float, default=1.0, help="size of the big file in GB")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-big", action="store_true")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-validate-") as tmp:
        for label, share in (("clean", 0.0), ("dirty", 0.01)):
            path = Path(tmp) / f"{label}.jsonl"
            write_dataset(path, args.examples, share, seed=1)
            size_mb = path.stat().st_size / 2**20
            print(f"\n{label}: {args.examples:,} examples, {size_mb:.0f} MB ({share:.0%} broken lines)")
            # The notebook's token loop assumes a valid file (it crashes on broken lines): clean file only.
            for mode in ("checks", "report", "tokens") if share == 0 else ("checks", "report"):
                ref = measure("reference", path, "tokens" if mode == "tokens" else "checks", args.repeat) if mode != "report" else rows[-1]["ref"]
                for workers in (1, 2):  # 2: the sharded path, forced (by default: files over 128 MB, on idle cores)
                    mine = measure("ours", path, mode, args.repeat, workers)
                    assert mine["examples"] == ref["examples"], (mine, ref)
                    assert mine["errors"] == ref["errors"], f"notebook counts differ: ours {mine['errors']} reference {ref['errors']}"
                    if mode == "tokens":
                        assert (mine["tokens_total"], mine["assistant_total"]) == (ref["tokens_total"], ref["assistant_total"])
                    rows.append({"file": label, "mode": mode, "workers": workers, "ref": ref, "ours": mine})
                    print(_row(mode, args.examples, ref, mine, workers))
            print(f"  notebook counts identical in every row: {rows[-1]['ours']['errors'] or 'no errors'}")
        if not args.skip_big:
            big = Path(tmp) / "big.jsonl"
            n = write_big(big, int(args.gb * 2**30), seed=2)
            size_gb = big.stat().st_size / 2**30
            print(f"\nbig: {n:,} examples, {size_gb:.2f} GB (ours only)")
            for mode in ("checks", "tokens"):
                for workers in (1, None):
                    mine = measure("ours", big, mode, 1, workers)
                    assert mine["examples"] == n and mine["all_errors"] == 0
                    rows.append({"file": "big", "mode": mode, "workers": workers or "auto", "ours": mine})
                    print(
                        f"  {mode:7s} ours ({'1 process' if workers else 'default workers'}) {n / mine['wall_s']:>9,.0f} ex/s"
                        f" ({mine['wall_s']:.1f} s wall, {mine['cpu_s']:.1f} s cpu), peak RSS {mine['peak_mb']} MB"
                        + (f", worker processes {mine['workers_peak_mb']} MB at most" if not workers else "")
                    )
    out = ROOT / "benches" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "validate.json").write_text(json.dumps(rows, indent=1))
    return 0 if verdict(rows) else 1


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]) or None)
    else:
        sys.exit(main())
