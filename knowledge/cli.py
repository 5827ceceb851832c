"""`python -m knowledge`: ingest docs, search them, ask questions.

    python -m knowledge ingest DIR [--index PATH] [--json]
    python -m knowledge build-index [--out DIR]   (the packaged docs' precomputed records and lemma dictionaries; `make install` runs it)
    python -m knowledge search QUESTION | --batch FILE.jsonl [--index PATH] [-k N] [--json]
    python -m knowledge ask QUESTION [--index PATH] [--lang fi] [--json]

Settings come from the environment (core.settings); `--index` overrides the index folder.
Without `--index`, search and ask first make sure the project's own lesson docs are indexed.
Errors print one clear line to stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Iterator, Sequence

from knowledge.loader import IngestError
from knowledge.store import IndexNotFound

EXIT_USAGE = 2


class CliError(Exception):
    """A user mistake reported without a traceback."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m knowledge", description="Lesson docs: ingest, search and ask.")
    commands = parser.add_subparsers(dest="command", required=True)

    ingest = commands.add_parser("ingest", help="index a folder of markdown docs (incremental)")
    ingest.add_argument("folder", type=Path, help="folder of markdown docs, e.g. knowledge/docs")
    _add_common(ingest)

    build = commands.add_parser("build-index", help="precompute the packaged lesson docs' records and vectors (knowledge.prebuilt)")
    build.add_argument("--out", type=Path, help="where to write them (default: knowledge/prebuilt)")

    search = commands.add_parser("search", help="find the sections that answer a question")
    search.add_argument("question", nargs="?", help="the question (or use --batch)")
    search.add_argument("--batch", type=Path, help='JSONL file with one {"question": ..., "lang": optional} per line')
    search.add_argument("-k", type=int, default=5, help="number of sections to return (default 5)")
    search.add_argument("--lang", help="the learner's language (default: detected from the question)")
    _add_common(search)

    ask = commands.add_parser("ask", help="answer a question from the lesson docs, with sources")
    ask.add_argument("question", help="the question")
    ask.add_argument("--lang", help="the learner's language (default: detected from the question)")
    _add_common(ask)
    return parser


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--index", type=Path, help="index folder (default: $TUTOR_DATA_DIR/index)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def main(argv: Sequence[str] | None = None) -> int:
    from core.settings import apply_offline_environment, load_settings

    apply_offline_environment()
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        if args.command == "ingest":
            return _run_ingest(args, settings)
        if args.command == "build-index":
            return _run_build_index(args)
        index = _index_for(args, settings)
        if args.command == "search":
            return _run_search(args, index)
        return _run_ask(args, index, settings)
    except (IngestError, IndexNotFound, CliError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as error:  # validation errors from pydantic settings and the like
        print(f"error: {type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_USAGE


def _run_ingest(args: argparse.Namespace, settings) -> int:
    from knowledge.index import DEFAULT_DOCS_DIR, LESSON_DOCS_LABEL
    from knowledge.ingest import ingest

    from knowledge.prebuilt import load_prebuilt

    packaged = args.folder.resolve() == DEFAULT_DOCS_DIR
    label = LESSON_DOCS_LABEL if packaged else None
    # ingest opens (and creates) the index only after every file passed its checks.
    report = ingest(args.folder, args.index or settings, label=label, prebuilt=load_prebuilt() if packaged else None)
    print(json.dumps(report.to_json(), ensure_ascii=False) if args.json else report.summary())
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def _run_build_index(args: argparse.Namespace) -> int:
    import time

    from knowledge.index import DEFAULT_DOCS_DIR, LESSON_DOCS_LABEL
    from knowledge.ingest import load_docs
    from knowledge.lemmas import build_dictionaries
    from knowledge.prebuilt import PREBUILT_DIR, build_prebuilt

    started = time.perf_counter()
    folder = args.out or PREBUILT_DIR
    docs = load_docs(DEFAULT_DOCS_DIR)
    try:
        bundle, embedded = build_prebuilt(docs, LESSON_DOCS_LABEL, folder)
        for path in build_dictionaries(folder):
            print(f"Lemma dictionary copied to {path}.")
    except OSError as error:
        raise CliError(f"Cannot write the prebuilt index to {folder} ({error}); give a writable folder with --out.") from None
    print(
        f"Prebuilt lesson index in {folder}: {len(docs)} files ({embedded} embedded, {len(docs) - embedded} unchanged), "
        f"{len(bundle.records)} records ({time.perf_counter() - started:.1f} s)."
    )
    return 0


def _index_for(args: argparse.Namespace, settings):
    if args.index:
        return args.index
    from knowledge.index import ensure_index

    ensure_index(settings)
    return settings


def _run_search(args: argparse.Namespace, index) -> int:
    from knowledge.search import search

    if args.k < 1:
        raise CliError("-k must be 1 or more.")
    if args.batch and args.question:
        raise CliError("Give either a QUESTION or --batch FILE, not both.")
    if args.batch:
        for question, lang in _read_batch(args.batch):
            result = search(question, lang=lang, k=args.k, index=index)
            print(json.dumps(result.to_json(), ensure_ascii=False) if args.json else _format_result(result), flush=True)
        return 0
    if not (args.question or "").strip():
        raise CliError('Ask a question, e.g. python -m knowledge search "How many training examples do I need?"')
    result = search(args.question, lang=args.lang, k=args.k, index=index)
    print(json.dumps(result.to_json(), ensure_ascii=False) if args.json else _format_result(result))
    return 0


def _run_ask(args: argparse.Namespace, index, settings) -> int:
    from knowledge.answer import answer
    from core.llm import writer_from_settings

    result = answer(args.question, lang=args.lang, writer=writer_from_settings(settings), index=index)
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False))
    else:
        print(result.text)
    return 0


def _read_batch(path: Path) -> Iterator[tuple[str, str | None]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise CliError(f"Cannot read batch file {path}: {error}") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as error:
            raise CliError(f"{path}:{number}: not valid JSON ({error.msg}).") from None
        if not isinstance(item, dict) or not isinstance(item.get("question"), str):
            raise CliError(f'{path}:{number}: each line must be an object with a "question" string.')
        lang = item.get("lang")
        if lang is not None and not isinstance(lang, str):
            raise CliError(f'{path}:{number}: "lang" must be a language code such as "en" or "fi".')
        yield item["question"], lang


def _format_result(result) -> str:
    lines = [f"{result.question}  [{result.lang}, {'covered' if result.covered else 'not covered by the docs'}]"]
    for number, hit in enumerate(result.hits, start=1):
        lines.append(f"  {number}. {hit.score:.3f}  {hit.heading}  ({hit.link}, {hit.lang})")
    return "\n".join(lines)
