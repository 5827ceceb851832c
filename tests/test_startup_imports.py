"""A warm start loads only what a lesson answer uses (issue 16: warm start in 5 s on 2 cores).

torch with sentence-transformers, the OpenAI client, langchain's splitter, chromadb and ftfy are
seconds of imports together; a lesson answer needs none of them, so a warm start must not load them:
MiniLM (through torch) embeds only in an ingest, openai loads with a client, the splitter when a doc is
split, chromadb when the index changed since the retriever's snapshot (knowledge.snapshot), ftfy when a
doc is read again. Checked in a fresh interpreter, as `python app.py` starts: this test process has them
all loaded. The app's torch thread limit, set at start without torch, still applies once a model loads.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from core.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
NOT_AT_START = ("torch", "transformers", "sentence_transformers", "openai", "langchain_text_splitters", "chromadb", "ftfy")

SCRIPT = """
import json, sys
import app  # the page's imports, as `python app.py` has them before it serves
from core.settings import load_settings
from knowledge.answer import answer
from knowledge.startup import Readiness, prepare

readiness = Readiness()
prepare(load_settings(), readiness, before=app._limit_torch_threads)
first = answer("What is a LoRA adapter?", index=load_settings())
import gradio.component_meta
print(json.dumps({"stage": readiness.stage.name, "covered": first.covered,
                  "loaded": [name for name in %r if name in sys.modules],
                  "stub_writer": gradio.component_meta.create_or_modify_pyi.__module__}))
""" % (NOT_AT_START,)


def _start(settings: Settings) -> dict:
    environment = {**os.environ, **settings.environment(), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                   "GRADIO_ANALYTICS_ENABLED": "False"}
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_warm_start_and_its_first_answer_load_no_torch_openai_splitter_or_chromadb(lesson_settings: Settings) -> None:
    from knowledge.snapshot import SNAPSHOT_FILE

    # The start after the one that built the index: its retriever's snapshot is there (the copied index
    # may or may not have one yet, so the first start here is that one).
    (lesson_settings.index_dir / SNAPSHOT_FILE).unlink(missing_ok=True)
    first = _start(lesson_settings)
    assert first["stage"] == "ready" and first["covered"] and "chromadb" in first["loaded"]
    result = _start(lesson_settings)
    assert result["stage"] == "ready" and result["covered"]
    assert result["loaded"] == [], f"loaded at start: {result['loaded']}"
    # app.py switched off gradio's .pyi writer before importing gradio (ui/gradio_import.py).
    assert result["stub_writer"] == "ui.gradio_import"


def test_the_apps_torch_thread_limit_applies_when_minilm_loads() -> None:
    # A fresh interpreter: torch's threads are per process, and this one's are set by other tests.
    script = """
import sys
from core.device import limit_torch_threads
limit_torch_threads(1)  # what the app's start does, with no torch loaded yet
assert "torch" not in sys.modules
import torch
default = torch.get_num_threads()
from knowledge.embeddings import embed_texts
embed_texts(["LoRA"])
print(default, torch.get_num_threads())
"""
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "2"}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    default, applied = done.stdout.split()[-2:]
    assert (default, applied) == ("2", "1")
