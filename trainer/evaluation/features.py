"""Format match: does an answer have the shape of the training answers?

The shape is learned from the training set, never written in: for each feature (line count,
use of each common separator, opening with the prompt's subject, length in words) the band the
training answers fall in. A feature becomes a requirement only when at least `CONSISTENT` of the
training answers agree on it, so a set of free-form answers imposes little and a set of
strictly shaped ones (one line of five " - "-separated parts, say) imposes that shape.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from trainer.evaluation.heldout import EvalExample

# Separators answers are commonly built with; each one's segment count is a feature.
SEPARATORS = (" - ", " | ", "; ", " / ", " — ", " – ")
# Share of training answers that must agree before a feature is required.
CONSISTENT = 0.8
# Segment and line counts may stray this far beyond the training band.
COUNT_SLACK = 1
# Word-count band: the training range widened by these factors.
LENGTH_LOW, LENGTH_HIGH = 0.5, 1.6
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?", re.UNICODE)
_STOPWORDS = frozenset(
    "a an the me about tell what who how why when where which is are was were do does did of to in on for with and or "
    "please can could would you your my i we it this that give explain describe write some any kerro mikä mitä miten "
    "on ja tai minulle".split()
)


@dataclass
class FormatProfile:
    """The training answers' shape: required bands per feature (None: not required)."""

    lines: tuple[int, int] | None = None
    separators: dict[str, tuple[int, int]] = field(default_factory=dict)
    opens_with_subject: bool = False
    words: tuple[int, int] | None = None

    def to_json(self) -> dict:
        return {"lines": self.lines, "separators": self.separators, "opens_with_subject": self.opens_with_subject,
                "words": self.words}


def learn_profile(training: list[EvalExample]) -> FormatProfile:
    """The features most training answers share."""
    answers = [pair.reference for pair in training if pair.reference.strip()]
    if not answers:
        return FormatProfile()
    line_counts = sorted(_lines(answer) for answer in answers)
    profile = FormatProfile(lines=_band(line_counts))
    for separator in SEPARATORS:
        counts = sorted(_segments(answer, separator) for answer in answers)
        users = sum(1 for count in counts if count > 1)
        if users >= CONSISTENT * len(answers):
            profile.separators[separator] = _band(counts)
    opening = sum(1 for pair in training if pair.reference.strip() and opens_with_subject(pair.reference, pair.question))
    profile.opens_with_subject = opening >= CONSISTENT * len(answers)
    words = sorted(len(_WORD.findall(answer)) for answer in answers)
    profile.words = (int(words[0] * LENGTH_LOW), int(words[-1] * LENGTH_HIGH) + 1)
    return profile


def matches(profile: FormatProfile, answer: str, question: str) -> bool:
    """Does `answer` (to `question`) have every required feature of the profile?"""
    answer = answer.strip()
    if not answer:
        return False
    if profile.lines and not _within(_lines(answer), profile.lines, COUNT_SLACK):
        return False
    for separator, band in profile.separators.items():
        if not _within(_segments(answer, separator), band, COUNT_SLACK):
            return False
    if profile.opens_with_subject and not opens_with_subject(answer, question):
        return False
    if profile.words and not _within(len(_WORD.findall(answer)), profile.words, 0):
        return False
    return True


def opens_with_subject(answer: str, question: str) -> bool:
    """Do the answer's first three words include a content word of the question (its subject)?"""
    subject = {word.lower() for word in _WORD.findall(question) if len(word) > 2 and word.lower() not in _STOPWORDS}
    opening = [word.lower() for word in _WORD.findall(answer)[:3]]
    return any(word in subject for word in opening)


def _lines(text: str) -> int:
    return sum(1 for line in text.strip().splitlines() if line.strip())


def _segments(text: str, separator: str) -> int:
    return sum(1 for part in text.strip().split(separator) if part.strip())


def _band(sorted_counts: list[int]) -> tuple[int, int]:
    # The range of the middle CONSISTENT share, so one odd training answer does not widen it.
    drop = int(len(sorted_counts) * (1 - CONSISTENT) / 2)
    kept = sorted_counts[drop:len(sorted_counts) - drop] or sorted_counts
    return kept[0], kept[-1]


def _within(value: int, band: tuple[int, int], slack: int) -> bool:
    return band[0] - slack <= value <= band[1] + slack
