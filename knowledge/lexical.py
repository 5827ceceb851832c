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
from dataclasses import dataclass
from functools import lru_cache

import bm25s
import numpy as np
import snowballstemmer
from bm25s.stopwords import STOPWORDS_EN

from knowledge.chunks import plain_text

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


def content_words(text: str, lang: str) -> list[str]:
    """Lower-cased words of two or more letters, stop words removed."""
    stopwords = _STOPWORDS.get(lang, frozenset())
    return [word for word in _WORD.findall(plain_text(text).lower()) if len(word) > 1 and word not in stopwords]


def tokenize(text: str, lang: str) -> list[str]:
    """Snowball stems of the content words."""
    words = content_words(text, lang)
    stemmer = _stemmer(lang)
    return stemmer.stemWords(words) if stemmer else words


def coverage_keys(text: str, lang: str) -> list[str]:
    """Word keys for "how much of the question does a section contain": stems, or prefixes for Finnish."""
    prefix = _PREFIX_KEY_LANGS.get(lang)
    if prefix:
        return [word[:prefix] for word in content_words(text, lang)]
    return tokenize(text, lang)


def index_terms(text: str, lang: str) -> list[str]:
    """What BM25 indexes: character n-grams of each content word, `<` and `>` marking its ends."""
    terms: list[str] = []
    for word in content_words(text, lang):
        marked = f"<{word}>"
        if len(marked) <= NGRAM_SIZES[0]:
            terms.append(marked)
            continue
        for size in NGRAM_SIZES:
            terms.extend(marked[i : i + size] for i in range(len(marked) - size + 1))
    return terms


@dataclass
class LexicalIndex:
    """BM25 over one language's sections; `positions` maps its rows to the retriever's section list."""

    lang: str
    positions: np.ndarray
    bm25: bm25s.BM25
    idf: dict[str, float]
    max_idf: float
    token_sets: list[set[str]]

    @classmethod
    def build(cls, texts: list[str], positions: list[int], lang: str) -> "LexicalIndex":
        bm25 = bm25s.BM25()
        bm25.index([index_terms(text, lang) or ["\u2205"] for text in texts], show_progress=False)
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
            bm25=bm25,
            idf=idf,
            max_idf=math.log(1 + (count + 0.5) / 0.5),
            token_sets=[set(tokens) for tokens in keys],
        )

    def scores(self, question: str) -> np.ndarray:
        """BM25 score of every section of this language (zeros when no query word is known)."""
        known = [term for term in index_terms(question, self.lang) if term in self.bm25.vocab_dict]
        if not known:
            return np.zeros(len(self.positions), dtype=np.float32)
        return self.bm25.get_scores(known)

    def coverage(self, query_keys: list[str], row: int) -> float:
        """IDF-weighted share of the question's coverage_keys that the section at `row` contains (unknown ones weigh most)."""
        unique = set(query_keys)
        if not unique:
            return 0.0
        total = sum(self.idf.get(token, self.max_idf) for token in unique)
        found = sum(self.idf[token] for token in unique if token in self.token_sets[row])
        return found / total if total else 0.0


@lru_cache(maxsize=16)
def _stemmer(lang: str):
    name = _SNOWBALL_NAMES.get(lang)
    return snowballstemmer.stemmer(name) if name else None
