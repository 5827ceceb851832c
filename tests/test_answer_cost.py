"""The cheaper paths of a lesson answer give exactly what the full ones gave (issue 16: concurrent chat).

An answer embeds the question once with MiniLM outside `SentenceTransformer.encode`, keeps Snowball
stems and the lesson sentences' keys between answers, and writes the learner's state only when the
turn changed it. Each saving must leave the answer as it was: these tests compare with the full path.
"""

from __future__ import annotations

import numpy as np
import pytest
import snowballstemmer

from assistant.conversation import Agent
from assistant.learner_state import load_state, state_path
from assistant.toolbox import default_toolbox
from core.llm import make_backend
from core.settings import Settings
from knowledge.embeddings import embed_texts, load_embedding_model
from knowledge.lexical import content_words, coverage_key_set, coverage_keys, stem, tokenize, word_keys

QUESTIONS = [
    "What does the learning rate multiplier do?",
    "Kuinka monta opetusesimerkkiä tarvitsen?",
    "LoRA?",
    "How do I spot overfitting in the validation loss curve when training for many epochs on a tiny dataset?",
]
SENTENCE = "Fine-tuning changes the model's weights; retrieval-augmented generation leaves them and supplies documents."


@pytest.mark.parametrize("question", QUESTIONS)
def test_one_question_embeds_bit_for_bit_as_encode_does(question: str) -> None:
    model = load_embedding_model()
    full = model.encode([question], convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False)
    fast = embed_texts([question])
    assert fast.dtype == np.float32 and fast.shape == full.shape == (1, 384)
    assert np.array_equal(fast, full)


def test_several_texts_still_embed_as_a_batch_and_agree_with_one_at_a_time() -> None:
    batch = embed_texts(QUESTIONS)
    assert batch.shape == (len(QUESTIONS), 384)
    for row, question in zip(batch, QUESTIONS):
        assert np.allclose(row, embed_texts([question])[0], atol=1e-5)


def test_kept_stems_are_snowballs_own() -> None:
    english = snowballstemmer.stemmer("english")
    words = content_words(SENTENCE + " running runs runner generalization generalizations", "en")
    assert [stem(word, "en") for word in words] == english.stemWords(words)
    assert tokenize(SENTENCE, "en") == english.stemWords(content_words(SENTENCE, "en"))
    assert word_keys(SENTENCE, "en") == english.stemWords(content_words(SENTENCE, "en"))
    assert stem("hienosäätö", "xx") == "hienosäätö"  # no stemmer for the language: the word itself


@pytest.mark.parametrize("lang", ["en", "fi"])
def test_kept_sentence_keys_are_the_coverage_keys(lang: str) -> None:
    text = SENTENCE if lang == "en" else "Hienosäätö muuttaa mallin painoja; hakuun perustuva generointi ei muuta niitä."
    assert coverage_key_set(text, lang) == frozenset(coverage_keys(text, lang))
    assert coverage_key_set(text, lang) is coverage_key_set(text, lang)  # the second answer reuses it


def test_a_turn_that_changes_nothing_writes_no_state(lesson_settings: Settings) -> None:
    agent = Agent(lesson_settings, make_backend(lesson_settings), default_toolbox())
    agent.answer_text("What is LoRA?", learner="ann")
    path = state_path(lesson_settings, "ann")
    state = load_state(lesson_settings, "ann")
    assert state.lang == "en"  # the first turn saved the learner's language
    # The same state in another layout: a turn that rewrote it would bring back the indented one.
    compact = state.model_dump_json()
    path.write_text(compact, encoding="utf-8")
    agent.answer_text("What does the learning rate multiplier do?", learner="ann")
    assert path.read_text(encoding="utf-8") == compact, "an unchanged state was written again"
    agent.answer_text("Mitä LoRA tarkoittaa?", learner="ann")
    assert path.read_text(encoding="utf-8") != compact, "a changed state was not written"
    assert load_state(lesson_settings, "ann").lang == "fi"
