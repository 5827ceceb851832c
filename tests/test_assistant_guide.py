"""The guided path through the real agent: check questions, progress from real state, saved per learner."""

from __future__ import annotations

from assistant.learner_state import load_state
from assistant.conversation import Agent
from core.llm import LocalBackend
from assistant.toolbox import default_toolbox


def say(agent, text, learner="ann"):
    return list(agent.respond(text, [], learner))[-1][-1].content


def test_guided_path_moves_with_answers_and_real_progress(settings):
    agent = Agent(settings, LocalBackend(settings.local_model, settings.models_dir), default_toolbox())
    reply = say(agent, "start the guided path")
    assert "Step 1/7" in reply and "a)" in reply and "👉 1." in reply

    assert "Not quite" in say(agent, "b")
    reply = say(agent, "a")
    assert "Right!" in reply and "Step 2/7" in reply and "✅ 1." in reply

    reply = say(agent, "b")
    assert "Step 3/7" in reply

    reply = say(agent, "help me make examples for a limerick bot about chemical elements")
    assert "Next:** Say *add them*" in reply, "the assistant proposes the next step"
    reply = say(agent, "add them")
    assert "Next:** Say *validate my dataset*" in reply
    assert load_state(settings, "ann").guide_done == [0, 1, 2]
    reply = say(agent, "validate my dataset")
    assert "Next:** Say *start a quick fine-tune*" in reply

    state = load_state(settings, "ann")
    assert state.guide_active and state.guide_done == [0, 1, 2, 3] and state.guide_step == 4
    assert load_state(settings, "bob").guide_done == [], "progress is per learner"


def test_guided_path_in_finnish(settings):
    agent = Agent(settings, LocalBackend(settings.local_model, settings.models_dir), default_toolbox())
    reply = say(agent, "aloita opastus", "fi")
    assert "Vaihe 1/7" in reply and "Vastaa kirjaimella" in reply
    assert "Oikein" in say(agent, "a", "fi")
