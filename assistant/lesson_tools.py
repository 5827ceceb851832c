"""The lesson tool: search the lesson docs and answer from them, citing sections."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from assistant.context import ToolContext
from assistant.tools import ToolOutput, tool
from knowledge.answer import answer


@tool
def search_lesson(
    question: Annotated[str, Field(description="The learner's question about fine-tuning LLMs, in their own words.")],
    context: ToolContext,
) -> ToolOutput:
    """Search the lesson "Fine-tuning LLMs" and return the sections that answer the question, with heading and source, and whether the lesson covers it at all."""
    # Extractive here; a capable model writes its own answer from `data` instead of using `reply`.
    result = answer(question, lang=context.lang, index=context.settings)
    sections = [
        {"heading": hit.heading, "source": f"{hit.source}#{hit.anchor}", "lang": hit.lang, "text": hit.text}
        for hit in result.citations
    ]
    data = {"covered": result.covered, "sections": sections}
    if not result.covered:
        data["note"] = "The lesson does not cover this question; say so and name what it does cover."
        data["lesson_covers"] = result.text
    display = "\n".join(f"- **{s['heading']}** — `{s['source']}`" for s in sections) or (
        "Ei osumia oppitunnissa." if context.lang == "fi" else "No matching lesson section."
    )
    return ToolOutput(data, display, reply=result.text)
