"""`evaluate_job`: a finished job's base and tuned models answer held-out prompts and are scored.

The one implementation behind the CLI (`python -m trainer eval`), the chat and the Jobs tab.
Held-out data: `data` when given (a path or one of the learner's datasets), else the job's
validation file (given at start, or the share `start_job` held back). Per model: the reference
answers' loss (local models), ROUGE-L, chrF, answer length and format match; win/tie/loss counts
from an LLM judge where an OpenAI-compatible backend is configured, else from chrF. With
`reference`, another model on the configured endpoint answers the prompts first: its answers are
saved as a dataset of the learner and become the references.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from core.device import gpu_task
from core.openai_api import make_client
from core.settings import Settings
from trainer.evaluation.features import FormatProfile, learn_profile, matches
from trainer.evaluation.heldout import EvalDataError, EvalExample, load_eval_examples, training_answers
from trainer.evaluation.judge import DEFAULT_JUDGE_MODEL, judge_examples
from trainer.evaluation.metrics import answer_length, chrf, mean, rouge_l
from trainer.evaluation.report import EvalReport, save_report
from trainer.jobs.config import TrainConfig
from trainer.jobs.inference import Checkpoint
from trainer.jobs.store import job_folder

DEFAULT_MAX_NEW_TOKENS = 128
# Local answers may run to this multiple of the longest training answer (in tokens): longer is off-form anyway,
# and a rambling base model would otherwise decide how long every batch takes.
ANSWER_ROOM = 1.5
# chrF points by which one answer must beat the other to win without a judge.
CHRF_MARGIN = 1.0
# ZeroGPU seconds for a local evaluation: load, two batched generations, two loss passes.
EVAL_GPU_S = 120


def evaluate_job(
    settings: Settings,
    job_id: str,
    data: str | Path | None = None,
    limit: int | None = None,
    reference: str | None = None,
    owner: str | None = None,
    checkpoint: Checkpoint = "final",
    judge: bool | None = None,
    max_new_tokens: int | None = None,
) -> EvalReport:
    """Evaluate job `job_id`, store the report with the job and return it.

    `judge`: None = use the LLM judge when an OpenAI-compatible backend is configured.
    `max_new_tokens`: None = local models get `ANSWER_ROOM` x the longest training answer, remote ones 128.
    Raises NotReady (no result yet), EvalDataError (no held-out data), OpenAIAPIError (endpoint errors).
    """
    from trainer.jobs.inference import _finished_job, adapter_path

    if limit is not None and limit < 1:
        raise EvalDataError("--limit must be at least 1.")
    job = _finished_job(settings, job_id, owner)
    config = TrainConfig.model_validate(job.config)
    path = _eval_data(settings, job.owner, config, data)
    examples = load_eval_examples(path, limit)
    training = training_answers(config.train_file)
    profile = learn_profile(training)
    ask = None
    use_judge = settings.openai_api_key is not None and settings.backend != "local" if judge is None else judge
    if reference or use_judge or job.backend == "openai":
        ask = _asker(settings, max_new_tokens or DEFAULT_MAX_NEW_TOKENS)

    answers: dict[str, list[str]] = {}
    losses: dict[str, list[tuple[float, int]] | None] = {}
    original = examples
    reference_dataset = None
    if reference:
        answers["reference"] = [ask(reference, example.prompt) for example in examples]
        reference_dataset = _save_reference_dataset(settings, job.owner, reference, examples, answers["reference"])
        examples = [EvalExample(example.prompt, answer) for example, answer in zip(examples, answers["reference"])]
        losses["reference"] = None

    adapter = adapter_path(settings, job, checkpoint)
    if job.backend == "openai":
        answers["base"] = [ask(job.model, example.prompt) for example in examples]
        answers["tuned"] = [ask(job.fine_tuned_model or "", example.prompt) for example in examples]
        losses["base"] = losses["tuned"] = None
    else:
        local = _local_answers(settings, job.model, adapter, examples, max_new_tokens, [pair.reference for pair in training])
        for name in ("base", "tuned"):
            answers[name], losses[name] = local[name]

    scores = {name: _score(examples if name != "reference" else original, answers[name], losses[name], profile)
              for name in answers}
    verdicts = None
    judge_model = None
    if use_judge:
        judge_model = settings.model or DEFAULT_JUDGE_MODEL
        verdicts = judge_examples(lambda messages: ask(judge_model, messages, judge=True), examples,
                                  answers["base"], answers["tuned"])
    rows, wins = _rows(examples, answers, scores, verdicts)
    if reference:  # the rows' "reference" is the reference model's answer; keep the data's own beside it
        for row, example in zip(rows, original):
            row["data_reference"] = example.reference
    report = EvalReport(
        job=job.id, examples=len(examples), metrics={name: _aggregate(values) for name, values in scores.items()},
        rows=rows, wins=wins, wins_by="judge" if verdicts else "chrF", data=str(path), checkpoint=checkpoint,
        reference_model=reference, reference_dataset=reference_dataset, judge_model=judge_model,
        format_profile=profile.to_json(), created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    save_report(job_folder(settings.data_dir, job.id), report)
    return report


def _eval_data(settings: Settings, owner: str, config: TrainConfig, data: str | Path | None) -> Path:
    if data is not None:
        from trainer.jobs.control import resolve_training_data

        return resolve_training_data(settings, owner, data)[0]
    if config.validation_file and Path(config.validation_file).is_file():
        return Path(config.validation_file)
    raise EvalDataError("This job has no validation file and held nothing back (too few examples, or holdout 0). "
                        "Give held-out examples with --data FILE (a chat JSONL path or a dataset name).")


@gpu_task(duration=EVAL_GPU_S)
def _local_answers(settings: Settings, base_model: str, adapter: str | None, examples: list[EvalExample],
                   max_new_tokens: int | None, training_answers: list[str]) -> dict[str, tuple[list[str], list[tuple[float, int]]]]:
    from trainer.evaluation.local import answer_both
    from trainer.jobs.inference import _generate_lock, _load

    model, tokenizer = _load(settings, base_model, adapter)
    if max_new_tokens is None:
        longest = max((len(tokenizer(text, add_special_tokens=False)["input_ids"]) for text in training_answers), default=0)
        max_new_tokens = min(DEFAULT_MAX_NEW_TOKENS * 2, max(32, int(longest * ANSWER_ROOM) + 1))
    with _generate_lock:  # one generation at a time per process (chat turns share the loaded model)
        return answer_both(model, tokenizer, examples, max_new_tokens)


def _asker(settings: Settings, max_new_tokens: int):
    from trainer.jobs.openai_backend import chat_with_model

    client = make_client(settings, max_retries=1)

    def ask(model: str, messages: list[dict[str, str]], judge: bool = False) -> str:
        return chat_with_model(client, model, messages, max_tokens=200 if judge else max_new_tokens)

    return ask


def _save_reference_dataset(settings: Settings, owner: str, model: str, examples: list[EvalExample], answers: list[str]) -> str:
    """The reference model's answers as a dataset of the learner (replacing an earlier recording of it)."""
    from trainer.data.store import learner_store

    store = learner_store(settings, owner)
    name = ("reference-" + re.sub(r"[^a-z0-9_-]+", "-", model.lower()).strip("-"))[:64].rstrip("-")
    if store.exists(name):
        store.delete(name)
    store.create(name)
    store.add(name, [{"messages": example.prompt + [{"role": "assistant", "content": answer}]}
                     for example, answer in zip(examples, answers) if answer.strip()])
    return name


def _score(examples: list[EvalExample], answers: list[str], losses: list[tuple[float, int]] | None,
           profile: FormatProfile) -> list[dict[str, Any]]:
    scored = []
    for index, (example, answer) in enumerate(zip(examples, answers)):
        row: dict[str, Any] = {"rougeL": round(rouge_l(answer, example.reference), 4),
                               "chrF": round(chrf(answer, example.reference), 2),
                               "length": answer_length(answer),
                               "format_match": matches(profile, answer, example.question)}
        if losses is not None:
            total, count = losses[index]
            row["loss"] = round(total / count, 4) if count else None
            row["_loss_sum"], row["_tokens"] = total, count
        scored.append(row)
    return scored


def _aggregate(rows: list[dict[str, Any]]) -> dict[str, float | None]:
    tokens = sum(row.get("_tokens", 0) for row in rows)
    return {
        # Token-weighted: the mean per-token cross-entropy over every reference token.
        "loss": round(sum(row["_loss_sum"] for row in rows) / tokens, 4) if tokens else None,
        "rougeL": mean([row["rougeL"] for row in rows]),
        "chrF": mean([row["chrF"] for row in rows]),
        "length": mean([row["length"] for row in rows]),
        "format_match": mean([1.0 if row["format_match"] else 0.0 for row in rows]),
    }


def _rows(examples: list[EvalExample], answers: dict[str, list[str]], scores: dict[str, list[dict[str, Any]]],
          verdicts: list[dict[str, Any]] | None) -> tuple[list[dict[str, Any]], dict[str, int]]:
    wins = {"tuned": 0, "base": 0, "tie": 0}
    rows = []
    for index, example in enumerate(examples):
        row_scores: dict[str, Any] = {name: {key: value for key, value in scores[name][index].items() if not key.startswith("_")}
                                      for name in answers}
        if verdicts:
            row_scores["judge"] = verdicts[index]
            winner = verdicts[index]["winner"]
        else:
            gap = scores["tuned"][index]["chrF"] - scores["base"][index]["chrF"]
            winner = "tuned" if gap > CHRF_MARGIN else "base" if gap < -CHRF_MARGIN else "tie"
        row_scores["winner"] = winner
        wins[winner] += 1
        row = {"prompt": _prompt_text(example.prompt), "reference": example.reference,
               "base": answers["base"][index], "tuned": answers["tuned"][index], "scores": row_scores}
        rows.append(row)
    return rows, wins


def _prompt_text(prompt: list[dict[str, str]]) -> str:
    # The last user message is the prompt a reader recognises; earlier turns are context.
    return next((message["content"] for message in reversed(prompt) if message["role"] == "user"), prompt[-1]["content"])
