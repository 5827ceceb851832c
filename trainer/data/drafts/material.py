"""Reading the learner's own material into question-answer pairs.

Recognised, tried in this order: chat examples the learner wrote (JSON lines in any format
`trainer.data.formats` converts, or `user:` / `assistant:` labels), `Q:` / `A:` labelled text, a
CSV/TSV table (columns found by their header in English or Finnish, else by shape), a markdown FAQ
(question headings or **bold** questions with the answer under them), and plain "question? answer"
lines or paragraphs. Every reader keeps the learner's words; a question with no answer is kept with
an empty answer so the drafts can say what is missing.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from typing import Callable

from trainer.data.formats import detect_format, to_chat


@dataclass(frozen=True)
class Pair:
    user: str
    assistant: str  # "" when the material asks the question but gives no answer
    system: str | None = None


@dataclass
class Material:
    kind: str  # "examples", "qa", "table", "faq", "questions" or "none"
    pairs: list[Pair] = field(default_factory=list)
    title: str | None = None  # a markdown FAQ's first heading when it is not a question

    @property
    def answered(self) -> list[Pair]:
        return [p for p in self.pairs if p.assistant]


QUESTION_HEADERS = {"question", "questions", "q", "prompt", "user", "input", "query", "instruction", "customer",
                    "kysymys", "kysymykset", "k", "käyttäjä", "syöte", "asiakas", "kysyjä"}
ANSWER_HEADERS = {"answer", "answers", "a", "response", "reply", "output", "completion", "assistant",
                  "vastaus", "vastaukset", "v", "avustaja", "tuloste"}
SYSTEM_HEADERS = {"system", "system message", "system prompt", "järjestelmä", "järjestelmäviesti"}
ROLE_NAMES = {"system": "system", "user": "user", "assistant": "assistant",
              "järjestelmä": "system", "käyttäjä": "user", "avustaja": "assistant"}
QUESTION_WORDS = {
    "what", "what's", "how", "when", "where", "why", "who", "which", "whose", "do", "does", "did", "can", "could",
    "is", "are", "was", "will", "would", "should", "shall", "may", "have", "has", "am",
    "mitä", "mikä", "mitkä", "miten", "kuinka", "milloin", "missä", "mistä", "mihin", "miksi", "kuka", "ketkä",
    "paljonko", "montako", "kenelle", "kenen", "millainen", "millaisia", "minkä", "monelta",
}

_LABEL = re.compile(r"(?:^|(?<=\s))(system|user|assistant|järjestelmä|käyttäjä|avustaja)\s*:\s*", re.IGNORECASE)
_QA_LABEL = re.compile(
    r"^[ \t]*(?:[-*][ \t]+)?(?:\*\*)?(q\d*|question|k|kysymys|a|answer|v|vastaus)(?:[ \t]*\d+)?[ \t]*[:)](?:\*\*)?[ \t]*",
    re.IGNORECASE | re.MULTILINE,
)
_HEADING = re.compile(r"^[ \t]{0,3}(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
_BOLD = re.compile(r"^[ \t]*(?:[-*+][ \t]+|\d+[.)][ \t]+)?(\*\*|__)(.+?)\1[ \t]*[:\-–—]?[ \t]*(.*)$")
_LIST_MARK = re.compile(r"^[ \t]*(?:[-*+][ \t]+|\d+[.)][ \t]+)")


def read_material(text: str) -> Material:
    """The pairs in pasted or uploaded material; kind "none" when nothing in it reads as questions and answers."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff").strip()
    if not text:
        return Material("none")
    readers: tuple[Callable[[str], Material | None], ...] = (
        _json_examples, _labelled_examples, _qa_labels, _table, _markdown_faq, _question_lines)
    for reader in readers:
        found = reader(text)
        if found is not None and found.pairs:
            return found
    return Material("none")


def looks_like_material(text: str) -> bool:
    """Whether a chat message carries material to draft from: two answered pairs in a marked-up form, or three
    plain "question? answer" ones (two questions with some context are just a learner asking twice)."""
    found = read_material(text)
    return len(found.answered) >= (3 if found.kind == "questions" else 2)


def is_question(text: str) -> bool:
    words = text.strip().split()
    if not words:
        return False
    first = words[0].lower().strip("¿¡\"'*")
    return text.rstrip().endswith("?") or first in QUESTION_WORDS or bool(re.fullmatch(r"\w+(ko|kö)", first))


# -- readers, each returns None when the text is not its kind ----------------------------------------
def _json_examples(text: str) -> Material | None:
    lines = [line for line in text.split("\n") if line.strip()]
    if not lines[0].lstrip().startswith(("{", "[")):
        return None
    try:
        values = json.loads(text) if text.lstrip().startswith("[") else [json.loads(line) for line in lines]
    except json.JSONDecodeError:
        return None
    pairs = []
    for value in values if isinstance(values, list) else []:
        fmt = detect_format(value)
        if fmt is None:
            continue
        try:
            messages = to_chat(value, fmt)["messages"]
        except (ValueError, KeyError, TypeError):
            continue
        pairs.extend(_pairs_of_messages(messages))
    return Material("examples", pairs)


def _labelled_examples(text: str) -> Material | None:
    labels = list(_LABEL.finditer(text))
    roles = {ROLE_NAMES[m.group(1).lower()] for m in labels}
    if not {"user", "assistant"} <= roles:
        return None
    messages = []
    for i, label in enumerate(labels):
        end = labels[i + 1].start() if i + 1 < len(labels) else len(text)
        messages.append({"role": ROLE_NAMES[label.group(1).lower()], "content": _tidy(text[label.end():end])})
    return Material("examples", _pairs_of_messages(messages))


def _qa_labels(text: str) -> Material | None:
    labels = list(_QA_LABEL.finditer(text))
    kinds = [_qa_kind(m.group(1)) for m in labels]
    if "q" not in kinds or "a" not in kinds:
        return None
    pairs: list[Pair] = []
    question: str | None = None
    for i, label in enumerate(labels):
        end = labels[i + 1].start() if i + 1 < len(labels) else len(text)
        body = _tidy(text[label.end():end])
        if kinds[i] == "q":
            if question:
                pairs.append(Pair(question, ""))
            question = body
        elif question:
            pairs.append(Pair(question, body))
            question = None
    if question:
        pairs.append(Pair(question, ""))
    return Material("qa", [p for p in pairs if p.user])


def _qa_kind(label: str) -> str:
    return "q" if label.lower().rstrip("0123456789") in {"q", "question", "k", "kysymys"} else "a"


def _table(text: str) -> Material | None:
    lines = [line for line in text.split("\n") if line.strip()]
    if len(lines) < 2:
        return None
    sample = "\n".join(lines[:50])
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters="\t,;|")
    except csv.Error:
        return None
    rows = [[cell.strip() for cell in row] for row in csv.reader(lines, dialect) if any(c.strip() for c in row)]
    widths = [len(row) for row in rows]
    width = max(set(widths), key=widths.count)
    header = [_header_name(cell) for cell in rows[0]]
    named = any(h in QUESTION_HEADERS for h in header) and any(h in ANSWER_HEADERS for h in header)
    # Prose with commas sniffs as CSV too: a table has one width on (almost) every row, or named columns.
    if width < 2 or (not named and widths.count(width) < max(2, int(0.9 * len(rows)))):
        return None
    # "Open on Sundays? No, closed." lines split at their commas; a question inside a cell means prose, not a table.
    if not named and sum(any(re.search(r"\?\s+\S", cell) for cell in row) for row in rows) * 2 >= len(rows):
        return None
    if named:
        body = rows[1:]
        q_col = next(i for i, h in enumerate(header) if h in QUESTION_HEADERS)
        a_col = next(i for i, h in enumerate(header) if h in ANSWER_HEADERS)
        s_col = next((i for i, h in enumerate(header) if h in SYSTEM_HEADERS), None)
    else:
        body = rows[1:] if _has_header(sample, dialect, rows) else rows
        q_col, a_col = _columns_by_shape(body, width)
        s_col = None
    pairs = []
    for row in body:
        question = row[q_col] if q_col < len(row) else ""
        if not question:
            continue
        answer = row[a_col] if a_col < len(row) else ""
        system = row[s_col] if s_col is not None and s_col < len(row) and row[s_col] else None
        pairs.append(Pair(question, answer, system))
    return Material("table", pairs)


def _header_name(cell: str) -> str:
    return re.sub(r"[^\wäöå ]+", "", cell.lower()).strip()


def _has_header(sample: str, dialect: type[csv.Dialect], rows: list[list[str]]) -> bool:
    first = rows[0]
    if any(is_question(cell) for cell in first):
        return False
    try:
        if csv.Sniffer().has_header(sample):
            return True
    except csv.Error:
        pass
    # Text columns defeat the Sniffer's type test: short labels over longer rows read as a header.
    return all(len(cell.split()) <= 3 for cell in first) and any(len(c.split()) > 3 for row in rows[1:] for c in row)


def _columns_by_shape(rows: list[list[str]], width: int) -> tuple[int, int]:
    """The question column holds the most questions; the answer column the longest other text."""
    def cells(col: int) -> list[str]:
        return [row[col] for row in rows if col < len(row)]

    asked = [sum(is_question(c) for c in cells(col)) for col in range(width)]
    q_col = max(range(width), key=lambda col: (asked[col], -col))
    others = [col for col in range(width) if col != q_col]
    a_col = max(others, key=lambda col: (sum(len(c) for c in cells(col)), -col))
    return q_col, a_col


def _markdown_faq(text: str) -> Material | None:
    lines = text.split("\n")
    starts: list[tuple[int, str, bool]] = []  # (line, question or title, is a heading)
    title = None
    for number, line in enumerate(lines):
        heading = _HEADING.match(line)
        bold = _BOLD.match(line)
        if heading:
            words = heading.group(2).strip()
            if title is None and not starts and not is_question(words):
                title = words
            starts.append((number, words, True))
        elif bold and is_question(bold.group(2)):
            starts.append((number, bold.group(2).strip(), False))
    if not any(is_question(words) for _, words, _ in starts):
        return None
    pairs = []
    for i, (number, words, _) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else len(lines)
        first = lines[number]
        rest = _BOLD.match(first).group(3) if not _HEADING.match(first) else ""  # type: ignore[union-attr]
        answer = _tidy("\n".join([rest, *lines[number + 1:end]]))
        if is_question(words):
            pairs.append(Pair(words, answer))
    return Material("faq", pairs, title=title)


def _question_lines(text: str) -> Material | None:
    """ "Question? Answer." lines, or a question line (or paragraph) with its answer under it."""
    pairs: list[tuple[str, list[str]]] = []
    paragraph_start = True
    for line in text.split("\n"):
        stripped = _LIST_MARK.sub("", line).strip()
        if not stripped:
            paragraph_start = True
            continue
        question, rest = _split_question(stripped)
        # Inside a paragraph "Not sure? Call us." is answer text; a line opening with a question word asks anew.
        if question and not paragraph_start and not (stripped.endswith("?") or _asks(question)):
            question, rest = None, ""
        if question:
            pairs.append((question, [rest] if rest else []))
        elif pairs:
            pairs[-1][1].append(stripped)
        paragraph_start = False
    if not pairs:
        return None
    return Material("questions", [Pair(q, _tidy("\n".join(a))) for q, a in pairs])


def _asks(text: str) -> bool:
    first = text.split()[0].lower().strip("¿¡\"'*")
    return first in QUESTION_WORDS or bool(re.fullmatch(r"\w+(ko|kö)", first))


def _split_question(line: str) -> tuple[str | None, str]:
    match = re.match(r"^(.+?\?)\s+(.+)$", line)
    if match and not match.group(2).rstrip().endswith("?"):
        return match.group(1), match.group(2)
    return (line, "") if line.endswith("?") else (None, "")


def _pairs_of_messages(messages: list[dict]) -> list[Pair]:
    """One pair per user turn answered by an assistant turn; a system message applies to the pairs after it."""
    pairs: list[Pair] = []
    system = None
    user: str | None = None
    for message in messages:
        role, content = message.get("role"), str(message.get("content") or "").strip()
        if role == "system":
            system = content or None
        elif role == "user":
            if user:
                pairs.append(Pair(user, "", system))
            user = content
        elif role == "assistant" and user:
            pairs.append(Pair(user, content, system))
            user = None
    if user:
        pairs.append(Pair(user, "", system))
    return pairs


def _tidy(text: str) -> str:
    """Trim blank lines and trailing spaces, keep the learner's line breaks (answers may hold lists)."""
    lines = [line.rstrip() for line in text.strip().split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip().strip('"').strip()
