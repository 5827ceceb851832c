"""The evaluation as the learner reads it: the table, the wins and next steps read from the numbers."""

from __future__ import annotations

from assistant.evaluation_text import describe_evaluation, metrics_markdown, next_steps


def report(base: dict, tuned: dict, wins: dict | None = None) -> dict:
    return {"job": "ft-0a1b2c3d", "examples": 4, "checkpoint": "final", "metrics": {"base": base, "tuned": tuned},
            "wins": wins, "wins_by": "chrF",
            "rows": [{"prompt": f"Tell me about element {i}", "reference": "ref", "base": "prose", "tuned": "verse"} for i in range(5)]}


GOOD = report({"loss": 3.7, "rougeL": 0.1, "chrF": 20.0, "format_match": 0.0, "length": 60},
              {"loss": 3.1, "rougeL": 0.3, "chrF": 45.0, "format_match": 1.0, "length": 30}, {"tuned": 4, "base": 0, "tie": 0})


def test_the_table_has_one_row_per_metric_and_a_column_per_model():
    table = metrics_markdown(GOOD, "en").splitlines()
    assert table[0] == "| Metric | Base model | Fine-tuned |"
    assert "| answers in the training data's form | 0% | 100% |" in table
    assert "| loss on the references (lower is better) | 3.700 | 3.100 |" in table


def test_next_steps_follow_the_numbers():
    assert next_steps(GOOD, None, "en") == [next_steps(GOOD, None, "en")[0]] and "beats the base" in next_steps(GOOD, None, "en")[0]
    facts_wrong = report(GOOD["metrics"]["base"], {**GOOD["metrics"]["tuned"], "chrF": 20.0}, {"tuned": 3, "base": 1, "tie": 0})
    assert any("bigger base model" in step for step in next_steps(facts_wrong, None, "en"))
    no_gain = report(GOOD["metrics"]["base"], {**GOOD["metrics"]["tuned"], "format_match": 0.25, "loss": 3.9},
                     {"tuned": 1, "base": 3, "tie": 0})
    steps = next_steps(no_gain, None, "en")
    assert any("more varied" in step for step in steps) and any("not below the base" in step for step in steps)
    early = {"best_step": 5, "message": {"en": "Overfitting: …", "fi": "Ylisovitus: …"}}
    assert "after step 5" in next_steps(GOOD, early, "en")[0]
    assert "askeleen 5 jälkeen" in next_steps(GOOD, early, "fi")[0]


def test_the_whole_text_is_framed_and_shows_three_rows_in_the_learners_language():
    shown = describe_evaluation(GOOD, "fi", {"best_step": 5, "message": {"en": "Overfitting", "fi": "Ylisovitus"}})
    assert "varmistettavat hyödyt" in shown and "Voitot: hienosäädetty **4**" in shown and "⚠️ Ylisovitus" in shown
    assert shown.count("> **Tell me about element") == 3
