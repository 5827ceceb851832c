"""Everything drafting says to the learner, English and Finnish, in one dict (`TEXTS[lang][key]`).

The chat's drafting tool and the Dataset tab's upload use these too, so a wording change is made
once. Values are `str.format` templates.
"""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "kind_examples": "your examples", "kind_qa": "your Q&A text", "kind_table": "your table",
        "kind_faq": "your FAQ", "kind_questions": "your questions and answers", "kind_model": "the model",
        "kind_samples": "a worked demo topic", "kind_like": "example {like}",
        "header": "Here are {count} drafts (from {source}):",
        "header_more": "Here are {count} more drafts like example {like}:",
        "header_none": "I found questions in {source} but no answers to draft from yet.",
        "system": "System message: *{system}*",
        "missing_header": "**What to check or add**",
        "next": "Say *add them* to add them to *{dataset}*, *make 5 more like example 1* for more in one example's style, "
                "or *edit example N assistant: …* after adding.",
        "too_few": "The fine-tuning API needs at least {need} examples and your material gave {have} answered questions. "
                   "{reworded} drafts reword your questions, which teaches less than new ones: write {missing} more real "
                   "questions with answers.",
        "reworded": "{reworded} drafts reword your own questions with the same answer; check they still read naturally.",
        "missing_answers": "No answer yet for: {items}. Write one (*add example: user: … assistant: …*) or add it to your material.",
        "duplicates": "Asked more than once (kept once): {items}.",
        "conflicts": "Answered differently in two places (kept the first answer): {items}. Pick the one you want the model to learn.",
        "no_description": "Tell me what the assistant is for (e.g. *help me make examples for a support bot for a bike shop*) "
                          "and I will write its system message; until then it has a general one.",
        "model_failed": "The model's drafts could not be read, so these were drafted offline from your material.",
        "like_offline": "Offline I can only reword example {like}'s request and keep its answer. With an OpenAI-compatible "
                        "model configured, I write new requests in its style.",
        "nothing_new": "I found no new wording for example {like}: write the next example yourself "
                       "(*add example: user: … assistant: …*).",
        "like_range": "There is no example {like}: {where} are numbered 1–{count}.",
        "like_empty": "There are no examples yet to copy the style of: draft or add some first.",
        "where_drafts": "the drafts", "where_dataset": "the examples of *{dataset}*",
        "guidance": (
            "A good training example is one real exchange: the **user** message worded the way your users really write, "
            "and the **assistant** reply exactly as you want the fine-tuned model to answer — the same tone, length and "
            "facts every time. All examples share one system message; for this assistant I would use:\n\n> {system}\n\n"
            "Write the first example like this:\n\n*add example: user: <a question your users ask> assistant: <the ideal answer>*\n\n"
            "Or paste what you already have — a FAQ in markdown, *Q: … A: …* pairs, a CSV/TSV with question and answer "
            "columns, or two or three examples — and I will draft examples from it (at least {need} are needed for a job).\n\n"
            "**What is the first question your users ask, and how should the assistant answer it?**"
        ),
        "upload_drafted": "Drafted {count} examples from {file} ({source}) into *{dataset}*.",
        "upload_none": "No questions and answers found in {file}. Use a markdown FAQ (question headings or **bold** questions "
                       "with the answer below), Q:/A: lines, or a CSV/TSV with question and answer columns.",
    },
    "fi": {
        "kind_examples": "esimerkeistäsi", "kind_qa": "K/V-tekstistäsi", "kind_table": "taulukostasi",
        "kind_faq": "UKK:staasi", "kind_questions": "kysymyksistäsi ja vastauksistasi", "kind_model": "mallilta",
        "kind_samples": "valmiista esimerkkiaiheesta", "kind_like": "esimerkistä {like}",
        "header": "Tässä {count} luonnosta ({source}):",
        "header_more": "Tässä {count} luonnosta lisää esimerkin {like} tapaan:",
        "header_none": "Löysin kysymyksiä ({source}), mutta en vielä vastauksia, joista luonnostella.",
        "system": "Järjestelmäviesti: *{system}*",
        "missing_header": "**Tarkista tai lisää**",
        "next": "Sano *lisää ne*, niin lisään ne aineistoon *{dataset}*, *tee 5 lisää kuten esimerkki 1*, niin teen lisää "
                "saman esimerkin tyyliin, tai *muokkaa esimerkkiä N avustaja: …* lisäyksen jälkeen.",
        "too_few": "Hienosäätörajapinta vaatii vähintään {need} esimerkkiä, ja aineistostasi löytyi {have} vastattua kysymystä. "
                   "{reworded} luonnosta muotoilee kysymyksesi uudelleen, mikä opettaa vähemmän kuin uudet kysymykset: "
                   "kirjoita vielä {missing} oikeaa kysymystä vastauksineen.",
        "reworded": "{reworded} luonnosta muotoilee oman kysymyksesi uudelleen samalla vastauksella; tarkista, että ne kuulostavat luontevilta.",
        "missing_answers": "Vastaus puuttuu: {items}. Kirjoita se (*lisää esimerkki: käyttäjä: … avustaja: …*) tai lisää se aineistoosi.",
        "duplicates": "Kysytty useammin kuin kerran (pidin yhden): {items}.",
        "conflicts": "Vastattu kahdessa kohdassa eri tavoin (pidin ensimmäisen): {items}. Valitse, kumman haluat mallin oppivan.",
        "no_description": "Kerro, mihin avustaja on tarkoitettu (esim. *auta tekemään esimerkkejä pyöräliikkeen asiakaspalvelubotille*), "
                          "niin kirjoitan sille järjestelmäviestin; siihen asti sillä on yleinen.",
        "model_failed": "Mallin luonnoksia ei voitu lukea, joten nämä on luonnosteltu ilman mallia aineistostasi.",
        "like_offline": "Ilman kielimallia voin vain muotoilla esimerkin {like} pyynnön uudelleen ja pitää sen vastauksen. "
                        "Kun OpenAI-yhteensopiva malli on määritetty, kirjoitan uusia pyyntöjä sen tyyliin.",
        "nothing_new": "En keksinyt esimerkille {like} uusia muotoiluja: kirjoita seuraava esimerkki itse "
                       "(*lisää esimerkki: käyttäjä: … avustaja: …*).",
        "like_range": "Esimerkkiä {like} ei ole: {where} on numeroitu 1–{count}.",
        "like_empty": "Ei vielä esimerkkejä, joiden tyyliä jäljitellä: luonnostele tai lisää ensin muutama.",
        "where_drafts": "luonnokset", "where_dataset": "aineiston *{dataset}* esimerkit",
        "guidance": (
            "Hyvä koulutusesimerkki on yksi todellinen vuoro: **käyttäjän** viesti sellaisena kuin käyttäjäsi oikeasti "
            "kirjoittavat ja **avustajan** vastaus juuri sellaisena kuin haluat hienosäädetyn mallin vastaavan — sama sävy, "
            "pituus ja oikeat tiedot joka kerta. Kaikilla esimerkeillä on sama järjestelmäviesti; tälle avustajalle käyttäisin:\n\n"
            "> {system}\n\nKirjoita ensimmäinen esimerkki näin:\n\n*lisää esimerkki: käyttäjä: <käyttäjän kysymys> avustaja: <ihanteellinen vastaus>*\n\n"
            "Tai liitä se, mitä sinulla jo on — UKK markdownina, *K: … V: …* -parit, CSV/TSV kysymys- ja vastaussarakkeilla "
            "tai kaksi tai kolme esimerkkiä — niin luonnostelen esimerkit siitä (työhön tarvitaan vähintään {need}).\n\n"
            "**Mikä on ensimmäinen kysymys, jonka käyttäjäsi esittävät, ja miten avustajan pitäisi vastata?**"
        ),
        "upload_drafted": "Luonnostelin {count} esimerkkiä tiedostosta {file} ({source}) aineistoon *{dataset}*.",
        "upload_none": "Tiedostosta {file} ei löytynyt kysymyksiä ja vastauksia. Käytä markdown-UKK:ta (kysymysotsikot tai "
                       "**lihavoidut** kysymykset ja vastaus alla), K:/V:-rivejä tai CSV/TSV-tiedostoa kysymys- ja vastaussarakkeilla.",
    },
}


def text(key: str, lang: str, **values: object) -> str:
    """The text `key` in `lang` (English when the language has none), filled with `values`."""
    table = TEXTS.get(lang, TEXTS["en"])
    return table.get(key, TEXTS["en"][key]).format(**values)
