"""`python -m trainer` job commands: train, status, list, cancel, resume, chat, compare.

`register(subparsers)` adds them to the trainer CLI; each command's `handler(args, settings)`
returns the exit code. The `train` options are generated from `TrainConfig`, so the CLI, the chat
tool and the UI accept the same settings with the same help. JSON outputs are contracts: `train
--json` ends with one line `{"id", "status", "backend", "model", "notices"}` (notices: OpenAI's
closure dates or Azure's hourly billing, empty for local jobs); `status --json` prints the `job_status` object
(`queue_position`: 1 = next to start, null unless a local job waits for a training slot);
`compare --json` prints {"base": ..., "tuned": ...}.
"""

from __future__ import annotations

import argparse
import json
import sys
import types
import typing
from typing import Any, Callable

from pydantic import ValidationError

from core.settings import Settings
from trainer.jobs.inference import BadPrompt, NotReady, compare, generate
from trainer.jobs.store import InvalidTransition, JobNotFound
from trainer.jobs.control import (
    JobSetupError, cancel_job, job_status, list_jobs, resolve_training_data, resume_job, start_job, start_notices,
)
from core.model_loading import ModelNotAvailable
from trainer.jobs.config import DEFAULT_OPENAI_MODEL, PRESETS, TrainConfig
from trainer.jobs.hiccups import describe_retrying
from trainer.jobs.job_queue import describe_queue

# Printed to stderr without a traceback (exit status 2) by trainer.cli.main.
USER_ERRORS: tuple[type[BaseException], ...] = (
    JobSetupError, NotReady, BadPrompt, InvalidTransition, JobNotFound, ModelNotAvailable,
)

# Fields with their own positional/short options, or set by the job itself.
_OWN_OPTIONS = {"train_file", "validation_file", "backend", "base_model", "preset", "epochs", "dataset"}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the job commands to the `python -m trainer` parser."""
    train = _add(subparsers, "train", "Start a fine-tune job in the background and print its id.", _train)
    train.add_argument("data", help="Training examples: a chat JSONL path or a dataset name from the learner's store.")
    train.add_argument("--validation", help="Validation examples, a JSONL path or dataset name (enables validation loss).")
    train.add_argument("--backend", choices=["local", "openai", "azure"], default="local",
                       help="Train here with LoRA, on OpenAI (OPENAI_API_KEY), or on Azure OpenAI (AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY).")
    train.add_argument("--model", help=f"Base model (default: TUTOR_LOCAL_MODEL for local, {DEFAULT_OPENAI_MODEL} from the dated model table for OpenAI and Azure).")
    train.add_argument("--epochs", type=float, help="Passes over the training data (default: from the preset).")
    train.add_argument("--preset", choices=sorted(PRESETS), default="quick", help="Hyperparameter preset.")
    train.add_argument("--runner", choices=["process", "ray", "hf-jobs"],
                       help="Where a local job trains: process (this machine), ray (the cluster of RAY_ADDRESS) or hf-jobs "
                            "(a GPU at Hugging Face Jobs: HF_TOKEN, TUTOR_HF_FLAVOR, TUTOR_HF_CODE); default TUTOR_JOB_RUNNER.")
    _add_config_options(train)
    _add_json(train)

    status = _add(subparsers, "status", "Show a job's status, metrics and result.", _status)
    status.add_argument("id", help="Job id (ft-...).")
    _add_json(status)

    listing = _add(subparsers, "list", "List the learner's jobs, newest first.", _list)
    _add_json(listing)

    cancel = _add(subparsers, "cancel", "Stop a queued or running job.", _cancel)
    cancel.add_argument("id", help="Job id.")
    _add_json(cancel)

    resume = _add(subparsers, "resume", "Restart a failed or interrupted job from its last checkpoint.", _resume)
    resume.add_argument("id", help="Job id.")
    _add_json(resume)

    chat = _add(subparsers, "chat", "Ask the fine-tuned model one question.", _chat)
    chat.add_argument("id", help="Job id of a succeeded job.")
    chat.add_argument("prompt", help="The question.")
    chat.add_argument("--max-new-tokens", type=int, default=128, help="Longest answer in tokens.")
    chat.add_argument("--checkpoint", choices=["final", "best"], default="final",
                        help="The final adapter, or the one kept at the best validation loss.")
    _add_json(chat)

    compare = _add(subparsers, "compare", "Answer one prompt with the base and the fine-tuned model.", _compare)
    compare.add_argument("id", help="Job id of a succeeded job.")
    compare.add_argument("prompt", help="The question.")
    compare.add_argument("--max-new-tokens", type=int, default=128, help="Longest answer in tokens.")
    compare.add_argument("--checkpoint", choices=["final", "best"], default="final",
                        help="The final adapter, or the one kept at the best validation loss.")
    _add_json(compare)


def _add(subparsers: argparse._SubParsersAction, name: str, help_text: str, handler: Callable) -> argparse.ArgumentParser:
    from trainer.cli.main import add_learner_option

    parser = subparsers.add_parser(name, help=help_text, description=help_text)
    add_learner_option(parser)
    parser.set_defaults(handler=_friendly(handler))
    return parser


def _add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="Print JSON instead of text.")


def _add_config_options(parser: argparse.ArgumentParser) -> None:
    """One `--option` per remaining TrainConfig field, typed and described as in the model."""
    group = parser.add_argument_group("training settings (override the preset)")
    for name, info in TrainConfig.model_fields.items():
        if name in _OWN_OPTIONS:
            continue
        flag = "--" + name.replace("_", "-")
        kind = _base_type(info.annotation)
        if kind is bool:
            group.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=info.description)
        elif name == "target_modules":
            group.add_argument(flag, type=_modules, default=None, help=info.description + " Comma-separated.")
        else:
            group.add_argument(flag, type=kind, default=None, help=info.description)


def _base_type(annotation: Any) -> type:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        annotation = next(arg for arg in typing.get_args(annotation) if arg is not type(None))
    return annotation if annotation in (bool, int, float, str) else str


def _modules(text: str) -> list[str] | str:
    return "all-linear" if text.strip() == "all-linear" else [part.strip() for part in text.split(",") if part.strip()]


# -- handlers ---------------------------------------------------------------------------------


def _train(args: argparse.Namespace, settings: Settings) -> int:
    train_file, dataset = resolve_training_data(settings, args.learner, args.data)
    validation_file = resolve_training_data(settings, args.learner, str(args.validation))[0] if args.validation else None
    fields = {
        "backend": args.backend,
        "base_model": args.model,
        "train_file": train_file,
        "validation_file": validation_file,
        "dataset": dataset,
        "preset": args.preset,
        "epochs": args.epochs,
    }
    for name in TrainConfig.model_fields:
        if name not in _OWN_OPTIONS and getattr(args, name, None) is not None:
            fields[name] = getattr(args, name)
    config = TrainConfig(**fields)
    notices = start_notices(settings, config)
    if not args.json:
        for notice in notices:  # before the job exists: the remote job is created only after this
            print(f"Note: {notice}", flush=True)
    job = start_job(settings, config, owner=args.learner, runner=args.runner)
    if args.json:
        print(json.dumps({"id": job.id, "status": job.status, "backend": job.backend, "runner": job.runner, "model": job.model,
                          "notices": notices}))
    else:
        print(f"Started {job.backend} fine-tune job {job.id} on {job.model} (dataset {job.dataset}).")
        print(f"Follow it with: python -m trainer status {job.id}")
    return 0


def _status(args: argparse.Namespace, settings: Settings) -> int:
    status = job_status(settings, args.id, owner=args.learner)
    if args.json:
        print(json.dumps(status))
        return 0
    print(f"{status['id']}  {status['status']}  {status['backend']}  {status['model']}  dataset {status['dataset']}")
    if status["runner"] == "ray":
        print(f"on the Ray cluster at {status['remote_url']}: Ray job {status['remote_id'] or '(being submitted)'} ({status['hardware'] or 'CPU'})")
    elif status["runner"] == "hf-jobs":
        print(f"on Hugging Face Jobs ({status['hardware'] or 'being submitted'}): job {status['remote_id'] or '(being submitted)'}"
              + (f", adapter repo {status['hub_repo']}" if status["hub_repo"] else ""))
    print(f"created {status['created_at']}  started {status['started_at'] or '-'}  finished {status['finished_at'] or '-'}")
    if status["error"]:
        print(f"error: {status['error']}")
    queued = describe_queue(status, "en")
    if queued:
        print(queued)
    retrying = describe_retrying(status["summary"], status["backend"], "en") if status["status"] in ("queued", "running") else None
    if retrying:
        print(retrying)
    for key in ("adapter_path", "merged_path", "fine_tuned_model"):
        if status[key]:
            print(f"{key.replace('_', ' ')}: {status[key]}")
    metrics = status["metrics"]
    if metrics:
        print(f"{'step':>6} {'epoch':>6} {'train_loss':>10} {'eval_loss':>10} {'lr':>9} {'tok/s':>7}")
        for row in metrics[-15:]:
            print(
                f"{row['step']:>6} {_num(row.get('epoch'), '.2f'):>6} {_num(row.get('train_loss'), '.4f'):>10} "
                f"{_num(row.get('eval_loss'), '.4f'):>10} {_num(row.get('learning_rate'), '.2e'):>9} {_num(row.get('tokens_per_s'), '.0f'):>7}"
            )
    if status.get("overfitting"):
        print(status["overfitting"]["message"]["en"])
        if status["overfitting"]["checkpoint"]:
            print(f"best checkpoint: {status['overfitting']['checkpoint']}")
    evaluation = status.get("evaluation")
    if evaluation:
        from trainer.cli.evaluation import metrics_table

        print(f"evaluation ({evaluation['checkpoint']} adapter, {evaluation['examples']} examples, {evaluation['created_at']}):")
        for line in metrics_table(evaluation["metrics"]):
            print("  " + line)
        if evaluation.get("wins"):
            wins = evaluation["wins"]
            print(f"  wins ({evaluation['wins_by']}): tuned {wins['tuned']}, base {wins['base']}, tie {wins['tie']}")
    return 0


def _num(value: Any, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _list(args: argparse.Namespace, settings: Settings) -> int:
    jobs = list_jobs(settings, owner=args.learner)
    if args.json:
        print(json.dumps(jobs))
    elif not jobs:
        print(f"No fine-tune jobs for learner {args.learner!r} yet. Start one with: python -m trainer train DATA")
    else:
        for job in jobs:
            print(f"{job['id']}  {job['status']:<11} {job['backend']:<6} {job['model']}  {job['dataset']}  {job['created_at']}")
    return 0


def _cancel(args: argparse.Namespace, settings: Settings) -> int:
    job = cancel_job(settings, args.id, owner=args.learner)
    print(json.dumps({"id": job.id, "status": job.status}) if args.json else f"Job {job.id} is {job.status}.")
    return 0


def _resume(args: argparse.Namespace, settings: Settings) -> int:
    job = resume_job(settings, args.id, owner=args.learner)
    if args.json:
        print(json.dumps({"id": job.id, "status": job.status, "resumed_from": job.checkpoint}))
    else:
        print(f"Resumed job {job.id}" + (f" from {job.checkpoint}." if job.checkpoint else " from the start (no checkpoint yet)."))
    return 0


def _chat(args: argparse.Namespace, settings: Settings) -> int:
    answer = generate(settings, args.id, args.prompt, max_new_tokens=args.max_new_tokens, owner=args.learner,
                      checkpoint=args.checkpoint)
    print(json.dumps({"id": args.id, "answer": answer}) if args.json else answer)
    return 0


def _compare(args: argparse.Namespace, settings: Settings) -> int:
    answers = compare(settings, args.id, args.prompt, max_new_tokens=args.max_new_tokens, owner=args.learner,
                      checkpoint=args.checkpoint)
    if args.json:
        print(json.dumps(answers))
    else:
        print(f"--- base model ---\n{answers['base']}\n--- fine-tuned ---\n{answers['tuned']}")
    return 0


def _friendly(handler: Callable[[argparse.Namespace, Settings], int]) -> Callable[[argparse.Namespace, Settings], int]:
    """Bad option values (and OpenAI errors) become a JobSetupError the CLI prints without a traceback."""

    def run(args: argparse.Namespace, settings: Settings) -> int:
        try:
            return handler(args, settings)
        except ValidationError as exc:
            lines = [
                f"--{'-'.join(str(part) for part in error['loc']).replace('_', '-')}: {error['msg']}" if error["loc"] else error["msg"]
                for error in exc.errors()
            ]
            raise JobSetupError("Invalid training settings:\n" + "\n".join(lines)) from None
        except Exception as exc:
            # An OpenAI error can only come from the OpenAI module, so it is imported by then;
            # importing it up front would cost every CLI call a second.
            openai_jobs = sys.modules.get("trainer.jobs.openai_backend")
            if openai_jobs is not None and isinstance(exc, openai_jobs.OpenAIAPIError):
                raise JobSetupError(str(exc)) from None
            raise

    return run
