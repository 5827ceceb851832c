"""Dictionary lemmas (simplemma) and compound parts: word keys that survive Finnish inflection.

Finnish inflects and compounds heavily: "hienosäädön" and "hienosäätäminen" share the lemma
"hienosäätää", "koulutustyöstä" is a form of "koulutustyö" (koulutus + työ). `lemma_keys` gives a
word's lemma plus, for a compound the dictionary does not know, its parts' lemmas, so
"validointihäviö" also matches "häviö". simplemma alone would shorten such a compound to its
head ("validointi"), losing the part that matters. English uses Snowball stems instead.
simplemma's lookups and our lru_cache are safe to share between threads.

simplemma decodes a language's whole dictionary on first use (3.5M Finnish entries: 3-4 s of a start,
holding the GIL). `build_dictionaries`, run with the prebuilt index (`knowledge.prebuilt`, `make
install`), copies it once into an SQLite table beside the prebuilt records; where a copy made from this
simplemma is there, lookups read it (a few microseconds each, nothing to load), else simplemma's own
dictionary loads as before (`preload` runs it when the index is built).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from functools import lru_cache
from pathlib import Path

import simplemma
from simplemma.strategies import DefaultStrategy, DictionaryLookupStrategy
from simplemma.strategies.dictionaries.dictionary_factory import (
    CachingDictionaryFactory,
    DecodedStrMapping,
    DefaultDictionaryFactory,
    _load_dictionary_from_disk,
)
from simplemma.utils import normalize_token

from core.files import atomic_path

log = logging.getLogger(__name__)

LEMMA_LANGS = frozenset({"fi"})
_MIN_HEAD = 4  # shorter heads are mostly prefixes or noise
_MIN_TAIL = 3
_MAX_WORD = 40  # splitting is linear in dictionary look-ups; nothing in the lessons is longer
# The prebuilt index's folder (knowledge.prebuilt.PREBUILT_DIR): the copies are built with its records.
DICTIONARY_DIR = Path(__file__).resolve().parent / "prebuilt"
_FORMAT = "1"


def _stamp() -> str:
    """What a copy depends on: one made from another simplemma (other entries) is not used."""
    return f"{_FORMAT}/simplemma-{simplemma.__version__}"


def dictionary_path(lang: str, folder: Path = DICTIONARY_DIR) -> Path:
    return folder / f"lemmas-{lang}.sqlite"


class _SqliteDictionary(DecodedStrMapping):
    """simplemma's word -> lemma dictionary for one language, read from its SQLite copy."""

    __slots__ = ("_connection", "_lock")

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection
        self._lock = threading.Lock()  # one connection, shared by the app's threads

    def _lookup(self, key: str) -> str | None:
        with self._lock:
            row = self._connection.execute("SELECT lemma FROM lemma WHERE word = ?", (key,)).fetchone()
        return row[0] if row else None

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            words = [word for (word,) in self._connection.execute("SELECT word FROM lemma")]
        return iter(words)

    def __len__(self) -> int:
        with self._lock:
            return self._connection.execute("SELECT count(*) FROM lemma").fetchone()[0]


def _open_copy(path: Path) -> sqlite3.Connection | None:
    """The copy at `path`, or None when it is missing, unreadable or made from another simplemma."""
    if not path.is_file():
        return None
    try:
        # immutable: nothing writes a copy once it is in place (a rebuild replaces the file), so no locking.
        connection = sqlite3.connect(f"{path.as_uri()}?mode=ro&immutable=1", uri=True, check_same_thread=False)
        row = connection.execute("SELECT value FROM meta WHERE key = 'stamp'").fetchone()
    except sqlite3.Error as error:
        log.warning("the lemma dictionary copy %s could not be read (%s); simplemma's own is used", path, error)
        return None
    if not row or row[0] != _stamp():
        connection.close()
        log.info("the lemma dictionary copy %s is from another simplemma; simplemma's own is used", path)
        return None
    return connection


class _Dictionaries(CachingDictionaryFactory):
    """Each language's dictionary: its current SQLite copy in `folder` when there is one, else simplemma's."""

    __slots__ = ("_folder", "_fallback")

    def __init__(self, folder: Path = DICTIONARY_DIR) -> None:
        self._folder = folder
        self._fallback = DefaultDictionaryFactory()
        super().__init__()

    def _get_dictionary_uncached(self, lang: str) -> Mapping[str, str]:
        connection = _open_copy(dictionary_path(lang, self._folder))
        return _SqliteDictionary(connection) if connection is not None else self._fallback.get_dictionary(lang)


_DICTIONARIES = _Dictionaries()
_LOOKUP = DictionaryLookupStrategy(_DICTIONARIES)
_LEMMATIZER = simplemma.Lemmatizer(lemmatization_strategy=DefaultStrategy(dictionary_factory=_DICTIONARIES))


def _is_known(word: str, lang: str) -> bool:
    """simplemma.is_known, over our dictionaries."""
    return _LOOKUP.get_lemma(normalize_token(word), lang) is not None


def _lemmatize(word: str, lang: str) -> str:
    """simplemma.lemmatize, over our dictionaries."""
    return _LEMMATIZER.lemmatize(word, lang)


def build_dictionaries(folder: Path = DICTIONARY_DIR) -> list[Path]:
    """Write the SQLite copy of each LEMMA_LANGS dictionary into `folder`, unless a current one is there.

    About 10 s and 120 MB for Finnish. Returns the copies written; raises OSError when the folder cannot be written.
    """
    written = []
    folder.mkdir(parents=True, exist_ok=True)
    for lang in sorted(LEMMA_LANGS):
        target = dictionary_path(lang, folder)
        current = _open_copy(target)
        if current is not None:
            current.close()
            continue
        # A shared install's file (mode 0o644), like the prebuilt records.
        with atomic_path(target, suffix=".sqlite", mode=0o644) as temporary:
            connection = sqlite3.connect(temporary)
            try:
                connection.execute("PRAGMA journal_mode = OFF")  # a half-written file is never renamed into place
                connection.execute("CREATE TABLE lemma (word TEXT PRIMARY KEY, lemma TEXT NOT NULL) WITHOUT ROWID")
                entries = _load_dictionary_from_disk(lang)
                connection.executemany("INSERT INTO lemma VALUES (?, ?)", ((k.decode(), v.decode()) for k, v in sorted(entries.items())))
                connection.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                connection.execute("INSERT INTO meta VALUES ('stamp', ?)", (_stamp(),))
                connection.commit()
            finally:
                connection.close()
        written.append(target)
    return written


def preload(lang: str) -> None:
    """Load the lemma dictionary for `lang` now rather than on the first question."""
    if lang in LEMMA_LANGS:
        lemma_keys("esimerkki", lang)


@lru_cache(maxsize=65536)
def lemma_keys(word: str, lang: str) -> tuple[str, ...]:
    """Keys for a lower-case `word`: its lemma, then its compound parts' lemmas when it splits."""
    if len(word) > _MAX_WORD:
        return (word,)
    if _is_known(word, lang):
        lemma = _clean(_lemmatize(word, lang)) or word
        parts = _split(lemma, lang)  # a known compound (tuotetieto) still shares its parts
        return (lemma, *[p for p in parts if p != lemma])
    parts = _split(word, lang)
    if parts:
        return (parts[0] + parts[1], *parts)
    return (_clean(_lemmatize(word, lang)) or word,)


def _split(word: str, lang: str) -> list[str]:
    """[head, tail lemma] when `word` is a dictionary head plus a dictionary word; longest head first.

    The head must be a base form itself (compound heads are, in Finnish): that keeps
    "hienosäätötyön" as hienosäätö + työ rather than hienosäätöt (a plural) + yö.
    """
    for cut in range(len(word) - _MIN_TAIL, _MIN_HEAD - 1, -1):
        head, tail = word[:cut], word[cut:]
        if not _is_known(head, lang) or _clean(_lemmatize(head, lang)) != head:
            continue
        tail_lemma = _clean(_lemmatize(tail, lang))
        if len(tail_lemma) >= _MIN_TAIL and _is_known(tail_lemma, lang):
            return [head, tail_lemma]
    return []


def _clean(lemma: str) -> str:
    """Lower-case lemma, or "" for dictionary abbreviations such as "esim."."""
    lemma = lemma.lower()
    return lemma if lemma.isalpha() else ""
