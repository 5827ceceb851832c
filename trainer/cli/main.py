"""The `python -m trainer` command line: one parser, subcommands registered by command modules.

Each module in `COMMAND_MODULES` has `register(subparsers)`, which adds its subcommands and sets
`handler(args, settings) -> int` on each; it may list the exceptions whose message is meant for
the user in `USER_ERRORS`. Those are printed to stderr with exit status 2; anything else is a bug
and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from types import ModuleType

from core.settings import apply_offline_environment, load_settings

# trainer.cli.jobs (train/status/list/cancel/chat/compare) joins when it exists.
COMMAND_MODULES = ("trainer.cli.datasets", "trainer.cli.jobs", "trainer.cli.evaluation")
EXIT_USER_ERROR = 2


def add_learner_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--learner", default="default", help="whose datasets and jobs (default: %(default)s)")


def build_parser() -> tuple[argparse.ArgumentParser, tuple[type[BaseException], ...]]:
    parser = argparse.ArgumentParser(prog="python -m trainer", description="Fine-tuning datasets and jobs.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    user_errors: list[type[BaseException]] = []
    for module in _command_modules():
        module.register(subparsers)
        user_errors.extend(getattr(module, "USER_ERRORS", ()))
    return parser, tuple(user_errors)


def main(argv: list[str] | None = None) -> int:
    apply_offline_environment()
    parser, user_errors = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ValueError as exc:  # a misspelt or invalid variable: say which, without a traceback
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    try:
        return int(args.handler(args, settings) or 0)
    except user_errors as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR


def _command_modules() -> list[ModuleType]:
    modules = []
    for name in COMMAND_MODULES:
        try:
            modules.append(importlib.import_module(name))
        except ModuleNotFoundError as exc:
            if exc.name != name:  # a missing dependency inside the module is a real error
                raise
    return modules
