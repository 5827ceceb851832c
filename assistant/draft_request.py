"""A request for training examples in the learner's own words, and the assistant it describes.

`draft_examples`' fixed routes only know requests that open with the verb ("help me make examples for …").
Learners also write "I run a hotel and need some example conversations for a booking assistant", "examples for
a recipe bot pls" or "tarvitsen koulutusdataa kirjaston neuvontabotille". A message asks for drafts when its
request line names training examples or data (the *object*), a verb asks for them (or the line opens with
the object), and nothing before the object turns it into a question about examples ("how do I write …",
"montako esimerkkiä …"): those belong to the lesson. A weak verb ("need", "haluan", "anna") also needs a
target (an assistant or bot the examples are for), so "give me examples of when fine-tuning helps" stays a
lesson question.
"""

from __future__ import annotations

import re

_FLAGS = re.IGNORECASE

# What is asked for. English: examples, data, a dataset or conversations, optionally qualified
# ("training", "example", "fine-tuning"); Finnish: any word holding "esimerk" (opetusesimerkkejä), the
# compounds of data, aineisto and keskustelu, or those words alone.
_OBJECT_EN = re.compile(
    r"\b(?:(?:training|fine[- ]?tuning|finetuning|fine[- ]?tune|finetune|example|sample|synthetic|practice)\s+)?"
    r"(?P<noun>examples?|data\s*sets?|datasets?|data|training\s+sets?|conversations?|dialog(?:ue)?s?|convos?|chats|"
    r"q\s*&\s*a\s+pairs?|qa\s+pairs?|samples?|demonstrations?)\b",
    _FLAGS,
)
_OBJECT_FI = re.compile(
    r"\b\w*(?:esimerk|dialogi|dialogej|keskustelu|aineisto|datasett)\w*|\b\w*dataa\b|\b\w+data\w*|"
    r"\b(?:opetus|koulutus|harjoitus|treeni)(?:materiaali|setti|kysymy)\w*",
    _FLAGS,
)

# Training data by name: "training examples", "fine-tuning data", "dataset", "opetusdataa", "esimerkkikeskusteluja".
_TRAINING_DATA = re.compile(r"training|tuning|tune|data\s*set|opetus|koulutus|harjoitus|treeni|esimerkki\w|datasett", _FLAGS)

# Verbs that ask for examples by themselves ("write 10 examples") ...
_STRONG_EN = re.compile(
    r"\b(make|write|draft|create|generate|produce|prepare|compose|craft|build|whip up|come up with|put together|"
    r"cook up|brainstorm|invent|churn out|mock up|help me|get started on|start on|work on)\b",
    _FLAGS,
)
_STRONG_FI = re.compile(
    r"\b(tee|teet|tehdä|tehda|teha|tekemään|tekemaan|tekeminen|tekemistä|tekemista|tehdään|tehdaan|tehtäis\w*|"
    r"kirjoita|kirjota|kirjoitat|kirjotat|kirjoittaa|kirjottaa|kirjoittamaan|kirjoitetaan|kirjotetaan|kirjoittaisit|"
    r"luonnostele|luonnostelet|luonnostella|luonnostelemaan|luonnostellaan|laadi|laadit|laatia|laatimaan|laaditaan|"
    r"keksi|keksit|keksiä|keksia|keksimään|keksitään|keksisit|generoi|generoit|generoida|generoidaan|"
    r"luo|luot|luoda|luomaan|luodaan|väsää|vasaa|väsäät|väsätä|vasata|väsäämään|väsätään|väsäisit|vasaisit|"
    r"tuota|tuotat|tuottaa|tuottamaan|tuotetaan|auta|autat|koosta|koostat|koota|kootaan|kokoa|"
    r"rustaa|rustaat|rustata|rustataan|rustaisit|valmistele|valmistella|aloitetaan|ryhdytään|ryhdytaan)"
    r"(?:ko|kö|pa|pä|han|hän|s)?\b",
    _FLAGS,
)
# ... and verbs that ask only when a target is named ("I need data for my museum's guide bot").
_WEAK_EN = re.compile(
    r"\b(need|needs|want|wants|would like|'d like|would love|'d love|like some|give me|get me|let's|lets|could use|please|"
    r"can you|could you|would you|will you|can we|could we|shall we|let us)\b",
    _FLAGS,
)
_WEAK_FI = re.compile(
    r"\b(tarvitsen|tarviin|tarvisin|tarvitsisin|tarttisin|tarvitaan|tarvitsis|tarvitsisi|tarvittais\w*|haluan|haluun|"
    r"haluaisin|haluisin|halusin|haluttais\w*|kaipaan|kaipaisin|toivon|toivoisin|anna|annatko|saada|saisin|saisinko|"
    r"voisitko|voitko|voiksa|voisiks|voisitsä|voisitsa|voitsä|voitsa|voiks|pystyisitkö|pystyisitko|kiitos|pliis)\b",
    _FLAGS,
)
# Before the object, these make the line a question about examples rather than a request for them.
_ASKS_EN = re.compile(
    r"\b(how|why|what|which|when|whether|explain|understand\w*|know|learn\w*|tell me|difference|mean|means|should i|do i|"
    r"help (?:with|understanding|on)|"
    r"is it|are there|is there|does)\b",
    _FLAGS,
)
_ASKS_FI = re.compile(
    r"\b(miten|miksi|mitä|mita|mikä|mika|millai\w*|minkälai\w*|kuinka|milloin|montako|monta|paljonko|kerro|selitä|selita|"
    r"ymmärr\w*|ymmarr\w*|tarkoittaa|ero|eroa|onko|pitääkö|pitaako|kannattaako|voiko|saako)\b",
    _FLAGS,
)
# A yes/no question in Finnish opens with a verb ending in -ko/-kö ("Tarvitsenko …?"), but one asking "you" to do
# something ("voitko", "laaditko", "kirjoittaisitko") or "could I have" ("saisinko") is a request.
_POLITE_FI = re.compile(r"^(\w+(t|isit)(ko|kö)|saisinko)$", _FLAGS)
_QUESTION_START = re.compile(
    r"^\s*(how|what|why|which|when|where|who|whose|is|are|was|does|do|did|should|shall|am|has|have|"
    r"miten|mitä|mita|miksi|kuinka|millai\w*|minkälai\w*|mikä|mika|mihin|mistä|mista|missä|missa|mille|miltä|minkä|"
    r"kuka|ketkä|kenelle|kumpi|milloin|montako|paljonko|onko|pitääkö|"
    r"pitaako|kannattaako|voiko|saako)\b",
    _FLAGS,
)

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
# "If I write the examples myself, how do I …?": a request-like start, then the question it really asks.
_ASKING_CLAUSE = (r"how|what|why|which|when|should|is|are|do|does|can i|could i|"
                  r"miten|mitä|mita|miksi|kuinka|millai\w*|pitääkö|pitaako|kannattaako|onko|voiko")
_ENDS_ASKING = re.compile(rf"[,;:]\s*(?:{_ASKING_CLAUSE})\b[^.!]*\?\s*$", _FLAGS)

# The assistant the examples are for.
_FOR_EN = re.compile(
    r"^\s*(?:for|about|to train|to fine-?tune|to finetune|to teach)\s+(?P<topic>.+?)"
    r"(?=\s*[,;!?]|\.(?:\s|$)|\s+(?:please|pls|plz|thanks|thank you|can you|could you|asap)\b|$)",
    _FLAGS,
)
_BOT_EN = re.compile(
    r"\b(?P<topic>(?:an?|my|our|the|some)\s+(?:(?!(?:an?|my|our|the|some)\s)[\w'’&-]+\s+){0,4}?"
    r"(?:bot|chatbot|assistant|agent|tutor|helper|model|advisor|adviser|receptionist|concierge|copilot)s?\b"
    r"(?:\s+(?:for|that|which|who|at|in|of|answering|to|on|about)\s+[^,;.!?]+)?)",
    _FLAGS,
)
_PRONOUNS_EN = re.compile(r"it|this|that|them|me|us|him|her|this one|that one", _FLAGS)
_PRONOUNS_FI = {"mulle", "minulle", "meille", "sulle", "sinulle", "teille", "hänelle", "sille", "niille", "tälle", "tolle", "jolle"}
_LEADING = re.compile(r"^(?:fine[- ]?tuning|finetuning|training|tuning|teaching)\s+", _FLAGS)


def _first_line(message: str) -> str:
    return message.strip().split("\n", 1)[0]


def _first_word(text: str) -> str:
    first = re.match(r"\s*(\w+)", text)
    return first.group(1) if first else ""


def _request_word(word: str) -> bool:
    """A Finnish word of the request itself (its verb or object), never of the assistant's name."""
    return any(pattern.fullmatch(word) for pattern in (_STRONG_FI, _WEAK_FI, _OBJECT_FI))


def _asks_a_question(before: str, finnish: bool) -> bool:
    """Whether the words before the object make the line a question about examples."""
    asks = _ASKS_FI if finnish else _ASKS_EN
    if asks.search(before):
        return True
    first = _first_word(before)
    # "Tarvitsenko paljon dataa …?" asks; "Voisitko kirjoittaa …" requests.
    return bool(finnish and re.fullmatch(r"\w+(ko|kö)", first, _FLAGS) and not _POLITE_FI.match(first))


def _match(line: str) -> tuple[re.Match[str], bool] | None:
    """The object the request line asks for (and whether it is Finnish), or None when it is no request."""
    for found, finnish in ((_OBJECT_FI.search(line), True), (_OBJECT_EN.search(line), False)):
        if found is None:
            continue
        # A sentence before the object's may describe the assistant ("… tells residents which bin to use."):
        # only the object's own sentence can ask about examples.
        sentence = _SENTENCE_END.split(line[: found.start()])[-1]
        if _QUESTION_START.match(sentence) and not re.match(r"\s*(can|could|would|will) (you|we)\b", sentence, _FLAGS):
            return None
        if _asks_a_question(sentence, finnish) or _ENDS_ASKING.search(line):
            return None
        return found, finnish
    return None


def is_draft_request(message: str) -> bool:
    """Whether the message's first line asks for training examples (see the module's docstring)."""
    line = _first_line(message)
    matched = _match(line)
    if matched is None:
        return False
    found, finnish = matched
    before, after = line[: found.start()], line[found.end():]
    strong, weak = (_STRONG_FI, _WEAK_FI) if finnish else (_STRONG_EN, _WEAK_EN)
    polite = bool(finnish and _POLITE_FI.match(_first_word(line)))
    # "Write examples of good prompts" asks for illustrations, not training examples.
    examples_of = not finnish and found.group("noun").lower().startswith("example") and re.match(r"\s+of\b", after)
    if strong.search(line) and not examples_of:
        return True
    # No verb, or a weak one: the examples must be for something ("examples for a recipe bot", "…botille"), or be
    # training data by name in a line that asks nothing ("tarvisin opetusdataa vakuutusyhtiön asiakaspalveluun").
    opens_with_object = not before.strip(" ,.!-")
    if not (opens_with_object or polite or weak.search(line)):
        return False
    if _topic(line, found, finnish):
        return True
    asks = _ASKS_FI if finnish else _ASKS_EN
    return bool(_TRAINING_DATA.search(found.group())) and not asks.search(line) and not line.rstrip().endswith("?")


def draft_topic(message: str) -> str:
    """The assistant the request describes ("a support bot for my bike shop"), or "" when it names none."""
    line = _first_line(message)
    matched = _match(line)
    return _topic(line, *matched) if matched else ""


def _topic(line: str, found: re.Match[str], finnish: bool) -> str:
    if finnish:
        return _finnish_topic(line)
    after = _FOR_EN.match(line[found.end():])
    if after and not _PRONOUNS_EN.fullmatch(after.group("topic").strip()):
        return _LEADING.sub("", after.group("topic").strip())
    bot = _BOT_EN.search(line)
    return bot.group("topic").strip() if bot else ""


def _finnish_topic(line: str) -> str:
    """The words naming the assistant: "pyöräliikkeen asiakaspalvelubotille", "botille, joka vastaa …"."""
    words = list(re.finditer(r"[\w-]+", line))
    head = None
    for n, word in enumerate(words):
        lower = word.group().lower()
        if lower.endswith("lle") and len(lower) > 5 and lower not in _PRONOUNS_FI:
            head, tail = n, word.end()
        elif lower == "varten" and n > 0:
            head, tail = n - 1, word.end()  # "… varten" is the postposition, not part of the name
    if head is None:
        return ""
    start = head
    # The genitives in front of it belong to the name ("kirjaston neuvontabotille"), but not the request's own words.
    while start > 0 and re.fullmatch(r"\w{3,}n", words[start - 1].group()) and not _request_word(words[start - 1].group()):
        start -= 1
    topic = line[words[start].start(): words[head].end()]
    # "tilausbottia varten" names the assistant in the partitive; the system message needs the nominative.
    topic = re.sub(r"(bott|agentt)ia$", r"\1i", re.sub(r"(avustaja)a$", r"\1", topic))
    rest = line[tail:]
    # What follows in the same clause still describes it ("limerikkibotille kemiallisista alkuaineista"), up to a
    # courtesy or a new clause; a relative clause ("…, joka vastaa …") too.
    following = re.match(r"[^,.;:!?]*", rest).group()
    following = re.split(r"\s(?:kiitos|kiitti|pliis|please|heti|nopeasti|ja|mutta|tai|että|jotta)\b", following, maxsplit=1, flags=_FLAGS)[0]
    # ... and up to the request's own words ("… avustajaa varten tarvittais harjoitusdataa").
    for word in re.finditer(r"[\w-]+", following):
        if _request_word(word.group()):
            following = following[: word.start()]
            break
    if following.strip() and not re.match(r"\s*(joka|jotka|mikä|mitkä)\b", following, _FLAGS):
        topic += following.rstrip()
        rest = rest[len(following):]
    relative = re.match(r"\s*,?\s*((?:joka|jotka|mikä|mitkä)\s+[^,.;!?]+)", rest, _FLAGS)
    return f"{topic}, {relative.group(1).strip()}" if relative else topic
