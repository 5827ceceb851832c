"""The tool registry: a tool is a typed Python function, declared once with `@tool`.

Its name is the function's name, its description the docstring's first paragraph, and its
arguments a pydantic model built from the signature (`extra="forbid"`), which gives both the
OpenAI tool schema and argument validation. A parameter annotated `ToolContext` is injected by
the caller and never shown to the model. `@tool(routes=[...])` adds the offline phrasings that
pick it (`assistant.routes`); its title in each language is the catalogue's `tool.<name>`.
"""

from __future__ import annotations

import inspect
import json
import time
import typing
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence, overload

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from assistant.routes import Route
from assistant.tool_context import ToolContext
from core.texts import has_text, text


@dataclass
class ToolOutput:
    """What a tool gives back.

    `data` goes to the model as the tool result; `display` is markdown for the collapsible tool
    message in the chat; `reply` is a complete answer for the learner, used when no model writes one;
    `options` are follow-ups the learner can send as they are (the chat shows them under the answer).
    """

    data: dict[str, Any]
    display: str = ""
    reply: str | None = None
    options: list[str] = field(default_factory=list)


@dataclass
class ToolCallRecord:
    """One call as it happened, for the chat's tool messages."""

    name: str
    arguments: dict[str, Any]
    output: ToolOutput | None = None
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


class ToolArgumentError(ValueError):
    """The arguments do not fit the tool's schema; the message is fit to show."""


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    fn: Callable[..., ToolOutput]
    arguments: type[BaseModel]
    context_param: str | None = None
    # Offline phrasings that pick this tool, tried in order (see assistant.router).
    routes: tuple[Route, ...] = ()

    def title(self, lang: str) -> str:
        return tool_title(self.name, lang)

    def schema(self) -> dict[str, Any]:
        parameters = self.arguments.model_json_schema()
        parameters.pop("title", None)
        return {"type": "function", "function": {"name": self.name, "description": self.description, "parameters": parameters}}

    def validate(self, arguments: dict[str, Any] | str | None) -> dict[str, Any]:
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments or "{}")
            except json.JSONDecodeError as exc:
                raise ToolArgumentError(f"{self.name}: arguments are not valid JSON ({exc.msg}).") from exc
        try:
            return self.arguments.model_validate(arguments or {}).model_dump(exclude_unset=False)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in exc.errors())
            raise ToolArgumentError(f"{self.name}: {problems}") from exc

    def call(self, arguments: dict[str, Any] | str | None, context: ToolContext) -> ToolCallRecord:
        """Validate and run; failures become a record with an error, never an exception."""
        started = time.perf_counter()
        record = ToolCallRecord(self.name, arguments if isinstance(arguments, dict) else {})
        try:
            values = self.validate(arguments)
            record.arguments = values
            if self.context_param:
                values = {**values, self.context_param: context}
            record.output = self.fn(**values)
        except ToolArgumentError as exc:
            record.error = str(exc)
        except Exception as exc:  # a tool's failure is reported in the chat; the app keeps serving
            record.error = context.redact(f"{type(exc).__name__}: {exc}" if not isinstance(exc, ValueError) else str(exc))
        record.seconds = time.perf_counter() - started
        return record


@overload
def tool(fn: Callable[..., ToolOutput], /) -> Tool: ...
@overload
def tool(*, routes: Sequence[Route] = ()) -> Callable[[Callable[..., ToolOutput]], Tool]: ...
def tool(fn: Callable[..., ToolOutput] | None = None, /, *, routes: Sequence[Route] = ()):
    """Declare a tool from a typed function (use `Annotated[T, Field(description=...)]` for argument help).

    `@tool` or `@tool(routes=[Route(...), ...])`.
    """
    if fn is None:
        return lambda function: _declare(function, tuple(routes))
    return _declare(fn, ())


def _declare(fn: Callable[..., ToolOutput], routes: tuple[Route, ...]) -> Tool:
    if not all(isinstance(r, Route) for r in routes):
        raise TypeError(f"{fn.__name__}: routes must be Route objects, got {routes!r}")
    hints = typing.get_type_hints(fn, include_extras=True)
    fields: dict[str, Any] = {}
    context_param = None
    for name, param in inspect.signature(fn).parameters.items():
        annotation = hints.get(name, Any)
        if annotation is ToolContext:
            context_param = name
            continue
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[name] = (annotation, default)
    model = create_model(f"{fn.__name__}_arguments", __config__=ConfigDict(extra="forbid"), **fields)
    description = inspect.cleandoc(fn.__doc__ or fn.__name__).split("\n\n")[0].replace("\n", " ")
    return Tool(fn.__name__, description, fn, model, context_param, routes)


def tool_title(name: str, lang: str) -> str:
    """The chat's title for a tool step: "Used tool …" with the tool's title from the catalogue (`tool.<name>`)."""
    key = f"tool.{name}"
    return text(lang, "chat.tool_title", tool=text(lang, key) if has_text(key) else name)


@dataclass
class Toolbox:
    """The tools one conversation may use, by name."""

    tools: dict[str, Tool] = field(default_factory=dict)

    @classmethod
    def of(cls, *tools: Tool) -> "Toolbox":
        """A toolbox of these tools, in this order (the order the offline router tries their routes)."""
        wrong = [t for t in tools if not isinstance(t, Tool)]
        if wrong:
            raise TypeError(f"a toolbox holds Tool objects (declared with @tool), not {wrong!r}")
        names = [t.name for t in tools]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"two tools are named {', '.join(twice)}")
        return cls({t.name: t for t in tools})

    def schemas(self) -> list[dict[str, Any]]:
        return [t.schema() for t in self.tools.values()]

    def call(self, name: str, arguments: dict[str, Any] | str | None, context: ToolContext) -> ToolCallRecord:
        found = self.tools.get(name)
        if found is None:
            return ToolCallRecord(name, {}, error=f"There is no tool named {name!r}; available: {', '.join(self.tools)}.")
        return found.call(arguments, context)
