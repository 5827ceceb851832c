"""The validator: course data, the broken-file corpus, the notebook's exact counts, tokens, cost, big files."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import bpe_openai
import pytest

from notebook_reference import notebook_format_errors
from trainer.validation.rules import FIXES, NOTEBOOK_ERRORS
from trainer.data.examples import DatasetError
from trainer.data.prices import load_prices
from trainer.data.tokens import default_epochs, resolve_model
from trainer.validation.report import format_report, validate_examples, validate_file

BROKEN = Path(__file__).parent / "data" / "broken"
EXPECTED = json.loads((BROKEN / "expected.json").read_text())
FT = "18-fine-tuning"


def notebook_tokens(messages: list[dict], encoding) -> int:
    """The notebook's `num_tokens_from_messages` (string values only, as there)."""
    n = 0
    for message in messages:
        n += 3
        for key, value in message.items():
            n += len(encoding.encode(value))
            if key == "name":
                n += 1
    return n + 3


def test_course_files_are_valid(course_dir: Path) -> None:
    train = course_dir / FT / "python/openai/training-data.jsonl"
    validation = course_dir / FT / "python/openai/validation-data.jsonl"
    report = validate_file(train, "gpt-4o-mini", compare_with=validation)
    assert report.ok and report.examples == 10
    assert {w.warning for w in report.warnings} == {"few_examples"}  # no overlap with its validation file
    assert validate_file(validation, purpose="validation").ok
    assignment = validate_file(course_dir / FT / "assignments/python/training_set.jsonl", "gpt-3.5-turbo")
    assert assignment.ok and assignment.examples == 10
    assert assignment.tokens["encoding"] == "cl100k_base" and assignment.tokens["limit"] == 16_385


def test_course_token_counts_match_the_notebook(course_dir: Path) -> None:
    path = course_dir / FT / "python/openai/training-data.jsonl"
    dataset = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for model, encoding in (("gpt-4o-mini", "o200k_base"), ("gpt-3.5-turbo", "cl100k_base")):
        enc = bpe_openai.get_encoding(encoding)
        report = validate_file(path, model)
        assert report.per_example_tokens.tolist() == [notebook_tokens(ex["messages"], enc) for ex in dataset]
        assistant = sum(len(enc.encode(m["content"])) for ex in dataset for m in ex["messages"] if m["role"] == "assistant")
        assert report.tokens["assistant_total"] == assistant
        # The notebook's estimate: 10 examples -> 100 // 10 = 10 epochs, every example under the limit.
        assert report.estimate.epochs == 10
        assert report.estimate.billed_tokens == 10 * sum(report.per_example_tokens.tolist())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_corpus(name: str) -> None:
    expected = EXPECTED[name]
    report = validate_file(BROKEN / name, purpose=expected.get("purpose", "validation"), method=expected.get("method", "supervised"))
    assert report.errors == expected["errors"]
    assert report.notebook == expected.get("notebook", {})  # the notebook's counts, shown apart
    if "examples" in expected:
        assert report.examples == expected["examples"]
    for error, lines in expected.get("lines", {}).items():
        assert [e.line for e in report.error_lines if e.error == error] == lines
    assert set(expected.get("warnings", [])) <= {w.warning for w in report.warnings}
    for entry in report.error_lines:
        assert entry.message and entry.fix == FIXES[entry.error]
    assert not report.errors or not report.ok


def test_corpus_covers_every_error_class() -> None:
    covered = {error for expected in EXPECTED.values() for error in expected["errors"]}
    assert covered == set(FIXES)


def test_bad_encodings_say_where_and_what() -> None:
    latin1 = validate_file(BROKEN / "latin1.jsonl", purpose="validation").error_lines[0]
    assert latin1.line == 2 and "0xE4" in latin1.message and "Latin-1" in latin1.message
    assert "PNG image" in validate_file(BROKEN / "image.png").error_lines[0].message
    assert "UTF-16" in validate_file(BROKEN / "utf16.jsonl").error_lines[0].message


def test_notebook_counts_are_exact_on_fuzzed_data(tmp_path: Path) -> None:
    rng = random.Random(7)
    dataset = [_fuzzed_example(rng) for _ in range(3000)]
    path = tmp_path / "fuzz.jsonl"
    path.write_text("".join(json.dumps(ex) + "\n" for ex in dataset), encoding="utf-8")
    reference = notebook_format_errors(dataset)
    assert len(reference) == len(NOTEBOOK_ERRORS)  # every notebook check fired
    streamed = validate_file(path, purpose="validation")
    in_memory = validate_examples(dataset, purpose="validation")
    for report in (streamed, in_memory):
        assert report.notebook == reference
        assert report.to_dict()["notebook_checks"] == reference
    # The fast path (streamed) and the slow path (in memory) agree on everything else too.
    assert streamed.errors == in_memory.errors and streamed.errors
    assert set(streamed.errors) - set(FIXES) == set()
    assert [(w.warning, w.count, w.lines) for w in streamed.warnings] == [(w.warning, w.count, w.lines) for w in in_memory.warnings]
    assert streamed.per_example_tokens.tolist() == in_memory.per_example_tokens.tolist()


def test_fast_and_slow_paths_agree_on_clean_data(tmp_path: Path) -> None:
    rng = random.Random(3)
    dataset = [_clean_example(rng) for _ in range(2000)]
    dataset[5] = dataset[3]  # a duplicate
    path = tmp_path / "clean.jsonl"
    path.write_text("".join(json.dumps(ex) + "\n" for ex in dataset), encoding="utf-8")
    streamed, in_memory = validate_file(path), validate_examples(dataset)
    assert streamed.ok and in_memory.ok
    assert streamed.to_dict() == in_memory.to_dict()
    assert [w.lines for w in streamed.warnings if w.warning == "duplicate_example"] == [[6]]


def test_token_limit_truncation_and_cost(tmp_path: Path) -> None:
    long_reply = "word " * 20_000
    dataset = [{"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": "a"}]} for i in range(11)]
    dataset.append({"messages": [{"role": "user", "content": "essay"}, {"role": "assistant", "content": long_reply}]})
    report = validate_examples(dataset, "gpt-3.5-turbo")
    limit = resolve_model("gpt-3.5-turbo").training_limit
    per_example = report.per_example_tokens.tolist()
    assert report.tokens["over_limit"] == 1 and max(per_example) > limit
    warned = {w.warning: w.lines for w in report.warnings}
    assert warned["over_token_limit"] == [12] and warned["long_assistant_message"] == [12]
    assert report.estimate.epochs == default_epochs(12) == 8
    assert report.estimate.billed_tokens == 8 * sum(min(limit, n) for n in per_example)
    assert report.estimate.cost_usd == pytest.approx(report.estimate.billed_tokens / 1e6 * 8.00, abs=1e-4)


@pytest.mark.parametrize(
    ("examples", "epochs"),
    [(0, 25), (1, 25), (3, 25), (5, 20), (10, 10), (33, 3), (34, 3), (8333, 3), (8334, 2), (12_500, 2), (25_001, 1), (100_000, 1)],
)
def test_default_epochs_rule(examples: int, epochs: int) -> None:
    assert default_epochs(examples) == epochs


def test_price_table_is_dated_and_overridable(settings, tmp_path: Path) -> None:
    shipped = load_prices()
    assert shipped.as_of and shipped.models["gpt-4o-mini-2024-07-18"].training_per_1m > 0
    settings.data_dir.mkdir(parents=True)
    (settings.data_dir / "prices.json").write_text(
        json.dumps({"as_of": "2030-01-01", "models": {"gpt-4o-mini-2024-07-18": {"training_per_1m": 1.0}}})
    )
    table = load_prices(settings.data_dir)
    assert table.as_of == "2030-01-01" and table.training_cost("gpt-4o-mini-2024-07-18", 2_000_000) == 2.0
    assert table.models["gpt-4o-2024-08-06"] == shipped.models["gpt-4o-2024-08-06"]
    (settings.data_dir / "prices.json").write_text('{"as_of": "x", "models": {"m": {"per_token": 1}}}')
    with pytest.raises(DatasetError, match="price table"):
        load_prices(settings.data_dir)


def test_models_and_aliases() -> None:
    assert resolve_model("gpt-4o-mini").name == "gpt-4o-mini-2024-07-18"
    assert resolve_model("ft:gpt-4.1-mini-2025-04-14:org::abc").encoding == "o200k_base"
    with pytest.raises(DatasetError, match="Unknown model"):
        resolve_model("gpt-2")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads peak memory from /proc")
def test_huge_file_is_streamed(tmp_path: Path) -> None:
    """~80 MB of JSONL: peak memory stays far below what loading it whole would take (~600 MB)."""
    path = tmp_path / "huge.jsonl"
    line = '{"messages": [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Question %d?"}, {"role": "assistant", "content": "%s"}]}\n'
    filler = "Answer text " * 30
    with open(path, "w", encoding="utf-8") as f:
        for start in range(0, 160_000, 10_000):
            f.write("".join(line % (i, filler) for i in range(start, start + 10_000)))
    assert path.stat().st_size > 75_000_000
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forked (pytest-sized) parent into exec.
    code = (
        "import re, sys; from pathlib import Path; from trainer.validation.report import validate_file;"
        "r = validate_file(Path(sys.argv[1]), tokens=False);"
        "peak = int(re.search(r'VmHWM:\\s+(\\d+)', Path('/proc/self/status').read_text()).group(1)) // 1024;"
        "print(r.examples, sum(r.errors.values()), peak)"
    )
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True).stdout.split()
    examples, errors, peak_mb = map(int, out)
    assert (examples, errors) == (160_000, 0)
    assert peak_mb < 250, f"peak RSS {peak_mb} MB: the file was not streamed"


def _clean_example(rng: random.Random) -> dict:
    words = "fine tune model data token learn rate epoch loss batch".split()
    say = lambda n: " ".join(rng.choice(words) for _ in range(n))  # noqa: E731
    messages = [{"role": "system", "content": "Be brief."}] if rng.random() < 0.8 else []
    for _ in range(rng.choice((1, 1, 2))):
        messages.append({"role": "user", "content": say(rng.randint(1, 12))})
        reply = {"role": "assistant", "content": say(rng.randint(1, 20))}
        if rng.random() < 0.1:
            reply["weight"] = rng.choice((0, 1))
        if rng.random() < 0.05:
            reply["name"] = "tutor"
        messages.append(reply)
    return {"messages": messages}


def _fuzzed_example(rng: random.Random):
    """Clean examples with random breakage of every kind the notebook can count without crashing."""
    if rng.random() < 0.5:
        return _clean_example(rng)
    kind = rng.random()
    if kind < 0.05:
        return rng.choice([[1, 2], "text", 3, None, True])
    if kind < 0.1:
        return rng.choice([{}, {"messages": []}, {"messages": None}, {"other": 1}])
    example = _clean_example(rng)
    for message in example["messages"]:
        r = rng.random()
        if r < 0.1:
            message.pop(rng.choice(["role", "content"]), None)
        elif r < 0.2:
            message["role"] = rng.choice(["tool", "bot", "function", "developer", 5, None])
        elif r < 0.3:
            message["content"] = rng.choice(["", "   ", None, 0, 7, [{"type": "text", "text": "x"}], {"a": 1}])
        elif r < 0.35:
            message["function_call"] = rng.choice([{"name": "f", "arguments": "{}"}, {}, "call", None])
        elif r < 0.4:
            message[rng.choice(["extra", "tool_calls", "tool_call_id"])] = rng.choice([[], "x", 1])
        elif r < 0.45:
            message["weight"] = rng.choice([0, 1, 2, True, 1.0, None])
        elif r < 0.5:
            message["name"] = rng.choice(["bob", 5, None, ""])
    if rng.random() < 0.1:
        example["messages"] = [m for m in example["messages"] if m.get("role") != "assistant"] or [{"role": "user", "content": "q"}]
    if rng.random() < 0.05:
        example[rng.choice(["tools", "functions", "parallel_tool_calls", "id"])] = rng.choice([[], [{"name": "f"}], True, "x"])
    return example


def test_shards_give_the_single_process_result(tmp_path: Path) -> None:
    """Several byte ranges on forked workers merge to exactly what one process reports."""
    from trainer.validation.scan import new_tally, scan_jsonl
    from trainer.validation.shards import plan_shards, scan_in_shards

    rng = random.Random(11)
    rows = [json.dumps(_fuzzed_example(rng)) for _ in range(4000)]
    rows[2500] = rows[10]  # a duplicate across shards
    rows[1200] = ""  # a blank line
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join(rows).encode() + b"\n")
    spans = plan_shards(path, 3)
    assert spans[0][0] == 0 and spans[-1][1] == path.stat().st_size and len(spans) == 3
    single = new_tally("o200k_base", 65_536, True, True, 1000)
    scan_jsonl(path, single)
    merged = scan_in_shards(path, 3, "o200k_base", 65_536, True, True, 1000)
    for name in ("examples", "errors", "error_lines", "warn_counts", "warn_lines", "tokens", "assistant_tokens", "hashes", "hash_lines", "lines"):
        assert getattr(merged, name) == getattr(single, name), name
    # Binary data stops the scan at the same line either way.
    with open(path, "r+b") as f:
        f.seek(spans[1][0] + 10)
        f.write(b"\x00")
    single = new_tally("o200k_base", 65_536, False, True, 1000)
    scan_jsonl(path, single)
    merged = scan_in_shards(path, 3, "o200k_base", 65_536, False, True, 1000)
    assert single.stopped and merged.stopped and merged.errors == single.errors and merged.examples == single.examples


# -- what the API accepts: tool calling, weights, preference (DPO) files ------------------------------

DATA = Path(__file__).parent / "data"


def test_tool_calling_file_has_no_errors_and_shows_the_notebook_counts_apart() -> None:
    """Assistant tool_calls without content, tool messages with tool_call_id, example-level tools and parallel_tool_calls."""
    report = validate_file(DATA / "tool_calling.jsonl")
    assert report.ok and report.errors == {} and report.examples == 10
    # The notebook predates tool calling: it would count 10 tool messages, 10 contentless calls, ...
    assert report.notebook == {"message_unrecognized_key": 20, "unrecognized_role": 10, "message_missing_key": 10, "missing_content": 10}
    text = format_report(report, "tools")
    assert "no errors" in text and "The cookbook notebook's checks: message_missing_key x10, message_unrecognized_key x20, unrecognized_role x10, missing_content x10 (" in text
    assert report.to_dict()["notebook_checks"]["unrecognized_role"] == 10
    assert report.tokens["total"] > 0 and report.tokens["assistant_total"] > 0


def test_tool_call_mistakes_are_still_errors() -> None:
    base = json.loads((DATA / "tool_calling.jsonl").read_text().splitlines()[0])
    wrong_id = json.loads(json.dumps(base))
    wrong_id["messages"][3]["tool_call_id"] = "call_999"
    no_function = json.loads(json.dumps(base))
    del no_function["messages"][2]["tool_calls"][0]["function"]
    bad_tools = {**base, "tools": {"name": "get_element"}}
    report = validate_examples([wrong_id, no_function, bad_tools], purpose="validation")
    assert report.errors == {"unknown_tool_call_id": 2, "invalid_tool_calls": 1, "invalid_tools": 1}


@pytest.mark.parametrize(("weight", "error"), [(0, None), (1, None), (2, "invalid_weight"), (True, "invalid_weight"), (0.5, "invalid_weight")])
def test_assistant_weight_is_zero_or_one(weight, error) -> None:
    example = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a", "weight": weight},
                            {"role": "user", "content": "again"}, {"role": "assistant", "content": "b"}]}
    report = validate_examples([example], purpose="validation")
    assert report.errors == ({error: 1} if error else {})


def test_weight_on_a_user_message_is_an_error() -> None:
    example = {"messages": [{"role": "user", "content": "q", "weight": 1}, {"role": "assistant", "content": "a"}]}
    assert validate_examples([example], purpose="validation").errors == {"weight_not_on_assistant": 1}


def test_preference_file_validates_as_dpo_only() -> None:
    dpo = validate_file(DATA / "preference.jsonl", "gpt-4.1-mini", method="dpo")
    assert dpo.ok and dpo.examples == 10 and dpo.method == "dpo" and dpo.notebook == {}
    assert dpo.to_dict()["method"] == "dpo"
    # Both outputs count: the preferred one and the longer non-preferred one.
    assert dpo.tokens["assistant_total"] > 10 * 20 and dpo.estimate.billed_tokens > 0
    # Read as chat examples, the same file has no messages at all.
    assert validate_file(DATA / "preference.jsonl").errors == {"missing_messages_list": 10}
    # And a chat file is not a preference file.
    assert validate_file(DATA / "tool_calling.jsonl", method="dpo").errors == {"invalid_preference_example": 10}


def test_validate_cli_takes_a_method(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "trainer", "validate", str(DATA / "preference.jsonl"), "--method", "dpo", "--json"],
                         capture_output=True, text=True, cwd=Path(__file__).parent.parent)
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["errors"] == {} and report["method"] == "dpo" and report["examples"] == 10


def test_chat_report_shows_the_notebook_checks_apart() -> None:
    from assistant.dataset_tools import describe_report

    report = validate_file(DATA / "tool_calling.jsonl")
    english, finnish = describe_report("tools", report, "en"), describe_report("tools", report, "fi")
    assert "examples, no errors." in english and "The cookbook notebook's checks (for comparison only): `message_missing_key` × 10" in english
    assert "ei virheitä" in finnish and "Cookbook-muistikirjan tarkistukset" in finnish
