"""Splitting a markdown doc into sections that carry their heading path and anchor, and sections into units.

Sections come from langchain's header splitter. Headings may carry an explicit anchor
(`## Heading {#anchor-id}`); otherwise the anchor is the GitHub-style slug of the heading,
so `source#anchor` opens the section on GitHub. Units (sentences, list items, table rows,
code blocks) are what the dense retriever embeds and what extractive answers quote: a
paraphrased question usually matches one statement of a section, which a whole-section
vector blurs.

A section may list the questions it answers in a comment under its heading
(`<!-- questions:` then one `- question` per line, then `-->`): hidden when the doc is read,
indexed so a learner's paraphrase meets a question worded the way learners word them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

HEADING_SEPARATOR = " > "
_HEADER_KEYS = [("#", "h1"), ("##", "h2"), ("###", "h3"), ("####", "h4")]
_EXPLICIT_ANCHOR = re.compile(r"\s*\{#([A-Za-z0-9_.:-]+)\}\s*$")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_EMPHASIS = re.compile(r"(\*\*|__|\*|`)")
_SLUG_DROP = re.compile(r"[^\w\- ]", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[*_`]?[A-ZÄÖÅ0-9])")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_TABLE_RULE = re.compile(r"^\|?[\s:|-]+\|?$")
_QUESTIONS = re.compile(r"<!--\s*questions:(.*?)-->", re.DOTALL)


@dataclass(frozen=True)
class Section:
    """A doc section: its markdown body plus where it sits in the doc."""

    text: str
    heading: str  # heading path as written, e.g. "Practical notes > Epochs"
    anchor: str  # id of the deepest heading ("" for text before any heading)
    title: str  # the doc's top heading
    questions: tuple[str, ...] = ()  # the questions the section says it answers


@dataclass
class Unit:
    """A quotable piece of a section."""

    text: str
    block: int  # units of one paragraph or one list share a block and are rendered together
    kind: str  # "sentence", "item", "row" or "code"


def split_sections(markdown: str) -> list[Section]:
    """Split a cleaned markdown doc into sections, in doc order; empty sections are dropped."""
    # Imported here: only an ingest splits sections, and the import is a quarter second of every start.
    from langchain_text_splitters import MarkdownHeaderTextSplitter

    splitter = MarkdownHeaderTextSplitter(_HEADER_KEYS, strip_headers=True)
    seen_slugs: dict[str, int] = {}
    title = ""
    sections: list[Section] = []
    for doc in splitter.split_text(markdown):
        raws = [doc.metadata[key] for _, key in _HEADER_KEYS if doc.metadata.get(key)]
        names = [parse_heading(raw)[0] for raw in raws]
        # Only the deepest heading is new here; counting it alone keeps GitHub's "-1" numbering right.
        anchor = parse_heading(raws[-1], seen_slugs)[1] if raws else ""
        if names and doc.metadata.get("h1"):
            title = names[0]
        # The header splitter joins paragraphs with a markdown line break; restore the blank lines.
        body = doc.page_content.replace("  \n", "\n\n").strip()
        questions = tuple(
            line.strip()[1:].strip() for block in _QUESTIONS.findall(body) for line in block.splitlines() if line.strip().startswith("-")
        )
        body = _QUESTIONS.sub("", body).strip()
        if body:
            heading = HEADING_SEPARATOR.join(names)
            sections.append(Section(text=body, heading=heading, anchor=anchor, title=title or heading, questions=questions))
    return sections


def split_units(markdown: str) -> list[Unit]:
    """Sentences of paragraphs, list items, table rows and code blocks, in order."""
    units: list[Unit] = []
    block = 0
    paragraph: list[str] = []
    code: list[str] | None = None

    def flush() -> None:
        nonlocal block
        if paragraph:
            text = " ".join(line.strip() for line in paragraph)
            units.extend(Unit(sentence.strip(), block, "sentence") for sentence in _SENTENCE_END.split(text) if sentence.strip())
            paragraph.clear()
            block += 1

    for line in markdown.splitlines():
        stripped = line.strip()
        if code is not None:
            if stripped.startswith(("```", "~~~")):
                units.append(Unit("\n".join(code), block, "code"))
                block += 1
                code = None
            else:
                code.append(line)
            continue
        if stripped.startswith(("```", "~~~")):
            flush()
            code = [line]
            continue
        if not stripped or stripped.startswith("#"):
            flush()
            continue
        if stripped.startswith("|"):
            flush()
            if not _TABLE_RULE.match(stripped) and re.sub(r"[|\s]", "", stripped):
                units.append(Unit(stripped, block, "row"))
            continue
        if _LIST_ITEM.match(line):
            flush()
            units.append(Unit(_LIST_ITEM.sub("", line, count=1).strip(), block, "item"))
            continue
        if units and units[-1].kind == "item" and not paragraph and line.startswith((" ", "\t")):
            units[-1].text += " " + stripped  # continuation line of a list item
            continue
        if units and units[-1].kind in ("item", "row") and not paragraph:
            block += 1
        paragraph.append(line)
    flush()
    if code:  # an unclosed fence still holds text worth finding
        units.append(Unit("\n".join(code), block, "code"))
    return [unit for unit in units if len(plain_text(unit.text).strip()) > 3]


def own_heading(heading: str) -> str:
    """A section's own heading from its full one (`"Practical notes > Epochs"` -> `"Epochs"`)."""
    return heading.rsplit(HEADING_SEPARATOR, 1)[-1].strip()


def parse_heading(raw: str, seen_slugs: dict[str, int] | None = None) -> tuple[str, str]:
    """`"Epochs {#epochs}"` -> ("Epochs", "epochs"); without an explicit id the anchor is GitHub's slug."""
    match = _EXPLICIT_ANCHOR.search(raw)
    if match:
        return raw[: match.start()].strip(), match.group(1)
    name = raw.strip()
    return name, slugify_heading(name, seen_slugs)


def slugify_heading(name: str, seen_slugs: dict[str, int] | None = None) -> str:
    """GitHub's heading id: lower case, punctuation dropped, spaces to hyphens, repeats numbered."""
    slug = _SLUG_DROP.sub("", plain_text(name).lower()).replace(" ", "-")
    if seen_slugs is None:
        return slug
    count = seen_slugs.get(slug, 0)
    seen_slugs[slug] = count + 1
    return slug if count == 0 else f"{slug}-{count}"


def plain_text(markdown: str) -> str:
    """Markdown without link targets and emphasis marks: what the embedding and BM25 should read."""
    return _EMPHASIS.sub("", _LINK.sub(r"\1", markdown))
