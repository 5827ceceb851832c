"""Lexical scoring: BM25 (bm25s) over sections, one index per language.

MiniLM is an English model, so for Finnish the lexical side carries most of the signal.
Finnish inflects and compounds heavily and the Snowball stemmer misses consonant gradation
(säätö / säädön) and compound parts (hienosäätöprojekti), so BM25 indexes character 4- and
5-grams of each word (with word-boundary marks), which match inflected and compound forms;
on the bench this beat Snowball stems in both languages. Word-level keys (Snowball stems, or
prefixes for Finnish) serve the other measures: how much of a question a section covers, and
sentence overlap in answers.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass
from functools import lru_cache

import bm25s
import numpy as np
import snowballstemmer
from bm25s.stopwords import STOPWORDS_EN

from knowledge.chunks import plain_text
from knowledge.lemmas import LEMMA_LANGS, lemma_keys, preload

_WORD = re.compile(r"\w+", re.UNICODE)
_SNOWBALL_NAMES = {"en": "english", "fi": "finnish", "sv": "swedish", "de": "german", "fr": "french", "es": "spanish"}
# Question words and particles; in lesson text they are rare, so BM25 would overrate them.
_STOPWORDS_FI = frozenset(
    """ja tai sekä mutta että jos kun kuin niin on ovat oli olla ole ei en et emme eivät se ne sen niiden sitä niitä
    tämä tämän tätä nämä näiden tuo mikä mitkä mitä mikä miksi miten kuinka millainen millaisia milloin missä mistä mihin
    kuka ketkä paljonko montako voi voiko voinko voinko pitää pitäisi kannattaa kannattaako onko ovatko olisi minä sinä
    hän me te he minun sinun meidän teidän minulla sinulla minua sinua mä sä jo vielä myös vain hyvin eli esim ym tms
    siis sitten nyt kanssa ilman kautta mukaan noin yli alle ennen jälkeen aikana""".split()
)
_STOPWORDS = {"en": frozenset(STOPWORDS_EN) | {"can", "do", "does", "i", "my", "what", "how", "why", "when", "which", "should"}, "fi": _STOPWORDS_FI}
NGRAM_SIZES = (4, 5)
# Finnish word forms differ past the stem (säätö/säädön, käyriä/käyrien) where Snowball does not
# reconcile them; a five-letter prefix is the classic, robust key for "does the section use this word".
_PREFIX_KEY_LANGS = {"fi": 5}


def content_words(text: str, lang: str, keep_stopwords: bool = False) -> list[str]:
    """Lower-cased words of two or more letters, stop words removed (unless `keep_stopwords`)."""
    stopwords = frozenset() if keep_stopwords else _STOPWORDS.get(lang, frozenset())
    return [word for word in _WORD.findall(plain_text(text).lower()) if len(word) > 1 and word not in stopwords]


def tokenize(text: str, lang: str) -> list[str]:
    """Snowball stems of the content words."""
    return [stem(word, lang) for word in content_words(text, lang)]


def word_keys(text: str, lang: str, keep_stopwords: bool = False) -> list[str]:
    """Whole-word keys: dictionary lemmas plus compound parts (Finnish), Snowball stems otherwise."""
    words = content_words(text, lang, keep_stopwords)
    if lang in LEMMA_LANGS:
        return [key for word in words for key in lemma_keys(word, lang)]
    return [stem(word, lang) for word in words]


def heading_keys(text: str, lang: str, keep_stopwords: bool = True) -> list[str]:
    """Keys for matching headings: word keys (stop words kept if asked) plus content words' character n-grams.

    A short question is mostly stop words ("Milloin hienosäätö kannattaa?"), and headings are
    short, so there they count; n-grams match derived forms (muoto / keskustelumuotoinen).
    """
    return word_keys(text, lang, keep_stopwords) + index_terms(text, lang)


def coverage_keys(text: str, lang: str) -> list[str]:
    """Word keys for "how much of the question does a section contain": stems, or prefixes for Finnish."""
    prefix = _PREFIX_KEY_LANGS.get(lang)
    if prefix:
        return [word[:prefix] for word in content_words(text, lang)]
    return tokenize(text, lang)


@lru_cache(maxsize=8192)
def coverage_key_set(text: str, lang: str) -> frozenset[str]:
    """`coverage_keys` as a set, kept for texts seen before: an answer scores the same lesson sentences again and again."""
    return frozenset(coverage_keys(text, lang))


def index_terms(text: str, lang: str, keep_stopwords: bool = False) -> list[str]:
    """What BM25 indexes: character n-grams of each content word, `<` and `>` marking its ends."""
    terms: list[str] = []
    for word in content_words(text, lang, keep_stopwords):
        marked = f"<{word}>"
        if len(marked) <= NGRAM_SIZES[0]:
            terms.append(marked)
            continue
        for size in NGRAM_SIZES:
            terms.extend(marked[i : i + size] for i in range(len(marked) - size + 1))
    return terms


def _bm25(documents: list[list[str]]) -> bm25s.BM25:
    bm25 = bm25s.BM25()
    bm25.index([terms or ["\u2205"] for terms in documents], show_progress=False)
    return bm25


def _bm25_scores(bm25: bm25s.BM25, terms: list[str], count: int) -> np.ndarray:
    known = [term for term in terms if term in bm25.vocab_dict]
    if not known:
        return np.zeros(count, dtype=np.float32)
    return bm25.get_scores(known)


@dataclass
class LexicalIndex:
    """BM25 over one language's sections; `positions` maps its rows to the retriever's section list.

    Three BM25 indexes, read-only once built (safe to query from many threads): character
    n-grams of the section (`scores`), whole-word keys of the section (`word_scores`) and
    whole-word keys of the section's own heading (`heading_scores`).
    """

    lang: str
    positions: np.ndarray
    bm25: bm25s.BM25
    words: bm25s.BM25
    headings: bm25s.BM25
    idf: dict[str, float]
    max_idf: float
    token_sets: list[set[str]]

    @classmethod
    def build(cls, texts: list[str], positions: list[int], lang: str, headings: list[str] | None = None) -> "LexicalIndex":
        preload(lang)
        keys = [coverage_keys(text, lang) for text in texts]
        count = len(keys)
        frequency: dict[str, int] = {}
        for tokens in keys:
            for token in set(tokens):
                frequency[token] = frequency.get(token, 0) + 1
        idf = {token: math.log(1 + (count - n + 0.5) / (n + 0.5)) for token, n in frequency.items()}
        return cls(
            lang=lang,
            positions=np.asarray(positions),
            bm25=_bm25([index_terms(text, lang) for text in texts]),
            words=_bm25([word_keys(text, lang) for text in texts]),
            headings=_bm25([heading_keys(heading, lang) for heading in (headings or [""] * count)]),
            idf=idf,
            max_idf=math.log(1 + (count + 0.5) / 0.5),
            token_sets=[set(tokens) for tokens in keys],
        )

    def scores(self, question: str) -> np.ndarray:
        """Character n-gram BM25 score of every section of this language (zeros when no query term is known)."""
        return _bm25_scores(self.bm25, index_terms(question, self.lang), len(self.positions))

    def word_scores(self, question: str) -> np.ndarray:
        """Whole-word (lemma or stem) BM25 score of every section."""
        return _bm25_scores(self.words, word_keys(question, self.lang), len(self.positions))

    def heading_scores(self, question: str) -> np.ndarray:
        """BM25 score of every section's own heading ("What is LoRA?" -> the LoRA section).

        Stop words count only in a question of one content word, where they are all there is.
        """
        short = len(content_words(question, self.lang)) < 2
        return _bm25_scores(self.headings, heading_keys(question, self.lang, keep_stopwords=short), len(self.positions))

    def coverage(self, query_keys: list[str], row: int) -> float:
        """IDF-weighted share of the question's coverage_keys that the section at `row` contains (unknown ones weigh most)."""
        unique = set(query_keys)
        if not unique:
            return 0.0
        total = sum(self.idf.get(token, self.max_idf) for token in unique)
        found = sum(self.idf[token] for token in unique if token in self.token_sets[row])
        return found / total if total else 0.0


# A Snowball stemmer keeps per-word state in the object, so threads sharing one corrupt each
# other's words (IndexError under concurrent chats): each thread gets its own.
_local = threading.local()


@lru_cache(maxsize=65536)
def stem(word: str, lang: str) -> str:
    """The Snowball stem of a lower-case word (the word itself for a language without a stemmer).

    Kept per word: stemming is pure Python and was a fifth of an answer's CPU, spent on the same
    lesson words in every answer (the cache is safe to share between threads).
    """
    stemmer = _stemmer(lang)
    return stemmer.stemWord(word) if stemmer else word


def _stemmer(lang: str):
    stemmers = getattr(_local, "stemmers", None)
    if stemmers is None:
        stemmers = _local.stemmers = {}
    if lang not in stemmers:
        name = _SNOWBALL_NAMES.get(lang)
        stemmers[lang] = snowballstemmer.stemmer(name) if name else None
    return stemmers[lang]
