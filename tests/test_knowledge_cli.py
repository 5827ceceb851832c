"""`python -m knowledge`: ingest, search (single and batch), ask; JSON contracts and clean errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from knowledge.cli import main

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def lessons(_built_lesson_index: Path) -> Path:
    return _built_lesson_index


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_ingest_prints_a_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docs = tmp_path / "docs" / "en"
    docs.mkdir(parents=True)
    (docs / "a.md").write_text("# Notes {#notes}\n\nAn epoch is one pass over the training data.\n", encoding="utf-8")
    code, out, _ = run(capsys, "ingest", str(tmp_path / "docs"), "--index", str(tmp_path / "index"), "--json")
    report = json.loads(out)
    assert code == 0 and report["added"] == 1 and report["chunks"] > 0
    assert set(report) == {
        "source_dir", "index", "added", "updated", "removed", "skipped", "chunks", "prebuilt", "embedded", "total_chunks",
        "total_sections", "seconds", "warnings",
    }
    assert report["prebuilt"] == 0 and report["embedded"] > 0  # a folder of the learner's own: embedded, nothing precomputed
    code, out, _ = run(capsys, "ingest", str(tmp_path / "docs"), "--index", str(tmp_path / "index"))
    assert code == 0 and "0 added" in out and "1 unchanged" in out


def test_search_batch_json(tmp_path: Path, lessons: Path, capsys: pytest.CaptureFixture[str]) -> None:
    batch = tmp_path / "questions.jsonl"
    lines = [
        {"question": "How do I read a loss curve?"},
        {"question": "Mitä epookki tarkoittaa?", "lang": "fi"},
        {"question": "What is the capital of France?", "lang": "en"},
        {"question": ""},
    ]
    batch.write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n", encoding="utf-8")
    code, out, _ = run(capsys, "search", "--batch", str(batch), "--index", str(lessons), "-k", "2", "--json")
    results = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(results) == 4
    assert all(set(r) == {"question", "lang", "covered", "hits"} for r in results)
    assert [r["covered"] for r in results] == [True, True, False, False]
    assert [r["lang"] for r in results[:3]] == ["en", "fi", "en"]
    assert len(results[0]["hits"]) == 2 and results[3]["hits"] == []
    assert set(results[0]["hits"][0]) == {"text", "heading", "source", "lang", "score"}
    assert results[1]["hits"][0]["lang"] == "fi"


def test_search_text_output(lessons: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "search", "What is catastrophic forgetting?", "--index", str(lessons), "-k", "1")
    assert code == 0 and "covered" in out and "#catastrophic-forgetting" in out


def test_ask_uses_the_project_index_by_default(lesson_settings, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "ask", "Kuinka monta esimerkkiä tarvitsen?", "--json")
    payload = json.loads(out)
    assert code == 0 and payload["question"] == "Kuinka monta esimerkkiä tarvitsen?"
    assert payload["lang"] == "fi" and payload["covered"] is True and payload["mode"] == "extractive"
    assert "**Lähteet**" in payload["answer"] and payload["citations"][0]["anchor"] == "example-counts"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ingest", "/definitely/not/here"], "Folder not found"),
        (["search", "", "--index", "{lessons}"], "Ask a question"),
        (["search", "epochs", "--index", "{tmp}/nowhere"], "No index at"),
        (["search", "--batch", "{tmp}/bad.jsonl", "--index", "{lessons}"], "not valid JSON"),
        (["search", "x", "-k", "0", "--index", "{lessons}"], "-k must be"),
    ],
)
def test_errors_are_one_clear_line(tmp_path: Path, lessons: Path, capsys, argv: list[str], message: str) -> None:
    (tmp_path / "bad.jsonl").write_text('{"question": "ok"}\n{oops\n', encoding="utf-8")
    argv = [arg.format(lessons=lessons, tmp=tmp_path) for arg in argv]
    code, _, err = run(capsys, *argv)
    assert code == 2 and err.startswith("error: ") and message in err and "Traceback" not in err


def test_module_entry_point_reports_errors_without_traceback(tmp_path: Path) -> None:
    empty = tmp_path / "docs"
    empty.mkdir()
    (empty / "blank.md").write_text("", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "knowledge", "ingest", str(empty), "--index", str(tmp_path / "index")],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2
    assert "blank.md: file is empty" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "index").exists() or not any((tmp_path / "index").iterdir())
