"""A system message from the learner's description of the assistant ("a customer support bot for my bike shop").

Rules, not a model: the description is tidied ("my shop" becomes "the shop"), its kind recognised
(customer support, tutor, a verse style, anything else) and a fitting instruction added. English
descriptions get an English message, Finnish ones a Finnish message.
"""

from __future__ import annotations

import re

from core.texts import text
from trainer.data.drafts.samples import style_of
from trainer.data.drafts.wording import looks_finnish

_SUPPORT = re.compile(r"\b(customer\s+(support|service|care)|support|help\s?desk|service desk)\b", re.IGNORECASE)
_SUPPORT_FI = re.compile(r"asiakaspalvel|asiakastu|tukipalvel|neuvon", re.IGNORECASE)
_FINNISH_NAME = re.compile(r"\w{3,}lle\b|(botti|avustaja|agentti)\b|\w+\s+varten\b", re.IGNORECASE)
_TUTOR = re.compile(r"\b(tutor|teacher|coach|teaching|trainer)\b|opetta|valmenta|tuutor", re.IGNORECASE)


def clean_description(description: str) -> str:
    """The description's first clause, without quotes, the request around it or trailing punctuation."""
    first = description.strip().split("\n", 1)[0]
    first = re.split(r"(?<=[.!:;])\s+|[:;]\s*$", first)[0]
    first = re.sub(r"\s+", " ", first).strip(" .!?:;\"'*")
    return first


def system_message(description: str, lang: str | None = None) -> str:
    """A system message for the described assistant; a general one when there is no description."""
    topic = clean_description(description)
    if not topic:
        return text(lang or "en", "drafts.system_generic")
    # The description's own language decides: the rules below are English and Finnish grammar, not texts. A short
    # Finnish description ("reseptibotille") may show too little to tell; in a Finnish chat its case ending does.
    finnish = looks_finnish(topic) or (lang == "fi" and bool(_FINNISH_NAME.search(topic)))
    return _finnish(topic) if finnish else _english(topic)


def system_from_title(title: str, lang: str = "en") -> str:
    """A system message from a FAQ's title ("Pedal & Spoke — FAQ"): what it is about, not who the assistant is."""
    name = re.split(r"\s+[—–|:-]\s+", title.strip(), maxsplit=1)[0]
    name = re.sub(r"\b(frequently asked questions|faqs?|ukk|usein kysytyt( kysymykset)?|questions?|kysymykset)\b", "", name,
                  flags=re.IGNORECASE)
    name = re.sub(r"\s+", " ", name).strip(" .:!?'’s")
    if not name:
        return system_message("", lang)
    return text("fi" if looks_finnish(title) else lang, "drafts.system_from_title", name=name)


def _english(topic: str) -> str:
    topic = re.sub(r"\b(my|our)\b", "the", topic, flags=re.IGNORECASE)
    style = style_of(topic)
    if style != "plain":
        return f"You are {_article(topic)}{topic}. Always answer with a {style}."
    if _SUPPORT.search(topic):
        where = re.search(r"\b(?:for|at|of|in)\s+(.+)$", topic)
        place = where.group(1) if where else None
        who = f"the customer support assistant for {place}" if place else "a customer support assistant"
        about = f" about {place}" if place else ""
        return (f"You are {who}. Answer customers' questions{about} politely, accurately and briefly. "
                "When you are not sure, say so and tell them how to reach a person.")
    if _TUTOR.search(topic):
        return f"You are {_article(topic)}{topic}. Explain step by step in plain words and check that the learner follows."
    return f"You are {_article(topic)}{topic}. Keep answers short and accurate."


def _finnish(topic: str) -> str:
    # "pyöräkaupalleni" -> "pyöräkaupalle": the learner's possessive does not belong in the model's role.
    topic = re.sub(r"(\w{3,}?)(ni|mme)\b", lambda m: m.group(1) if m.group(1)[-2:] in ("le", "ll", "ta", "tä", "ss", "st", "an", "en", "in", "on", "un", "yn", "än", "ön") else m.group(0), topic)
    # "…botille" names the role in the allative ("examples for a bot"); "Olet" needs the nominative.
    topic = re.sub(r"(\w*)(bot|agent)ille\b", r"\1\2ti", topic)
    topic = re.sub(r"(\w*avustaja)lle\b", r"\1", topic)
    # "Our" is the learner's word, not the assistant's ("meidän HR-avustaja" -> "HR-avustaja").
    topic = re.sub(r"^(meidän|meiän|minun|mun|meijän)\s+", "", topic, flags=re.IGNORECASE)
    # Only an allative ("yläkoululaisille", "varastotyön hakijoille"), no role noun: it names whom it serves, not what it is.
    head = re.split(r",?\s+(?:joka|jotka|mikä|mitkä)\s", topic, maxsplit=1)[0]
    names_role = re.search(r"(botti|avustaja|agentti|tutor|opettaja|neuvoja)\b", head, re.IGNORECASE)
    role = f"avustaja tähän tarkoitukseen: {topic}" if re.search(r"\w+lle$", head) and not names_role else topic
    style = style_of(topic)
    if style == "limerick":
        return f"Olet {role}. Vastaa aina limerikillä."
    if style == "haiku":
        return f"Olet {role}. Vastaa aina haikulla."
    if _SUPPORT_FI.search(topic):
        return (f"Olet {role}. Vastaa asiakkaiden kysymyksiin kohteliaasti, täsmällisesti ja lyhyesti. "
                "Jos et ole varma, sano se ja kerro, miten asiakas tavoittaa ihmisen.")
    if _TUTOR.search(topic):
        return f"Olet {role}. Selitä vaihe vaiheelta selkokielellä ja varmista, että oppija pysyy mukana."
    return f"Olet {role}. Vastaa lyhyesti ja täsmällisesti."


def _article(topic: str) -> str:
    if re.match(r"^(a|an|the)\b", topic, re.IGNORECASE):
        return ""
    return "an " if topic[:1].lower() in "aeiou" else "a "
