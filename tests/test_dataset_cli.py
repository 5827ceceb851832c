"""`python -m trainer validate` and `python -m trainer dataset ...` as real subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from trainer.cli.main import main

BROKEN = Path(__file__).parent / "data" / "broken"
ROOT = Path(__file__).resolve().parent.parent
FT = "18-fine-tuning"
REPORT_KEYS = {"examples", "errors", "error_lines", "warnings", "tokens", "estimate", "method", "notebook_checks"}


def trainer(*args: str) -> subprocess.CompletedProcess[str]:
    # TUTOR_DATA_DIR comes from the autouse fixture's environment.
    return subprocess.run([sys.executable, "-m", "trainer", *args], capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_validate_json_contract_on_valid_file(course_dir: Path) -> None:
    run = trainer("validate", str(course_dir / FT / "python/openai/training-data.jsonl"), "--model", "gpt-4o-mini", "--json")
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert set(report) == REPORT_KEYS
    assert set(report["estimate"]) == {"epochs", "billed_tokens", "cost_usd", "model"}
    assert report["examples"] == 10 and report["errors"] == {} and report["error_lines"] == []
    assert report["estimate"]["model"] == "gpt-4o-mini" and report["estimate"]["epochs"] == 10
    assert report["estimate"]["billed_tokens"] == 10 * report["tokens"]["total"]
    assert report["estimate"]["cost_usd"] > 0 and len(report["tokens"]["per_example"]) == 10
    assert {"total", "per_example_max", "per_example_mean", "assistant_total", "over_limit"} <= set(report["tokens"])


def test_validate_exit_codes_and_error_lines(tmp_path: Path) -> None:
    run = trainer("validate", str(BROKEN / "missing_content.jsonl"), "--json", "--purpose", "validation")
    assert run.returncode == 1
    report = json.loads(run.stdout)
    assert report["errors"] == {"missing_content": 3}  # content parts (line 4) are fine for the API
    assert report["notebook_checks"] == {"missing_content": 4}  # the notebook flags them all
    assert set(report["error_lines"][0]) == {"line", "error", "message", "fix"} and report["error_lines"][0]["line"] == 1
    text = trainer("validate", str(BROKEN / "latin1.jsonl"))
    assert text.returncode == 1 and "line 2: invalid_encoding" in text.stdout and "Traceback" not in text.stderr
    for args in (("validate", str(tmp_path / "missing.jsonl")), ("validate", str(BROKEN / "too_few.jsonl"), "--model", "gpt-9")):
        bad = trainer(*args)
        assert bad.returncode == 2 and bad.stderr.startswith("error: ") and "Traceback" not in bad.stderr


def test_dataset_commands(tmp_path: Path, course_dir: Path, capsys) -> None:
    """In-process through `trainer.cli.main.main` (the same parser and handlers; one subprocess above is enough)."""

    def run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    assert run("dataset", "create", "elle")[0] == 0
    code, out, _ = run("dataset", "import", "elle", str(course_dir / FT / "python/openai/training-data.jsonl"))
    assert code == 0 and "Imported 10 examples" in out
    code, out, _ = run("dataset", "add", "elle", "--user", "Tell me about Neon", "--assistant", "Neon glows red - in signs overhead.", "--system", "Elle")
    assert code == 0 and "example 11" in out
    listed = json.loads(run("dataset", "list", "--json")[1])
    assert [(d["name"], d["examples"]) for d in listed] == [("elle", 11)]
    assert json.loads(run("dataset", "list", "--json", "--learner", "someone-else")[1]) == []
    code, _, err = run("dataset", "import", "elle", str(BROKEN / "tools.jsonl"), "--append")
    assert code == 2 and "unchanged" in err
    code, _, err = run("dataset", "add", "elle", "--user", "only a question")
    assert code == 2 and "--assistant" in err
    code, out, _ = run("dataset", "export", "elle", str(tmp_path / "out"), "--validation-fraction", "0.2")
    paths = [Path(p) for p in out.split()]
    assert code == 0 and [p.name for p in paths] == ["elle.train.jsonl", "elle.validation.jsonl"]
    assert run("validate", str(paths[0]), "--validation-file", str(paths[1]))[0] == 1  # 9 left for training: too few
    assert run("validate", str(paths[1]), "--purpose", "validation")[0] == 0
    code, out, _ = run("dataset", "validate", "elle", "--json")
    assert code == 0 and json.loads(out)["examples"] == 11
    code, out, _ = run("dataset", "remove", "elle", "11")
    assert code == 0 and json.loads(run("dataset", "show", "elle", "--json")[1])["examples"][-1]["messages"][1]["content"] == "Tell me about Mercury"


def test_a_misspelt_setting_is_a_short_error(monkeypatch, capsys) -> None:
    monkeypatch.setenv("TUTOR_DATADIR", "/tmp/elsewhere")
    assert main(["dataset", "list"]) == 2
    err = capsys.readouterr().err
    assert "Unknown setting TUTOR_DATADIR" in err and "TUTOR_DATA_DIR" in err and "Traceback" not in err
