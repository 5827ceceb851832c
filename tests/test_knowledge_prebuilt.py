"""The precomputed lesson index (knowledge.prebuilt) and start-up readiness (knowledge.startup), with the real parts:
real chromadb, the real MiniLM and e5, the project's own prebuilt files (`make install` builds them)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import knowledge.records
from core.settings import Settings
from knowledge.index import DEFAULT_DOCS_DIR, LESSON_DOCS_LABEL, ensure_index
from knowledge.ingest import ingest, load_docs
from knowledge.prebuilt import PREBUILT_DIR, build_prebuilt, load_prebuilt
from knowledge.search import search
from knowledge.startup import Readiness, Stage, prepare
from knowledge.store import open_store
from test_knowledge_ingest import DOCS, write_docs

LABEL = "test:docs"
QUESTIONS = ["What is an epoch?", "Mikä on oppimisnopeus?", "What does a line of the training file hold?", "How big is a weight update?"]


def results(index: Path) -> list[tuple]:
    return [
        (result.covered, [(hit.source, hit.anchor) for hit in result.hits], [hit.score for hit in result.hits])
        for result in (search(question, index=index, k=3) for question in QUESTIONS)
    ]


def vectors(index: Path) -> dict[str, np.ndarray]:
    store = open_store(index)
    found = {}
    for name, collection in (("minilm", store.collection), ("e5", store.multilingual)):
        records = collection.get(include=["embeddings"])
        found.update({f"{name}:{i}": np.asarray(v) for i, v in zip(records["ids"], records["embeddings"])})
    return found


def no_embedding(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any embedding call fails the test: what is copied must not be embedded again."""

    def refuse(texts):
        raise AssertionError(f"embedded {len(texts)} texts")

    for name in ("embed_texts", "embed_passages", "embed_queries"):
        monkeypatch.setattr(knowledge.records, name, refuse)


def test_prebuilt_records_give_the_same_index_and_search_results_as_an_ingest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = write_docs(tmp_path / "docs")
    embedded = ingest(docs, tmp_path / "embedded", label=LABEL)
    bundle, files_embedded = build_prebuilt(load_docs(docs), LABEL, tmp_path / "prebuilt")
    assert files_embedded == 3 and len(bundle.records) == embedded.chunks

    no_embedding(monkeypatch)
    copied = ingest(docs, tmp_path / "copied", label=LABEL, prebuilt=load_prebuilt(tmp_path / "prebuilt"))
    assert (copied.added, copied.prebuilt, copied.embedded, copied.chunks) == (3, 3, 0, embedded.chunks)
    assert results(tmp_path / "copied") == results(tmp_path / "embedded")
    before, after = vectors(tmp_path / "embedded"), vectors(tmp_path / "copied")
    assert before.keys() == after.keys()
    assert all(np.allclose(before[key], after[key], atol=1e-5) for key in before)


def test_a_changed_doc_is_embedded_and_the_others_are_copied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = write_docs(tmp_path / "docs")
    build_prebuilt(load_docs(docs), LABEL, tmp_path / "prebuilt")
    (docs / "en" / "data.md").write_text(
        DOCS["en/data.md"] + "\n## Validation file {#validation}\n\nA validation file measures overfitting.\n", encoding="utf-8"
    )
    report = ingest(docs, tmp_path / "index", label=LABEL, prebuilt=load_prebuilt(tmp_path / "prebuilt"))
    # Two files copied; the changed one's units embedded, once per model.
    units = open_store(tmp_path / "index").collection.get(where={"$and": [{"source": "en/data.md"}, {"kind": "unit"}]}, include=[])["ids"]
    assert (report.added, report.prebuilt, report.embedded) == (3, 2, 2 * len(units))
    assert len(units) >= 2
    assert search("What does a validation file measure?", index=tmp_path / "index", lang="en", k=1).hits[0].anchor == "validation"

    no_embedding(monkeypatch)
    again = ingest(docs, tmp_path / "index", label=LABEL, prebuilt=load_prebuilt(tmp_path / "prebuilt"))
    assert (again.skipped, again.prebuilt, again.embedded, again.chunks) == (3, 0, 0, 0)  # up to date: nothing to do


def test_rebuilding_the_prebuilt_files_embeds_only_what_changed(tmp_path: Path) -> None:
    docs = write_docs(tmp_path / "docs")
    first, embedded = build_prebuilt(load_docs(docs), LABEL, tmp_path / "prebuilt")
    assert embedded == 3
    (docs / "fi" / "basics.md").write_text(DOCS["fi/basics.md"] + "\nUusi kappale.\n", encoding="utf-8")
    (docs / "en" / "data.md").unlink()
    second, embedded = build_prebuilt(load_docs(docs), LABEL, tmp_path / "prebuilt")
    assert embedded == 1
    assert set(second.files) == {"en/basics.md", "fi/basics.md"}
    assert {meta["source"] for meta in second.records.metadatas} == {"en/basics.md", "fi/basics.md"}
    assert load_prebuilt(tmp_path / "prebuilt").files == second.files


def test_prebuilt_files_of_another_pipeline_or_a_broken_write_are_ignored(tmp_path: Path) -> None:
    docs = write_docs(tmp_path / "docs")
    build_prebuilt(load_docs(docs), LABEL, tmp_path / "prebuilt")
    head = json.loads((tmp_path / "prebuilt" / "records.json").read_text(encoding="utf-8"))
    head["stamp"]["pipeline"] = "0"
    (tmp_path / "prebuilt" / "records.json").write_text(json.dumps(head), encoding="utf-8")
    assert load_prebuilt(tmp_path / "prebuilt") is None
    (tmp_path / "prebuilt" / "records.json").write_text("{", encoding="utf-8")
    assert load_prebuilt(tmp_path / "prebuilt") is None
    assert load_prebuilt(tmp_path / "nowhere") is None


def test_a_records_file_for_another_folder_label_is_not_used(tmp_path: Path) -> None:
    docs = write_docs(tmp_path / "docs")
    build_prebuilt(load_docs(docs), "another:label", tmp_path / "prebuilt")
    report = ingest(docs, tmp_path / "index", label=LABEL, prebuilt=load_prebuilt(tmp_path / "prebuilt"))
    assert (report.prebuilt, report.embedded > 0) == (0, True)


def test_ensure_index_embeds_what_the_files_lack_then_saves_them_for_the_next_fresh_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = write_docs(tmp_path / "docs")
    first = ensure_index(Settings(data_dir=tmp_path / "one"), docs, prebuilt_dir=tmp_path / "prebuilt")
    assert (first.added, first.prebuilt, first.embedded > 0) == (3, 0, True)
    assert set(load_prebuilt(tmp_path / "prebuilt").files) == {"en/basics.md", "en/data.md", "fi/basics.md"}

    no_embedding(monkeypatch)
    second = ensure_index(Settings(data_dir=tmp_path / "two"), docs, prebuilt_dir=tmp_path / "prebuilt")
    assert (second.added, second.prebuilt, second.embedded) == (3, 3, 0)
    assert results(tmp_path / "two" / "index") == results(tmp_path / "one" / "index")


def test_a_fresh_data_dir_starts_from_the_packaged_prebuilt_files_without_embedding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bundle = load_prebuilt(PREBUILT_DIR)
    assert bundle is not None, f"no prebuilt lesson index in {PREBUILT_DIR}: run `make install` (it runs `python -m knowledge build-index`)"
    assert bundle.label == LESSON_DOCS_LABEL and bundle.covers(load_docs(DEFAULT_DOCS_DIR)), "stale: run `make install`"
    no_embedding(monkeypatch)
    progress: list[tuple[int, int]] = []
    report = ensure_index(Settings(data_dir=tmp_path / "data"), progress=lambda done, total: progress.append((done, total)))
    files = len(load_docs(DEFAULT_DOCS_DIR))
    assert (report.added, report.prebuilt, report.embedded) == (files, files, 0)
    assert progress[-1] == (1000, 1000) and [done for done, _ in progress] == sorted(done for done, _ in progress)
    hits = search("Mikä on LoRA?", index=tmp_path / "data" / "index", k=3).hits
    assert hits and hits[0].lang == "fi"


def test_prepare_reports_readiness_and_a_failure_without_raising(tmp_path: Path) -> None:
    readiness = Readiness()
    assert readiness.stage.name == "index" and not readiness.wait(0)
    prepare(Settings(data_dir=tmp_path / "data"), readiness, docs_dir=tmp_path / "missing")
    assert readiness.wait(0) and readiness.stage.name == "failed"
    assert "Folder not found" in readiness.stage.error

    seen: list[Stage] = []
    ready = Readiness()
    original = ready.set
    ready.set = lambda stage: (seen.append(stage), original(stage))[1]  # type: ignore[method-assign]
    prepare(Settings(data_dir=tmp_path / "data"), ready, docs_dir=write_docs(tmp_path / "docs"))
    assert ready.wait(0) and ready.stage == Stage("ready") and ready.report is not None and ready.report.added == 3
    names = [stage.name for stage in seen]
    assert names[0] == "index" and names[-2:] == ["models", "ready"]
