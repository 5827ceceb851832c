"""The tool registry: schemas generated from typed functions, arguments validated, failures reported."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from assistant.tool_context import ToolContext
from assistant.registry import ToolOutput, Toolbox, tool


@tool
def scale(
    value: Annotated[float, Field(description="The number to scale")],
    context: ToolContext,
    unit: Literal["m", "cm"] = "m",
    factor: int = 2,
) -> ToolOutput:
    """Multiply a value.

    Longer notes that are not part of the description.
    """
    if factor == 0:
        raise RuntimeError(f"factor zero with key {context.secrets()[0]}")
    return ToolOutput({"result": value * factor, "unit": unit, "learner": context.learner})


def test_schema_comes_from_signature_and_docstring():
    schema = scale.schema()["function"]
    assert schema["name"] == "scale"
    assert schema["description"] == "Multiply a value."
    params = schema["parameters"]
    assert params["required"] == ["value"]
    assert params["properties"]["value"]["description"] == "The number to scale"
    assert params["properties"]["unit"]["enum"] == ["m", "cm"]
    assert "context" not in params["properties"]
    assert params["additionalProperties"] is False


def test_call_validates_and_injects_context(settings):
    box = Toolbox.of(scale)
    record = box.call("scale", '{"value": 1.5, "factor": 3}', ToolContext(settings, learner="ann"))
    assert record.ok and record.output.data == {"result": 4.5, "unit": "m", "learner": "ann"}
    assert record.arguments == {"value": 1.5, "unit": "m", "factor": 3}


def test_bad_arguments_become_readable_errors(settings):
    box = Toolbox.of(scale)
    context = ToolContext(settings)
    assert "unit" in box.call("scale", {"value": 1, "unit": "km"}, context).error
    assert "extra" in box.call("scale", {"value": 1, "colour": "red"}, context).error.lower()
    assert "not valid JSON" in box.call("scale", "{value", context).error
    assert "no tool named 'nope'" in box.call("nope", {}, context).error


def test_tool_failure_is_recorded_and_secrets_redacted(settings):
    secret = "sk-test-0123456789abcdef"
    keyed = settings.model_validate({**settings.model_dump(), "openai_api_key": secret})
    record = Toolbox.of(scale).call("scale", {"value": 1, "factor": 0}, ToolContext(keyed))
    assert not record.ok
    assert "factor zero" in record.error and secret not in record.error
