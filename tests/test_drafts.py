"""Drafting from the learner's own material: FAQ, CSV/TSV, Q&A text and written examples, with no placeholders."""

from __future__ import annotations

import json

import pytest

from trainer.data.drafts import draft, draft_like, read_material, system_message
from trainer.data.drafts.material import QUESTION_WORDS
from trainer.data.drafts.files import draft_file_into, is_material_file
from trainer.data.examples import DatasetError
from trainer.data.store import DatasetStore
from trainer.validation.report import validate_examples

FAQ = """# Pedal & Spoke — questions we hear every day

## Workshop

### How long does a full service take?
Usually two working days. In spring, book a week ahead.

### Do you repair hydraulic disc brakes?
Yes: bleeding one brake costs 25 euros, pads are extra.

**Can I leave my bike overnight?** Yes, it is stored indoors and insured.

**Do you sell used bikes?**
A few, checked in our workshop and sold with a three-month warranty.

### Is there a student discount?
"""
FAQ_PAIRS = {
    "How long does a full service take?": "Usually two working days. In spring, book a week ahead.",
    "Do you repair hydraulic disc brakes?": "Yes: bleeding one brake costs 25 euros, pads are extra.",
    "Can I leave my bike overnight?": "Yes, it is stored indoors and insured.",
    "Do you sell used bikes?": "A few, checked in our workshop and sold with a three-month warranty.",
}

CSV = """question,answer,notes
What are your opening hours?,"Monday to Friday 9-18, Saturday 10-15.",web
Do you fit child seats?,"Yes, fitting is free when you buy the seat here.",
How much does a puncture repair cost?,"15 euros including the tube, done while you wait.",phone
Do you take card payments?,"Yes, all major cards and mobile payments.",
Where can I park?,There are three customer spaces behind the shop.,web
"""
CSV_PAIRS = {
    "What are your opening hours?": "Monday to Friday 9-18, Saturday 10-15.",
    "Do you fit child seats?": "Yes, fitting is free when you buy the seat here.",
    "How much does a puncture repair cost?": "15 euros including the tube, done while you wait.",
    "Do you take card payments?": "Yes, all major cards and mobile payments.",
    "Where can I park?": "There are three customer spaces behind the shop.",
}

TSV_FI = ("Kysymys\tVastaus\n"
          "Milloin korjaamo on auki?\tArkisin kello 9–17, lauantaisin suljettu.\n"
          "Paljonko ketjun vaihto maksaa?\tKetjun vaihto maksaa 20 euroa ja ketju päälle.\n"
          "Huollatteko sähköpyöriä?\tKyllä, mutta akkujen korjaukset ohjataan valmistajalle.\n")

LEARNER_EXAMPLES = """user: My gears click when I pedal hard. What should I do?
assistant: That usually means the cable has stretched. Turn the barrel adjuster half a turn anticlockwise and try again; if it still clicks, bring it in.

user: Which lights do I need for winter commuting?
assistant: A white front light of at least 400 lumens, a red rear light, and reflectors on the pedals.

user: How often should I oil my chain?
assistant: Every 300 km or after every wet ride, whichever comes first. Wipe off the extra oil afterwards.
"""


def turns(example):
    return {m["role"]: m["content"] for m in example["messages"]}


def assert_distinct_and_from(drafts, pairs):
    users = [turns(e)["user"] for e in drafts.examples]
    assert len(set(users)) == len(users), f"identical user messages: {users}"
    assert len({json.dumps(e, sort_keys=True) for e in drafts.examples}) == len(drafts.examples)
    for example in drafts.examples:
        user, answer = turns(example)["user"], turns(example)["assistant"]
        assert answer in pairs.values(), answer
        source = next(q for q, a in pairs.items() if a == answer)
        # A reworded request keeps the words of the question it came from (the question word may change).
        core = [w for w in source.lower().rstrip("?").split() if len(w) > 4 and w not in QUESTION_WORDS]
        assert all(w in user.lower() for w in core), (user, source)


def test_markdown_faq_gives_distinct_examples_from_its_questions_and_answers():
    drafts = draft("a customer support bot for my bike shop", material=FAQ)
    assert drafts.source == "faq"
    assert len(drafts.examples) == 10, "rewordings fill up to the API minimum"
    assert_distinct_and_from(drafts, FAQ_PAIRS)
    assert {turns(e)["user"] for e in drafts.examples[:4]} == set(FAQ_PAIRS), "the learner's own wording comes first"
    assert all(turns(e)["system"] == drafts.system for e in drafts.examples)
    assert "bike shop" in drafts.system and "my bike shop" not in drafts.system
    keys = [n.key for n in drafts.notes]
    assert "missing_answers" in keys and "student discount" in drafts.describe_notes("en")
    assert "too_few" in keys and "write 6 more" in drafts.describe_notes("en")
    assert not validate_examples(drafts.examples, purpose="train").errors


def test_csv_columns_found_by_header_and_every_example_distinct():
    drafts = draft("a support assistant for a bicycle workshop", material=CSV)
    assert drafts.source == "table"
    assert_distinct_and_from(drafts, CSV_PAIRS)
    assert len(drafts.examples) == 10 and drafts.reworded == 5
    assert not any("web" == turns(e)["assistant"] for e in drafts.examples), "the notes column is not an answer"


def test_tsv_with_finnish_headers_drafts_finnish_examples():
    drafts = draft("pyöräkorjaamon asiakaspalvelubotti", material=TSV_FI, lang="fi")
    pairs = dict(line.split("\t") for line in TSV_FI.strip().split("\n")[1:])
    assert drafts.source == "table"
    assert_distinct_and_from(drafts, pairs)
    assert drafts.system.startswith("Olet asiakaspalvelubotti") or drafts.system.startswith("Olet pyöräkorjaamon")
    reworded = [turns(e)["user"] for e in drafts.examples[3:]]
    assert any(u.startswith("Hei!") for u in reworded) and not any(u.startswith("Hi!") for u in reworded)
    assert "Mitä ketjun vaihto maksaa?" in reworded
    assert "vähintään 10" in drafts.describe_notes("fi")


def test_table_without_header_is_read_by_shape():
    swapped = ("We rent road bikes by the day.;Do you rent road bikes?\n"
               "The workshop is on the ground floor.;Where is the workshop?\n"
               "We close at six on weekdays.;When do you close?\n")
    found = read_material(swapped)
    assert found.kind == "table"
    assert [p.user for p in found.pairs] == ["Do you rent road bikes?", "Where is the workshop?", "When do you close?"]
    assert found.pairs[0].assistant == "We rent road bikes by the day."


def test_qa_labels_and_question_paragraphs():
    qa = "Q: Do you true wheels?\nA: Yes, 20 euros a wheel.\n\nQ: Can I book a fitting?\nA: Fittings are on Thursdays by appointment.\n"
    found = read_material(qa)
    assert found.kind == "qa" and [p.assistant for p in found.pairs] == ["Yes, 20 euros a wheel.", "Fittings are on Thursdays by appointment."]
    prose = ("Do you ship abroad? Only within the EU, and it takes a week.\n\n"
             "What happens if a part is out of stock?\nWe order it and call you when it arrives.\nMost parts come in three days.")
    found = read_material(prose)
    assert found.kind == "questions"
    commas = "Do you rent bikes? Yes, 25 euros a day.\nAre you open Sundays? No, we are closed.\nCan I pay later? Yes, by invoice."
    assert [(p.user, p.assistant) for p in read_material(commas).pairs][0] == ("Do you rent bikes?", "Yes, 25 euros a day."), \
        "lines with one comma each are prose, not a CSV"
    assert found.pairs[0].assistant == "Only within the EU, and it takes a week."
    assert found.pairs[1].assistant == "We order it and call you when it arrives.\nMost parts come in three days."


def test_three_written_examples_give_more_varied_ones():
    drafts = draft("a bike maintenance helper", material=LEARNER_EXAMPLES)
    assert drafts.source == "examples"
    originals = [turns(e)["user"] for e in drafts.examples[:3]]
    assert originals[0].startswith("My gears click") and len(drafts.examples) == 10
    users = [turns(e)["user"] for e in drafts.examples]
    assert len(set(users)) == 10
    assert len({turns(e)["assistant"] for e in drafts.examples}) == 3, "rewordings keep the learner's answers"
    assert "What's the best way" not in " ".join(users[:3])
    assert drafts == draft("a bike maintenance helper", material=LEARNER_EXAMPLES), "drafting is deterministic"


def test_json_lines_the_learner_wrote_are_material_too():
    lines = "\n".join(json.dumps(x) for x in [
        {"messages": [{"role": "system", "content": "You answer for a bike shop."},
                      {"role": "user", "content": "Do you sell inner tubes?"}, {"role": "assistant", "content": "Yes, for all common sizes."}]},
        {"prompt": "Can I test ride a bike?", "completion": "Yes, bring an ID and we will adjust the saddle for you."},
    ])
    drafts = draft("", material=lines)
    assert drafts.source == "examples"
    assert turns(drafts.examples[0])["system"] == "You answer for a bike shop."
    assert "no_description" in [n.key for n in drafts.notes]


def test_duplicates_and_conflicting_answers_are_reported():
    material = ("Q: Do you sell helmets?\nA: Yes, from 40 euros.\nQ: Do you sell helmets?\nA: Yes, from 40 euros.\n"
                "Q: Are you open on Sundays?\nA: No.\nQ: Are you open on Sundays?\nA: Only in December.\n")
    drafts = draft("a shop assistant", material=material)
    keys = [n.key for n in drafts.notes]
    assert "duplicates" in keys and "conflicts" in keys
    originals = [turns(e)["user"] for e in drafts.examples[:2]]
    assert originals == ["Do you sell helmets?", "Are you open on Sundays?"]
    assert turns(drafts.examples[1])["assistant"] == "No.", "the first answer is kept"


def test_no_material_gives_no_placeholders():
    drafts = draft("a customer support bot for my bike shop")
    assert drafts.examples == [] and drafts.needs_guidance
    assert drafts.system.startswith("You are the customer support assistant for the bike shop")


def test_demo_topic_still_drafts_worked_examples():
    drafts = draft("a limerick bot about chemical elements")
    assert drafts.source == "samples" and len(drafts.examples) == 10
    assert len({turns(e)["assistant"] for e in drafts.examples}) == 10


def test_more_like_one_example_offline_rewords_it_and_skips_existing():
    example = {"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "Can I return a helmet?"},
                            {"role": "assistant", "content": "Within 30 days, unused, with the receipt."}]}
    drafts = draft_like(example, 3, count=4, existing={"Hi! Can I return a helmet?"})
    users = [turns(e)["user"] for e in drafts.examples]
    assert len(users) == 4 and len(set(users)) == 4
    assert "Hi! Can I return a helmet?" not in users and "Can I return a helmet?" not in users
    assert users[0] == "Is it possible to return a helmet?"
    assert all(turns(e)["system"] == "S" for e in drafts.examples)
    assert [n.key for n in drafts.notes] == ["like_offline"]


@pytest.mark.parametrize(("description", "expected"), [
    ("a customer support bot for my bike shop", "You are the customer support assistant for the bike shop."),
    ("a haiku bot about planets", "Always answer with a haiku."),
    ("a tutor for first-time bike mechanics", "Explain step by step"),
    ("asiakaspalvelubotti pyöräkaupalleni", "Olet asiakaspalvelubotti pyöräkaupalle."),
    ("", "You are a helpful assistant."),
])
def test_system_message_from_description(description, expected):
    assert expected in system_message(description)


def test_a_faq_title_gives_the_system_message_when_nothing_is_described():
    drafts = draft("", material=FAQ)
    assert drafts.system == "You answer questions about Pedal & Spoke accurately and briefly, and say so when you do not know."
    assert "no_description" in [n.key for n in drafts.notes]


def test_uploaded_files_are_drafted_into_the_dataset(tmp_path):
    store = DatasetStore(tmp_path / "datasets")
    store.create("shop")
    store.add("shop", {"messages": [{"role": "system", "content": "You help customers of a bike shop."},
                                    {"role": "user", "content": "Hello?"}, {"role": "assistant", "content": "Hello! How can I help?"}]})
    faq = tmp_path / "faq.md"
    faq.write_text(FAQ, encoding="utf-8")
    table = tmp_path / "faq.tsv"
    table.write_text(TSV_FI, encoding="utf-8")
    jsonl_txt = tmp_path / "data.txt"
    jsonl_txt.write_text('{"messages": []}\n', encoding="utf-8")
    assert is_material_file(faq) and is_material_file(table) and not is_material_file(jsonl_txt)

    drafts, summary = draft_file_into(store, "shop", faq, mode="append")
    examples = store.load("shop")
    assert len(examples) == 1 + len(drafts.examples) == 11
    assert all(turns(e)["system"] == "You help customers of a bike shop." for e in examples), "the dataset's system message is kept"
    assert "Drafted 10 examples from faq.md" in summary and "student discount" in summary

    drafts, summary = draft_file_into(store, "shop", table, mode="replace", lang="fi")
    assert len(store.load("shop")) == 10 and "Luonnostelin 10 esimerkkiä" in summary

    empty = tmp_path / "notes.md"
    empty.write_text("# Shop notes\n\nRemember to order more tubes.\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="No questions and answers found in notes.md"):
        draft_file_into(store, "shop", empty)
    assert len(store.load("shop")) == 10, "a failed upload changes nothing"


def test_finnish_rewordings_stay_grammatical_for_amounts_and_prices():
    from trainer.data.drafts.wording import rewordings

    assert rewordings("Paljonko myöhästymismaksu on?", "fi")[0] == "Mikä on myöhästymismaksu?"
    assert rewordings("Paljonko korjaus maksaa?", "fi")[0] == "Mitä korjaus maksaa?"
    assert not any(r.startswith("Mitä") for r in rewordings("Paljonko lainoja voi olla kerralla?", "fi"))
