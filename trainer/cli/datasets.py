"""CLI commands for data: `validate FILE` and `dataset create|list|show|add|edit|remove|delete|import|export|validate`.

`validate --json` prints `Report.to_dict()` (see trainer.validation.report) and exits 0 without errors, 1
with errors; bad requests (missing file, unknown model or dataset) exit 2 with the reason on stderr.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from core.settings import Settings
from trainer.cli.main import add_learner_option
from trainer.data.store import DatasetStore, learner_store
from trainer.data.examples import METHODS, DatasetError, Example, make_example
from trainer.data.formats import IMPORT_FORMATS
from trainer.data.prices import load_prices
from trainer.data.tokens import DEFAULT_MODEL, MODEL_ALIASES, MODELS
from trainer.validation.report import Report, format_report, validate_file

USER_ERRORS = (DatasetError,)
EXIT_HAS_ERRORS = 1


def register(subparsers: argparse._SubParsersAction) -> None:
    models = ", ".join([*MODEL_ALIASES, *MODELS])
    p = subparsers.add_parser("validate", help="check a JSONL file as OpenAI fine-tuning would, with tokens and cost")
    p.add_argument("file", type=Path)
    p.add_argument("--model", default=DEFAULT_MODEL, help=f"model to count tokens and cost for ({models})")
    p.add_argument("--purpose", choices=("train", "validation"), default="train", help="validation files need no 10-example minimum")
    p.add_argument("--validation-file", type=Path, help="the matching validation file: warn about examples in both")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.add_argument("--workers", type=int, help="processes for a big file (default: idle CPUs, one per 64 MB)")
    p.add_argument("--method", choices=METHODS, default="supervised",
                   help="what the file trains: supervised (chat examples, the default) or dpo (preference pairs: input, preferred_output, non_preferred_output)")
    p.set_defaults(handler=_validate)

    data = subparsers.add_parser("dataset", help="your saved datasets").add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, helptext, handler in (
        ("create", "create an empty dataset", _create),
        ("list", "list your datasets", _list),
        ("show", "print a dataset's examples", _show),
        ("add", "add one example", _add),
        ("edit", "replace example NUMBER", _edit),
        ("remove", "remove example NUMBER", _remove),
        ("delete", "delete a whole dataset", _delete),
        ("import", "import a file (OpenAI chat, JSON array, prompt/completion, Alpaca, ShareGPT)", _import),
        ("export", "write OpenAI JSONL (optionally split) or a Hugging Face datasets file", _export),
        ("validate", "validate a saved dataset as a training file", _validate_saved),
    ):
        sub = data.add_parser(action, help=helptext)
        add_learner_option(sub)
        if action != "list":
            sub.add_argument("name")
        if action in ("edit", "remove"):
            sub.add_argument("number", type=int, help="example number, from 1")
        if action in ("add", "edit"):
            sub.add_argument("--user", help="the user's message")
            sub.add_argument("--assistant", help="the reply the model should learn")
            sub.add_argument("--system", help="optional system message")
            sub.add_argument("--example", help='a whole example as JSON: {"messages": [...]}')
        if action in ("list", "show", "validate"):
            sub.add_argument("--json", action="store_true")
        if action == "show":
            sub.add_argument("--limit", type=int, default=20, help="examples to print (default %(default)s; 0 = all)")
        if action == "import":
            sub.add_argument("file", type=Path)
            sub.add_argument("--format", choices=IMPORT_FORMATS, default="auto")
            sub.add_argument("--append", action="store_true", help="add to the dataset instead of replacing it")
        if action == "export":
            sub.add_argument("dest", type=Path, help="folder to write into")
            sub.add_argument("--format", choices=("openai", "hf"), default="openai")
            sub.add_argument("--validation-fraction", type=float, default=0.0, help="share held out as validation (e.g. 0.2)")
            sub.add_argument("--seed", type=int, default=0)
        if action == "validate":
            sub.add_argument("--model", default=DEFAULT_MODEL)
        sub.set_defaults(handler=handler)


def _validate(args: argparse.Namespace, settings: Settings) -> int:
    prices = load_prices(settings.data_dir)
    report = validate_file(
        args.file, args.model, purpose=args.purpose, compare_with=args.validation_file, prices=prices, workers=args.workers,
        method=args.method,
    )
    _print_report(report, args.json, str(args.file), prices.as_of)
    return EXIT_HAS_ERRORS if report.errors else 0


def _validate_saved(args: argparse.Namespace, settings: Settings) -> int:
    prices = load_prices(settings.data_dir)
    report = _store(args, settings).validate(args.name, args.model, prices=prices)  # one table for report and note
    _print_report(report, args.json, f"dataset {args.name}", prices.as_of)
    return EXIT_HAS_ERRORS if report.errors else 0


def _print_report(report: Report, as_json: bool, title: str, as_of: str) -> None:
    if as_json:
        print(json.dumps(report.to_dict(), ensure_ascii=False))
    else:
        print(format_report(report, title) + (f"\n(prices as of {as_of})" if report.estimate else ""))


def _create(args: argparse.Namespace, settings: Settings) -> int:
    _store(args, settings).create(args.name)
    print(f"Created dataset {args.name}.")
    return 0


def _list(args: argparse.Namespace, settings: Settings) -> int:
    infos = _store(args, settings).list()
    if args.json:
        print(json.dumps([vars(i) for i in infos]))
    elif not infos:
        print("No datasets yet: `python -m trainer dataset create NAME`.")
    for info in [] if args.json else infos:
        print(f"{info.name}\t{info.examples} examples\tupdated {info.updated_at}")
    return 0


def _show(args: argparse.Namespace, settings: Settings) -> int:
    examples = _store(args, settings).load(args.name)
    if args.json:
        print(json.dumps({"name": args.name, "examples": examples}, ensure_ascii=False))
        return 0
    shown = examples if args.limit <= 0 else examples[: args.limit]
    for number, example in enumerate(shown, 1):
        print(f"#{number}")
        for message in example.get("messages", []):
            print(f"  {message.get('role')}: {message.get('content')}")
    if len(shown) < len(examples):
        print(f"... {len(examples) - len(shown)} more (--limit 0 shows all)")
    return 0


def _add(args: argparse.Namespace, settings: Settings) -> int:
    total = _store(args, settings).add(args.name, _example_from(args))
    print(f"Added example {total} to {args.name}.")
    return 0


def _edit(args: argparse.Namespace, settings: Settings) -> int:
    _store(args, settings).edit(args.name, args.number, _example_from(args))
    print(f"Replaced example {args.number} of {args.name}.")
    return 0


def _remove(args: argparse.Namespace, settings: Settings) -> int:
    _store(args, settings).remove(args.name, args.number)
    print(f"Removed example {args.number} from {args.name}.")
    return 0


def _delete(args: argparse.Namespace, settings: Settings) -> int:
    _store(args, settings).delete(args.name)
    print(f"Deleted dataset {args.name}.")
    return 0


def _import(args: argparse.Namespace, settings: Settings) -> int:
    report = _store(args, settings).import_file(args.name, args.file, args.format, "append" if args.append else "replace")
    print(f"Imported {report.imported} examples ({report.format} format) into {args.name}; it now has {report.total}.")
    for note in report.warnings:
        print(f"Warning: {note}")
    return 0


def _export(args: argparse.Namespace, settings: Settings) -> int:
    paths = _store(args, settings).export(args.name, args.dest, args.format, args.validation_fraction, args.seed)
    for path in paths:
        print(path)
    return 0


def _store(args: argparse.Namespace, settings: Settings) -> DatasetStore:
    return learner_store(settings, args.learner)


def _example_from(args: argparse.Namespace) -> Example:
    if args.example:
        try:
            value: Any = json.loads(args.example)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"--example is not valid JSON ({exc.msg} at column {exc.colno}).") from None
        return value
    if not (args.user and args.assistant):
        raise DatasetError("Give --user and --assistant (and optionally --system), or a whole --example as JSON.")
    return make_example(args.user, args.assistant, args.system)
