"""Interface texts in English and Finnish; the browser's language picks one (gr.I18n)."""

from __future__ import annotations

import gradio as gr

T = gr.I18n(
    en={
        "title": "finetune-tutor",
        "tagline": "Learn to fine-tune LLMs, build a dataset, run a real fine-tune — in one chat.",
        "chat_tab": "Chat", "dataset_tab": "Dataset", "jobs_tab": "Jobs",
        "placeholder": "Ask about fine-tuning, or say \"help\"…",
        "guide": "Guided path", "examples_label": "Try these", "start_guide": "Start the guided path", "next_step": "Next step",
        "dataset": "Dataset", "new_dataset": "New dataset name", "create": "Create",
        "examples": "Examples", "example_number": "Example # (to edit or remove)", "system": "System message",
        "user": "User message", "assistant": "Assistant reply", "add": "Add example", "save_edit": "Save changes",
        "remove": "Remove example", "upload": "Import a file (JSONL, JSON, Alpaca, ShareGPT, prompt/completion) or draft from a FAQ (.md), CSV/TSV or Q&A text",
        "import_mode": "Import mode", "validate": "Validate", "model": "Model", "report": "Validation report",
        "validation_fraction": "Validation share", "export": "Export", "download": "Download",
        "preset": "Preset", "backend": "Backend", "epochs": "Epochs", "start_job": "Start fine-tune",
        "jobs": "Jobs", "job": "Job", "cancel_job": "Cancel job", "loss_curve": "Loss", "prompt": "Prompt",
        "ask_tuned": "Ask the tuned model", "compare": "Compare base vs tuned", "base_model": "Base model",
        "tuned_model": "Fine-tuned model",
    },
    fi={
        "title": "finetune-tutor",
        "tagline": "Opi hienosäätämään kielimalleja, rakenna aineisto ja aja oikea hienosäätö — yhdessä keskustelussa.",
        "chat_tab": "Keskustelu", "dataset_tab": "Aineisto", "jobs_tab": "Työt",
        "placeholder": "Kysy hienosäädöstä tai kirjoita \"apua\"…",
        "guide": "Opastettu polku", "examples_label": "Kokeile näitä", "start_guide": "Aloita opastus", "next_step": "Seuraava vaihe",
        "dataset": "Aineisto", "new_dataset": "Uuden aineiston nimi", "create": "Luo",
        "examples": "Esimerkit", "example_number": "Esimerkin nro (muokkaus tai poisto)", "system": "Järjestelmäviesti",
        "user": "Käyttäjän viesti", "assistant": "Avustajan vastaus", "add": "Lisää esimerkki", "save_edit": "Tallenna muutokset",
        "remove": "Poista esimerkki", "upload": "Tuo tiedosto (JSONL, JSON, Alpaca, ShareGPT, prompt/completion) tai luonnostele UKK:sta (.md), CSV/TSV:stä tai K/V-tekstistä",
        "import_mode": "Tuontitapa", "validate": "Tarkista", "model": "Malli", "report": "Tarkistusraportti",
        "validation_fraction": "Validointiosuus", "export": "Vie", "download": "Lataa",
        "preset": "Esiasetus", "backend": "Taustajärjestelmä", "epochs": "Epookit", "start_job": "Aloita hienosäätö",
        "jobs": "Työt", "job": "Työ", "cancel_job": "Peru työ", "loss_curve": "Häviö", "prompt": "Kehote",
        "ask_tuned": "Kysy hienosäädetyltä", "compare": "Vertaa perus- ja hienosäädettyä", "base_model": "Perusmalli",
        "tuned_model": "Hienosäädetty malli",
    },
)
