"""Answers to lesson questions, grounded only in retrieved sections and citing them.

Offline the answer is extractive: the sentences of the best sections (in the learner's
language) that are closest to the question, quoted as written, with a Sources list. The small
local model writes nothing here: its Finnish is nonsense and its English invents facts, while
quoted sentences are right by construction. When the assistant passes a `writer` (an
OpenAI-compatible model), the model writes the answer from the same sections, told to use
only them, to answer in the learner's language and to cite them; the Sources list is ours.
Sentences are scored with the e5 vectors the index already holds for them and the question's e5
vector the search just made (`embed_query` keeps it), so an answer embeds nothing more (re-embedding
the sections' sentences made each answer ~6x slower), and needs neither MiniLM nor torch.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.llm import Writer
from core.texts import text
from knowledge.chunks import Unit, plain_text, split_units
from knowledge.lang import SUPPORTED_LANGUAGES, detect_language, language_name
from knowledge.lexical import coverage_key_set
from knowledge.multilingual import embed_passages, embed_query
from knowledge.search import Hit, Retriever, get_retriever, search
from knowledge.store import IndexLike

log = logging.getLogger(__name__)
_CONTEXT_SECTIONS = 4
_EXTRACT_SECTIONS = 2
_MAX_UNITS = 4
# e5's similarities of a question to the candidate sentences bunch up (mean 0.85, sd 0.03 over the bench
# questions' top sections, against MiniLM's 0.31 and 0.18): re-centred and stretched to MiniLM's spread,
# they weigh against the word overlap as MiniLM's did when these weights were set.
_E5_CENTRE, _E5_STRETCH, _CENTRE = 0.85, 5.7, 0.3
# The dense share of a sentence's score; in Finnish the overlap of lemmas picks better (bench questions).
_DENSE_WEIGHT = {"en": 0.6, "fi": 0.3}

@dataclass
class Answer:
    text: str  # markdown, ending with a Sources list when anything was cited
    lang: str
    covered: bool
    citations: list[Hit] = field(default_factory=list)
    mode: str = "extractive"  # "extractive", "model", "out_of_scope" or "help"
    question: str = ""
    # Covered with a near tie (SearchResult.near_ties): the close sections other than the one cited
    # first, and for each what the learner can send to have it answered first (Retriever.follow_up).
    alternatives: list[Hit] = field(default_factory=list)
    follow_ups: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "lang": self.lang,
            "covered": self.covered,
            "answer": self.text,
            "mode": self.mode,
            "citations": [{**hit.to_json(), "anchor": hit.anchor} for hit in self.citations],
            "follow_ups": self.follow_ups,
        }


def answer(question: str, *, lang: str | None = None, writer: Writer | None = None, index: IndexLike) -> Answer:
    """Answer a lesson question in the learner's language, citing the sections used."""
    result = _answer(question.strip() if question else "", lang, writer, index)
    result.question = question or ""
    return result


def _answer(question: str, lang: str | None, writer: Writer | None, index: IndexLike) -> Answer:
    lang = (lang or "").strip().lower() or detect_language(question, SUPPORTED_LANGUAGES)
    if not question:
        return Answer(text=text(lang, "answer.help"), lang=lang, covered=False, mode="help")
    result = search(question, lang=lang, k=_CONTEXT_SECTIONS, index=index)
    if not result.covered or not result.hits:
        titles = get_retriever(index).titles(lang)
        listing = "\n".join(f"- {title}" for title in titles) or "-"
        return Answer(text=text(lang, "answer.out_of_scope", topics=listing), lang=lang, covered=False, mode="out_of_scope")
    hits = [hit for hit in result.hits if hit.lang == lang] or result.hits
    retriever = get_retriever(index)
    if writer is not None:
        try:
            written = _written_answer(question, lang, hits, writer)
            written.alternatives, written.follow_ups = alternatives(result.near_ties, written.citations[0], retriever)
            return written
        except Exception as error:  # a model outage must not cost the learner the answer
            log.warning("answer writer failed (%s); falling back to the extractive answer", type(error).__name__)
    # Quotes stay in the docs' language; say so when that is not the learner's.
    note = "" if hits[0].lang == lang else text(lang, "answer.other_language", language=language_name(hits[0].lang, lang)) + "\n\n"
    return _extractive_answer(question, lang, hits, note, retriever, result.near_ties)


def alternatives(near_ties: list[Hit], first: Hit, retriever: Retriever) -> tuple[list[Hit], list[str]]:
    """The near-tie sections other than `first` (the one the answer cites first), and a follow-up for each."""
    others = [hit for hit in near_ties if hit.link != first.link]
    return others, [retriever.follow_up(hit) for hit in others]


def _extractive_answer(question: str, lang: str, hits: list[Hit], note: str, retriever: Retriever,
                       near_ties: list[Hit]) -> Answer:
    used = hits[:_EXTRACT_SECTIONS]
    units: list[tuple[int, Unit]] = []
    stored: list[np.ndarray | None] = []
    for n, hit in enumerate(used):
        section_units = split_units(hit.text)
        # The index embedded these units already (same split, so same count); its vectors spare
        # embedding them for every answer.
        vectors = retriever.multilingual_unit_vectors(hit)
        if vectors is not None and len(vectors) != len(section_units):
            vectors = None
        for unit_number, unit in enumerate(section_units):
            if unit.kind in ("sentence", "item"):  # prose quotes well; code and table rows out of context do not
                units.append((n, unit))
                stored.append(vectors[unit_number] if vectors is not None else None)
    if not units:
        units = [(0, Unit(text=used[0].text, block=0, kind="sentence"))]
        stored = [None]
    scores = _score_units(question, lang, [unit for _, unit in units], stored)
    chosen: list[int] = []
    best = None
    for position in np.argsort(-scores, kind="stable"):
        number = units[position][0]
        # The second section gets in only with a sentence about as good as the first section's best.
        if number > 0 and (best is None or scores[position] < 0.9 * best):
            continue
        group = _readable_alone(units, int(position))
        if group is None or int(position) in chosen:
            continue
        best = scores[position] if best is None else best
        chosen.extend(p for p in group if p not in chosen)
        if len(chosen) >= _MAX_UNITS:
            break
    cited = sorted({units[position][0] for position in chosen})
    parts = []
    for label, number in enumerate(cited, start=1):
        picked = [units[p][1] for p in sorted(chosen) if units[p][0] == number]
        parts.append(f"{render_units(picked)} [{label}]")
    citations = [used[number] for number in cited]
    others, follow_ups = alternatives(near_ties, citations[0], retriever)
    if follow_ups:
        # Honest about a close call, in words a plain-text client can type back.
        parts.append(text(lang, "answer.near_tie", options=", ".join(f"*{phrase}*" for phrase in follow_ups)))
    body = note + "\n\n".join(parts)
    return Answer(text=body + "\n\n" + sources_block(citations, lang), lang=lang, covered=True, citations=citations,
                  alternatives=others, follow_ups=follow_ups)


def _written_answer(question: str, lang: str, hits: list[Hit], writer: Writer) -> Answer:
    system, user = build_prompts(question, lang, hits)
    written = (writer(system, user) or "").strip()
    if not written:
        raise ValueError("empty answer from the model")
    return Answer(text=written + "\n\n" + sources_block(hits, lang), lang=lang, covered=True, citations=hits, mode="model")


def build_prompts(question: str, lang: str, hits: list[Hit]) -> tuple[str, str]:
    """System and user prompts for a model that writes the answer from the retrieved sections."""
    language = language_name(lang, "en")
    system = (
        "You are a tutor for a course on fine-tuning large language models. Answer the learner's question "
        "using ONLY the numbered lesson sections in the user message; do not add facts from elsewhere. "
        f"Write the answer in {language}, the learner's language, even if the sections are in another language. "
        "Cite the sections you use with their numbers in square brackets, like [1] or [2]. "
        "If the sections do not answer the question, say so plainly instead of guessing. Keep it short: a few sentences or a short list."
    )
    context = "\n\n".join(
        f"[{number}] {hit.heading} ({hit.link})\n{plain_text(hit.text).strip()}" for number, hit in enumerate(hits, start=1)
    )
    user = f"Lesson sections:\n\n{context}\n\nQuestion: {question}"
    return system, user


def sources_block(hits: list[Hit], lang: str) -> str:
    lines = [f"**{text(lang, 'answer.sources')}**", ""]
    lines += [f"{number}. {hit.heading} — `{hit.link}`" for number, hit in enumerate(hits, start=1)]
    return "\n".join(lines)


def _readable_alone(units: list[tuple[int, Unit]], position: int) -> list[int] | None:
    """The unit at `position` with what it needs to read on its own, or None when it cannot be quoted.

    A sentence ending in ":" introduces the next block (a formula, a list): it comes with that block's
    first unit, or not at all when what it introduces is not quoted (code, a table). A sentence that opens
    in lower case continues the one before it ("… = tokens × epochs" / "and the cost is …"): it comes with it.
    """
    number, unit = units[position]
    group = [position]
    if unit.kind == "sentence" and unit.text.endswith(":"):
        after = position + 1
        if after >= len(units) or units[after][0] != number or units[after][1].block != unit.block + 1:
            return None
        group.append(after)
    if unit.kind == "sentence" and unit.text[:1].islower():
        before = position - 1
        if before < 0 or units[before][0] != number or units[before][1].block not in (unit.block, unit.block - 1):
            return None
        group.insert(0, before)
    return group


def render_units(units: list[Unit]) -> str:
    """Chosen units in doc order: sentences of one paragraph on one line, list items as a list."""
    blocks: list[list[Unit]] = []
    for unit in units:
        if blocks and blocks[-1][0].block == unit.block:
            blocks[-1].append(unit)
        else:
            blocks.append([unit])
    rendered = []
    for group in blocks:
        if group[0].kind == "item":
            rendered.append("\n".join(f"- {unit.text}" for unit in group))
        else:
            rendered.append(" ".join(unit.text for unit in group))
    return "\n\n".join(rendered)


def _score_units(question: str, lang: str, units: list[Unit], stored: list[np.ndarray | None]) -> np.ndarray:
    """Closeness of each unit to the question: e5 cosine plus the share of question words it holds.

    `stored` holds each unit's vector from the index, or None where it must be embedded here.
    """
    missing = [i for i, vector in enumerate(stored) if vector is None]
    vectors = list(stored)
    for i, vector in zip(missing, embed_passages([plain_text(units[i].text) for i in missing])):
        vectors[i] = vector
    similarity = np.stack(vectors) @ embed_query(question)  # the search's own embedding of the question, kept
    dense = (similarity - _E5_CENTRE) * _E5_STRETCH + _CENTRE
    query = coverage_key_set(question, lang)
    overlap = np.array([len(query & coverage_key_set(unit.text, lang)) / len(query) if query else 0.0 for unit in units])
    weight = _DENSE_WEIGHT.get(lang, _DENSE_WEIGHT["en"])
    return weight * dense + (1 - weight) * overlap
