"""An LLM judge: base vs tuned, pairwise, with the order swapped on a second pass.

Models that judge pairs favour one position. Each example is judged twice, once with the base
answer first and once with the tuned answer first; a model wins only when both passes pick it,
anything else is a tie. Every verdict carries the judge's one-line reason.
"""

from __future__ import annotations

import json
import re
from typing import Any

from trainer.evaluation.heldout import EvalExample

DEFAULT_JUDGE_MODEL = "gpt-4o-mini"
JUDGE_SYSTEM = (
    "You grade two answers to the same conversation. Prefer the answer that better does what the reference "
    "answer does: its content, its form and its tone. Reply with one JSON object and nothing else: "
    '{"winner": "A" or "B" or "tie", "reason": "one short sentence"}.'
)


def judge_prompt(example: EvalExample, first: str, second: str) -> list[dict[str, str]]:
    conversation = "\n".join(f"{m['role']}: {m['content']}" for m in example.prompt)
    return [
        {"role": "system", "content": JUDGE_SYSTEM},
        {"role": "user", "content": f"Conversation:\n{conversation}\n\nReference answer:\n{example.reference}\n\n"
                                    f"Answer A:\n{first}\n\nAnswer B:\n{second}"},
    ]


def parse_verdict(text: str) -> tuple[str, str]:
    """("A" | "B" | "tie", reason) from the judge's reply; an unreadable reply is a tie that says so."""
    match = re.search(r"\{.*\}", text or "", re.DOTALL)
    if match:
        try:
            data = json.loads(match.group(0))
            winner = str(data.get("winner", "")).strip()
            reason = " ".join(str(data.get("reason", "")).split())
            if winner.upper() in ("A", "B"):
                return winner.upper(), reason
            if winner.lower() == "tie":
                return "tie", reason
        except (ValueError, AttributeError):
            pass
    return "tie", "The judge's reply could not be read as a verdict."


def judge_examples(ask: Any, examples: list[EvalExample], base: list[str], tuned: list[str]) -> list[dict[str, Any]]:
    """One verdict per example: {"winner": "base" | "tuned" | "tie", "reasons": [first pass, second pass]}.

    `ask(messages) -> str` sends one request to the judge model.
    """
    verdicts = []
    for example, base_answer, tuned_answer in zip(examples, base, tuned):
        first, first_reason = parse_verdict(ask(judge_prompt(example, base_answer, tuned_answer)))
        second, second_reason = parse_verdict(ask(judge_prompt(example, tuned_answer, base_answer)))
        picks = ({"A": "base", "B": "tuned"}.get(first, "tie"), {"A": "tuned", "B": "base"}.get(second, "tie"))
        winner = picks[0] if picks[0] == picks[1] else "tie"
        verdicts.append({"winner": winner, "passes": list(picks), "reasons": [first_reason, second_reason]})
    return verdicts
