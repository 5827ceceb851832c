"""Evaluation speed bench: our batched evaluation against the plain loop a user would write, same run.

    .venv/bin/python benches/eval.py [--max-new-tokens 128] [--rounds 1] [--threads N] [--json FILE]

Both sides evaluate the course's validation file (5 chat examples) with the packaged SmolLM2 and a
LoRA adapter on it (r=8, all linear layers, as the quick preset; base answers with the adapter off),
greedy, the same number of new tokens, on the same loaded model:

- ours: `trainer.evaluation.local.answer_both` — one left-padded `generate` call for all prompts of
  both models (peft's mixed-adapter batch: the base rows with the adapter off), and the reference
  answers' loss for both from one teacher-forced forward pass;
- baseline (the verdict): for each example `model.generate` at batch 1, and a separate forward
  pass for its loss — what a user writes from the transformers docs.

Timed: generation and loss for base and tuned (model loading excluded, done once for both).
Each side runs `--rounds` times, alternating, and its best time counts. The bench also reports
how many answers both sides agree on and the largest difference of a reference loss.
Target: ours >= 2x faster; prints PASS or FAIL and exits 1 on a miss. Note the machine's load
average beside the figures: the CPU may be shared.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.settings import apply_offline_environment, load_settings  # noqa: E402

apply_offline_environment()

DATA = ROOT.parent / "shared" / "course" / "18-fine-tuning" / "python" / "openai" / "validation-data.jsonl"
TARGET_RATIO = 2.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None, help="Torch threads (default: what the job worker uses, cores - 1).")
    parser.add_argument("--json", type=Path, help="Also write the figures here.")
    args = parser.parse_args()

    import torch
    from peft import LoraConfig, get_peft_model

    from core.model_loading import load_causal_lm
    from trainer.evaluation.heldout import load_eval_examples
    from core.device import pick_cpu_threads

    threads = args.threads or pick_cpu_threads()
    torch.set_num_threads(threads)
    settings = load_settings()
    base, tokenizer = load_causal_lm(settings.local_model, settings.models_dir)
    torch.manual_seed(0)
    model = get_peft_model(base, LoraConfig(r=8, lora_alpha=16, target_modules="all-linear", init_lora_weights="gaussian"))
    model.eval()
    examples = load_eval_examples(args.data)

    times: dict[str, list[float]] = {"ours": [], "plain": []}
    results: dict[str, dict] = {}
    for _ in range(args.rounds):
        for side, run in (("plain", plain_loop), ("ours", ours)):
            started = time.perf_counter()
            results[side] = run(model, tokenizer, examples, args.max_new_tokens)
            times[side].append(time.perf_counter() - started)

    agree = sum(a == b for name in ("base", "tuned") for a, b in zip(results["ours"][name]["answers"], results["plain"][name]["answers"]))
    loss_gap = max(abs(a - b) for name in ("base", "tuned") for a, b in zip(results["ours"][name]["losses"], results["plain"][name]["losses"]))
    best = {side: min(values) for side, values in times.items()}
    ratio = best["plain"] / best["ours"]
    load = os.getloadavg()
    print(f"{len(examples)} examples x 2 models, {args.max_new_tokens} new tokens at most, {threads} torch thread(s), "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"{'side':<8}{'best s':>9}   rounds")
    for side in ("plain", "ours"):
        print(f"{side:<8}{best[side]:>9.2f}   " + " ".join(f"{t:.2f}" for t in times[side]))
    print(f"answers identical on both sides: {agree}/{2 * len(examples)}; largest reference-loss difference: {loss_gap:.4f}")
    verdict = "PASS" if ratio >= TARGET_RATIO else "FAIL"
    print(f"\nverdict: ours / plain loop (generate at batch 1, a forward per loss): {ratio:.2f}x (target >= {TARGET_RATIO}x) {verdict}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"seconds": times, "ratio": ratio, "target": TARGET_RATIO, "load_average": load,
                                         "identical_answers": agree, "max_loss_difference": loss_gap}, indent=2))
    return 0 if ratio >= TARGET_RATIO else 1


def ours(model, tokenizer, examples, max_new_tokens: int) -> dict:
    from trainer.evaluation.local import answer_both

    both = answer_both(model, tokenizer, examples, max_new_tokens)
    return {name: {"answers": answers, "losses": [total / count for total, count in losses]}
            for name, (answers, losses) in both.items()}


def plain_loop(model, tokenizer, examples, max_new_tokens: int) -> dict:
    """What a user writes: one generate per prompt, one forward (with labels) per reference loss."""
    import torch

    out = {}
    for name in ("base", "tuned"):
        answers, losses = [], []
        with model.disable_adapter() if name == "base" else _nothing():
            for example in examples:
                inputs = tokenizer.apply_chat_template(example.prompt, add_generation_prompt=True, return_tensors="pt",
                                                       return_dict=True)
                with torch.inference_mode():
                    output = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False,
                                            pad_token_id=tokenizer.pad_token_id)
                answers.append(tokenizer.decode(output[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True).strip())
                prompt_ids = inputs["input_ids"][0].tolist()
                full = tokenizer.apply_chat_template(example.prompt + [{"role": "assistant", "content": example.reference}],
                                                     tokenize=False)
                full_ids = tokenizer(full, add_special_tokens=False, return_tensors="pt")["input_ids"]
                labels = full_ids.clone()
                labels[0, :len(prompt_ids)] = -100
                with torch.inference_mode():
                    losses.append(float(model(input_ids=full_ids, labels=labels).loss))
        out[name] = {"answers": answers, "losses": losses}
    return out


class _nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


if __name__ == "__main__":
    sys.exit(main())
