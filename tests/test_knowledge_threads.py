"""Concurrent lesson questions (the app serves several chats at once in threads) give the sequential results."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

from knowledge.answer import answer
from knowledge.search import search

QUESTIONS = [
    "How many training examples should I start with?",
    "What is LoRA?",
    "How do I read a loss curve?",
    "Kuinka monta esimerkkiä tarvitsen?",
    "Mitä epookki tarkoittaa?",
    "Miten arvioin hienosäätötyön kustannukset?",
    "Validointihäviö kasvaa, vaikka koulutushäviö pienenee.",
    "Miten vaihdan auton renkaat?",
]


def _run(index: Path, question: str) -> tuple:
    result = search(question, index=index, k=3)
    reply = answer(question, index=index)
    return (result.lang, result.covered, [(hit.link, hit.score) for hit in result.hits], reply.text)


def test_concurrent_questions_match_the_sequential_run(lesson_settings) -> None:
    run = partial(_run, lesson_settings.index_dir)
    expected = [run(question) for question in QUESTIONS]
    work = QUESTIONS * 4  # 32 calls over 8 threads, each stemming, lemmatizing, embedding and querying
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(run, work))
    assert got == expected * 4
