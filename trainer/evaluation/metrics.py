"""Scores of one answer against its reference: ROUGE-L (rouge-score) and chrF (sacrebleu), and length.

Both are the libraries' own implementations; `evaluate` is not used because it downloads its
metric scripts at run time.
"""

from __future__ import annotations

from functools import lru_cache
from statistics import fmean
from typing import Any


@lru_cache(maxsize=1)
def _rouge() -> Any:
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)


@lru_cache(maxsize=1)
def _chrf() -> Any:
    from sacrebleu.metrics import CHRF

    return CHRF()


def rouge_l(answer: str, reference: str) -> float:
    """ROUGE-L F-measure, 0..1."""
    return float(_rouge().score(reference, answer)["rougeL"].fmeasure)


def chrf(answer: str, reference: str) -> float:
    """chrF, 0..100 as sacrebleu reports it."""
    return float(_chrf().sentence_score(answer, [reference]).score)


def answer_length(answer: str) -> int:
    """Length in words."""
    return len(answer.split())


def mean(values: list[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return round(fmean(present), 4) if present else None
