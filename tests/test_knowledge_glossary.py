"""The Finnish -> English glossary behind the gloss channel, and what it changes in retrieval."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.glossary import GLOSSARY_DIR, gloss, load_glossary


@pytest.fixture(scope="module")
def lessons(_built_lesson_index: Path) -> Path:
    return _built_lesson_index


def test_the_glossary_file_is_well_formed() -> None:
    lines = (GLOSSARY_DIR / "fi_en.tsv").read_text(encoding="utf-8").splitlines()
    keys = [line.split("\t")[0] for line in lines]
    assert all(line.count("\t") == 1 for line in lines)
    assert len(keys) == len(set(keys)) > 2000
    assert all(key == key.lower() and key.strip() == key for key in keys)
    assert all(1 <= len(line.split("\t")[1].split()) <= 3 for line in lines)


def test_inflected_and_compound_words_gloss_to_their_english_terms() -> None:
    english = gloss("Paljonko hienosäädön validointihäviö kertoo ylisovittamisesta?", "fi").split()
    assert "fine-tuning" in english
    assert {"validation", "loss"} <= set(english)  # a compound the glossary lacks: its parts
    assert "how" in english and "much" in english


def test_a_minen_noun_glosses_as_its_verb() -> None:
    # "hienosäätäminen" is not in the glossary; the verb "hienosäätää" is.
    assert "hienosäätäminen" not in load_glossary("fi")
    assert gloss("hienosäätäminen", "fi") == load_glossary("fi")["hienosäätää"]


def test_function_words_are_dropped_and_unknown_words_kept_unless_filtered() -> None:
    assert gloss("ja tai mutta", "fi") == ""
    assert gloss("LoRA xyzzyqq", "fi") == "lora xyzzyqq"
    assert gloss("LoRA xyzzyqq", "fi", keep=frozenset({"lora"})) == "lora"


def test_languages_without_a_glossary_gloss_to_nothing() -> None:
    assert load_glossary("en") == {}
    assert gloss("How much does fine-tuning cost?", "en") == ""


def test_finnish_off_topic_questions_are_refused(lessons: Path) -> None:
    from knowledge.search import search

    for question in ("Kuka voitti jalkapallon maailmanmestaruuden?", "Miten leivon ruisleipää kotona?"):
        result = search(question, index=lessons, k=3)
        assert result.lang == "fi"
        assert not result.covered, (question, result.signals)
