"""Search over the project's own lesson docs (indexed once per session), with the real model and chromadb."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.ingest import ingest
from knowledge.search import get_retriever, search


@pytest.fixture(scope="module")
def lessons(_built_lesson_index: Path) -> Path:
    return _built_lesson_index


@pytest.mark.parametrize(
    ("question", "anchor"),
    [
        ("How many training examples should I start with?", "example-counts"),
        ("How do I read a loss curve?", "loss-curves"),
        ("What is catastrophic forgetting?", "catastrophic-forgetting"),
        ("How do I estimate what a fine-tuning job costs?", "cost-estimate"),
        ("What is LoRA and why is it cheap?", "lora"),
    ],
)
def test_english_questions_find_their_section(lessons: Path, question: str, anchor: str) -> None:
    result = search(question, index=lessons, k=3)
    assert result.lang == "en" and result.covered
    assert anchor in [hit.anchor for hit in result.hits]
    assert all(hit.lang == "en" and hit.source.startswith("en/") for hit in result.hits)


@pytest.mark.parametrize(
    ("question", "anchor"),
    [
        ("Kuinka monta esimerkkiä tarvitsen?", "example-counts"),
        ("Mikä on katastrofaalinen unohtaminen?", "catastrophic-forgetting"),
        ("Miten arvioin hienosäätötyön kustannukset?", "cost-estimate"),
        ("Mitä epookki tarkoittaa?", "epochs"),
        # Short questions whose words the Finnish sections use in other forms ("how much does it
        # cost" is answered by the section that works the price out).
        ("Paljonko hienosäätö maksaa?", "cost-estimate"),
        ("Mitä LoRA tarkoittaa?", "lora"),
    ],
)
def test_finnish_questions_find_their_section(lessons: Path, question: str, anchor: str) -> None:
    result = search(question, index=lessons, k=3)
    assert result.lang == "fi" and result.covered
    assert anchor in [hit.anchor for hit in result.hits]
    assert all(hit.lang == "fi" and hit.source.startswith("fi/") for hit in result.hits)


@pytest.mark.parametrize(
    "question",
    ["What is the capital of France?", "How do I bake sourdough bread?", "Miten vaihdan auton renkaat?", "Kuka kirjoitti Seitsemän veljestä?"],
)
def test_off_topic_questions_are_not_covered(lessons: Path, question: str) -> None:
    assert search(question, index=lessons).covered is False


def test_learner_language_comes_first_and_can_be_given(lessons: Path) -> None:
    result = search("What is an epoch?", lang="fi", index=lessons, k=60)
    languages = [hit.lang for hit in result.hits]
    assert result.lang == "fi" and languages[0] == "fi"
    assert "en" in languages and languages == sorted(languages, key=lambda lang: lang != "fi")


def test_json_contract(lessons: Path) -> None:
    payload = search("Mikä on oppimisnopeus?", index=lessons, k=2).to_json()
    assert set(payload) == {"question", "lang", "covered", "hits"}
    assert payload["lang"] == "fi" and payload["covered"] is True and len(payload["hits"]) == 2
    hit = payload["hits"][0]
    assert set(hit) == {"text", "heading", "source", "lang", "score"}
    assert "{#" not in hit["heading"] and " > " in hit["heading"]
    assert hit["heading"].startswith("Käytännön muistiinpanoja")
    assert 0 < hit["score"] <= 1


def test_empty_question_gives_an_empty_result(lessons: Path) -> None:
    result = search("   ", index=lessons)
    assert result.hits == [] and result.covered is False


def test_cached_retriever_sees_a_new_ingest(tmp_path: Path) -> None:
    docs, index = tmp_path / "docs", tmp_path / "index"
    (docs / "en").mkdir(parents=True)
    (docs / "en" / "a.md").write_text("# Notes {#notes}\n\n## Epochs {#epochs}\n\nAn epoch is one pass over the data.\n", encoding="utf-8")
    ingest(docs, index)
    first = get_retriever(index)
    assert [s.anchor for s in first.sections] == ["epochs"]
    (docs / "en" / "b.md").write_text("# More {#more}\n\n## Batch size {#batch-size}\n\nThe batch size is how many examples each step sees.\n", encoding="utf-8")
    ingest(docs, index)
    assert search("What is the batch size?", index=index, k=1).hits[0].anchor == "batch-size"
    assert get_retriever(index) is not first


def test_ensure_index_is_a_no_op_when_the_docs_are_indexed(lesson_settings) -> None:
    from knowledge.index import DEFAULT_DOCS_DIR, ensure_index

    files = len(list(DEFAULT_DOCS_DIR.rglob("*.md")))
    report = ensure_index(lesson_settings)
    assert (report.added, report.updated, report.removed, report.skipped, report.chunks) == (0, 0, 0, files, 0)
    assert report.total_sections > 50


@pytest.mark.parametrize(
    ("question", "anchors"),
    [
        ("What is LoRA?", {"lora"}),
        ("How much does fine-tuning cost?", {"costs", "cost-estimate"}),
        ("Missä muodossa opetusdata annetaan?", {"chat-jsonl"}),
        ("Milloin hienosäätö kannattaa?", {"when-and-why", "use-case"}),
    ],
)
def test_short_questions_from_the_help_texts_cite_their_topic(lessons: Path, question: str, anchors: set[str]) -> None:
    """Questions the app's help texts and guided path suggest: the topic's own section comes first."""
    result = search(question, index=lessons, k=3)
    assert result.covered and result.hits[0].anchor in anchors


def test_near_ties_are_the_close_top_sections_in_the_learners_language(lessons: Path) -> None:
    from knowledge.search import DEFAULT_TUNING, MAX_NEAR_TIES

    close = search("What is fine-tuning?", index=lessons, k=5)
    ties = close.near_ties
    assert 2 <= len(ties) <= MAX_NEAR_TIES and all(hit.lang == "en" for hit in ties)
    # The candidates are the top of the ranking itself, in its order, each within the margin of the first.
    assert [hit.link for hit in ties] == [hit.link for hit in close.hits[: len(ties)]]
    assert all(hit.score >= ties[0].score * (1 - DEFAULT_TUNING.near_tie) - 1e-4 for hit in ties)
    assert close.hits[len(ties)].score < ties[0].score * (1 - DEFAULT_TUNING.near_tie)
    # In Finnish the same, among the Finnish sections only.
    finnish = search("Mitä kustannuksia mallin hienosäätöön liittyy?", index=lessons, k=5)
    assert len(finnish.near_ties) == 3 and {hit.lang for hit in finnish.near_ties} == {"fi"}
    # A clear winner (its runner-up at ~0.85 of its score) is not a tie.
    assert search("What is a LoRA adapter?", index=lessons).near_ties == []
    assert search("Kuinka monta esimerkkiä tarvitsen?", index=lessons).near_ties == []


def test_every_sections_follow_up_asks_for_it_first_in_its_language(lessons: Path) -> None:
    from knowledge.lang import detect_language

    retriever = get_retriever(lessons)
    every_section = search("fine-tuning", index=lessons, k=len(retriever.sections)).hits
    assert {hit.lang for hit in every_section} == {"en", "fi"} and len(every_section) > 100
    for hit in every_section:
        phrase = retriever.follow_up(hit)
        assert detect_language(phrase) == hit.lang, (hit.link, phrase)
        result = search(phrase, lang=hit.lang, index=lessons, k=1)
        assert result.covered and result.hits[0].link == hit.link, (hit.link, phrase)


@pytest.fixture(scope="module")
def course_lesson(course_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The course's fine-tuning lesson (English and Finnish): docs that list no questions and have no leads."""
    index = tmp_path_factory.mktemp("course") / "index"
    ingest(course_dir, index)
    return index


@pytest.mark.parametrize(
    ("question", "lang"),
    [
        ("Why would someone fine-tune a language model instead of prompting it?", "en"),
        ("Is fine-tuning expensive?", "en"),
        ("Where can I try fine-tuning hands-on?", "en"),
        ("Miksi kielimallia kannattaisi hienosäätää?", "fi"),
        ("Mitä hienosäätäminen maksaa?", "fi"),
    ],
)
def test_a_folder_without_listed_questions_covers_its_topics(course_lesson: Path, question: str, lang: str) -> None:
    """`covered` rests on what every doc gives (its text), not on listed questions the course lacks."""
    result = search(question, index=course_lesson, k=3)
    assert result.lang == lang and result.covered, result.signals


@pytest.mark.parametrize(
    ("question", "lang"),
    [("How do I bake sourdough bread?", "en"), ("Which football team won the league?", "en"), ("Miten vaihdan polkupyörän ketjun?", "fi")],
)
def test_a_folder_without_listed_questions_refuses_what_it_does_not_cover(course_lesson: Path, question: str, lang: str) -> None:
    result = search(question, index=course_lesson, k=3)
    assert result.lang == lang and not result.covered, result.signals


def test_the_intent_cues_read_what_kind_of_answer_is_asked_for() -> None:
    from knowledge.intent import intents, section_intents

    assert intents("What do I need to fine-tune a pre-trained model?", "en") == {"need"}
    assert intents("Mitä hienosäätö ei pysty korjaamaan?", "fi") == {"limits"}
    assert intents("Mitä tarvitsen hienosäätöön?", "fi") == {"need"}
    assert intents("LoRA rank", "en") == frozenset()
    # A section's kind comes from its own heading and its lead paragraph, not from the rest of its text.
    assert section_intents("The four ingredients", "You need four things.\n\nWhy this matters: ...", "en") == {"need"}
    assert section_intents("Kinds of fine-tuning", "SFT, DPO and RFT.\n\nYou need data.", "en") == frozenset()
