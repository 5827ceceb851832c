"""The learner-facing texts of lesson answers, in English and Finnish (English for any other language)."""

from __future__ import annotations

_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "sources": "Sources",
        "help": (
            "Ask me anything about fine-tuning language models and I will answer from the lesson notes, "
            "citing the sections so you can read more. For example:\n\n"
            "- What is fine-tuning and how is it different from RAG?\n"
            "- How many training examples do I need?\n"
            "- What does the learning rate multiplier do?\n"
            "- What format does the chat training data use?\n\n"
            "You can ask in English or in Finnish."
        ),
        "out_of_scope": (
            "The lesson notes don't cover that, so I can't answer it from them. "
            "I can help with questions on these topics:\n\n{topics}"
        ),
        "other_language": "(These sections are only available in {language}.)",
    },
    "fi": {
        "sources": "Lähteet",
        "help": (
            "Kysy mitä tahansa kielimallien hienosäädöstä, niin vastaan oppimateriaalin perusteella ja kerron, "
            "mistä osioista voit lukea lisää. Esimerkiksi:\n\n"
            "- Mitä hienosäätö on ja miten se eroaa RAGista?\n"
            "- Kuinka monta opetusesimerkkiä tarvitsen?\n"
            "- Mitä oppimisnopeuden kerroin tekee?\n"
            "- Missä muodossa chat-opetusdata annetaan?\n\n"
            "Voit kysyä suomeksi tai englanniksi."
        ),
        "out_of_scope": (
            "Oppimateriaali ei käsittele tätä, joten en voi vastata siihen sen pohjalta. "
            "Voin auttaa näitä aiheita koskevissa kysymyksissä:\n\n{topics}"
        ),
        "other_language": "(Nämä osiot ovat saatavilla vain kielellä {language}.)",
    },
}


def text_for(key: str, lang: str, **values: str) -> str:
    """The text `key` in `lang` (English when there is no translation), with `values` filled in."""
    table = _TEXTS.get(lang, _TEXTS["en"])
    return table[key].format(**values) if values else table[key]
