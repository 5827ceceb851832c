"""The dataset workshop driven through the real agent in chat (offline routing, real store and validator)."""

from __future__ import annotations

import json

import pytest

from assistant.conversation import Agent
from core.llm import LocalBackend
from assistant.toolbox import default_toolbox
from trainer.data.store import DatasetStore


@pytest.fixture
def agent(settings):
    # The local backend is never loaded here: every message below routes to a tool.
    return Agent(settings, LocalBackend(settings.local_model, settings.models_dir), default_toolbox())


def say(agent, text, learner="ann"):
    final = list(agent.respond(text, [], learner))[-1]
    tools = [m.tool for m in final if m.tool]
    return final[-1].content, tools


def store(settings, learner="ann"):
    return DatasetStore(settings.learner_dir(learner) / "datasets")


def test_draft_add_edit_remove_validate_cost_export(agent, settings, tmp_path):
    reply, tools = say(agent, "help me make examples for a limerick bot about chemical elements")
    assert [t.name for t in tools] == ["draft_examples"] and tools[0].ok
    assert "Hydrogen" in reply and "add them" in reply
    assert store(settings).list() == [], "drafts are not saved before the learner says so"

    reply, tools = say(agent, "add them")
    assert tools[0].name == "add_drafts" and tools[0].ok, tools[0].error
    examples = store(settings).load("my-dataset")
    assert len(examples) == 10
    assert examples[0]["messages"][0]["role"] == "system"

    say(agent, "add example: user: Tell me about zinc. assistant: A metal called zinc, on a roof it would wink.")
    examples = store(settings).load("my-dataset")
    assert len(examples) == 11
    assert examples[-1]["messages"][0]["role"] == "system", "a new example keeps the dataset's system message"
    assert examples[-1]["messages"][1] == {"role": "user", "content": "Tell me about zinc."}

    say(agent, "edit example 2 assistant: Helium floats, as everyone knows.")
    assert store(settings).load("my-dataset")[1]["messages"][-1]["content"] == "Helium floats, as everyone knows."

    reply, tools = say(agent, "remove example 11")
    assert tools[0].ok and len(store(settings).load("my-dataset")) == 10

    reply, tools = say(agent, "validate my dataset")
    assert tools[0].name == "validate_dataset" and tools[0].ok, tools[0].error
    assert "no errors" in reply and "Tokens" in reply
    assert tools[0].output.data["errors"] == {}

    reply, tools = say(agent, "what would this cost on gpt-4o-mini?")
    assert tools[0].name == "estimate_cost"
    assert "$" in reply and "gpt-4o-mini" in reply

    reply, tools = say(agent, "export it")
    assert tools[0].name == "export_dataset" and tools[0].ok, tools[0].error
    exported = [p for p in tools[0].output.data["files"]]
    lines = open(exported[0], encoding="utf-8").read().splitlines()
    assert [json.loads(line) for line in lines] == store(settings).load("my-dataset")


def test_invalid_data_is_reported_with_line_and_fix(agent, settings):
    say(agent, "add example: user: Hello assistant: Hi there")
    reply, tools = say(agent, "validate my dataset")
    assert tools[0].ok
    errors = tools[0].output.data["errors"]
    assert errors, "a one-example dataset is below the API's minimum"
    assert "line" in reply.lower()


def test_finnish_requests_get_finnish_replies(agent, settings):
    say(agent, "auta tekemään esimerkkejä limerikkibotille kemiallisista alkuaineista", "fi-learner")
    reply, tools = say(agent, "lisää ne", "fi-learner")
    assert tools[0].name == "add_drafts" and "Lisäsin 10 esimerkkiä" in reply
    reply, _ = say(agent, "tarkista aineisto", "fi-learner")
    assert "ei virheitä" in reply
    assert "Vain 10 esimerkkiä" in reply and "OpenAI suggests" not in reply, "warnings in the learner's language"


def test_learners_never_see_each_others_datasets(agent, settings):
    say(agent, "create dataset secrets", "ann")
    reply, tools = say(agent, "list my datasets", "bob")
    assert tools[0].ok and "secrets" not in reply
    assert [i.name for i in store(settings, "ann").list()] == ["secrets"]
    assert store(settings, "bob").list() == []


def test_a_failed_tool_call_is_explained_and_the_chat_goes_on(agent):
    reply, tools = say(agent, "remove example 99")
    assert not tools[0].ok
    assert "did not work" in reply
    reply, tools = say(agent, "list my datasets")
    assert tools[0].ok


def test_one_rule_decides_the_current_dataset_for_the_chat_and_the_tabs(agent, settings):
    from assistant.dataset_tools import choose_dataset, export_files, learner_dataset, remember_dataset
    from trainer.data.examples import make_example

    assert choose_dataset([], None, None) == "my-dataset"
    assert choose_dataset([], None, "limericks") == "limericks", "remembered before its first example"
    assert choose_dataset(["a", "b"], None, None) == "a"
    assert choose_dataset(["a", "b"], None, "b") == "b"
    assert choose_dataset(["a"], None, "gone") == "a", "a remembered dataset that does not exist gives way"
    assert choose_dataset(["a"], "c", "a") == "c"

    say(agent, "create dataset alpha")
    say(agent, "create dataset beta")
    assert learner_dataset(settings, "ann") == "beta", "the tab shows what the chat made current"
    remember_dataset(settings, "ann", "alpha")
    say(agent, "add example: user: What is H? assistant: Hydrogen")
    assert store(settings).count("alpha") == 1 and store(settings).count("beta") == 0
    paths = export_files(settings, "ann", "alpha")
    assert paths and all(p.parent == settings.learner_dir("ann") / "exports" / "alpha" for p in paths)
    assert json.loads(paths[0].read_text().splitlines()[0]) == make_example("What is H?", "Hydrogen")


SHOP_FAQ = """help me make examples for a customer support bot for my bike shop. Here is our FAQ:

## Can I bring my own parts for a repair?
Yes, we fit parts you bring; the labour price is the same.

## How early should I book a spring service?
Two weeks ahead from March to May; otherwise a few days is enough.

## Do you collect bikes from home?
Within 5 km we collect and return a bike for 12 euros.

## Do you stock tubeless sealant?
"""


def test_support_bot_without_material_gets_guidance_and_a_question(agent, settings):
    reply, tools = say(agent, "help me make examples for a customer support bot for my bike shop")
    assert [t.name for t in tools] == ["draft_examples"] and tools[0].ok, tools[0].error
    assert tools[0].output.data["drafts"] == []
    assert "(Write" not in reply, "no placeholders"
    assert "customer support assistant for the bike shop" in reply, "a system message drafted from the description"
    assert "good training example" in reply and reply.rstrip().endswith("?**")
    reply, tools = say(agent, "add them")
    assert not tools[0].ok and store(settings).list() == [], "nothing to add after guidance"


def test_support_bot_with_pasted_faq_drafts_from_it_and_says_what_is_missing(agent, settings):
    reply, tools = say(agent, SHOP_FAQ)
    assert [t.name for t in tools] == ["draft_examples"] and tools[0].ok, tools[0].error
    drafts = tools[0].output.data["drafts"]
    users = [e["messages"][1]["content"] for e in drafts]
    answers = {e["messages"][2]["content"] for e in drafts}
    assert len(drafts) == 10 and len(set(users)) == 10
    assert answers == {"Yes, we fit parts you bring; the labour price is the same.",
                       "Two weeks ahead from March to May; otherwise a few days is enough.",
                       "Within 5 km we collect and return a bike for 12 euros."}
    assert "from your FAQ" in reply and "customer support assistant for the bike shop" in reply
    assert "tubeless sealant" in reply, "the unanswered question is named"
    assert "at least 10" in reply and "write 7 more" in reply

    reply, tools = say(agent, "make 2 more like example 3")
    assert tools[0].name == "draft_examples" and tools[0].arguments["like"] == 3, tools[0].arguments
    assert "**11.**" in reply and "**12.**" in reply
    reply, tools = say(agent, "add them")
    examples = store(settings).load("my-dataset")
    assert len(examples) == 12
    assert len({e["messages"][1]["content"] for e in examples}) == 12
    assert examples[-1]["messages"][2]["content"] == "Within 5 km we collect and return a bike for 12 euros."
    reply, tools = say(agent, "validate my dataset")
    assert tools[0].output.data["errors"] == {}


def test_pasted_table_alone_routes_to_drafting(agent, settings):
    table = ("kysymys\tvastaus\nSaako pyörän jättää yöksi?\tSaa, se säilytetään lukitussa tilassa.\n"
             "Myyttekö lasten kypäriä?\tKyllä, kokoja on neljä.\n")
    reply, tools = say(agent, table, "fi-learner")
    assert tools[0].name == "draft_examples" and tools[0].ok, tools[0].error
    # Two answered rows give at most three rewordings each: 8 drafts, and the reply says 10 are needed.
    assert "Tässä 8 luonnosta" in reply and "vähintään 10" in reply
    assert "Kerro, mihin avustaja on tarkoitettu" in reply
    assert len({e["messages"][1]["content"] for e in tools[0].output.data["drafts"]}) == 8


def test_finnish_request_without_material_gets_finnish_guidance(agent, settings):
    reply, tools = say(agent, "auta tekemään esimerkkejä pyöräliikkeen asiakaspalvelubotille", "fi-learner")
    assert tools[0].name == "draft_examples" and tools[0].ok and tools[0].output.data["drafts"] == []
    assert "Olet pyöräliikkeen asiakaspalvelubotti." in reply
    assert "Hyvä koulutusesimerkki" in reply and reply.rstrip().endswith("?**")


def test_questions_without_answers_are_asked_for_not_drafted(agent, settings):
    reply, tools = say(agent, "help me make examples for a repair desk bot:\nQ: Do you fix e-bike motors?\nQ: Can I wait while you work?\nA:\n")
    assert tools[0].name == "draft_examples" and tools[0].ok, tools[0].error
    assert tools[0].output.data["drafts"] == []
    assert "no answers to draft from yet" in reply and "Do you fix e-bike motors?" in reply and "add them" not in reply


@pytest.mark.parametrize(
    ("message", "learner", "expected"),
    [
        ("I want to build a support bot for my bike shop, help me make training examples", "ann",
         "You are the customer support assistant for the bike shop."),
        ("auta minua tekemään opetusesimerkkejä pyöräliikkeen asiakaspalvelubotille", "fi-learner",
         "Olet pyöräliikkeen asiakaspalvelubotti."),
    ],
)
def test_a_freely_worded_request_gets_drafting_guidance_for_the_described_assistant(agent, settings, message, learner, expected):
    reply, tools = say(agent, message, learner)
    assert [t.name for t in tools] == ["draft_examples"] and tools[0].ok, tools
    assert expected in reply and "guidance" in tools[0].output.data
    assert store(settings, learner).list() == [], "nothing is saved until the learner adds examples"


def test_material_pasted_after_the_request_is_drafted_for_the_assistant_described_before(agent, settings):
    say(agent, "I want to build a support bot for my bike shop, help me make training examples")
    reply, tools = say(agent, "Q: How long does shipping take?\nA: Two business days.\n\nQ: Can I return a bike?\n"
                              "A: Yes, within 30 days if unused.")
    assert [t.name for t in tools] == ["draft_examples"] and tools[0].ok, tools
    drafts = tools[0].output.data["drafts"]
    assert {e["messages"][0]["content"] for e in drafts} == {tools[0].output.data["system"]}
    assert tools[0].output.data["system"].startswith("You are the customer support assistant for the bike shop.")
    assert "Tell me what the assistant is for" not in reply
    # Another learner's description is not theirs.
    _, tools = say(agent, "Q: Is parking free?\nA: Yes.\nQ: Open on Sundays?\nA: No.", "bob")
    assert "bike shop" not in tools[0].output.data["system"]


def test_a_report_gives_fixes_and_warnings_in_the_learners_language():
    from assistant.dataset_tools import describe_report
    from trainer.validation.report import validate_examples

    good = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}
    weighted = {"messages": [{"role": "user", "content": "Hi", "weight": 1}, {"role": "assistant", "content": "Hey"}]}
    report = validate_examples([good, good, weighted] + [good] * 8, tokens=False)
    assert set(report.errors) == {"weight_not_on_assistant"} and report.warnings
    finnish = describe_report("kokeilu", report, "fi")
    assert "painon voi antaa vain assistant-viesteille" in finnish and "only assistant messages" not in finnish
    assert "toistaa aiemman rivin" in finnish and "repeat an earlier line" not in finnish
    english = describe_report("trial", report, "en")
    assert "only assistant messages take a weight" in english and "repeat an earlier line" in english
