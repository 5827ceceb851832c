"""Answers from the lesson docs: extractive offline, model-written through a real OpenAI client on loopback."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.llm import OpenAIBackend
from core.settings import Settings
from core.texts import text
from knowledge.answer import answer, build_prompts
from knowledge.search import get_retriever
from core.llm import writer_for_backend, writer_from_settings


@pytest.fixture(scope="module")
def lessons(_built_lesson_index: Path) -> Path:
    return _built_lesson_index


def test_english_extractive_answer_quotes_and_cites(lessons: Path) -> None:
    result = answer("How many training examples should I start with?", index=lessons)
    assert result.covered and result.lang == "en" and result.mode == "extractive"
    assert result.citations[0].anchor == "example-counts"
    body, sources = result.text.split("**Sources**")
    assert "[1]" in body
    assert "example-counts" in sources and "en/06-practical-notes.md#example-counts" in sources
    # Every quoted sentence comes from the cited sections, word for word.
    cited = " ".join(hit.text for hit in result.citations)
    for line in body.replace("[1]", "").replace("[2]", "").splitlines():
        line = line.strip().removeprefix("- ")
        if line:
            for sentence in line.split(". "):
                assert sentence.strip(" .") in cited


def test_finnish_question_gets_a_finnish_answer(lessons: Path) -> None:
    result = answer("Mitä epookki tarkoittaa?", index=lessons)
    assert result.covered and result.lang == "fi"
    assert "**Lähteet**" in result.text and "fi/06-practical-notes.md#epochs" in result.text
    assert all(hit.lang == "fi" for hit in result.citations)
    body = result.text.split("**Lähteet**")[0]
    assert "epookki" in body.lower() and "[1]" in body


def test_out_of_scope_says_so_and_lists_the_topics(lessons: Path) -> None:
    english = answer("What is the capital of France?", index=lessons)
    assert not english.covered and english.mode == "out_of_scope" and english.citations == []
    assert "don't cover" in english.text and "- Limits and risks of fine-tuning" in english.text
    finnish = answer("Miten vaihdan auton renkaat?", index=lessons)
    assert not finnish.covered and "Oppimateriaali ei käsittele" in finnish.text
    assert "- Hienosäädön rajoitukset ja riskit" in finnish.text


@pytest.mark.parametrize(("lang", "phrase"), [(None, "For example"), ("fi", "Esimerkiksi")])
def test_empty_question_gets_help(lessons: Path, lang: str | None, phrase: str) -> None:
    result = answer("  ", lang=lang, index=lessons)
    assert result.mode == "help" and not result.covered and phrase in result.text


def test_model_writes_from_the_retrieved_sections(lessons: Path, fake_openai) -> None:
    fake_openai.queue_replies("Aloita noin 50 hyvällä esimerkillä ja arvioi tulos [1].")
    backend = OpenAIBackend(fake_openai.api_key, "gpt-4o-mini", fake_openai.base_url)
    result = answer("Kuinka monta esimerkkiä tarvitsen?", writer=writer_for_backend(backend), index=lessons)
    assert result.mode == "model" and result.lang == "fi"
    assert result.text.startswith("Aloita noin 50 hyvällä esimerkillä")
    assert "**Lähteet**" in result.text and "#example-counts" in result.text
    request = [r for r in fake_openai.requests if r["path"].endswith("/chat/completions")][-1]["body"]
    system, user = request["messages"][0]["content"], request["messages"][1]["content"]
    assert "ONLY" in system and "Finnish" in system and "[1]" in system
    assert "Kuinka monta esimerkkiä tarvitsen?" in user and "fi/06-practical-notes.md#example-counts" in user


def test_model_failure_falls_back_to_the_extractive_answer(lessons: Path, fake_openai) -> None:
    fake_openai.fail_next(500, "server exploded", times=5)
    backend = OpenAIBackend(fake_openai.api_key, "gpt-4o-mini", fake_openai.base_url)
    result = answer("How do I read a loss curve?", writer=writer_for_backend(backend), index=lessons)
    assert result.mode == "extractive" and result.covered and "#loss-curves" in result.text


def test_writer_from_settings(tmp_path: Path, fake_openai) -> None:
    assert writer_from_settings(Settings(data_dir=tmp_path)) is None
    configured = Settings(data_dir=tmp_path, openai_api_key=fake_openai.api_key, openai_base_url=fake_openai.base_url)
    fake_openai.queue_replies("ok")
    assert writer_from_settings(configured)("system", "user") == "ok"


def test_prompt_numbers_sections_with_their_sources(lessons: Path) -> None:
    hits = get_retriever(lessons).search("What is LoRA?", "en", 2).hits
    system, user = build_prompts("What is LoRA?", "en", hits)
    assert "English" in system
    assert user.startswith("Lesson sections:") and f"[1] {hits[0].heading} ({hits[0].link})" in user and "[2]" in user


@pytest.mark.parametrize("question, lang, sources", [
    ("Can I still fine-tune my models on OpenAI?", "en", "**Sources**"),
    ("Voinko vielä hienosäätää malleja OpenAI:lla?", "fi", "**Lähteet**"),
])
def test_the_dated_provider_facts_answer_whether_openai_still_takes_jobs(lessons: Path, question: str, lang: str,
                                                                          sources: str) -> None:
    result = answer(question, index=lessons)
    assert result.covered and result.lang == lang
    assert result.citations[0].anchor in {"provider-status", "openai-migration", "openai"}, result.citations
    body = result.text.split(sources)[0]
    assert "2027-01-06" in body or "2027-01-14" in body, body


@pytest.mark.parametrize(("question", "lang", "line", "close"), [
    ("What is fine-tuning?", "en", "Several sections come close; you could also ask about: ", 1),
    ("Mitä kustannuksia mallin hienosäätöön liittyy?", "fi", "Useampi osio vastaa lähes yhtä hyvin; voit kysyä myös: ", 2),
])
def test_a_near_tie_names_the_close_sections_as_follow_ups(lessons: Path, question: str, lang: str, line: str, close: int) -> None:
    result = answer(question, index=lessons)
    assert result.covered and result.lang == lang and len(result.alternatives) == len(result.follow_ups) == close
    assert result.citations[0].link not in {hit.link for hit in result.alternatives}
    body = result.text.split(f"**{text(lang, 'answer.sources')}**")[0]
    assert line + ", ".join(f"*{phrase}*" for phrase in result.follow_ups) in body
    assert result.to_json()["follow_ups"] == result.follow_ups


def test_a_clear_answer_has_no_alternatives(lessons: Path) -> None:
    result = answer("What is a LoRA adapter?", index=lessons)
    assert result.covered and result.alternatives == [] and result.follow_ups == []
    assert "come close" not in result.text


@pytest.mark.parametrize(
    "question",
    [
        "how much would training cost?",
        "What do I need to fine-tune a model?",
        "How do I estimate the price of a training run?",
        "Mitä hienosäätö maksaa?",
        "Mitä tarvitsen hienosäätöön?",
        "How do I write a minimal LoRA training script?",
    ],
)
def test_quoted_sentences_read_on_their_own(lessons: Path, question: str) -> None:
    """A sentence that introduces a formula or list ("… is simple arithmetic:") comes with what it introduces,
    and one that continues another ("and the cost is …") with the one it continues."""
    result = answer(question, index=lessons)
    assert result.covered
    body = result.text.split("**Sources**")[0].split("**Lähteet**")[0]
    paragraphs = [p.strip() for p in body.split("\n\n") if p.strip()]
    def continues(paragraph: str) -> bool:
        return paragraph[:1].islower()  # list items start with "- "

    for n, paragraph in enumerate(paragraphs):
        if continues(paragraph):
            # It follows what it continues: a quoted paragraph that is no introduction left hanging.
            assert n > 0 and not paragraphs[n - 1].endswith(":"), f"a continuation quoted alone: {paragraph!r}"
        if paragraph.endswith(":"):
            # What it introduces follows (a formula, a list), not a sentence from further on.
            assert n + 1 < len(paragraphs) and not continues(paragraphs[n + 1]), f"an introduction left hanging: {paragraph!r}"


def test_a_sentence_introducing_code_is_not_quoted_without_it() -> None:
    from knowledge.answer import _readable_alone
    from knowledge.chunks import split_units

    units = [(0, unit) for unit in split_units(
        "Run this:\n\n```\npython train.py\n```\n\nThe cost is tokens times epochs:\n\n**tokens × epochs**\n\n"
        "and the price per token.\n\nA plain sentence."
    ) if unit.kind in ("sentence", "item")]
    texts = [unit.text for _, unit in units]
    assert texts[0] == "Run this:" and _readable_alone(units, 0) is None
    intro = texts.index("The cost is tokens times epochs:")
    assert _readable_alone(units, intro) == [intro, intro + 1]
    assert _readable_alone(units, intro + 2) == [intro + 1, intro + 2]
    assert _readable_alone(units, len(units) - 1) == [len(units) - 1]
