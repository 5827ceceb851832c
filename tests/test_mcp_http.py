"""The MCP tools over HTTP: the real app with `TUTOR_MCP=1`, driven by the real `mcp` client.

The client lists the tools and calls them as an MCP host (Claude Desktop, an IDE) would: a learner token from
`new_learner`, a lesson search, a dataset saved and validated, a cost estimate, a real LoRA job on the course's
limericks (one epoch of the quick preset: two packed steps) followed to its end and evaluated on one held-out
example, and a second job cancelled. A plain learner id or an edited token is refused, and a second learner sees
none of the first one's datasets or jobs.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
import json
import shutil
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
from mcp import ClientSession, types
from mcp.client.streamable_http import streamable_http_client

from app_server import ARTIFACTS, AppServer, start_app
from waiting import wait_for

pytestmark = pytest.mark.slow

TOOLS = {"search_lesson", "validate_dataset", "estimate_cost", "start_finetune", "job_status", "cancel_job",
         "evaluate_job", "save_dataset"}
REFUSED = "not valid here"
ENDED = {"succeeded", "failed", "cancelled", "interrupted"}


class MCP:
    """One app's MCP endpoint, called through the `mcp` client over streamable HTTP (a session per call)."""

    def __init__(self, url: str):
        self.url = url + "gradio_api/mcp/"

    async def _session(self, work: Any) -> Any:
        # trust_env=False: the developer's proxy variables must not route loopback calls.
        async with httpx.AsyncClient(trust_env=False, timeout=httpx.Timeout(600)) as http:
            async with streamable_http_client(self.url, http_client=http) as (read, write, _):
                async with ClientSession(read, write) as session:
                    await session.initialize()
                    return await work(session)

    def _run(self, work: Any) -> Any:
        # In a thread of its own: in the full suite Playwright's sync API keeps an event loop running in
        # this one, where asyncio.run refuses to start another.
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, self._session(work)).result()

    def tools(self) -> list[types.Tool]:
        return self._run(lambda s: s.list_tools()).tools

    def call(self, name: str, **arguments: Any) -> types.CallToolResult:
        return self._run(lambda s: s.call_tool(name, arguments))

    def json(self, name: str, **arguments: Any) -> Any:
        """The tool's JSON result; a tool error fails the test with its message."""
        result = self.call(name, **arguments)
        text = "\n".join(c.text for c in result.content if isinstance(c, types.TextContent))
        assert not result.isError, f"{name} failed: {text}"
        return json.loads(text)

    def error(self, name: str, **arguments: Any) -> str:
        """The message of a call that must fail."""
        result = self.call(name, **arguments)
        text = "\n".join(c.text for c in result.content if isinstance(c, types.TextContent))
        assert result.isError, f"{name} should have failed, returned {text[:300]}"
        return text


def edited(token: str, at: int) -> str:
    return token[:at] + ("A" if token[at] != "A" else "B") + token[at + 1:]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, model_cache: Path, _built_lesson_index: Path) -> Iterator[AppServer]:
    data_dir = tmp_path_factory.mktemp("mcp") / "data"
    shutil.copytree(_built_lesson_index, data_dir / "index")  # the index built once per session: a warm start
    server = start_app(data_dir, ARTIFACTS / "app-mcp.log", model_cache=model_cache, extra_env={"TUTOR_MCP": "1"})
    yield server
    server.stop()


@pytest.fixture(scope="module")
def mcp(app: AppServer) -> MCP:
    return MCP(app.url)


@pytest.fixture(scope="module")
def limericks_jsonl(course_dir: Path) -> str:
    source = course_dir / "18-fine-tuning" / "python" / "openai" / "training-data.jsonl"
    return "\n".join([line for line in source.read_text(encoding="utf-8").splitlines() if line.strip()][:10]) + "\n"


@pytest.fixture(scope="module")
def tokens(mcp: MCP) -> tuple[str, str]:
    """Two learners' tokens, each from the `new_learner` tool."""
    first, second = (mcp.call("new_learner") for _ in range(2))
    return first.content[0].text, second.content[0].text  # type: ignore[union-attr]


def test_lists_the_tools_with_the_learner_in_every_schema(mcp: MCP) -> None:
    listed = {tool.name: tool for tool in mcp.tools()}
    assert TOOLS <= set(listed), sorted(listed)
    for name in TOOLS:
        schema = listed[name].inputSchema
        assert "learner" in schema["properties"] and "learner" in schema["required"], (name, schema)
        assert listed[name].description, name
    assert listed["search_lesson"].inputSchema["required"] == ["learner", "question"]
    assert listed["start_finetune"].inputSchema["properties"]["preset"]["enum"] == ["quick", "balanced", "thorough"]
    assert "learner token" in listed["job_status"].inputSchema["properties"]["learner"]["description"]
    # The page's own events (the Jobs tab's refresh, the Dataset tab's show) are no tools.
    assert not {"refresh", "show", "do_evaluate"} & set(listed)


def test_search_lesson_returns_cited_sections(mcp: MCP, tokens: tuple[str, str]) -> None:
    found = mcp.json("search_lesson", learner=tokens[0], question="What does the LoRA rank r control?")
    assert found["covered"] is True
    assert found["sections"] and all(s["heading"] and s["source"] and s["text"] for s in found["sections"])
    assert "lora" in " ".join(s["text"] for s in found["sections"]).lower()
    assert found["answer"]


def test_dataset_saved_validated_and_costed(mcp: MCP, tokens: tuple[str, str], limericks_jsonl: str) -> None:
    saved = mcp.json("save_dataset", learner=tokens[0], dataset="limericks", jsonl=limericks_jsonl)
    assert saved["dataset"] == "limericks" and saved["imported"] == 10 and saved["total"] == 10
    report = mcp.json("validate_dataset", learner=tokens[0])  # the current dataset: the one just saved
    assert report["examples"] == 10 and report["errors"] == {}
    assert report["tokens"]["total"] > 0
    cost = mcp.json("estimate_cost", learner=tokens[0], dataset="limericks", model="gpt-4o-mini")
    assert cost["estimate"]["model"].startswith("gpt-4o-mini")
    assert cost["estimate"]["billed_tokens"] >= cost["tokens"]["total"] and cost["estimate"]["cost_usd"] > 0
    # A bad line is an error naming it; the saved dataset is unchanged.
    broken = mcp.error("save_dataset", learner=tokens[0], dataset="limericks", jsonl='{"messages": [}\n')
    assert "line 1" in broken.lower()
    assert mcp.json("validate_dataset", learner=tokens[0], dataset="limericks")["examples"] == 10
    assert "No dataset named 'no-such-set' (datasets: limericks)" in mcp.error("validate_dataset", learner=tokens[0],
                                                                               dataset="no-such-set")


def test_a_job_trains_is_followed_evaluated_and_a_second_is_cancelled(mcp: MCP, tokens: tuple[str, str]) -> None:
    started = mcp.json("start_finetune", learner=tokens[0], dataset="limericks", preset="quick", epochs=1)
    job_id = started["job"]["id"]
    assert started["job"]["status"] in ("queued", "running") and started["notices"] == []
    assert started["job"]["dataset"] == "limericks" and started["job"]["backend"] == "local"

    def ended() -> dict[str, Any] | None:
        status = mcp.json("job_status", learner=tokens[0], job_id=job_id)
        return status if status["status"] in ENDED else None

    status = wait_for(ended, 420, "the MCP-started job to end", interval=1.0)
    assert status["status"] == "succeeded", status["error"]
    assert status["metrics"] and status["metrics"][-1]["train_loss"] is not None
    assert status["adapter_path"] and status["hyperparameters"]["epochs"] == 1
    # job_status without a job id: the learner's latest job, the same object.
    assert mcp.json("job_status", learner=tokens[0])["id"] == job_id

    report = mcp.json("evaluate_job", learner=tokens[0], job_id=job_id, limit=1)
    assert report["job"] == job_id and report["examples"] == 1
    assert {"base", "tuned"} <= set(report["metrics"]) and report["metrics"]["tuned"]["loss"] is not None
    assert mcp.json("job_status", learner=tokens[0], job_id=job_id)["evaluation"]["examples"] == 1

    second = mcp.json("start_finetune", learner=tokens[0], dataset="limericks", epochs=25)["job"]["id"]
    cancelled = mcp.json("cancel_job", learner=tokens[0], job_id=second)
    assert cancelled == {"id": second, "status": "cancelled"}
    assert mcp.json("job_status", learner=tokens[0], job_id=second)["status"] == "cancelled"
    # Cancelling an ended job is a clear error, and the app keeps serving.
    assert second in mcp.error("cancel_job", learner=tokens[0], job_id=second)
    assert mcp.json("job_status", learner=tokens[0], job_id=job_id)["status"] == "succeeded"


def test_a_second_learner_sees_none_of_the_first_ones_data(mcp: MCP, tokens: tuple[str, str]) -> None:
    first, second = tokens
    latest = mcp.json("job_status", learner=first)  # the first learner's latest job (from the test above)
    theirs = latest["id"]
    for tool, arguments in [("job_status", {"job_id": theirs}), ("cancel_job", {"job_id": theirs}),
                            ("evaluate_job", {"job_id": theirs, "limit": 1})]:
        message = mcp.error(tool, learner=second, **arguments)
        assert f"No fine-tune job {theirs!r} for learner" in message and latest["status"] not in message, (tool, message)
    assert "(datasets: none yet)" in mcp.error("validate_dataset", learner=second, dataset="limericks")
    assert "You have no jobs yet" in mcp.error("job_status", learner=second)
    # Still the first learner's, untouched.
    assert mcp.json("job_status", learner=first, job_id=theirs) == latest


def test_a_plain_id_an_edited_or_a_missing_token_is_refused(mcp: MCP, tokens: tuple[str, str]) -> None:
    first, second = tokens
    plain = first.split(".")[0]
    forged = [plain, edited(first, len(first) - 1), edited(second, 0), plain + "." + second.split(".")[1]]
    for token in forged:
        for tool, arguments in [("job_status", {}), ("search_lesson", {"question": "What is LoRA?"}),
                                ("validate_dataset", {"dataset": "limericks"}), ("start_finetune", {})]:
            assert REFUSED in mcp.error(tool, learner=token, **arguments), (tool, token)
    assert "/new_learner" in mcp.error("job_status", learner="")
