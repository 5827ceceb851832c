"""The MCP tools: the chat's own functions as Gradio API endpoints that Gradio's MCP server lists.

With `TUTOR_MCP=1` (or `GRADIO_MCP_SERVER=True`) Gradio serves every public API endpoint as an MCP tool at
`/gradio_api/mcp/`: the tool's name is the function's name, its description the docstring, and its input schema
the type hints with the `Args:` lines as parameter descriptions. Each function here is a thin adapter: it resolves
the learner token with `ui.identity.resolve_learner` (the one check `/chat` uses), calls the same function the
chat tool, the Jobs tab or the CLI calls, and returns the result as a JSON object in text (Gradio would send a
dict as its Python repr). A failure is a `gr.Error` (`ui.common.refusal`: no traceback in the server's log), which
the MCP client receives as a tool error; its message is redacted like a chat tool's.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any, Callable, Literal

import gradio as gr

from assistant import dataset_tools, job_tools, lesson_tools
from assistant.conversation import language_of
from assistant.learner_state import load_state
from assistant.registry import Tool
from assistant.tool_context import ToolContext
from core.settings import Settings
from trainer.data.store import learner_store
from trainer.data.tokens import DEFAULT_MODEL
from trainer.jobs import control
from ui.common import refusal
from ui.identity import Identity, resolve_learner


def as_json(data: Any) -> str:
    """The result an MCP client reads: one JSON object (dates and paths as strings)."""
    return json.dumps(data, ensure_ascii=False, default=str)


class _Tools:
    """The adapters for one app: its settings and identity, and how a call becomes a learner's tool context."""

    def __init__(self, settings: Settings, identity: Identity):
        self.settings = settings
        self.identity = identity

    def learner(self, token: str, request: gr.Request | None, profile: gr.OAuthProfile | None) -> str:
        return resolve_learner(self.identity, token, request, profile)

    def context(self, learner: str, message: str = "") -> ToolContext:
        # No writer: the MCP client is itself the model that writes the answer from the tool's data.
        state = load_state(self.settings, learner)
        state.lang = language_of(message, state.lang) if message else (state.lang or "en")
        return ToolContext(self.settings, learner, state.lang, state)

    def run_tool(self, chat_tool: Tool, learner: str, arguments: dict[str, Any], message: str = "") -> dict[str, Any]:
        """A chat tool called as the chat calls it (validated arguments, the learner's state saved after)."""
        context = self.context(learner, message)
        record = chat_tool.call(arguments, context)
        if record.error:
            raise refusal(record.error)
        context.save()
        assert record.output is not None
        return record.output.data

    def guarded(self, fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """A domain error (no such job, not finished, a bad option) as a tool error, redacted."""
        try:
            return fn()
        except gr.Error:
            raise
        except Exception as exc:  # reported to the client; the app keeps serving
            message = str(exc.args[0]) if isinstance(exc, LookupError) and exc.args else str(exc)
            if not isinstance(exc, (ValueError, LookupError)):
                message = f"{type(exc).__name__}: {message}"
            raise refusal(ToolContext(self.settings).redact(message)) from None


def register(settings: Settings, identity: Identity) -> list[str]:
    """Add the MCP tools to the Blocks being built (call inside `with gr.Blocks()`); returns their names."""
    tools = _Tools(settings, identity)

    def search_lesson(learner: str, question: str, request: gr.Request = None,
                      profile: gr.OAuthProfile | None = None) -> str:
        """Search the lesson "Fine-tuning LLMs" and return the sections that answer a question, with heading, source and text.

        Args:
            learner: The learner token from new_learner (the same token /chat takes).
            question: The question about fine-tuning LLMs, in the learner's words (English or Finnish).
        Returns:
            JSON: covered (whether the lesson answers it), sections [{heading, source, lang, text}], answer (an extractive answer citing them) or, when not covered, lesson_topics.
        """
        who = tools.learner(learner, request, profile)
        context = tools.context(who, question)
        record = lesson_tools.search_lesson.call({"question": question}, context)
        if record.error:
            raise refusal(record.error)
        assert record.output is not None
        return as_json({**record.output.data, "answer": record.output.reply})

    def save_dataset(learner: str, dataset: str, jsonl: str, mode: Literal["replace", "append"] = "replace",
                     request: gr.Request = None, profile: gr.OAuthProfile | None = None) -> str:
        """Save training examples into one of the learner's datasets (created if new) and make it the current dataset.

        Args:
            learner: The learner token from new_learner.
            dataset: Dataset name (letters, digits, '-', '_', '.').
            jsonl: The examples as JSON lines: OpenAI chat ({"messages": [...]}), prompt/completion, Alpaca or ShareGPT.
            mode: replace the dataset's examples, or append to them.
        Returns:
            JSON: dataset, format (as detected), imported, total, warnings. A bad line is an error naming the line and the fix; the saved dataset is then unchanged.
        """
        who = tools.learner(learner, request, profile)

        def save() -> dict[str, Any]:
            store = learner_store(settings, who)
            with tempfile.TemporaryDirectory() as folder:
                source = Path(folder) / "examples.jsonl"
                source.write_text(jsonl, encoding="utf-8")
                report = store.import_file(dataset, source, mode=mode)
            dataset_tools.remember_dataset(settings, who, dataset)
            return {"dataset": report.name, "format": report.format, "imported": report.imported,
                    "total": report.total, "warnings": report.warnings}

        return as_json(tools.guarded(save))

    def validate_dataset(learner: str, dataset: str | None = None, model: str = DEFAULT_MODEL,
                         request: gr.Request = None, profile: gr.OAuthProfile | None = None) -> str:
        """Validate one of the learner's datasets the way the OpenAI fine-tuning API will, with token counts and the cost estimate.

        Args:
            learner: The learner token from new_learner.
            dataset: Dataset name; default the learner's current dataset.
            model: The fine-tuning model whose token limit and price to use.
        Returns:
            JSON: the validation report (examples, errors with lines and fixes, warnings, notebook counts, tokens, estimate).
        """
        who = tools.learner(learner, request, profile)
        return as_json(tools.run_tool(dataset_tools.validate_dataset, who, {"dataset": dataset, "model": model}))

    def estimate_cost(learner: str, dataset: str | None = None, model: str = DEFAULT_MODEL,
                      request: gr.Request = None, profile: gr.OAuthProfile | None = None) -> str:
        """Estimate the tokens, default epochs and training cost of one of the learner's datasets on a model.

        Args:
            learner: The learner token from new_learner.
            dataset: Dataset name; default the learner's current dataset.
            model: Fine-tuning model, e.g. gpt-4o-mini, gpt-4o, gpt-4.1-mini.
        Returns:
            JSON: estimate (model, epochs, billed_tokens, cost_usd), tokens and the validation counts it rests on.
        """
        who = tools.learner(learner, request, profile)
        return as_json(tools.run_tool(dataset_tools.estimate_cost, who, {"dataset": dataset, "model": model}))

    def start_finetune(learner: str, dataset: str | None = None,
                       preset: Literal["quick", "balanced", "thorough"] = "quick",
                       backend: Literal["local", "openai", "azure"] = "local", epochs: int | None = None,
                       model: str | None = None, runner: Literal["ray", "hf-jobs"] | None = None,
                       request: gr.Request = None, profile: gr.OAuthProfile | None = None) -> str:
        """Start a fine-tune job on one of the learner's datasets; it runs in the background (follow it with job_status).

        Args:
            learner: The learner token from new_learner.
            dataset: Dataset name; default the learner's current dataset.
            preset: Hyperparameter preset (quick trains a small dataset in minutes on a CPU).
            backend: local = LoRA on this server; openai = OpenAI fine-tuning (no new jobs after 2027-01-06); azure = Azure OpenAI fine-tuning.
            epochs: Passes over the data (1-25); default from the preset.
            model: Base model; default the server's local model, or the hosted provider's default from the dated model table.
            runner: Where a local job trains: ray = the Ray cluster, hf-jobs = a GPU at Hugging Face Jobs; default as the server is configured.
        Returns:
            JSON: job (the job_status object of the new job) and notices (a hosted provider's closure dates or billing).
        """
        who = tools.learner(learner, request, profile)
        arguments = {"dataset": dataset, "preset": preset, "backend": backend, "epochs": epochs, "model": model, "runner": runner}
        return as_json(tools.run_tool(job_tools.start_finetune, who, arguments))

    def job_status(learner: str, job_id: str | None = None, request: gr.Request = None,
                   profile: gr.OAuthProfile | None = None) -> str:
        """A fine-tune job's status, metrics, result and queue place: the same object as `python -m trainer status JOB --json`.

        Args:
            learner: The learner token from new_learner.
            job_id: Job id; default the learner's latest job.
        Returns:
            JSON: id, status (queued, running, succeeded, failed, cancelled, interrupted), backend, model, dataset, metrics [{step, train_loss, eval_loss, ...}], error, adapter_path, queue_position, evaluation, ...
        """
        who = tools.learner(learner, request, profile)
        return as_json(tools.guarded(
            lambda: control.job_status(settings, job_tools.chosen_job_id(tools.context(who), job_id), who)))

    def cancel_job(learner: str, job_id: str | None = None, request: gr.Request = None,
                   profile: gr.OAuthProfile | None = None) -> str:
        """Cancel one of the learner's queued or running fine-tune jobs; it stops within seconds.

        Args:
            learner: The learner token from new_learner.
            job_id: Job id; default the learner's latest job.
        Returns:
            JSON: id and status (cancelled, or how the job had already ended).
        """
        who = tools.learner(learner, request, profile)
        return as_json(tools.run_tool(job_tools.cancel_job, who, {"job_id": job_id}))

    def evaluate_job(learner: str, job_id: str | None = None, checkpoint: Literal["final", "best"] = "final",
                     limit: int | None = None, request: gr.Request = None,
                     profile: gr.OAuthProfile | None = None) -> str:
        """Evaluate a finished fine-tune against its base model on held-out examples, and store the report with the job.

        Args:
            learner: The learner token from new_learner.
            job_id: Finished job id; default the learner's latest job.
            checkpoint: The final adapter, or the one with the best validation loss.
            limit: Evaluate at most this many held-out examples (1-200); fewer is faster.
        Returns:
            JSON: the report of `python -m trainer eval JOB --json`: job, examples, metrics (loss, ROUGE-L, chrF, format match for base and tuned), wins, rows.
        """
        who = tools.learner(learner, request, profile)

        def evaluate() -> dict[str, Any]:
            if limit is not None and not 1 <= limit <= 200:
                raise ValueError("limit must be between 1 and 200 held-out examples.")
            context = tools.context(who)
            chosen = job_tools.chosen_job_id(context, job_id)
            report, _ = job_tools.run_evaluation(settings, who, chosen, context.lang, checkpoint=checkpoint, limit=limit)
            return report

        return as_json(tools.guarded(evaluate))

    functions = (search_lesson, save_dataset, validate_dataset, estimate_cost, start_finetune, job_status, cancel_job,
                 evaluate_job)
    for fn in functions:
        gr.api(fn, api_name=fn.__name__)
    return [fn.__name__ for fn in functions]


def only_in_api(demo: gr.Blocks, names: list[str]) -> None:
    """Keep only `names` in the API docs and the MCP tool list.

    Gradio makes every event a public endpoint named after its handler; the tabs' events (`refresh`, `show`, ...)
    stay callable, as the page needs, but become undocumented, so an MCP client sees the tools and not the page's
    plumbing.
    """
    for block_fn in demo.fns.values():
        if block_fn.api_visibility == "public" and block_fn.api_name not in names:
            block_fn.api_visibility = "undocumented"
