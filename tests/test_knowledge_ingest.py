"""Ingest with the real parts: real chromadb (embedded and a real Chroma server), the real MiniLM and e5 models."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from core.settings import Settings
from knowledge.chroma_functions import MiniLMEmbeddingFunction, MultilingualEmbeddingFunction
from knowledge.embeddings import EMBEDDING_NAME
from knowledge.ingest import ingest
from knowledge.loader import MAX_FILE_BYTES, IngestError
from knowledge.search import search
from knowledge.store import MULTILINGUAL_COLLECTION_NAME, IndexNotFound, forget_store, open_store

DOCS = {
    "en/basics.md": (
        "# Basics {#basics}\n\nFine-tuning trains a pre-trained model further on your own examples.\n\n"
        "## Epochs {#epochs}\n\nAn epoch is one full pass over the training data. Three epochs is a common start.\n\n"
        "## Learning rate {#learning-rate}\n\nThe learning rate sets how big each weight update is.\n"
    ),
    "en/data.md": (
        "# Training data {#data}\n\n## JSONL format {#jsonl}\n\n"
        "Each line of the training file is one JSON object with a list of chat messages.\n"
    ),
    "fi/basics.md": (
        "# Perusteet {#basics}\n\nHienosäätö kouluttaa esikoulutettua mallia lisää omilla esimerkeillä.\n\n"
        "## Epookit {#epochs}\n\nEpookki on yksi kokonainen kierros koulutusdatan läpi.\n\n"
        "## Oppimisnopeus {#learning-rate}\n\nOppimisnopeus määrää, kuinka suuri kukin painojen päivitys on.\n"
    ),
}


def write_docs(root: Path, docs: dict[str, str] = DOCS) -> Path:
    for relative, text in docs.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def stored(index: Path) -> dict[str, list[dict]]:
    """source -> metadata of its section records."""
    collection = open_store(index).collection
    result = collection.get(where={"kind": "section"}, include=["metadatas"])
    files: dict[str, list[dict]] = {}
    for meta in result["metadatas"]:
        files.setdefault(meta["source"], []).append(meta)
    return files


def snapshot(index: Path) -> list[tuple]:
    """What a learner would see for a few questions, to compare before and after a failed ingest."""
    questions = ["What is an epoch?", "Mikä on oppimisnopeus?", "What does a line of the training file hold?"]
    return [
        (result.covered, [(hit.source, hit.anchor, hit.score) for hit in result.hits])
        for result in (search(question, index=index, k=3) for question in questions)
    ]


@pytest.fixture(scope="module")
def course_index(course_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    index = tmp_path_factory.mktemp("course") / "index"
    report = ingest(course_dir, index)
    assert report.added == 2 and report.removed == 0
    return index


def test_course_ingest_repairs_mojibake_and_keeps_metadata(course_index: Path) -> None:
    collection = open_store(course_index).collection
    everything = collection.get(include=["documents", "metadatas"])
    text = "\n".join(everything["documents"]) + "\n".join(m.get("heading", "") for m in everything["metadatas"])
    assert "hienosäätö" in text
    assert "√" not in text
    assert "<!--" not in text and "CO_OP_TRANSLATOR" not in text and "](../../../translated_images" not in text

    files = stored(course_index)
    assert set(files) == {"18-fine-tuning/README.md", "translations/fi/18-fine-tuning/README.md"}
    assert {m["lang"] for m in files["18-fine-tuning/README.md"]} == {"en"}
    assert {m["lang"] for m in files["translations/fi/18-fine-tuning/README.md"]} == {"fi"}
    english = {m["heading"]: m["anchor"] for m in files["18-fine-tuning/README.md"]}
    assert english["Fine-Tuning Your LLM > What is fine-tuning for language models?"] == "what-is-fine-tuning-for-language-models"
    finnish = {m["heading"]: m["anchor"] for m in files["translations/fi/18-fine-tuning/README.md"]}
    assert finnish["LLM:n hienosäätö > Mitä hienosäätö kielimalleille tarkoittaa?"] == "mitä-hienosäätö-kielimalleille-tarkoittaa"
    assert all(m["title"] == "LLM:n hienosäätö" for m in files["translations/fi/18-fine-tuning/README.md"])


def test_course_search_prefers_the_learners_language(course_index: Path) -> None:
    finnish = search("Mitä hienosäätö kielimalleille tarkoittaa?", index=course_index, k=3)
    assert finnish.lang == "fi" and finnish.covered
    assert [hit.lang for hit in finnish.hits] == ["fi", "fi", "fi"]
    # "Learning objectives" lists this very question, so it may rank first; the section itself must be close.
    assert "LLM:n hienosäätö > Mitä hienosäätö kielimalleille tarkoittaa?" in [hit.heading for hit in finnish.hits]
    english = search("What is fine-tuning for language models?", index=course_index, k=3).to_json()
    assert english["lang"] == "en" and english["covered"] is True
    assert "Fine-Tuning Your LLM > What is fine-tuning for language models?" in [hit["heading"] for hit in english["hits"]]
    assert set(english["hits"][0]) == {"text", "heading", "source", "lang", "score"}


def test_collection_uses_our_offline_embedding_function(tmp_path: Path) -> None:
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    index = tmp_path / "index"
    ingest(write_docs(tmp_path / "docs"), index)
    collection = open_store(index).collection
    assert isinstance(collection._embedding_function, MiniLMEmbeddingFunction)
    # A fresh client reading the stored configuration sees our function's name, not chromadb's default.
    import chromadb

    fresh = chromadb.PersistentClient(path=str(index), settings=chromadb.Settings(anonymized_telemetry=False))
    model = fresh.get_collection("lesson_sections", embedding_function=MiniLMEmbeddingFunction())
    assert model.configuration["embedding_function"].name() == EMBEDDING_NAME


def test_reingest_is_incremental(tmp_path: Path) -> None:
    docs, index = write_docs(tmp_path / "docs"), tmp_path / "index"
    first = ingest(docs, index)
    assert (first.added, first.updated, first.removed, first.skipped) == (3, 0, 0, 0)
    before = {source: [m["digest"] for m in metas] for source, metas in stored(index).items()}

    again = ingest(docs, index)
    assert (again.added, again.updated, again.removed, again.skipped, again.chunks) == (0, 0, 0, 3, 0)
    assert again.total_chunks == first.total_chunks

    (docs / "en" / "data.md").write_text(DOCS["en/data.md"] + "\n## Validation file {#validation}\n\nA validation file measures overfitting.\n", encoding="utf-8")
    changed = ingest(docs, index)
    assert (changed.added, changed.updated, changed.removed, changed.skipped) == (0, 1, 0, 2)
    after = stored(index)
    assert [m["digest"] for m in after["en/basics.md"]] == before["en/basics.md"]  # untouched
    assert {m["anchor"] for m in after["en/data.md"]} == {"jsonl", "validation"}
    assert search("What does a validation file measure?", index=index, lang="en", k=1).hits[0].anchor == "validation"

    (docs / "en" / "data.md").unlink()
    removed = ingest(docs, index)
    assert (removed.added, removed.updated, removed.removed, removed.skipped) == (0, 0, 1, 2)
    assert "en/data.md" not in stored(index)
    assert all(hit.source != "en/data.md" for hit in search("training file JSONL line", index=index, k=5).hits)


@pytest.mark.parametrize("problem", ["binary", "empty", "huge", "dangling link"])
def test_bad_file_is_refused_and_the_index_is_untouched(tmp_path: Path, problem: str) -> None:
    docs, index = write_docs(tmp_path / "docs"), tmp_path / "index"
    ingest(docs, index)
    before, count = snapshot(index), open_store(index).count()

    (docs / "en" / "basics.md").write_text(DOCS["en/basics.md"] + "\nA new paragraph that must not be indexed.\n", encoding="utf-8")
    bad = docs / "en" / "bad.md"
    if problem == "binary":
        bad.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    elif problem == "empty":
        bad.write_text("", encoding="utf-8")
    elif problem == "huge":
        bad.write_text("# Huge\n\n" + "word " * (MAX_FILE_BYTES // 5 + 10), encoding="utf-8")
    else:
        bad.symlink_to(docs / "missing.md")
    with pytest.raises(IngestError) as error:
        ingest(docs, index)
    message = str(error.value)
    assert "en/bad.md" in message and "index is unchanged" in message
    assert open_store(index).count() == count
    assert snapshot(index) == before


def test_unusable_folders_are_refused(tmp_path: Path) -> None:
    index = tmp_path / "index"
    ingest(write_docs(tmp_path / "docs"), index)
    count = open_store(index).count()
    (tmp_path / "no-docs").mkdir()
    (tmp_path / "no-docs" / "notes.txt").write_text("not markdown", encoding="utf-8")
    for folder, expected in [(tmp_path / "missing", "not found"), (tmp_path / "no-docs", "No markdown")]:
        with pytest.raises(IngestError, match=expected):
            ingest(folder, index)
    assert open_store(index).count() == count


def test_unreadable_folder_is_refused(tmp_path: Path) -> None:
    docs = write_docs(tmp_path / "docs")
    (docs / "fi").chmod(0)
    try:
        if os.geteuid() != 0:
            with pytest.raises(IngestError, match="Cannot read folder"):
                ingest(docs, tmp_path / "index")
            return
        # Root reads any folder, so the refusal is checked as an ordinary user would meet it: the same
        # ingest in a process without root's permission-bypassing capabilities (CI runs as root).
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv (util-linux) is needed to check permissions as root"
        probe = (
            "import sys; from pathlib import Path; from knowledge.ingest import ingest\n"
            "from knowledge.loader import IngestError\n"
            "try:\n    ingest(Path(sys.argv[1]), Path(sys.argv[2]))\nexcept IngestError as exc:\n    print(exc)\n"
        )
        done = subprocess.run(
            [setpriv, "--bounding-set", "-dac_override,-dac_read_search", sys.executable, "-c", probe, str(docs), str(tmp_path / "index")],
            capture_output=True, text=True, timeout=300, cwd=Path(__file__).resolve().parent.parent,
        )
        assert "Cannot read folder" in done.stdout, (done.stdout, done.stderr)
        assert not (tmp_path / "index").exists() or not any((tmp_path / "index").iterdir())
    finally:
        (docs / "fi").chmod(0o755)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_chroma_server_via_settings(tmp_path: Path) -> None:
    chroma = Path(sys.executable).parent / "chroma"
    if not chroma.exists():
        pytest.skip("the chroma CLI is not installed")
    port = _free_port()
    log = (tmp_path / "chroma.log").open("w")
    server = subprocess.Popen([str(chroma), "run", "--path", str(tmp_path / "server"), "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    try:
        settings = Settings(data_dir=tmp_path / "data", chroma_host="127.0.0.1", chroma_port=port)
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        report = ingest(write_docs(tmp_path / "docs"), settings)
        assert report.index == f"http://127.0.0.1:{port}" and report.added == 3
        result = search("What is an epoch?", index=settings, k=2)
        assert result.covered and result.hits[0].anchor == "epochs"
        assert not (tmp_path / "data" / "index").exists()  # nothing went to the embedded store
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


def _with_listed_questions() -> dict[str, str]:
    return {
        **DOCS,
        "en/data.md": DOCS["en/data.md"].replace(
            "## JSONL format {#jsonl}\n\n", "## JSONL format {#jsonl}\n\n<!-- questions:\n- What goes on each row of my upload?\n- file layout for chat examples\n-->\n\n"
        ),
    }


def test_units_and_listed_questions_get_multilingual_vectors(tmp_path: Path) -> None:
    index = tmp_path / "index"
    ingest(write_docs(tmp_path / "docs", _with_listed_questions()), index)
    store = open_store(index)
    assert isinstance(store.multilingual._embedding_function, MultilingualEmbeddingFunction)
    records = store.collection.get(where={"kind": {"$in": ["unit", "question"]}}, include=["metadatas", "documents"])
    multilingual = store.multilingual.get(include=["embeddings", "metadatas"])
    assert sorted(records["ids"]) == sorted(multilingual["ids"])  # every unit and question, under the same id
    assert all(abs(float(np.linalg.norm(vector)) - 1.0) < 1e-3 for vector in multilingual["embeddings"])
    questions = [doc for doc, meta in zip(records["documents"], records["metadatas"]) if meta["kind"] == "question"]
    assert sorted(questions) == ["What goes on each row of my upload?", "file layout for chat examples"]
    # The listed questions are searchable, and never shown as the section's text.
    result = search("what goes on a row of the upload?", index=index, lang="en", k=1)
    assert result.hits[0].anchor == "jsonl" and "upload" not in result.hits[0].text


def test_an_index_without_multilingual_vectors_is_rebuilt_by_ingest(tmp_path: Path) -> None:
    docs, index = write_docs(tmp_path / "docs"), tmp_path / "index"
    ingest(docs, index)
    store = open_store(index)
    store.client.delete_collection(MULTILINGUAL_COLLECTION_NAME)  # as an index from an older version
    forget_store(store.location)
    with pytest.raises(IndexNotFound, match="older finetune-tutor"):
        search("What is an epoch?", index=index)
    report = ingest(docs, index)
    assert (report.added, report.updated, report.skipped) == (0, 3, 0)
    assert search("What is an epoch?", index=index, k=1).hits[0].anchor == "epochs"
    assert ingest(docs, index).skipped == 3  # and then it is up to date


def test_a_failed_write_keeps_the_previous_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs, index = write_docs(tmp_path / "docs"), tmp_path / "index"
    ingest(docs, index)
    store = open_store(index)
    before = (sorted(store.collection.get(include=[])["ids"]), sorted(store.multilingual.get(include=[])["ids"]))
    (docs / "en" / "basics.md").write_text(DOCS["en/basics.md"] + "\nA new paragraph that must not be indexed.\n", encoding="utf-8")

    def full_disk(**kwargs) -> None:
        raise RuntimeError("database or disk is full")

    monkeypatch.setattr(store.multilingual, "upsert", full_disk)  # the second collection's write fails
    with pytest.raises(IngestError, match="previous index was kept"):
        ingest(docs, index)
    monkeypatch.undo()
    assert (sorted(store.collection.get(include=[])["ids"]), sorted(store.multilingual.get(include=[])["ids"])) == before
    assert ingest(docs, index).updated == 1  # the next ingest goes through
