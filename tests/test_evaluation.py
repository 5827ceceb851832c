"""The evaluation's parts without a model: held-out split, learned format features, metrics, the judge's
order swap, overfitting detection, the quick preset's size rule and the share held back at job start."""

from __future__ import annotations

import json
from pathlib import Path

from core.settings import Settings
from trainer.evaluation.features import learn_profile, matches
from trainer.evaluation.heldout import EvalExample, load_eval_examples, split_example
from trainer.evaluation.judge import judge_examples, parse_verdict
from trainer.evaluation.metrics import chrf, rouge_l
from trainer.jobs.config import TrainConfig, holdout_count, quick_epochs
from trainer.jobs.control import cancel_job, start_job
from trainer.jobs.overfitting import detect_overfitting


def test_prompt_is_everything_before_the_last_assistant_turn(tmp_path: Path) -> None:
    example = {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
                            {"role": "assistant", "content": "Hello."}, {"role": "user", "content": "Name a colour"},
                            {"role": "assistant", "content": "Blue."}]}
    pair = split_example(example)
    assert pair is not None and pair.reference == "Blue." and [m["content"] for m in pair.prompt] == ["Be brief.", "Hi", "Hello.", "Name a colour"]
    assert pair.question == "Name a colour"
    assert split_example({"messages": [{"role": "user", "content": "Hi"}]}) is None
    path = tmp_path / "held.jsonl"
    path.write_text("\n".join(json.dumps(example) for _ in range(3)) + "\n", encoding="utf-8")
    assert len(load_eval_examples(path)) == 3 and len(load_eval_examples(path, limit=2)) == 2


def _recipes() -> list[EvalExample]:
    dishes = ["Pancakes", "Risotto", "Omelette", "Flatbread", "Porridge", "Gazpacho"]
    return [EvalExample([{"role": "user", "content": f"How do I cook {dish}?"}],
                        f"{dish}: gather the ingredients | heat the pan | stir for a while | serve it warm") for dish in dishes]


def test_format_features_are_learned_from_the_training_answers() -> None:
    profile = learn_profile(_recipes())
    assert " | " in profile.separators and profile.opens_with_subject and profile.lines == (1, 1)
    question = "How do I cook Lasagne?"
    assert matches(profile, "Lasagne: boil the sheets | layer the sauce | bake it | let it rest", question)
    # Prose, a different subject first, or a different number of parts do not take the form.
    assert not matches(profile, "Lasagne is an Italian dish made of pasta sheets, sauce and cheese baked together.", question)
    assert not matches(profile, "Pancakes: boil the sheets | layer the sauce | bake it | let it rest", question)
    assert not matches(profile, "Lasagne: bake it", question)
    # Free-form training answers require little: prose of a similar length matches.
    prose = [EvalExample([{"role": "user", "content": f"Question {n}"}], text) for n, text in enumerate(
        ["It depends on the weather.\nUsually two hours.", "Yes, mostly.", "About three kilometres, I think."])]
    free = learn_profile(prose)
    assert not free.separators and not free.opens_with_subject
    assert matches(free, "Roughly an hour.", "Question 9")


def test_metrics_come_from_the_libraries() -> None:
    assert rouge_l("the cat sat", "the cat sat") == 1.0 and rouge_l("dog", "the cat sat") == 0.0
    assert chrf("the cat sat", "the cat sat") == 100.0 and chrf("xyz", "the cat sat") < 10


def test_judge_swaps_the_order_so_a_position_bias_cancels() -> None:
    examples = [EvalExample([{"role": "user", "content": f"q{n}"}], "ref") for n in range(3)]
    base, tuned = ["plain"] * 3, ["TUNED"] * 3
    always_first = judge_examples(lambda messages: '{"winner": "A", "reason": "first is fine"}', examples, base, tuned)
    assert [v["winner"] for v in always_first] == ["tie"] * 3 and always_first[0]["reasons"] == ["first is fine"] * 2

    def prefers_tuned(messages: list[dict[str, str]]) -> str:
        first = messages[-1]["content"].split("Answer A:\n")[1].split("\n\nAnswer B:")[0]
        return json.dumps({"winner": "A" if first == "TUNED" else "B", "reason": "closer to the reference"})

    assert [v["winner"] for v in judge_examples(prefers_tuned, examples, base, tuned)] == ["tuned"] * 3
    assert parse_verdict("no idea")[0] == "tie" and parse_verdict('Sure: {"winner": "b", "reason": "x"}') == ("B", "x")


def _rows(evals: dict[int, float], trains: dict[int, float]) -> list[dict]:
    return [{"step": step, "train_loss": trains.get(step), "eval_loss": evals.get(step)} for step in sorted(set(evals) | set(trains))]


def test_overfitting_is_reported_when_validation_rises_while_training_falls(tmp_path: Path) -> None:
    trains = {step: 3.0 - 0.09 * step for step in range(1, 31)}
    (tmp_path / "best-adapter").mkdir()
    (tmp_path / "best-adapter" / "adapter_config.json").write_text("{}")
    found = detect_overfitting(_rows({5: 2.6, 10: 2.2, 15: 2.4, 20: 2.8, 30: 3.1}, trains), tmp_path)
    assert found is not None and (found["best_step"], found["best_eval_loss"], found["last_step"]) == (10, 2.2, 30)
    assert found["checkpoint"] == str(tmp_path / "best-adapter")
    assert "step 10" in found["message"]["en"] and "askeleella 10" in found["message"]["fi"]
    # Still improving, or both losses rising: no overfitting message.
    assert detect_overfitting(_rows({5: 2.6, 10: 2.2, 15: 2.1}, trains), tmp_path) is None
    rising = {step: 1.0 + 0.1 * step for step in range(1, 31)}
    assert detect_overfitting(_rows({5: 2.6, 10: 2.2, 30: 3.1}, rising), tmp_path) is None


def test_quick_preset_epochs_follow_the_dataset_size(tmp_path: Path) -> None:
    assert quick_epochs(3) == 15 and quick_epochs(9) == 7 and quick_epochs(20) == 3 and quick_epochs(5000) == 1
    config = TrainConfig(train_file=tmp_path / "t.jsonl")
    assert config.epochs is None and config.with_examples(9).epochs == 7
    assert TrainConfig(train_file=tmp_path / "t.jsonl", epochs=2).with_examples(10).epochs == 2
    assert TrainConfig(train_file=tmp_path / "t.jsonl", preset="balanced").with_examples(10).epochs == 3
    assert holdout_count(10, 0.1) == 1 and holdout_count(40, 0.1) == 4 and holdout_count(4, 0.1) == 0 and holdout_count(40, 0) == 0


def test_a_job_without_validation_file_holds_a_share_back(settings: Settings, course_dir: Path) -> None:
    source = course_dir / "18-fine-tuning" / "python" / "openai" / "training-data.jsonl"
    job = start_job(settings, TrainConfig(train_file=source, max_steps=1))
    cancel_job(settings, job.id)
    folder = settings.data_dir / "jobs" / job.id
    train = (folder / "train.jsonl").read_text(encoding="utf-8").splitlines()
    held = (folder / "validation.jsonl").read_text(encoding="utf-8").splitlines()
    original = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert (len(train), len(held)) == (9, 1)
    assert sorted(json.dumps(json.loads(line)) for line in train + held) == sorted(json.dumps(example) for example in original)
    assert job.config["held_out"] == 1 and job.config["epochs"] == 7 and job.config["validation_file"] == str(folder / "validation.jsonl")


def test_rewordings_of_one_question_stay_on_one_side_of_the_held_out_split(settings: Settings, tmp_path: Path) -> None:
    """A drafted set rewords each question; a rewording in training would make the held-out score recall."""
    answers = {"Can I return a bike?": "Yes, within 30 days if unused.", "Do you repair e-bikes?": "Yes, all major brands.",
               "Are you open on Sundays?": "No, Monday to Saturday 10-18.", "How long does shipping take?": "Two business days."}
    lines = []
    for question, answer in answers.items():
        for wording in (question, f"Hi! {question}", question.lower().rstrip("?")):
            lines.append({"messages": [{"role": "user", "content": wording}, {"role": "assistant", "content": answer}]})
    source = tmp_path / "drafted.jsonl"
    source.write_text("\n".join(json.dumps(line) for line in lines[:10]) + "\n", encoding="utf-8")
    job = start_job(settings, TrainConfig(train_file=source, max_steps=1))
    cancel_job(settings, job.id)
    folder = settings.data_dir / "jobs" / job.id
    replies = {side: {json.loads(line)["messages"][-1]["content"] for line in (folder / f"{side}.jsonl").read_text(encoding="utf-8").splitlines()}
               for side in ("train", "validation")}
    assert replies["validation"] and not replies["train"] & replies["validation"]
    assert job.config["held_out"] == len((folder / "validation.jsonl").read_text(encoding="utf-8").splitlines()) >= 1


def test_held_back_takes_whole_groups_and_no_more_than_asked_when_one_fits() -> None:
    from trainer.data.split import held_back, reply_key

    keys = ["a", "a", "a", "b", "c", "c", "d"]
    for seed in range(6):
        chosen = held_back(keys, 3, seed)
        taken = {keys[i] for i in chosen}
        assert all(keys[i] in taken for i in range(len(keys)) if keys[i] in taken), "a group is never split"
        assert 1 <= len(chosen) <= 3
    assert held_back(["a", "a", "b", "b", "b"], 1, 0) == {0, 1}, "none fits: the smallest group"
    assert held_back(keys, 0, 0) == set()
    chat = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello  there"}]}
    reworded = {"messages": [{"role": "user", "content": "Hey!"}, {"role": "assistant", "content": "hello there"}]}
    assert reply_key(chat) == reply_key(reworded)


def test_without_repeated_replies_the_split_is_a_plain_seeded_sample() -> None:
    import random

    from trainer.data.split import held_back

    for n, count, seed in ((10, 1, 0), (30, 3, 2), (200, 20, 7)):
        assert held_back([f"reply {i}" for i in range(n)], count, seed) == set(random.Random(seed).sample(range(n), count))
