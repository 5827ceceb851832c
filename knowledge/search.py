"""Hybrid retrieval over the lesson sections: dense (MiniLM) plus BM25, fused by rank.

Both rankers score whole sections: dense by the section's closest unit (sentence, list item...),
whose vectors come from Chroma and are held in memory, lexical by BM25 over the section's words.
A Finnish question is also glossed into English word by word (`knowledge.glossary`) and matched
against the English sections, whose Finnish twins get the score: MiniLM reads only English.
Ranks are fused with weighted reciprocal rank fusion within each language, and sections in the
learner's language come first. `covered` says whether the docs answer the question at all, from
the closest section's similarity and the largest share of the question's words one section holds
(and the same two for the gloss), weighed against a threshold per language set on the bench.
A loaded retriever is cached per index and reloaded when the index changes.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from knowledge.chunks import HEADING_SEPARATOR
from knowledge.embeddings import embed_texts
from knowledge.glossary import gloss
from knowledge.lang import SUPPORTED_LANGUAGES, detect_language
from knowledge.lexical import LexicalIndex, content_words, coverage_keys
from knowledge.store import UNIT_MARK, IndexLike, Store, open_store


@dataclass(frozen=True)
class Tuning:
    """Fusion and `covered` constants; set on the bench's tune split (benches/retrieval.py)."""

    rrf_k: float = 5.0
    # The heading ranker's weight grows by short_question_words / (content words) for shorter questions.
    short_question_words: float = 3.0
    # Weight of each ranker in the fusion, per learner language (see Retriever._channel_scores).
    weights: dict[str, dict[str, float]] = field(
        default_factory=lambda: {
            "en": {"dense": 1.5, "ngrams": 1.0, "words": 1.0, "heading": 0.5},
            "fi": {"ngrams": 0.5, "heading": 1.0, "gloss": 1.5, "gloss_words": 2.0},
        }
    )
    # covered when the weighted sum of the signals (see Retriever.search) reaches the threshold;
    # values from `benches/retrieval.py` ("tuned on tune split"). For Finnish the English gloss's
    # similarity to the English sections separates off-topic questions best: MiniLM reads the
    # gloss, not the Finnish.
    covered_weights: dict[str, dict[str, float]] = field(
        default_factory=lambda: {
            "en": {"dense": 0.4, "coverage": 0.6},
            "fi": {"dense": 0.3, "coverage": 0.1, "gloss_dense": 0.5, "gloss_coverage": 0.1},
        }
    )
    threshold: dict[str, float] = field(default_factory=lambda: {"en": 0.3549, "fi": 0.3715})

    def get(self, table: dict, lang: str):
        return table.get(lang, table["en"])


DEFAULT_TUNING = Tuning()


@dataclass
class Hit:
    """One retrieved section."""

    text: str
    heading: str
    source: str
    lang: str
    score: float
    anchor: str
    title: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "heading": self.heading, "source": self.source, "lang": self.lang, "score": self.score}

    @property
    def link(self) -> str:
        """`source#anchor`, what a learner opens."""
        return f"{self.source}#{self.anchor}" if self.anchor else self.source


@dataclass
class SearchResult:
    question: str
    lang: str
    covered: bool
    hits: list[Hit]
    signals: dict[str, float] = field(default_factory=dict)  # what `covered` was decided from

    def to_json(self) -> dict[str, Any]:
        return {"question": self.question, "lang": self.lang, "covered": self.covered, "hits": [hit.to_json() for hit in self.hits]}


@dataclass
class _Section:
    text: str
    heading: str
    source: str
    lang: str
    anchor: str
    title: str


class Retriever:
    """Everything a query needs, loaded once from the collection."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.revision = store.revision()
        data = store.collection.get(where={"kind": "section"}, include=["documents", "metadatas"])
        order = sorted(
            range(len(data["ids"])),
            key=lambda i: (data["metadatas"][i]["root"], data["metadatas"][i]["source"], data["metadatas"][i]["order"]),
        )
        self.sections: list[_Section] = []
        self.position_of: dict[str, int] = {}
        for i in order:
            meta = data["metadatas"][i]
            self.position_of[data["ids"][i]] = len(self.sections)
            self.sections.append(
                _Section(data["documents"][i].strip(), meta["heading"], meta["source"], meta["lang"], meta["anchor"], meta["title"])
            )
        self.langs = np.array([section.lang for section in self.sections])
        self.lexical: dict[str, LexicalIndex] = {}
        for lang in sorted(set(self.langs.tolist())):
            positions = [i for i, section in enumerate(self.sections) if section.lang == lang]
            texts = [f"{self.sections[i].heading}\n{self.sections[i].text}" for i in positions]
            own_headings = [self.sections[i].heading.rsplit(HEADING_SEPARATOR, 1)[-1] for i in positions]
            self.lexical[lang] = LexicalIndex.build(texts, positions, lang, own_headings)
        # Words of the English sections: what an unglossed word in a question may keep (LoRA, JSONL).
        self.english_words = frozenset(
            word for section in self.sections if section.lang == "en" for word in content_words(section.text, "en", keep_stopwords=True)
        )
        # The same section in the other language: same file name and anchor (the docs are parallel).
        by_key: dict[tuple[str, str], list[int]] = {}
        for i, section in enumerate(self.sections):
            by_key.setdefault((section.source.rsplit("/", 1)[-1], section.anchor), []).append(i)
        self.twin = np.full(len(self.sections), -1)
        for group in by_key.values():
            if len(group) == 2 and self.sections[group[0]].lang != self.sections[group[1]].lang:
                self.twin[group[0]], self.twin[group[1]] = group[1], group[0]
        # Every unit's embedding, held here: the dense side scores all of them for each question
        # (exact, and faster than asking Chroma for a ranking of thousands).
        units = store.collection.get(where={"kind": "unit"}, include=["embeddings"])
        unit_sections = [self.position_of.get(unit_id.rsplit(UNIT_MARK, 1)[0], -1) for unit_id in units["ids"]]
        keep = [i for i, position in enumerate(unit_sections) if position >= 0]
        embeddings = units["embeddings"] if units["embeddings"] is not None else []
        self.unit_vectors_matrix = torch.from_numpy(np.asarray([embeddings[i] for i in keep], dtype=np.float32).reshape(len(keep), -1))
        self.unit_section = np.asarray([unit_sections[i] for i in keep], dtype=np.int64)
        self.unit_count = len(keep)
        # Each section's unit rows in unit order (as `split_units` gives them), for quoting answers.
        numbered: dict[int, list[tuple[int, int]]] = {}
        for row, i in enumerate(keep):
            numbered.setdefault(unit_sections[i], []).append((int(units["ids"][i].rsplit(UNIT_MARK, 1)[1]), row))
        self.unit_rows = {position: [row for _, row in sorted(rows)] for position, rows in numbered.items()}
        self.position_of_link = {(section.source, section.anchor): n for n, section in enumerate(self.sections)}
        self.writes = store.writes
        self.checked_at = time.monotonic()

    def titles(self, lang: str) -> list[str]:
        """Doc titles in `lang` (or all docs' titles when none are in it), in index order."""
        chosen = [s for s in self.sections if s.lang == lang] or self.sections
        return list(dict.fromkeys(section.title for section in chosen if section.title))

    def search(self, question: str, lang: str, k: int, tuning: Tuning = DEFAULT_TUNING, dense_only: bool = False) -> SearchResult:
        count = len(self.sections)
        if not count:
            return SearchResult(question, lang, False, [])
        weights = tuning.get(tuning.weights, lang)
        if dense_only:
            weights = {"dense": 1.0}
        channels = self._channel_scores(question, lang, [name for name, weight in weights.items() if weight])
        dense = channels["dense"]
        # A short question names its topic, as a heading does; a long one describes a situation.
        words = max(1, len(content_words(question, lang)))
        weights = {**weights, "heading": weights.get("heading", 0.0) * max(1.0, tuning.short_question_words / words)}
        fused = np.zeros(count)
        coverage = np.zeros(count)
        for doc_lang, lexical in self.lexical.items():
            rows = lexical.positions
            for name, weight in weights.items():
                if not weight:
                    continue
                scores = channels[name][rows]
                # A ranker with no evidence for a section (no shared word) gives it nothing, except
                # dense, which always has a similarity.
                has_evidence = scores > 0 if name != "dense" else np.ones(len(rows), dtype=bool)
                fused[rows] += np.where(has_evidence, weight / (tuning.rrf_k + _ranks(scores)), 0.0)
            if not dense_only:
                keys = coverage_keys(question, doc_lang)
                coverage[rows] = [lexical.coverage(keys, row) for row in range(len(rows))]
        best_possible = sum(weights.values()) / (tuning.rrf_k + 1)
        preferred = self.langs == lang
        order = sorted(range(count), key=lambda i: (not preferred[i], -fused[i]))
        hits = [self._hit(i, float(fused[i] / best_possible)) for i in order[:k]]
        # Judge coverage on the learner's language (on all sections if the docs lack it): the
        # closest section by meaning and the section holding most of the question's words; with a
        # glossary, the same two for the English gloss against the English sections.
        judged = preferred if preferred.any() else np.ones(count, dtype=bool)
        signals = {"dense": float(dense[judged].max()), "coverage": float(coverage[judged].max())}
        if "gloss_dense" in channels:
            english = self.lexical["en"]
            # Unknown words count here (as words no section holds), unlike in the dense gloss.
            keys = coverage_keys(gloss(question, lang), "en")
            signals["gloss_dense"] = float(channels["gloss_dense"][english.positions].max())
            signals["gloss_coverage"] = max(english.coverage(keys, row) for row in range(len(english.positions)))
        signals["confidence"] = confidence(signals, tuning.get(tuning.covered_weights, lang))
        covered = signals["confidence"] >= tuning.get(tuning.threshold, lang)
        return SearchResult(question, lang, covered, hits, signals)

    def _channel_scores(self, question: str, lang: str, names: list[str]) -> dict[str, np.ndarray]:
        """Each ranker's score for every section (higher is better), for the rankers in `names` plus dense.

        dense: MiniLM similarity of the closest unit (to the gloss, when the question is glossed);
        ngrams / words / heading: BM25 over character n-grams, word lemmas or stems, and the
        section's own heading; gloss / gloss_words: the question glossed into English
        (`knowledge.glossary`), scored dense and by word BM25 against the English sections, each
        score given to the section's twin (the same section in the other language: the docs are
        parallel). gloss_dense (not a ranker) is the gloss's dense score as is.
        """
        count = len(self.sections)
        english = self._gloss(question, lang) if {"gloss", "gloss_words"} & set(names) and "en" in self.lexical else ""
        # With a gloss, MiniLM reads the gloss instead of the question: it cannot read Finnish, and
        # one embedding per question keeps a query within the latency budget.
        channels = {"dense": self._dense_scores(english or question)}
        if english:
            channels["gloss_dense"] = channels["dense"]
            channels["gloss"] = self._twin_scores(channels["gloss_dense"])
            words = np.zeros(count)
            words[self.lexical["en"].positions] = self.lexical["en"].word_scores(english)
            channels["gloss_words"] = self._twin_scores(words)
        else:
            channels["gloss"] = channels["gloss_words"] = np.zeros(count)
        for name in ("ngrams", "words", "heading"):
            if name in names:
                channels[name] = np.zeros(count)
        for lexical in self.lexical.values():
            if "ngrams" in names:
                channels["ngrams"][lexical.positions] = lexical.scores(question)
            if "words" in names:
                channels["words"][lexical.positions] = lexical.word_scores(question)
            if "heading" in names:
                channels["heading"][lexical.positions] = lexical.heading_scores(question)
        return channels

    def _dense_scores(self, text: str) -> np.ndarray:
        """Cosine similarity between the text and each section's closest unit (sentence, item, row, code)."""
        scores = np.full(len(self.sections), -1.0)
        if not self.unit_count:
            return scores
        # The product runs in torch's thread pool: numpy's BLAS threads keep spinning after a call
        # and slowed the next embedding down by half.
        similarities = (self.unit_vectors_matrix @ torch.from_numpy(embed_texts([text])[0])).numpy()  # both normalised
        np.maximum.at(scores, self.unit_section, similarities)
        return scores

    def unit_vectors(self, hit: Hit) -> np.ndarray | None:
        """The stored vectors of the hit's section's units, in `split_units` order (None if unknown)."""
        position = self.position_of_link.get((hit.source, hit.anchor))
        rows = self.unit_rows.get(position) if position is not None else None
        return self.unit_vectors_matrix[rows].numpy() if rows else None

    def _gloss(self, question: str, lang: str) -> str:
        return gloss(question, lang, self.english_words)

    def _twin_scores(self, scores: np.ndarray) -> np.ndarray:
        """Each section gets its twin's score (0 without a twin)."""
        return np.where(self.twin >= 0, scores[self.twin], 0.0)

    def _hit(self, position: int, score: float) -> Hit:
        s = self.sections[position]
        return Hit(text=s.text, heading=s.heading, source=s.source, lang=s.lang, score=round(score, 4), anchor=s.anchor, title=s.title)


_RECHECK_SECONDS = 2.0
_retrievers: dict[str, Retriever] = {}
_lock = threading.Lock()


def get_retriever(index: IndexLike) -> Retriever:
    """The cached retriever for an index, rebuilt when the index changed since it was loaded.

    Writes from this process show at once; another process's ingest shows within
    _RECHECK_SECONDS (checking the revision on every query would cost a few ms each).
    """
    store = open_store(index)
    with _lock:
        retriever = _retrievers.get(store.location)
        now = time.monotonic()
        if retriever is not None and retriever.writes == store.writes and now - retriever.checked_at < _RECHECK_SECONDS:
            return retriever
        if retriever is None or retriever.writes != store.writes or retriever.revision != store.revision():
            retriever = _retrievers[store.location] = Retriever(store)
        retriever.checked_at = now
        return retriever


def search(question: str, *, lang: str | None = None, k: int = 5, index: IndexLike, tuning: Tuning = DEFAULT_TUNING) -> SearchResult:
    """Sections that answer `question`, best first, in the learner's language first.

    `lang` is the learner's language; detected from the question when None. An empty question
    gives an empty, not-covered result.
    """
    question = (question or "").strip()
    lang = (lang or "").strip().lower() or detect_language(question, SUPPORTED_LANGUAGES)
    if not question:
        return SearchResult(question, lang, False, [])
    return get_retriever(index).search(question, lang, max(1, k), tuning)


def confidence(signals: dict[str, float], weights: dict[str, float]) -> float:
    """The weighted sum that `covered` compares with the threshold (a missing signal counts 0)."""
    return sum(weight * signals.get(name, 0.0) for name, weight in weights.items())


def _ranks(scores: np.ndarray) -> np.ndarray:
    """1 for the highest score, 2 for the next; ties share no rank (stable order)."""
    order = np.argsort(-scores, kind="stable")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    return ranks
