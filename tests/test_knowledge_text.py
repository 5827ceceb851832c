"""Text handling without the model: language detection, reading and cleaning files, sections and units."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.chunks import parse_heading, slugify_heading, split_sections, split_units
from knowledge.lang import detect_language
from knowledge.lexical import index_terms, tokenize
from knowledge.loader import IngestError, clean_markdown, decode_text, find_markdown_files, language_from_path, load_doc


@pytest.mark.parametrize(
    ("question", "lang"),
    [
        ("What is LoRA?", "en"),
        ("How many examples do I need?", "en"),
        ("Mikä on LoRA?", "fi"),
        ("Paljonko hienosäätö maksaa?", "fi"),
        ("Kerro lisää epookeista", "fi"),
        ("Selitä learning rate", "fi"),  # mixed, but written by a Finnish speaker
        ("JSONL", "en"),
        ("", "en"),
    ],
)
def test_detect_language_on_short_questions(question: str, lang: str) -> None:
    assert detect_language(question) == lang


def test_detect_language_answers_with_a_candidate() -> None:
    assert detect_language("Wie viele Beispiele brauche ich?", candidates=("en", "fi")) in {"en", "fi"}
    assert detect_language("anything", candidates=("fi",)) == "fi"


def test_language_from_path() -> None:
    assert language_from_path("translations/fi/18-fine-tuning/README.md") == "fi"
    assert language_from_path("fi/01-intro.md") == "fi"
    assert language_from_path("docs/en/guide.md") == "en"
    assert language_from_path("18-fine-tuning/README.md") is None


def test_clean_markdown_drops_comments_badges_and_images_but_keeps_links() -> None:
    text = (
        "<!--\nmeta: 1\n-->\n[![badge](https://img.shields.io/x.svg)](https://ci)\n# Title\n\n"
        "Text with ![a picture](img/p.png) and a [link](https://example.com).\n<img src='x.png'>\n"
    )
    cleaned = clean_markdown(text)
    assert "meta" not in cleaned and "badge" not in cleaned and "picture" not in cleaned and "<img" not in cleaned
    assert "[link](https://example.com)" in cleaned
    assert cleaned.startswith("# Title")


def test_decode_rejects_empty_and_binary_and_reads_legacy_encodings() -> None:
    with pytest.raises(IngestError, match="empty"):
        decode_text(b"  \n", "a.md")
    with pytest.raises(IngestError, match="binary"):
        decode_text(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "b.md")
    assert decode_text("# Hienosäätö\n".encode("utf-8"), "c.md") == "# Hienosäätö\n"
    assert "säätö" in decode_text("# Hienosäätö on tärkeää ja sitä käytetään paljon\n".encode("cp1252"), "d.md")


def test_load_doc_repairs_mojibake(tmp_path: Path) -> None:
    # UTF-8 bytes read as Mac Roman, then saved again as UTF-8: the course's Finnish file has exactly this.
    broken = "# LLM:n hienosäätö\n\nTämä on hyödyllistä.\n".encode("utf-8").decode("mac_roman")
    (tmp_path / "fi").mkdir()
    (tmp_path / "fi" / "x.md").write_text(broken, encoding="utf-8")
    assert "√" in broken
    doc = load_doc(tmp_path, tmp_path / "fi" / "x.md")
    assert "hienosäätö" in doc.text and "√" not in doc.text
    assert doc.lang == "fi" and doc.source == "fi/x.md"


def test_find_markdown_files_errors(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="not found"):
        find_markdown_files(tmp_path / "missing")
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    with pytest.raises(IngestError, match="No markdown"):
        find_markdown_files(tmp_path)
    with pytest.raises(IngestError, match="Not a folder"):
        find_markdown_files(tmp_path / "notes.txt")


def test_headings_anchors_and_paths() -> None:
    assert parse_heading("Epochs {#epochs}") == ("Epochs", "epochs")
    assert parse_heading("What is fine-tuning for language models?") == (
        "What is fine-tuning for language models?",
        "what-is-fine-tuning-for-language-models",
    )
    assert slugify_heading("LLM:n hienosäätö") == "llmn-hienosäätö"
    seen: dict[str, int] = {}
    assert [slugify_heading("Notes", seen), slugify_heading("Notes", seen)] == ["notes", "notes-1"]

    doc = "# Guide {#guide}\n\nIntro.\n\n## Setup {#setup}\n\nStep one.\n\n### Details\n\nMore.\n\n```bash\n# not a heading\n```\n"
    sections = split_sections(doc)
    assert [(s.heading, s.anchor) for s in sections] == [
        ("Guide", "guide"),
        ("Guide > Setup", "setup"),
        ("Guide > Setup > Details", "details"),
    ]
    assert all(s.title == "Guide" for s in sections)
    assert "# not a heading" in sections[-1].text


def test_split_units_kinds() -> None:
    text = "First sentence here. Second one follows.\n\n- item one\n- item two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```python\nx = 1\n```\n"
    units = split_units(text)
    assert [(u.kind, u.text) for u in units] == [
        ("sentence", "First sentence here."),
        ("sentence", "Second one follows."),
        ("item", "item one"),
        ("item", "item two"),
        ("row", "| a | b |"),
        ("row", "| 1 | 2 |"),
        ("code", "```python\nx = 1"),
    ]
    assert units[0].block == units[1].block != units[2].block


def test_lexical_terms_match_finnish_inflections() -> None:
    question = set(index_terms("Mitä hienosäädön kustannukset ovat?", "fi"))
    doc = set(index_terms("Hienosäätö maksaa: kustannuksia syntyy datasta.", "fi"))
    assert question & doc  # shared n-grams despite different word forms
    assert "mitä" not in tokenize("Mitä hienosäätö on?", "fi")


def test_a_sections_listed_questions_are_kept_apart_from_its_text() -> None:
    doc = clean_markdown(
        "# Guide {#guide}\n\n<!-- questions:\n- Where do I start?\n-   how to begin\n-->\n\nIntro.\n\n"
        "<!-- a note for editors -->\n## Setup\n\nStep one.\n"
    )
    assert "editors" not in doc  # other comments are still dropped
    guide, setup = split_sections(doc)
    assert guide.questions == ("Where do I start?", "how to begin")
    assert guide.text == "Intro."
    assert setup.questions == () and setup.text == "Step one."


def test_the_lemma_dictionarys_sqlite_copy_answers_as_simplemma_does(tmp_path: Path) -> None:
    import sqlite3

    import simplemma
    from simplemma.strategies import DefaultStrategy, DictionaryLookupStrategy

    from knowledge.lemmas import _Dictionaries, build_dictionaries, dictionary_path

    assert build_dictionaries(tmp_path) == [dictionary_path("fi", tmp_path)]
    assert build_dictionaries(tmp_path) == []  # a current copy is kept
    copy = _Dictionaries(tmp_path)
    assert type(copy.get_dictionary("fi")).__name__ == "_SqliteDictionary"
    lookup = DictionaryLookupStrategy(copy)
    lemmatizer = simplemma.Lemmatizer(lemmatization_strategy=DefaultStrategy(dictionary_factory=copy))
    words = ["hienosäädön", "koulutustyöstä", "validointihäviö", "esimerkkejä", "mallin", "LoRA", "xyzzyq", "Tietojen", "häviö"]
    for word in words:
        assert lemmatizer.lemmatize(word, "fi") == simplemma.lemmatize(word, "fi"), word
        assert (lookup.get_lemma(word, "fi") is not None) == simplemma.is_known(word, "fi"), word
    # A copy from another simplemma is not used: simplemma's own dictionary answers instead.
    stale = tmp_path / "stale"
    stale.mkdir()
    dictionary_path("fi", tmp_path).rename(dictionary_path("fi", stale))
    with sqlite3.connect(dictionary_path("fi", stale)) as connection:
        connection.execute("UPDATE meta SET value = 'another simplemma' WHERE key = 'stamp'")
    assert type(_Dictionaries(stale).get_dictionary("fi")).__name__ != "_SqliteDictionary"
