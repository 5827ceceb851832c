"""The lesson tool: search the lesson docs and answer from them, citing sections."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from assistant.tool_context import ToolContext
from assistant.registry import ToolOutput, tool
from assistant.routes import Route, patterns
from core.texts import text

MODEL_CONTEXT_SECTIONS = 4


# Anything no other tool's route takes is a lesson question: the toolbox tries this route last.
@tool(routes=[Route(patterns(r".+"), lambda match, text: {"question": text}, fallback=True)])
def search_lesson(
    question: Annotated[str, Field(description="The learner's question about fine-tuning LLMs, in their own words.")],
    context: ToolContext,
) -> ToolOutput:
    """Search the lesson "Fine-tuning LLMs" and return the sections that answer the question, with heading and source, and whether the lesson covers it at all."""
    # Imported on first use: they bring chromadb and torch, which the app loads behind its serving page.
    from knowledge.answer import alternatives, answer
    from knowledge.search import get_retriever, search

    if context.writer is not None:
        # A capable model writes the answer itself from the top sections.
        result = search(question, lang=context.lang, k=MODEL_CONTEXT_SECTIONS, index=context.settings)
        hits, covered, reply = result.hits, result.covered, None
        # The model is shown the sections best first, so the top one stands for "cited first".
        follow_ups = alternatives(result.near_ties, hits[0], get_retriever(context.settings))[1] if covered else []
    else:
        # Offline: the extractive answer is the reply (its near-tie line included), and its citations are what was used.
        written = answer(question, lang=context.lang, index=context.settings)
        hits, covered, reply, follow_ups = written.citations, written.covered, written.text, written.follow_ups
    sections = [{"heading": h.heading, "source": h.link, "lang": h.lang, "text": h.text} for h in hits] if covered else []
    data: dict = {"covered": covered, "sections": sections}
    if not covered:
        data["note"] = "The lesson does not cover this question: say so plainly and name what the lesson covers."
        data["lesson_topics"] = get_retriever(context.settings).titles(context.lang)
    elif follow_ups:
        data["note"] = ("Several sections match about equally well: answer from the first, then say briefly that others "
                        "come close and that the learner can ask about them; the chat shows the follow_ups as buttons.")
        data["follow_ups"] = follow_ups
    display = "\n".join(f"- **{s['heading']}** — `{s['source']}`" for s in sections) or text(context.lang, "lesson.no_match")
    return ToolOutput(data, display, reply=reply, options=follow_ups)
