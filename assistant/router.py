"""Offline tool routing: match the learner's message to a tool call by intent, in English and Finnish.

The offline default model cannot call tools, so for it the conversation asks this module which tool
a message wants. Rules are tried in order, the most specific first; anything not matched is a lesson
question. A rule's extractor turns the match into the tool's arguments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

from trainer.data.drafts import MAX_DRAFTS, looks_like_material

Extractor = Callable[[re.Match[str], str], dict[str, Any]]


@dataclass
class Route:
    tool: str | None
    arguments: dict[str, Any] = field(default_factory=dict)
    # For messages that need no tool: a key into the reply texts (help, greeting).
    reply: str | None = None


@dataclass
class Rule:
    tool: str
    patterns: list[re.Pattern[str]]
    extract: Extractor = lambda match, text: {}


def _p(*patterns: str) -> list[re.Pattern[str]]:
    return [re.compile(p, re.IGNORECASE | re.DOTALL) for p in patterns]


MODEL = r"(gpt-[\w.\-]+|ft:[\w.:\-]+)"
NAME = r"[A-Za-z0-9][A-Za-z0-9_\-]{0,63}"
JOB = r"(ft-[0-9a-f]{4,}|ftjob-[A-Za-z0-9]+)"


def _group(match: re.Match[str], name: str) -> str | None:
    value = match.groupdict().get(name)
    return value.strip() if value else None


def _named(match: re.Match[str], text: str) -> dict[str, Any]:
    return {k: v.strip() for k, v in match.groupdict().items() if v and v.strip()}


def _index(match: re.Match[str], text: str) -> dict[str, Any]:
    values = _named(match, text)
    values["index"] = int(values["index"])
    return values


def _example_fields(match: re.Match[str], text: str) -> dict[str, Any]:
    """Pull `system:`, `user:` and `assistant:` parts (or `question => answer`) out of a message."""
    values: dict[str, Any] = {}
    if "index" in match.groupdict():
        values["index"] = int(match.group("index"))
    body = text[match.end():] if match.end() < len(text) else ""
    labelled = re.findall(
        r"(system|user|assistant|järjestelmä|käyttäjä|avustaja)\s*[:=]\s*(.+?)(?=\s*(?:system|user|assistant|järjestelmä|käyttäjä|avustaja)\s*[:=]|$)",
        body, re.IGNORECASE | re.DOTALL,
    )
    names = {"järjestelmä": "system", "käyttäjä": "user", "avustaja": "assistant"}
    for role, content in labelled:
        values[names.get(role.lower(), role.lower())] = content.strip().strip('"')
    if not labelled and ("=>" in body or "->" in body):
        question, _, answer = re.split(r"(=>|->)", body, maxsplit=1)
        values["user"], values["assistant"] = question.strip(" :\"'"), answer.strip(" \"'")
    return values


def _draft(match: re.Match[str], text: str) -> dict[str, Any]:
    """The description from the request's first line; anything pasted under it is the learner's material."""
    topic = _group(match, "topic") or text
    first, _, material = topic.partition("\n")
    values: dict[str, Any] = {"topic": first.strip()}
    if material.strip():
        values["material"] = material.strip()
    # Only the request line may give the count: pasted material is full of numbers (prices, hours).
    count = re.search(r"\b(\d{1,2})\b", text.strip().split("\n", 1)[0])
    if count and 1 <= int(count.group(1)) <= MAX_DRAFTS:
        values["count"] = int(count.group(1))
    return values


def _draft_like(match: re.Match[str], text: str) -> dict[str, Any]:
    values: dict[str, Any] = {"like": int(match.group("like"))}
    if match.group("count") and 1 <= int(match.group("count")) <= MAX_DRAFTS:
        values["count"] = int(match.group("count"))
    return values


def _pasted_material(text: str) -> Route | None:
    """A multi-line message holding questions and answers (a FAQ, Q&A, CSV/TSV, examples) asks for drafts from it."""
    if "\n" not in text.strip() or not looks_like_material(text):
        return None
    for pattern in DRAFT_PATTERNS:
        match = pattern.search(text)
        if match:
            return Route("draft_examples", _draft(match, text))
    return Route("draft_examples", {"topic": "", "material": text})


def _train(match: re.Match[str], text: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    preset = re.search(r"\b(quick|balanced|thorough|nopea|tasapainoinen|perusteellinen)\b", text, re.IGNORECASE)
    if preset:
        values["preset"] = {"nopea": "quick", "tasapainoinen": "balanced", "perusteellinen": "thorough"}.get(
            preset.group(1).lower(), preset.group(1).lower())
    if re.search(r"\bopenai\b", text, re.IGNORECASE):
        values["backend"] = "openai"
    epochs = re.search(r"(\d{1,2})\s*(epochs?|epookki\w*|kierros\w*)", text, re.IGNORECASE)
    if epochs:
        values["epochs"] = int(epochs.group(1))
    dataset = re.search(rf"\b(?:dataset|aineisto\w*)\s+[\"']?(?P<name>{NAME})", text, re.IGNORECASE)
    if dataset and dataset.group("name").lower() not in {"with", "using", "on", "and"}:
        values["dataset"] = dataset.group("name")
    return values


def _job_and_prompt(match: re.Match[str], text: str) -> dict[str, Any]:
    values = _named(match, text)
    job = re.search(JOB, text)
    if job:
        values["job_id"] = job.group(1)
    return values


def _job(match: re.Match[str], text: str) -> dict[str, Any]:
    job = re.search(JOB, text)
    return {"job_id": job.group(1)} if job else {}


def _cost(match: re.Match[str], text: str) -> dict[str, Any]:
    model = re.search(MODEL, text, re.IGNORECASE)
    return {"model": model.group(1).lower()} if model else {}


def _guide(match: re.Match[str], text: str) -> dict[str, Any]:
    if re.search(r"\b(next|continue|resume|seuraava|jatka)\b", text, re.IGNORECASE):
        return {"action": "next"}
    return {"action": "start"}


DRAFT_PATTERNS = _p(
    r"^\s*(please\s+|can you\s+)?(help me( to)? (make|write|create|draft)|draft|generate|write|make|create)\b[^\n]{0,40}?\b(examples?|training data)\b[ \t]*(for|about|of)?[ \t]*(?P<topic>.*)",
    r"^\s*(auta|luonnostele|kirjoita|tee|laadi)\b[^\n]{0,40}?\besimerk\w*\b[ \t]*(?P<topic>.*)",
)

RULES: list[Rule] = [
    Rule("guide", _p(
        r"^\s*(start|begin|open|show|continue|resume)\b.*\b(guided?|tutorial|path|walkthrough)\b",
        r"^\s*(next step|what('s| is) next|continue the guide)\b",
        r"^\s*(aloita|avaa|näytä|jatka)\b.*\b(opastu\w*|polku\w*|ohjattu\w*|opas\w*)",
        r"^\s*(seuraava vaihe|mitä seuraavaksi|jatka opastusta)\b",
    ), _guide),
    Rule("draft_examples", _p(
        r"^\s*(please\s+|can you\s+)?(make|write|draft|create|generate|give me)\s+(?P<count>\d{1,2}\s+)?more\b[^\n]{0,40}?\blike\s+(example\s*|#|number\s*)?(?P<like>\d{1,3})\b",
        r"^\s*(tee|kirjoita|luonnostele|laadi)\s+(?P<count>\d{1,2}\s+)?(lisää|uutta|muuta)\b[^\n]{0,40}?\besimerk\w*\s*(?P<like>\d{1,3})\b",
    ), _draft_like),
    Rule("draft_examples", DRAFT_PATTERNS, _draft),
    Rule("add_drafts", _p(
        r"^\s*(add|keep|save|use)\s+(them|these|the drafts?|all( of them)?|the examples?)\s*(to\b.*)?[.!]?\s*$",
        r"^\s*(lisää|tallenna|pidä)\s+(ne|nämä|luonnokset|kaikki)\b",
    )),
    Rule("edit_example", _p(
        r"\b(edit|change|update|fix)\s+(example|#)\s*(?P<index>\d+)",
        r"\b(muokkaa|muuta|korjaa)\s+esimerk\w*\s*(?P<index>\d+)",
    ), _example_fields),
    Rule("remove_example", _p(
        r"\b(remove|delete|drop)\s+(example|#)\s*(?P<index>\d+)",
        r"\b(poista)\s+esimerk\w*\s*(?P<index>\d+)",
    ), _index),
    Rule("add_example", _p(
        r"\badd\s+(an?\s+|this\s+|one\s+more\s+)?example\b\s*[:\-]?",
        r"\blisää\s+(tämä\s+)?esimerk\w*\s*[:\-]?",
    ), _example_fields),
    Rule("create_dataset", _p(
        rf"\b(create|new|start|make)\s+(a\s+|new\s+)*dataset\s+(called\s+|named\s+)?[\"']?(?P<name>{NAME})",
        rf"\b(luo|uusi|aloita)\s+(uusi\s+)?aineisto\w*\s+(nimeltä\s+)?[\"']?(?P<name>{NAME})",
    ), _named),
    Rule("list_datasets", _p(
        r"\b(list|show)\s+(my\s+|all\s+)?datasets\b", r"\bwhich datasets\b", r"\b(listaa|näytä)\s+(kaikki\s+)?aineisto(t|ni)\b",
    )),
    Rule("validate_dataset", _p(
        r"^\s*(please\s+|can you\s+)?(validate|check)(\s+(my|the|this))?(\s+(dataset|data|examples|file|it))?\s*[.!?]*\s*$",
        r"\bvalidate\s+(my|the|this)\s+(dataset|data|examples|file)\b",
        r"^\s*(tarkista|validoi|tarkasta)\b(?!.*\?\s*$)",
    )),
    Rule("estimate_cost", _p(
        r"\b(would|will|does)\s+(this|it|that|my dataset|my data|the dataset)\s+cost\b",
        rf"\b(cost|price|estimate)\b.*\b(on|with|for|using)\s+{MODEL}",
        r"\b(estimate|count)\s+(the\s+)?(cost|tokens)\b",
        r"\b(paljonko|mitä)\b.*\b(maksa\w*|kustan\w*)\b.*\b(tämä|se|aineisto\w*)\b",
        r"\b(arvioi|laske)\b.*\b(kustannu\w*|hin\w*|token\w*)",
    ), _cost),
    Rule("export_dataset", _p(
        r"^\s*(please\s+)?(export|download)\b", r"\bexport\s+(it|my|the|this)\b",
        r"^\s*(vie|lataa|tallenna)\b.*\b(aineisto\w*|jsonl|tiedosto\w*|se)\b", r"\bvie\s+(se|aineisto\w*)\b",
    )),
    Rule("show_dataset", _p(
        r"\b(show|display|list)\s+(me\s+)?(my|the)\s+(dataset|examples)\b", r"\bnäytä\s+(aineisto\w*|esimerk\w*)\b",
    )),
    Rule("cancel_job", _p(
        r"^\s*(please\s+)?(cancel|stop|abort)\s+(the\s+|my\s+|this\s+)?(job|training|fine-?tun\w*|run)\b(?!.*\?\s*$)",
        r"^\s*(peru|keskeytä|pysäytä)\b(?!.*\?\s*$)",
    ), _job),
    Rule("compare", _p(
        r"^\s*compare\s*:\s*(?P<prompt>.+)",
        r"^\s*compare\s+(base\s+(and|vs\.?|with)\s+tuned|the\s+models?|models)\s*(on|with|:)\s*(?P<prompt>.+)",
        r"^\s*vertaa\s*:\s*(?P<prompt>.+)",
        r"^\s*vertaa\s+malle\w*\s*:?\s*(?P<prompt>.+)",
    ), _job_and_prompt),
    Rule("chat_with_model", _p(
        r"^\s*(ask|chat with)\s+(the\s+|my\s+)?(tuned|fine-?tuned)\s+(model)?\s*[:,]?\s*(?P<prompt>.+)",
        r"^\s*kysy\s+(hienosäädetyltä|viritetyltä)\s+(mallilta)?\s*[:,]?\s*(?P<prompt>.+)",
    ), _job_and_prompt),
    Rule("list_jobs", _p(r"\b(list|show)\s+(my\s+|all\s+)?(jobs|fine-?tunes|trainings)\b", r"\b(listaa|näytä)\s+(kaikki\s+)?(työt|koulutukset)\b")),
    Rule("job_status", _p(
        r"\b(status|progress)\s+(of\s+)?(my|the|this)?\s*(job|training|fine-?tune|run)\b",
        r"\bhow('s|\s+is|\s+are)\s+(my|the)\s+(jobs?|training|fine-?tunes?|runs?)\b", rf"\b{JOB}\b",
        r"\b(koulutuksen|työn|hienosäädön)\s+(tila|eteneminen)\b",
        r"\bmiten\s+(koulutus|työ|hienosäätö|ajo)\s+(etenee|sujuu|menee)\b",
    ), _job),
    Rule("start_finetune", _p(
        r"^\s*(please\s+|now\s+|let'?s\s+)?(start|run|launch|kick off|begin)\b.*\b(fine-?tun\w*|training|job)\b(?!.*\?\s*$)",
        r"^\s*(please\s+)?(fine-?tune|train)\s+(it|my|the|this|a|on)\b(?!.*\?\s*$)",
        r"^\s*(aloita|käynnistä)\b.*\b(hienosää\w*|koulutu\w*)(?!.*\?\s*$)",
        r"^\s*(hienosäädä|kouluta)\s+(se|malli|aineisto)\w*\b",
    ), _train),
]

GREETING = re.compile(r"^\s*(hi|hello|hey|moi|hei|terve|moikka)\b[\s!.]*$", re.IGNORECASE)
HELP = re.compile(r"^\s*(help|apua|ohje|what can you do|mitä osaat|mitä voit tehdä)\b[\s?!.]*$", re.IGNORECASE)


CHECK_ANSWER = re.compile(r"^\s*\(?([abc])\)?[.!]?\s*$", re.IGNORECASE)


def route(message: str, *, awaiting_answer: bool = False) -> Route:
    """The tool a message asks for; a lesson search when nothing more specific matches.

    `awaiting_answer`: the guided path has asked a multiple-choice question, so a lone "b" answers it.
    """
    text = message.strip()
    if not text:
        return Route(None, reply="empty")
    if awaiting_answer and CHECK_ANSWER.match(text):
        return Route("guide", {"action": "answer", "answer": text})
    if GREETING.match(text) or HELP.match(text):
        return Route(None, reply="help")
    pasted = _pasted_material(text)
    if pasted is not None:
        return pasted
    for rule in RULES:
        for pattern in rule.patterns:
            match = pattern.search(text)
            if match:
                return Route(rule.tool, rule.extract(match, text))
    return Route("search_lesson", {"question": text})
