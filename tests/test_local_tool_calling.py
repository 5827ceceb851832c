"""Tool-calling examples in a local LoRA job: trained through the model's chat template when it supports tools,
refused with the reason when it does not (the packaged SmolLM2-135M's template has no tool support)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from core.model_loading import load_tokenizer, resolve_model_path
from core.settings import DEFAULT_LOCAL_MODEL, Settings
from trainer.data.examples import DatasetError, make_example
from trainer.data.formats import template_supports_tools, tool_calling_rows, uses_tools
from trainer.jobs.config import TrainConfig
from trainer.jobs.control import start_job
from trainer.jobs.store import JobStore
from waiting import TINY, wait_for

DATA = Path(__file__).parent / "data"
TOOL_DATA = DATA / "tool_calling.jsonl"
TOOLS_TEMPLATE = DATA / "tools_chat_template.jinja"  # ChatML, like SmolLM2's, plus tool definitions, calls and results


@pytest.fixture(scope="module")
def examples() -> list[dict]:
    return [json.loads(line) for line in TOOL_DATA.read_text().splitlines()]


@pytest.fixture(scope="module")
def smollm_folder(model_cache: Path) -> Path:
    return Path(resolve_model_path(DEFAULT_LOCAL_MODEL, model_cache))


@pytest.fixture(scope="module")
def tools_model(smollm_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real SmolLM2 weights and tokenizer with a chat template that supports tools."""
    folder = tmp_path_factory.mktemp("smollm2-tools")
    for item in smollm_folder.iterdir():
        if item.name != "chat_template.jinja":
            os.symlink(item, folder / item.name)
    (folder / "chat_template.jinja").write_text(TOOLS_TEMPLATE.read_text())
    return folder


def test_smollm2_template_has_no_tool_support_and_the_rows_say_why(smollm_folder: Path, examples: list[dict]) -> None:
    tokenizer = load_tokenizer(str(smollm_folder), smollm_folder.parent)
    assert not template_supports_tools(tokenizer)
    assert tool_calling_rows([make_example("q", "a")], tokenizer, "smollm2") is None  # plain chat: the usual rows
    with pytest.raises(DatasetError) as refused:
        tool_calling_rows(examples, tokenizer, "smollm2-135m-instruct")
    message = str(refused.value)
    assert message.startswith("10 training example(s) use tool calling (lines 1, 2, 3")
    assert "smollm2-135m-instruct's chat template has no tool support" in message and "--backend openai" in message


def test_a_template_with_tools_renders_definitions_calls_and_results(tools_model: Path, examples: list[dict]) -> None:
    tokenizer = load_tokenizer(str(tools_model), tools_model.parent)
    assert template_supports_tools(tokenizer) and all(uses_tools(e) for e in examples)
    rows = tool_calling_rows(examples, tokenizer, "smollm2-tools")
    # Two trained assistant turns per example (the call and the answer), less example 4's call with weight 0.
    assert len(rows) == 19
    call, answer = rows[0], rows[1]
    assert '"name": "get_element"' in call["prompt"] and call["prompt"].endswith("<|im_start|>assistant\n")
    assert call["completion"] == '<tool_call>{"name": "get_element", "arguments": {"name": "Neon"}}</tool_call>\n<|im_end|>\n'
    assert "<|im_start|>tool\nNe, atomic number 10, a noble gas<|im_end|>" in answer["prompt"]
    assert answer["completion"] == "Neon is Ne, atomic number 10, a noble gas.<|im_end|>\n"
    assert not any("Helium" in row["completion"] and "tool_call" in row["completion"] for row in rows)  # weight 0: context only


def test_local_job_on_tool_data_is_refused_by_smollm2(settings: Settings) -> None:
    job = start_job(settings, TrainConfig(train_file=TOOL_DATA, max_steps=1, **TINY))
    final = wait_for(lambda: (j := JobStore(settings.jobs_db).get(job.id)).finished and j, 180, "the refused job")
    assert final.status == "failed"
    trained = 10 - final.config["held_out"]  # the job trains on what it did not hold back for validation
    assert final.error.startswith(f"{trained} training example(s) use tool calling") and "chat template has no tool support" in final.error


def test_local_job_trains_tool_calls_through_a_template_that_supports_them(settings: Settings, tools_model: Path) -> None:
    job = start_job(settings, TrainConfig(train_file=TOOL_DATA, base_model=str(tools_model), max_steps=2, **TINY))
    final = wait_for(lambda: (j := JobStore(settings.jobs_db).get(job.id)).finished and j, 300, "the tool-calling job")
    assert final.status == "succeeded", final.error
    assert (Path(final.adapter_path) / "adapter_config.json").is_file()
    metrics = JobStore(settings.jobs_db).metrics(job.id)
    assert [row["step"] for row in metrics if row.get("train_loss") is not None][-1] == 2
