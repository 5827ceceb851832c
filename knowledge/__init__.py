"""Lesson knowledge: the docs, their ingestion into Chroma, hybrid retrieval and cited answers.

Entry points: knowledge.index.ensure_index, knowledge.ingest.ingest, knowledge.search.search,
knowledge.answer.answer, and the CLI `python -m knowledge`.
"""
