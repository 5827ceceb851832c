"""What kind of answer a question asks for, and what kind a section gives: the intent ranker's cues.

The meaning rankers (e5, BM25) match topics: "What do I need to fine-tune a pre-trained model?"
shares its topic words with "Pre-training versus fine-tuning", yet asks for a list of what is
needed. A few cue patterns per language name five kinds of question (a definition, what is
needed, how to do it, when or why, what it cannot do); a section's kind comes from the same
patterns over its own heading and its lead paragraph, which is where a doc, ours or a learner's,
says what the section is for. On the bench the ranker helped most on a foreign lesson whose
headings are questions (the course lesson: recall@1 up by about a tenth in both languages)
and changed nothing on the tune split.
"""

from __future__ import annotations

import re

# (English, Finnish) cues per intent; lower-case text. Finnish cues are stems: the words inflect.
_CUES: dict[str, tuple[str, str]] = {
    "define": (
        r"\bwhat (is|are)\b|\bwhat does\b.*\bmean|\bmeans?\b|\bmeaning\b|\bdefin|\bexplain\b|\bin a nutshell\b",
        r"\bmitä\b.*\b(on|tarkoittaa)\b|\bmikä\b.*\bon\b|tarkoitta|selit|määritel|pähkinänkuo",
    ),
    "need": (
        r"\bneed|\brequire|\bprepare|\bingredient|\bprerequisite|\bwhat do i have to\b",
        r"tarvi|vaadi|vaati|valmistel|edellyt|ainesos",
    ),
    "how": (
        r"\bhow (do|can|to|does|should|would)\b|\bsteps?\b|\bprocess\b|\bgo about\b|\bworkflow\b|\bwalk",
        r"\bmiten\b|\bkuinka\b|vaihe|prosess|työnkulku",
    ),
    "when_why": (
        r"\bwhen\b|\bwhy\b|\bworth\b|\bpoint of\b|\bshould (i|we|you)\b",
        r"\bmilloin\b|\bmiksi\b|kannatta|\bhyöd",
    ),
    "limits": (
        r"\bcan ?not\b|\bcan't\b|\bwon'?t\b|\blimit|\bfalls? short\b|\bunable\b|\bweakness",
        r"rajoi|ei pysty|ei voi|\bvajaa|heikkou|ei osaa",
    ),
}
_PATTERNS = {
    lang: {name: re.compile(cues[column]) for name, cues in _CUES.items()} for column, lang in enumerate(("en", "fi"))
}
_PARAGRAPH = re.compile(r"\n\s*\n")


def intents(text: str, lang: str) -> frozenset[str]:
    """The intents whose cues `text` holds (none for a language without cues)."""
    lowered = text.lower()
    return frozenset(name for name, pattern in _PATTERNS.get(lang, {}).items() if pattern.search(lowered))


def section_intents(own_heading: str, text: str, lang: str) -> frozenset[str]:
    """A section's intents: from its own heading and its first paragraph (its lead)."""
    paragraphs = [part.strip() for part in _PARAGRAPH.split(text) if part.strip()]
    return intents(f"{own_heading}\n{paragraphs[0] if paragraphs else ''}", lang)
