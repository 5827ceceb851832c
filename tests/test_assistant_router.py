"""Offline intent routing in English and Finnish: the right tool, with the arguments pulled out of the text."""

from __future__ import annotations

import pytest

from assistant.router import route


@pytest.mark.parametrize(
    ("message", "tool", "arguments"),
    [
        ("What is fine-tuning?", "search_lesson", {"question": "What is fine-tuning?"}),
        ("How much does fine-tuning cost compared to prompting?", "search_lesson", None),
        ("Mitä hienosäätö maksaa?", "search_lesson", None),
        ("help me make examples for a limerick bot about chemical elements", "draft_examples",
         {"topic": "a limerick bot about chemical elements"}),
        ("auta tekemään 6 esimerkkiä limerikkibotille", "draft_examples", {"count": 6}),
        ("make 5 more like example 3", "draft_examples", {"like": 3, "count": 5}),
        ("tee 4 lisää kuten esimerkki 2", "draft_examples", {"like": 2, "count": 4}),
        ("help me make examples for a support bot:\nQ: Is parking free?\nA: Yes, for 2 hours.\nQ: Open at 7?\nA: From 8 only.",
         "draft_examples", {"topic": "a support bot:", "material": "Q: Is parking free?\nA: Yes, for 2 hours.\nQ: Open at 7?\nA: From 8 only."}),
        ("## Do you export bikes?\nNo, we only sell locally.\n## What is the status of my repair?\nCall us and we will check.",
         "draft_examples", {"topic": ""}),
        ("What is LoRA? I read about it.\nWhy is it cheaper? My GPU is small.", "search_lesson", None),
        ("add them", "add_drafts", {}),
        ("lisää ne", "add_drafts", {}),
        ("add example: user: Tell me about neon assistant: Neon glows red", "add_example",
         {"user": "Tell me about neon", "assistant": "Neon glows red"}),
        ("lisää esimerkki: käyttäjä: Kerro neonista avustaja: Neon hehkuu", "add_example",
         {"user": "Kerro neonista", "assistant": "Neon hehkuu"}),
        ("add example: What is H? => Hydrogen", "add_example", {"user": "What is H?", "assistant": "Hydrogen"}),
        ("edit example 3 assistant: A better answer", "edit_example", {"index": 3, "assistant": "A better answer"}),
        ("remove example 2", "remove_example", {"index": 2}),
        ("poista esimerkki 4", "remove_example", {"index": 4}),
        ("create dataset limericks", "create_dataset", {"name": "limericks"}),
        ("validate my dataset", "validate_dataset", {}),
        ("tarkista aineisto", "validate_dataset", {}),
        ("what would this cost on gpt-4o-mini?", "estimate_cost", {"model": "gpt-4o-mini"}),
        ("export it", "export_dataset", {}),
        ("start a quick fine-tune", "start_finetune", {"preset": "quick"}),
        ("aloita nopea hienosäätö", "start_finetune", {"preset": "quick"}),
        ("start a quick fine-tune on Azure OpenAI", "start_finetune", {"preset": "quick", "backend": "azure"}),
        ("how is my training job doing?", "job_status", {}),
        ("status of ft-1a2b3c4d", "job_status", {"job_id": "ft-1a2b3c4d"}),
        ("cancel the job", "cancel_job", {}),
        ("stop training ft-0a1b2c3d", "cancel_job", {"job_id": "ft-0a1b2c3d"}),
        ("peru koulutus", "cancel_job", {}),
        ("mikä on koulutuksen tila?", "job_status", {}),
        ("compare: Tell me about helium", "compare", {"prompt": "Tell me about helium"}),
        ("evaluate my model", "evaluate", {}),
        ("evaluate ft-1a2b3c4d on the best checkpoint", "evaluate", {"job_id": "ft-1a2b3c4d", "checkpoint": "best"}),
        ("run the evaluation", "evaluate", {}),
        ("arvioi malli", "evaluate", {}),
        ("arvioi hienosäädetty malli", "evaluate", {}),
        ("arvioi kustannus mallilla gpt-4o-mini", "estimate_cost", {"model": "gpt-4o-mini"}),
        ("start the guided path", "guide", {"action": "start"}),
        ("aloita opastus", "guide", {"action": "start"}),
        ("next step", "guide", {"action": "next"}),
        ("seuraava vaihe", "guide", {"action": "next"}),
    ],
)
def test_route(message, tool, arguments):
    chosen = route(message)
    assert chosen.tool == tool
    if arguments is not None:
        for key, value in arguments.items():
            assert chosen.arguments.get(key) == value, chosen.arguments


@pytest.mark.parametrize("message", ["hi", "Hei!", "help", "apua"])
def test_greetings_get_help(message):
    assert route(message).reply == "help"


def test_empty_message_gets_a_reply_key():
    assert route("   ").reply == "empty"


def test_a_lone_letter_answers_the_guide_only_when_a_question_is_open():
    assert route("b", awaiting_answer=True).arguments == {"action": "answer", "answer": "b"}
    assert route("b)", awaiting_answer=True).tool == "guide"
    assert route("b", awaiting_answer=False).tool == "search_lesson"
    assert route("b is my answer because", awaiting_answer=True).tool != "guide"


@pytest.mark.parametrize(
    "question",
    [
        "How is fine-tuning different from RAG?",
        "How do I write good training examples?",
        "When should I stop training to avoid overfitting?",
        "Compare fine-tuning and RAG",
        "Run fine-tuning on a CPU: is that possible?",
        "Train or prompt: which should I pick?",
        "Can I check the model after training?",
        "Miten hienosäädettyä mallia arvioidaan?",
        "How do I evaluate a fine-tuned model?",
        "Evaluate my model: what does the validation loss say?",
        "Miten kirjoitan hyviä esimerkkejä?",
        "Mitä koulutus maksaa?",
        "Tarkistetaanko data ennen koulutusta?",
    ],
)
def test_lesson_questions_that_share_words_with_commands_stay_lesson_questions(question):
    assert route(question).tool == "search_lesson"
