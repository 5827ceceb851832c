"""The warm start's shortcuts (issue 16): the retriever's snapshot, the index's revision file and the docs manifest.

Each is trusted only while the index and the docs are as they were: these tests change one or the other
(in this process and in another) and check that answers follow at once, that broken files cost a rebuild
and nothing else, and that an unchanged start opens no Chroma collection.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import knowledge.index as lesson_index
import knowledge.search as search_module
from core.settings import Settings
from knowledge.index import MANIFEST_FILE, ensure_index
from knowledge.ingest import ingest
from knowledge.search import get_retriever, search
from knowledge.snapshot import SNAPSHOT_FILE, load_snapshot
from knowledge.store import REVISION_FILE, forget_store, open_store, read_revision

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = [("What is a LoRA adapter?", "en"), ("How many examples do I need?", "en"),
             ("Mitä hienosäätö tarkoittaa?", "fi"), ("Miten luen häviökäyrää?", "fi")]
EPOCHS = "# Notes {#notes}\n\n## Epochs {#epochs}\n\nAn epoch is one pass over the training data.\n"
BATCH = "# More {#more}\n\n## Batch size {#batch-size}\n\nThe batch size is how many examples each optimizer step sees.\n"


def _docs(tmp_path: Path, *files: tuple[str, str]) -> Path:
    docs = tmp_path / "docs"
    (docs / "en").mkdir(parents=True, exist_ok=True)
    for name, content in files:
        (docs / "en" / name).write_text(content, encoding="utf-8")
    return docs


def _forget(index: Path) -> None:
    """As a new process finds things: no cached retriever, no open collection."""
    search_module._retrievers.pop(str(index.resolve()), None)
    forget_store(str(index.resolve()))


def _ranking(index: Path) -> list[tuple]:
    results = [search(question, lang=lang, index=index, k=5) for question, lang in QUESTIONS]
    return [(r.covered, [(h.link, h.score) for h in r.hits], [h.link for h in r.near_ties], r.signals) for r in results]


def test_a_retriever_read_back_from_its_snapshot_ranks_exactly_as_one_built_from_chroma(lesson_settings: Settings) -> None:
    index = lesson_settings.index_dir
    (index / SNAPSHOT_FILE).unlink(missing_ok=True)
    _forget(index)
    built = _ranking(index)  # built from Chroma, and saved
    revision = read_revision(index)
    assert revision and revision == open_store(index).revision()
    saved = load_snapshot(index, revision)
    assert saved is not None and len(saved.sections) > 50
    _forget(index)
    assert _ranking(index) == built
    assert get_retriever(index).store is None  # it came from the snapshot: no collection opened
    # The MiniLM vectors (the bench's baseline) still load from the index on demand.
    assert get_retriever(index).units.matrix.shape[0] > 100


def test_a_write_from_another_process_shows_in_the_next_answer(tmp_path: Path) -> None:
    docs, index = _docs(tmp_path, ("a.md", EPOCHS)), tmp_path / "index"
    ingest(docs, index)
    assert search("What is the batch size?", index=index, k=1).hits[0].anchor == "epochs"
    _docs(tmp_path, ("b.md", BATCH))
    script = "import sys; from pathlib import Path; from knowledge.ingest import ingest; ingest(Path(sys.argv[1]), Path(sys.argv[2]))"
    done = subprocess.run([sys.executable, "-c", script, str(docs), str(index)], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    # No waiting: the revision file changed, so this process's cached retriever is replaced at once.
    assert search("What is the batch size?", index=index, k=1).hits[0].anchor == "batch-size"


def test_a_broken_or_foreign_snapshot_only_costs_a_rebuild(tmp_path: Path) -> None:
    docs, index = _docs(tmp_path, ("a.md", EPOCHS)), tmp_path / "index"
    ingest(docs, index)
    get_retriever(index)
    snapshot = index / SNAPSHOT_FILE
    good = snapshot.read_bytes()
    for broken in (b"", b"not json\n", good[: len(good) // 2], good.replace(read_revision(index).encode(), b"0" * 32, 1)):
        snapshot.write_bytes(broken)
        _forget(index)
        assert search("What is an epoch?", index=index, k=1).hits[0].anchor == "epochs"
        assert snapshot.read_bytes().split(b"\n", 1)[0] == good.split(b"\n", 1)[0]  # rewritten for the current revision
    # Saved by other code (another version of the package): not trusted.
    header, body = good.split(b"\n", 1)
    stale = json.loads(header) | {"fingerprint": "another version"}
    snapshot.write_bytes(json.dumps(stale).encode() + b"\n" + body)
    assert load_snapshot(index, read_revision(index)) is None


def test_an_index_from_before_the_revision_file_gets_one_and_still_answers(tmp_path: Path) -> None:
    docs, index = _docs(tmp_path, ("a.md", EPOCHS)), tmp_path / "index"
    ingest(docs, index)
    revision = read_revision(index)
    (index / REVISION_FILE).unlink()
    (index / SNAPSHOT_FILE).unlink(missing_ok=True)
    _forget(index)
    assert search("What is an epoch?", index=index, k=1).hits[0].anchor == "epochs"
    assert read_revision(index) == revision and (index / SNAPSHOT_FILE).is_file()


def test_ensure_index_trusts_its_manifest_only_while_the_docs_and_the_index_are_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = _docs(tmp_path, ("a.md", EPOCHS))
    settings = Settings(data_dir=tmp_path / "data", model_cache=ROOT / ".cache" / "models")
    first = ensure_index(settings, docs)
    assert first.added == 1 and (settings.index_dir / MANIFEST_FILE).is_file()
    opened = []
    real_open = lesson_index.open_store
    monkeypatch.setattr(lesson_index, "open_store", lambda *a, **k: opened.append(1) or real_open(*a, **k))

    again = ensure_index(settings, docs)
    assert (again.added, again.updated, again.skipped, again.total_sections) == (0, 0, 1, first.total_sections)
    assert opened == []  # nothing changed: the index was not opened

    (docs / "en" / "a.md").write_text(EPOCHS.replace("one pass", "one full pass"), encoding="utf-8")
    changed = ensure_index(settings, docs)
    assert changed.updated == 1 and opened == [1]
    assert "one full pass" in search("What is an epoch?", index=settings, k=1).hits[0].text

    # Another folder ingested into the same index: the manifest no longer vouches for it, so it is checked.
    ingest(_docs(tmp_path / "other", ("b.md", BATCH)), settings)
    checked = ensure_index(settings, docs)
    assert (checked.skipped, opened) == (1, [1, 1])
    assert ensure_index(settings, docs).skipped == 1 and opened == [1, 1]
