"""The dataset store: operations, learner isolation, imports in every format, atomic failure, export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.settings import Settings
from trainer.data.store import DatasetStore, learner_store
from trainer.data.examples import DatasetError, make_example

BROKEN = Path(__file__).parent / "data" / "broken"
# Every corpus file with an error an upload must not get past (a short file is fine to save).
BROKEN_FILES = sorted(
    name for name, e in json.loads((BROKEN / "expected.json").read_text()).items() if set(e["errors"]) - {"too_few_examples"} or name == "empty.jsonl"
)
FT = "18-fine-tuning"


def _examples(n: int, start: int = 0) -> list[dict]:
    return [make_example(f"What is {i} + {i}?", f"{2 * i}.", "You answer arithmetic tersely.") for i in range(start, start + n)]


@pytest.fixture
def store(settings: Settings) -> DatasetStore:
    return learner_store(settings, "ada")


def test_create_add_edit_remove_list(store: DatasetStore) -> None:
    store.create("arith")
    with pytest.raises(DatasetError, match="already exists"):
        store.create("arith")
    store.create("arith", exist_ok=True)
    assert store.add("arith", _examples(3)) == 3
    assert store.add("arith", make_example("Hi?", "Hello.")) == 4
    store.edit("arith", 2, make_example("Edited?", "Yes."))
    removed = store.remove("arith", 1)
    assert removed == _examples(1)[0]
    assert [ex["messages"][-2]["content"] for ex in store.load("arith")] == ["Edited?", "What is 2 + 2?", "Hi?"]
    (info,) = store.list()
    assert (info.name, info.examples) == ("arith", 3) and info.updated_at.endswith("+00:00")
    with pytest.raises(DatasetError, match="examples 1 to 3"):
        store.remove("arith", 4)
    store.delete("arith")
    assert store.list() == []


def test_bad_names_and_bad_examples_are_refused(store: DatasetStore) -> None:
    for name in ("", "Has Space", "../escape", "a/b", "-dash", "x" * 65, "ada\n"):
        with pytest.raises(DatasetError, match="not allowed"):
            store.create(name)
    with pytest.raises(DatasetError, match="No dataset named"):
        store.add("missing", _examples(1))
    store.create("arith")
    store.add("arith", _examples(2))
    before = store.path("arith").read_bytes()
    with pytest.raises(DatasetError, match="example_missing_assistant_message"):
        store.add("arith", {"messages": [{"role": "user", "content": "no answer"}]})
    with pytest.raises(DatasetError, match="missing_content"):
        store.edit("arith", 1, {"messages": [{"role": "user", "content": ""}, {"role": "assistant", "content": "a"}]})
    with pytest.raises(DatasetError, match="JSON object"):
        store.add("arith", ["not an example"])  # type: ignore[list-item]
    assert store.path("arith").read_bytes() == before


def test_learners_are_isolated(settings: Settings) -> None:
    ada, bob = learner_store(settings, "ada"), learner_store(settings, "bob")
    ada.create("mine")
    ada.add("mine", _examples(1))
    assert bob.list() == []
    with pytest.raises(DatasetError, match="No dataset"):
        bob.load("mine")
    with pytest.raises(DatasetError, match="Learner name"):
        learner_store(settings, "../ada")
    assert ada.root == settings.data_dir / "learners" / "ada" / "datasets"


def test_import_course_files_and_validate(store: DatasetStore, course_dir: Path) -> None:
    report = store.import_file("elle", course_dir / FT / "python/openai/training-data.jsonl")
    assert (report.imported, report.total, report.format) == (10, 10, "openai")
    report = store.import_file("elle", course_dir / FT / "python/openai/validation-data.jsonl", mode="append")
    assert (report.imported, report.total) == (5, 15)
    assert store.validate("elle").ok
    small = store.import_file("small", course_dir / FT / "python/openai/validation-data.jsonl")
    assert small.total == 5  # under 10 is fine to save; validate() reports it for training
    assert store.validate("small").errors == {"too_few_examples": 1}


def test_import_every_format(store: DatasetStore, tmp_path: Path) -> None:
    want = [{"messages": [{"role": "user", "content": "Capital of Finland?"}, {"role": "assistant", "content": "Helsinki."}]}]
    sources = {
        "chat.jsonl": json.dumps(want[0]) + "\n",
        "array.json": json.dumps(want, indent=2),
        "pc.jsonl": json.dumps({"prompt": "Capital of Finland?", "completion": " Helsinki.\n"}) + "\n",
        "alpaca.jsonl": json.dumps({"instruction": "Capital of Finland?", "input": "", "output": "Helsinki."}) + "\n",
        "sharegpt.json": json.dumps([{"conversations": [{"from": "human", "value": "Capital of Finland?"}, {"from": "gpt", "value": "Helsinki."}]}]),
    }
    expected_format = {"chat.jsonl": "openai", "array.json": "openai", "pc.jsonl": "prompt-completion", "alpaca.jsonl": "alpaca", "sharegpt.json": "sharegpt"}
    for file_name, text in sources.items():
        (tmp_path / file_name).write_text(text, encoding="utf-8")
        report = store.import_file("geo", tmp_path / file_name)
        assert report.format == expected_format[file_name]
        assert store.load("geo") == want, file_name
    (tmp_path / "alpaca2.jsonl").write_text(
        json.dumps({"instruction": "Translate", "input": "kiitos", "output": "thank you", "system": "You translate Finnish."}) + "\n"
    )
    store.import_file("tr", tmp_path / "alpaca2.jsonl", fmt="alpaca")
    assert store.load("tr")[0]["messages"] == [
        {"role": "system", "content": "You translate Finnish."},
        {"role": "user", "content": "Translate\n\nkiitos"},
        {"role": "assistant", "content": "thank you"},
    ]


@pytest.mark.parametrize("name", BROKEN_FILES)
@pytest.mark.parametrize("mode", ["replace", "append"])
def test_broken_upload_leaves_dataset_byte_identical(store: DatasetStore, name: str, mode: str) -> None:
    store.create("keep")
    store.add("keep", _examples(12))
    before = store.path("keep").read_bytes()
    with pytest.raises(DatasetError) as caught:
        store.import_file("keep", BROKEN / name, mode=mode)
    message = str(caught.value)
    assert "unchanged" in message or "no examples" in message
    assert "Traceback" not in message
    assert store.path("keep").read_bytes() == before
    assert sorted(p.name for p in store.root.iterdir()) == [".keep.lock", "keep.jsonl"]  # no temp files left


def test_import_errors_name_source_lines(store: DatasetStore, tmp_path: Path) -> None:
    with pytest.raises(DatasetError) as caught:
        store.import_file("x", BROKEN / "latin1.jsonl")
    assert "line 2: invalid_encoding" in str(caught.value) and "0xE4" in str(caught.value)
    with pytest.raises(DatasetError, match="PNG image"):
        store.import_file("x", BROKEN / "image.png")
    # A blank line shifts nothing: the error is reported on the source's own line.
    good = json.dumps(_examples(1)[0])
    (tmp_path / "gap.jsonl").write_text(f"{good}\n\n{good}\n" + '{"messages": [{"role": "user", "content": "q"}]}\n')
    with pytest.raises(DatasetError, match="line 4: example_missing_assistant_message"):
        store.import_file("x", tmp_path / "gap.jsonl")
    (tmp_path / "alpaca.jsonl").write_text(json.dumps({"instruction": "a", "output": "b"}) + "\n" + json.dumps({"instruction": "a"}) + "\n")
    with pytest.raises(DatasetError, match="line 2: invalid_record.*'output'"):
        store.import_file("x", tmp_path / "alpaca.jsonl")
    assert not store.exists("x")


def test_export_reimports_identically(store: DatasetStore, tmp_path: Path) -> None:
    examples = _examples(20)
    examples[3]["messages"][-1]["weight"] = 0
    examples.append({"messages": [{"role": "user", "content": "Päivää! 🙂"}, {"role": "assistant", "content": "Hyvää päivää."}]})
    store.create("src")
    store.add("src", examples)
    (exported,) = store.export("src", tmp_path / "out")
    assert exported.read_bytes() == store.path("src").read_bytes()
    store.import_file("copy", exported)
    assert store.path("copy").read_bytes() == store.path("src").read_bytes()
    assert store.load("copy") == examples


def test_export_split_is_seeded_and_keeps_duplicates_together(store: DatasetStore, tmp_path: Path) -> None:
    examples = _examples(30) + _examples(5)  # five examples twice
    store.create("src")
    store.add("src", examples)
    train, validation = store.export("src", tmp_path / "a", validation_fraction=0.2, seed=1)
    assert (train.name, validation.name) == ("src.train.jsonl", "src.validation.jsonl")
    train_lines, validation_lines = train.read_bytes().splitlines(), validation.read_bytes().splitlines()
    assert len(train_lines) + len(validation_lines) == 35 and len(validation_lines) >= 7
    assert not set(train_lines) & set(validation_lines)
    again = store.export("src", tmp_path / "b", validation_fraction=0.2, seed=1)
    assert [p.read_bytes() for p in again] == [train.read_bytes(), validation.read_bytes()]
    store.import_file("back", train)
    store.import_file("back", validation, mode="append")
    assert sorted(map(json.dumps, store.load("back"))) == sorted(map(json.dumps, examples))
    with pytest.raises(DatasetError, match="fraction"):
        store.export("src", tmp_path, validation_fraction=1.0)


def test_export_loads_with_hugging_face_datasets(store: DatasetStore, tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    examples = _examples(10)
    examples[0]["messages"][-1]["weight"] = 1
    store.create("src")
    store.add("src", examples)
    hf_train, hf_validation = store.export("src", tmp_path / "hf", fmt="hf", validation_fraction=0.2)
    (openai_file,) = store.export("src", tmp_path / "openai")
    cache = tmp_path / "hf-cache"
    loaded = datasets.load_dataset("json", data_files={"train": str(hf_train), "validation": str(hf_validation)}, cache_dir=str(cache))
    assert loaded["train"].num_rows == 8 and loaded["validation"].num_rows == 2
    assert set(loaded["train"][0]["messages"][0]) == {"role", "content"}
    as_uploaded = datasets.load_dataset("json", data_files=str(openai_file), cache_dir=str(cache))["train"]
    assert as_uploaded.num_rows == 10 and as_uploaded[1]["messages"][2]["content"] == "2."


def test_a_single_line_list_is_not_mistaken_for_a_json_array(store: DatasetStore, tmp_path: Path) -> None:
    line = tmp_path / "one.jsonl"
    line.write_text(json.dumps(_examples(2)) + "\n")  # a JSON array file of two examples: fine
    assert store.import_file("a", line).imported == 2
    store.path("a").write_text(json.dumps(_examples(2)) + "\n")  # edited by hand into one list line
    assert store.validate("a").errors == {"data_type": 1, "too_few_examples": 1}


def test_a_busy_dataset_says_so(store: DatasetStore, monkeypatch: pytest.MonkeyPatch) -> None:
    from filelock import FileLock

    import trainer.data.store

    store.create("shared")
    monkeypatch.setattr(trainer.data.store, "LOCK_SECONDS", 0.2)
    with FileLock(str(store.root / ".shared.lock")):  # another writer holds it
        with pytest.raises(DatasetError, match="busy"):
            store.add("shared", _examples(1))
    assert store.add("shared", _examples(1)) == 1


def test_learner_ids_with_a_trailing_newline_are_refused(settings) -> None:
    from assistant.learner_state import check_learner_id

    assert check_learner_id("ada") == "ada"
    with pytest.raises(ValueError, match="learner id"):
        check_learner_id("ada\n")
