"""The guided path: seven steps from "what is fine-tuning?" to chatting with your own tuned model.

Each step knows how to tell it is done, from the learner's real state (their dataset, their jobs) or
from a check question answered right; progress is saved with the learner's state. The `guide` tool
shows the path and the current step; after any other tool call in a guided session, the
conversation appends `proposal()` so the assistant always proposes the next step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Callable, Literal

from pydantic import Field

from assistant.tool_context import ToolContext
from assistant.router import CHECK_ANSWER
from assistant.registry import ToolOutput, tool

MIN_EXAMPLES = 10


@dataclass(frozen=True)
class Check:
    question: dict[str, str]
    options: dict[str, list[str]]
    correct: str  # the option letter
    explain: dict[str, str]


@dataclass(frozen=True)
class Step:
    key: str
    title: dict[str, str]
    task: dict[str, str]  # what to do, with the phrases to type
    check: Check | None = None
    # Done from the learner's real state (None: no state condition).
    done: Callable[[ToolContext], bool] | None = None
    # Tools the learner must have used for the step to count (any one of them).
    marked_by: tuple[str, ...] = ()

    def complete(self, context: ToolContext) -> bool:
        """Whether doing the work has completed the step (check questions are marked when answered)."""
        if self.check is not None or (self.done is None and not self.marked_by):
            return False
        used = not self.marked_by or any(name in context.state.guide_used for name in self.marked_by)
        return used and (self.done is None or self.done(context))


def _dataset_size(context: ToolContext) -> int:
    from assistant.dataset_tools import dataset_store

    name = context.state.current_dataset
    if not name:
        return 0
    try:
        return len(dataset_store(context).load(name))
    except (ValueError, LookupError, OSError):
        return 0


def _dataset_valid(context: ToolContext) -> bool:
    from assistant.dataset_tools import dataset_store

    if _dataset_size(context) < MIN_EXAMPLES:
        return False
    return not dataset_store(context).validate(context.state.current_dataset, "gpt-4o-mini").errors


def _job_succeeded(context: ToolContext) -> bool:
    from trainer.jobs import control

    return any(j["status"] == "succeeded" for j in control.list_jobs(context.settings, context.learner))


STEPS: list[Step] = [
    Step(
        "learn",
        {"en": "Learn what fine-tuning is, and when and why", "fi": "Opi mitä hienosäätö on, milloin ja miksi"},
        {"en": "Ask me *What is fine-tuning?* and *When should I fine-tune?*, then answer the check question.",
         "fi": "Kysy *Mitä hienosäätö on?* ja *Milloin hienosäätö kannattaa?*, ja vastaa sitten tarkistuskysymykseen."},
        Check(
            {"en": "What does fine-tuning change?", "fi": "Mitä hienosäätö muuttaa?"},
            {"en": ["the model's weights, by training on your examples", "only the prompt sent with each request",
                    "the documents the model searches at answer time"],
             "fi": ["mallin painoja, kouluttamalla sitä omilla esimerkeilläsi", "vain jokaisen pyynnön kehotetta",
                    "dokumentteja, joista malli hakee vastatessaan"]},
            "a",
            {"en": "Fine-tuning continues training, so the weights change; prompts and retrieval leave them as they are.",
             "fi": "Hienosäätö jatkaa koulutusta, joten painot muuttuvat; kehotteet ja haku jättävät ne ennalleen."},
        ),
    ),
    Step(
        "decide",
        {"en": "Decide with the checklist", "fi": "Päätä tarkistuslistan avulla"},
        {"en": "Ask *What is on the decision checklist?* (use case, alternatives tried, costs, benefits), then answer.",
         "fi": "Kysy *Mitä päätöksen tarkistuslistalla on?* (käyttötapaus, kokeillut vaihtoehdot, kustannukset, hyödyt) ja vastaa."},
        Check(
            {"en": "What should you try before fine-tuning?", "fi": "Mitä kannattaa kokeilla ennen hienosäätöä?"},
            {"en": ["a larger learning rate", "prompt engineering, few-shot examples and RAG", "more epochs"],
             "fi": ["suurempaa oppimisnopeutta", "kehotesuunnittelua, muutaman esimerkin kehotteita ja RAGia", "useampia epookkeja"]},
            "b",
            {"en": "Cheaper techniques often get there; fine-tune when they fall short on a clear use case.",
             "fi": "Halvemmat keinot riittävät usein; hienosäädä, kun ne eivät riitä selvään käyttötapaukseen."},
        ),
    ),
    Step(
        "dataset",
        {"en": f"Build a dataset of at least {MIN_EXAMPLES} examples", "fi": f"Rakenna vähintään {MIN_EXAMPLES} esimerkin aineisto"},
        {"en": "Say *help me make examples for a limerick bot about chemical elements*, check the drafts, then *add them*.",
         "fi": "Sano *auta tekemään esimerkkejä limerikkibotille kemiallisista alkuaineista*, katso luonnokset ja sano *lisää ne*."},
        done=lambda c: _dataset_size(c) >= MIN_EXAMPLES,
    ),
    Step(
        "validate",
        {"en": "Validate it and estimate the cost", "fi": "Tarkista aineisto ja arvioi kustannus"},
        {"en": "Say *validate my dataset*, then *what would this cost on gpt-4o-mini?*",
         "fi": "Sano *tarkista aineisto* ja sitten *arvioi kustannus mallilla gpt-4o-mini*."},
        done=_dataset_valid,
        marked_by=("validate_dataset", "estimate_cost"),
    ),
    Step(
        "finetune",
        {"en": "Fine-tune", "fi": "Hienosäädä"},
        {"en": "Say *start a quick fine-tune* (a LoRA run on this machine, a few minutes on a CPU), then *how is my job doing?*",
         "fi": "Sano *aloita nopea hienosäätö* (LoRA tällä koneella, muutama minuutti prosessorilla) ja sitten *mikä on koulutuksen tila?*"},
        done=_job_succeeded,
    ),
    Step(
        "evaluate",
        {"en": "Evaluate: base vs tuned, side by side", "fi": "Arvioi: perusmalli ja hienosäädetty rinnakkain"},
        {"en": "Say *compare: Tell me about helium* and look at both answers.",
         "fi": "Sano *vertaa: Kerro heliumista* ja katso molemmat vastaukset."},
        marked_by=("compare",),
    ),
    Step(
        "next",
        {"en": "Next steps", "fi": "Seuraavat askeleet"},
        {"en": "Grow the dataset to 50–100 varied examples, add a validation split (*export it* with a validation share), try the "
               "*balanced* preset, and read *How do I evaluate a fine-tuned model?*. With an OpenAI key, say *start an openai fine-tune*.",
         "fi": "Kasvata aineisto 50–100 monipuoliseen esimerkkiin, lisää validointiosuus, kokeile *balanced*-esiasetusta ja kysy "
               "*Miten hienosäädettyä mallia arvioidaan?*. OpenAI-avaimella voit sanoa *aloita openai-hienosäätö*."},
    ),
]


def _lang(context: ToolContext) -> str:
    return "fi" if context.lang == "fi" else "en"


def refresh_progress(context: ToolContext) -> None:
    """Mark steps whose real-world condition now holds, and move the current step to the first open one."""
    done = set(context.state.guide_done)
    for number, step in enumerate(STEPS):
        if number not in done and step.complete(context):
            done.add(number)
    context.state.guide_done = sorted(done)
    open_steps = [n for n in range(len(STEPS)) if n not in done]
    context.state.guide_step = open_steps[0] if open_steps else len(STEPS) - 1


def mark_tool_used(context: ToolContext, tool_name: str) -> None:
    """Remember a tool the learner used while on the guided path (some steps are done by doing)."""
    if context.state.guide_active and tool_name not in context.state.guide_used:
        context.state.guide_used.append(tool_name)


def progress_markdown(context: ToolContext) -> str:
    lang = _lang(context)
    lines = []
    for number, step in enumerate(STEPS):
        mark = "✅" if number in context.state.guide_done else ("👉" if number == context.state.guide_step else "⬜")
        lines.append(f"{mark} {number + 1}. {step.title[lang]}")
    return "\n".join(lines)


def step_text(context: ToolContext) -> str:
    lang = _lang(context)
    number = context.state.guide_step
    step = STEPS[number]
    if len(context.state.guide_done) == len(STEPS):
        return ("🎉 Kävit koko polun läpi! " if lang == "fi" else "🎉 You finished the whole path! ") + step.task[lang]
    text = f"**{'Vaihe' if lang == 'fi' else 'Step'} {number + 1}/{len(STEPS)}: {step.title[lang]}**\n\n{step.task[lang]}"
    if step.check:
        options = "\n".join(f"{letter}) {option}" for letter, option in zip("abc", step.check.options[lang]))
        prompt = "Vastaa kirjaimella a, b tai c." if lang == "fi" else "Answer with a, b or c."
        text += f"\n\n❓ {step.check.question[lang]}\n{options}\n\n{prompt}"
    return text


def proposal(context: ToolContext) -> str:
    """One line proposing the next step, appended to replies during a guided session."""
    refresh_progress(context)
    step = STEPS[context.state.guide_step]
    lang = _lang(context)
    task = step.task[lang]
    if step.key == "dataset" and context.state.drafts:
        task = "Sano *lisää ne*, niin luonnokset tallentuvat aineistoon." if lang == "fi" else "Say *add them* to save the drafts to your dataset."
    return f"➡️ **{'Seuraavaksi' if lang == 'fi' else 'Next'}:** {task}"


def awaiting_answer(context: ToolContext) -> bool:
    """Whether the current step is waiting for its check question's answer."""
    if not context.state.guide_active:
        return False
    number = context.state.guide_step
    return STEPS[number].check is not None and number not in context.state.guide_done


@tool
def guide(
    context: ToolContext,
    action: Annotated[Literal["start", "next", "status", "answer"], Field(description="start/next/status of the guided path, or answer a check question.")] = "status",
    answer: Annotated[str | None, Field(description="The learner's answer (a, b or c) to the current check question.")] = None,
) -> ToolOutput:
    """The guided path through learning, deciding, building a dataset, validating, fine-tuning and evaluating."""
    lang = _lang(context)
    context.state.guide_active = True
    refresh_progress(context)
    feedback = ""
    step = STEPS[context.state.guide_step]
    if action == "answer" and step.check and answer:
        found = CHECK_ANSWER.match(answer)
        letter = found.group(1).lower() if found else answer.strip().lower()[:1]
        if letter == step.check.correct:
            context.state.guide_done = sorted(set(context.state.guide_done) | {context.state.guide_step})
            feedback = ("✅ Oikein! " if lang == "fi" else "✅ Right! ") + step.check.explain[lang] + "\n\n"
            refresh_progress(context)
        else:
            feedback = ("❌ Ei aivan — yritä uudelleen. " if lang == "fi" else "❌ Not quite — try again. ") + "\n\n"
    elif action == "next" and step.key == "next":
        # A step with nothing to check (next steps) is done once seen.
        context.state.guide_done = sorted(set(context.state.guide_done) | {context.state.guide_step})
        refresh_progress(context)
    progress = progress_markdown(context)
    text = f"{feedback}{progress}\n\n{step_text(context)}"
    data = {"step": context.state.guide_step + 1, "done": [n + 1 for n in context.state.guide_done], "steps": len(STEPS)}
    return ToolOutput(data, progress, text)
