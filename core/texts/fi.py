"""Finnish: every text a learner reads, by key (the same keys and placeholders as `en.py`)."""

from __future__ import annotations

TEXTS: dict[str, str] = {
    # -- the chat: system prompt, short replies, tool steps ------------------------------------------------
    "chat.system_prompt": """Olet finetune-tutor, kärsivällinen opettaja, joka opettaa suurten kielimallien hienosäätöä ja tekee sen yhdessä oppijan kanssa.

Näin toimit:
- Oppituntia koskevat kysymykset: kutsu aina ensin `search_lesson` ja vastaa VAIN sen palauttamien osioiden pohjalta. Viittaa jokaiseen käyttämääsi
  osioon muodossa *otsikko* (`lähde`). Jos tulos kertoo, ettei oppitunti käsittele kysymystä, sano se suoraan ja kerro, mitä oppitunti käsittelee; älä vastaa muistinvaraisesti.
- Koulutusdata: käytä aineistotyökaluja esimerkkien luonnosteluun, lisäämiseen, muokkaamiseen, poistamiseen, tarkistamiseen, kustannusarvioon ja vientiin. Näytä luonnokset ennen lisäämistä.
- Hienosäätötyöt: käytä työkaluja töiden aloittamiseen, seuraamiseen, perumiseen ja vertailuun. Kerro eteneminen selkokielellä (tila, askel, viimeisin häviö).
- Vastaa lyhyesti ja konkreettisesti. Vastaa suomeksi.""",
    "chat.help": """Hei! Olen finetune-tutor. Osaan:
1. **Vastata oppitunnin kysymyksiin** kielimallien hienosäädöstä ja kertoa lähteen. Kokeile: *"Milloin hienosäätö kannattaa RAGin sijaan?"*
2. **Rakentaa koulutusaineiston kanssasi**: *"auta tekemään esimerkkejä limerikkibotille kemiallisista alkuaineista"*, *"lisää esimerkki: käyttäjä: ... avustaja: ..."*, *"tarkista aineisto"*, *"arvioi kustannus mallilla gpt-4o-mini"*, *"vie aineisto"*.
3. **Ajaa hienosäätötöitä**: *"aloita nopea hienosäätö"*, *"mikä on koulutuksen tila?"*, *"peru koulutus"*, *"vertaa: Kerro heliumista"*.

Uusi täällä? Sano *"aloita opastus"*, niin käydään kaikki läpi vaihe vaiheelta.""",
    "chat.empty": "Viestisi oli tyhjä. Kysy jotain hienosäädöstä, esimerkiksi *\"Mikä on LoRA?\"*, tai kirjoita *\"apua\"*, niin näet mitä osaan.",
    "chat.too_many_steps": "Käytin useita työkaluja pääsemättä vastaukseen. Voisitko muotoilla pyynnön uudelleen tai jakaa sen osiin?",
    "chat.tool_title": "🛠️ Käytetty työkalu {tool}",
    "chat.tool_pending": "Työskentelen…",
    "chat.tool_failed": "Tämä ei onnistunut: {error}",
    "chat.backend_failed": "Kielimalli ei vastannut: {error}",
    # -- tool titles, shown in the chat's tool steps -----------------------------------------------------
    "tool.search_lesson": "oppitunnin haku",
    "tool.draft_examples": "esimerkkien luonnostelu",
    "tool.add_drafts": "luonnosten lisäys",
    "tool.add_example": "esimerkin lisäys",
    "tool.edit_example": "esimerkin muokkaus",
    "tool.remove_example": "esimerkin poisto",
    "tool.create_dataset": "aineiston luonti",
    "tool.list_datasets": "aineistojen luettelo",
    "tool.show_dataset": "aineiston näyttö",
    "tool.validate_dataset": "aineiston tarkistus",
    "tool.estimate_cost": "kustannusarvio",
    "tool.export_dataset": "aineiston vienti",
    "tool.start_finetune": "hienosäädön aloitus",
    "tool.job_status": "työn tila",
    "tool.list_jobs": "töiden luettelo",
    "tool.cancel_job": "työn peruminen",
    "tool.compare": "mallien vertailu",
    "tool.chat_with_model": "keskustelu hienosäädetyn mallin kanssa",
    "tool.guide": "opastettu polku",
    # -- lesson answers --------------------------------------------------------------------------------
    "lesson.no_match": "Ei osumia oppitunnissa.",
    "answer.sources": "Lähteet",
    "answer.help": (
        "Kysy mitä tahansa kielimallien hienosäädöstä, niin vastaan oppimateriaalin perusteella ja kerron, "
        "mistä osioista voit lukea lisää. Esimerkiksi:\n\n"
        "- Mitä hienosäätö on ja miten se eroaa RAGista?\n"
        "- Kuinka monta opetusesimerkkiä tarvitsen?\n"
        "- Mitä oppimisnopeuden kerroin tekee?\n"
        "- Missä muodossa chat-opetusdata annetaan?\n\n"
        "Voit kysyä suomeksi tai englanniksi."
    ),
    "answer.out_of_scope": (
        "Oppimateriaali ei käsittele tätä, joten en voi vastata siihen sen pohjalta. "
        "Voin auttaa näitä aiheita koskevissa kysymyksissä:\n\n{topics}"
    ),
    "answer.other_language": "(Nämä osiot ovat saatavilla vain kielellä {language}.)",
    "language.en": "englanti",
    "language.fi": "suomi",
    # -- the dataset workshop --------------------------------------------------------------------------
    "dataset.drafts": "Tässä {count} luonnosta:\n\n{shown}\n\nSano *lisää ne*, niin lisään ne aineistoon *{name}*, tai *muokkaa esimerkkiä N avustaja: …* lisäyksen jälkeen.",
    "dataset.no_drafts": "Ei luonnoksia: sano ensin *auta tekemään esimerkkejä …*.",
    "dataset.drafts_added": "Lisäsin {added} esimerkkiä aineistoon *{name}*; siinä on nyt {total} esimerkkiä. Seuraavaksi: *tarkista aineisto*.",
    "dataset.example_added": "Lisätty esimerkki {total} aineistoon *{name}*.",
    "dataset.no_such_example": "Aineistossa *{name}* on esimerkit 1–{count}; esimerkkiä {index} ei ole.",
    "dataset.example_removed": "Poistin esimerkin {index}; jäljellä {total}.",
    "dataset.created": "Loin aineiston *{name}*.",
    "dataset.none": "Ei aineistoja vielä.",
    "dataset.exported": "Vein aineiston *{name}*:\n{listing}\n\nLataa tiedostot Aineisto-välilehdeltä.",
    "report.errors": "❌ **Virheitä**",
    "report.where": "rivi {lines}: ",
    "report.clean": "✅ *{name}*: {count} esimerkkiä, ei virheitä.",
    "report.notebook": "- 📓 Cookbook-muistikirjan tarkistukset (vain vertailuksi): {counts}",
    "report.price_unknown": "hinta ei tiedossa",
    "report.tokens": "**Tokenit**: {total} · {epochs} epookkia · laskutettavat {billed} · {model}: {cost}",
    # -- fine-tune jobs --------------------------------------------------------------------------------
    "job.status.queued": "jonossa",
    "job.status.running": "käynnissä",
    "job.status.succeeded": "valmis",
    "job.status.failed": "epäonnistui",
    "job.status.cancelled": "peruttu",
    "job.status.interrupted": "keskeytyi",
    "job.step": "askel {step}",
    "job.train_loss": "{step} · koulutushäviö {first:.3f} → {last:.3f}  `{curve}`",
    "job.eval_loss": "validointihäviö {loss:.3f}",
    "job.loading": "Malli latautuu, ensimmäiset mittaukset tulevat pian.",
    "job.reason": "Syy: {error}",
    "job.result": "Tulos: `{target}`. Kokeile: *vertaa: Kerro heliumista*",
    "job.no_jobs_to_use": "Sinulla ei ole vielä töitä: sano *aloita nopea hienosäätö*.",
    "job.started": "Aloitin hienosäätötyön **{job}** aineistolla *{name}* ({preset}). Kysy *mikä on koulutuksen tila?* tai seuraa käyrää Työt-välilehdellä.",
    "job.none": "Ei vielä töitä.",
    "job.base": "Perusmalli",
    "job.tuned": "Hienosäädetty",
    # -- the guided path -------------------------------------------------------------------------------
    "guide.learn.title": "Opi mitä hienosäätö on, milloin ja miksi",
    "guide.learn.task": "Kysy *Mitä hienosäätö on?* ja *Milloin hienosäätö kannattaa?*, ja vastaa sitten tarkistuskysymykseen.",
    "guide.learn.question": "Mitä hienosäätö muuttaa?",
    "guide.learn.option.a": "mallin painoja, kouluttamalla sitä omilla esimerkeilläsi",
    "guide.learn.option.b": "vain jokaisen pyynnön kehotetta",
    "guide.learn.option.c": "dokumentteja, joista malli hakee vastatessaan",
    "guide.learn.explain": "Hienosäätö jatkaa koulutusta, joten painot muuttuvat; kehotteet ja haku jättävät ne ennalleen.",
    "guide.decide.title": "Päätä tarkistuslistan avulla",
    "guide.decide.task": "Kysy *Mitä päätöksen tarkistuslistalla on?* (käyttötapaus, kokeillut vaihtoehdot, kustannukset, hyödyt) ja vastaa.",
    "guide.decide.question": "Mitä kannattaa kokeilla ennen hienosäätöä?",
    "guide.decide.option.a": "suurempaa oppimisnopeutta",
    "guide.decide.option.b": "kehotesuunnittelua, muutaman esimerkin kehotteita ja RAGia",
    "guide.decide.option.c": "useampia epookkeja",
    "guide.decide.explain": "Halvemmat keinot riittävät usein; hienosäädä, kun ne eivät riitä selvään käyttötapaukseen.",
    "guide.dataset.title": "Rakenna vähintään {min_examples} esimerkin aineisto",
    "guide.dataset.task": "Sano *auta tekemään esimerkkejä limerikkibotille kemiallisista alkuaineista*, katso luonnokset ja sano *lisää ne*.",
    "guide.validate.title": "Tarkista aineisto ja arvioi kustannus",
    "guide.validate.task": "Sano *tarkista aineisto* ja sitten *arvioi kustannus mallilla gpt-4o-mini*.",
    "guide.finetune.title": "Hienosäädä",
    "guide.finetune.task": "Sano *aloita nopea hienosäätö* (LoRA tällä koneella, muutama minuutti prosessorilla) ja sitten *mikä on koulutuksen tila?*",
    "guide.evaluate.title": "Arvioi: perusmalli ja hienosäädetty rinnakkain",
    "guide.evaluate.task": "Sano *vertaa: Kerro heliumista* ja katso molemmat vastaukset.",
    "guide.next.title": "Seuraavat askeleet",
    "guide.next.task": (
        "Kasvata aineisto 50–100 monipuoliseen esimerkkiin, lisää validointiosuus, kokeile *balanced*-esiasetusta ja kysy "
        "*Miten hienosäädettyä mallia arvioidaan?*. OpenAI-avaimella voit sanoa *aloita openai-hienosäätö*."
    ),
    "guide.finished": "🎉 Kävit koko polun läpi! {task}",
    "guide.step": "**Vaihe {number}/{total}: {title}**",
    "guide.answer_prompt": "Vastaa kirjaimella a, b tai c.",
    "guide.add_drafts": "Sano *lisää ne*, niin luonnokset tallentuvat aineistoon.",
    "guide.proposal": "➡️ **Seuraavaksi:** {task}",
    "guide.right": "✅ Oikein! {explain}",
    "guide.wrong": "❌ Ei aivan — yritä uudelleen. ",
    # -- the /chat API -------------------------------------------------------------------------------------
    "api.message_not_text": "Viestin on oltava tekstiä (merkkijono), esim. \"Mikä on LoRA?\".",
    "api.bad_learner": "learner on 1–64 kirjainta, numeroa, '-' tai '_'.",
    # -- the page: labels (ui.*, given to gr.I18n without the prefix) and its error toasts --------------
    "ui.title": "finetune-tutor",
    "ui.tagline": "Opi hienosäätämään kielimalleja, rakenna aineisto ja aja oikea hienosäätö — yhdessä keskustelussa.",
    "ui.chat_tab": "Keskustelu",
    "ui.dataset_tab": "Aineisto",
    "ui.jobs_tab": "Työt",
    "ui.placeholder": "Kysy hienosäädöstä tai kirjoita \"apua\"…",
    "ui.guide": "Opastettu polku",
    "ui.examples_label": "Kokeile näitä",
    "ui.start_guide": "Aloita opastus",
    "ui.next_step": "Seuraava vaihe",
    "ui.dataset": "Aineisto",
    "ui.new_dataset": "Uuden aineiston nimi",
    "ui.new_dataset_placeholder": "limerikit",
    "ui.create": "Luo",
    "ui.examples": "Esimerkit",
    "ui.example_number": "Esimerkin nro (muokkaus tai poisto)",
    "ui.system": "Järjestelmäviesti",
    "ui.user": "Käyttäjän viesti",
    "ui.assistant": "Avustajan vastaus",
    "ui.add": "Lisää esimerkki",
    "ui.save_edit": "Tallenna muutokset",
    "ui.remove": "Poista esimerkki",
    "ui.upload": "Tuo tiedosto (JSONL, JSON, Alpaca, ShareGPT, prompt/completion)",
    "ui.import_mode": "Tuontitapa",
    "ui.validate": "Tarkista",
    "ui.model": "Malli",
    "ui.report": "Tarkistusraportti",
    "ui.validation_fraction": "Validointiosuus",
    "ui.export": "Vie",
    "ui.download": "Lataa",
    "ui.preset": "Esiasetus",
    "ui.backend": "Taustajärjestelmä",
    "ui.epochs": "Epookit",
    "ui.start_job": "Aloita hienosäätö",
    "ui.jobs": "Työt",
    "ui.job": "Työ",
    "ui.cancel_job": "Peru työ",
    "ui.loss_curve": "Häviö",
    "ui.prompt": "Kehote",
    "ui.prompt_placeholder": "Kerro heliumista.",
    "ui.ask_tuned": "Kysy hienosäädetyltä",
    "ui.compare": "Vertaa perus- ja hienosäädettyä",
    "ui.base_model": "Perusmalli",
    "ui.tuned_model": "Hienosäädetty malli",
    "error.choose_dataset": "Valitse ensin aineisto (rakenna sellainen Aineisto-välilehdellä tai keskustelussa).",
    "error.choose_job": "Valitse peruttava työ.",
    "error.choose_finished_job": "Valitse valmis työ ja kirjoita kehote.",
    "error.number_to_change": "Anna muutettavan esimerkin numero.",
    "error.number_to_remove": "Anna poistettavan esimerkin numero.",
    "error.choose_file": "Valitse tuotava tiedosto.",
    'openai.closure': 'Ennen kuin työ luodaan (mallitaulukko {as_of}): OpenAIn hienosäätöpalvelu ei ole ottanut uusia käyttäjiä {closed} alkaen, eikä se ota uusia töitä vastaan {until} jälkeen; organisaatiolta, jolla ei ole hienosäätöoikeutta, työ hylätään.',
    'openai.serving': ' Mallista {model} hienosäädetyt mallit lakkaavat vastaamasta {serving}.',
    'openai.no_serving': ' Mallista {model} hienosäädetyille malleille ei ole ilmoitettu sulkemispäivää.',
    'openai.plan': ' Tallenna hienosäädetyn mallisi vastaukset nyt, kouluta sitten avoin malli samalla JSONL-tiedostolla (--backend local) ja vertaa sitä tallenteeseen, tai siirry Azure OpenAI -hienosäätöön (--backend azure).',
    'openai.guide': 'Mallia {model} ei enää mainita OpenAIn hienosäätöoppaassa; opas mainitsee mallit {listed}.',
    'openai.closed': 'OpenAI ei ota uusia hienosäätötöitä vastaan {until} jälkeen (mallitaulukko {as_of}); tänään on {today}. Kouluta avoin malli samalla aineistolla täällä (--backend local) tai käytä Azure OpenAI -hienosäätöä (--backend azure).',
    'azure.billing': 'Azure OpenAI: koulutus laskutetaan kerran työtä kohden, mutta hienosäädetty malli vastaa vasta kun otat sen käyttöön (deployment), ja käyttöön otettu oma malli laskutetaan tunneittain, käytettiin sitä tai ei (paitsi Developer-tasolla). Poista käyttöönotot, joita et enää tarvitse.',
}
