"""Reading dataset files (JSONL or a JSON array, strictly UTF-8) and converting record formats.

Readers yield `Record`s with 1-based line numbers and never raise on bad content: a line that is
not UTF-8, not JSON, or binary becomes a record carrying a `Finding`, so the validator and the
importer report every problem with its line. JSONL is streamed line by line; a JSON array is
parsed whole (its elements keep the line they start on), so very large data should be JSONL.

Record formats converted to chat examples: OpenAI chat (`messages`, kept as is), prompt/completion
(strings, or TRL's conversational lists), Alpaca (`instruction`/`input`/`output`, optional
`system`) and ShareGPT (`conversations` of `from`/`value`, optional `system`).

Tool-calling examples for local training (`tool_calling_rows`): rendered through the base model's
own chat template with `tools=` when that template shows tool definitions, calls and results
(`template_supports_tools` renders a probe and looks), as text prompt/completion rows, one per
trained assistant turn; a template without tool support is refused with the reason, because
training through it would silently drop the definitions and calls.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Literal

import orjson

from core.files import atomic_writer
from trainer.validation.rules import Finding
from trainer.data.examples import DatasetError, Example, dump_example

RecordFormat = Literal["openai", "prompt-completion", "alpaca", "sharegpt"]
IMPORT_FORMATS = ("auto", "openai", "prompt-completion", "alpaca", "sharegpt")
MAX_JSON_ARRAY_BYTES = 512 * 1024 * 1024
UTF8_BOM = b"\xef\xbb\xbf"
_MAGIC = {
    b"PK\x03\x04": "a ZIP archive (or an .xlsx/.docx file)",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"\x1f\x8b": "a gzip archive",
    b"SQLite format 3": "an SQLite database",
    b"PAR1": "a Parquet file",
    b"\xff\xfe": "UTF-16 text",
    b"\xfe\xff": "UTF-16 text",
}
_SHAREGPT_ROLES = {
    "human": "user", "user": "user",
    "gpt": "assistant", "assistant": "assistant", "chatgpt": "assistant", "bard": "assistant", "model": "assistant",
    "system": "system",
}


@dataclass
class Record:
    line: int
    value: Any = None
    error: Finding | None = None
    blank: bool = False


@dataclass(frozen=True)
class FileInfo:
    container: Literal["jsonl", "json"]
    problem: Finding | None  # the file as a whole is unreadable (binary, UTF-16)


def inspect_file(path: Path) -> FileInfo:
    """Look at the first bytes: JSONL or a JSON array, or not text at all."""
    try:
        with open(path, "rb") as f:
            head = f.read(64 * 1024)
    except FileNotFoundError:
        raise DatasetError(f"File not found: {path}.") from None
    except IsADirectoryError:
        raise DatasetError(f"{path} is a folder; give the path of a .jsonl file.") from None
    except OSError as exc:
        raise DatasetError(f"Cannot read {path}: {exc.strerror}.") from None
    body = head.removeprefix(UTF8_BOM)
    for magic, kind in _MAGIC.items():
        if body.startswith(magic):
            name = "invalid_encoding" if "UTF-16" in kind else "binary_file"
            return FileInfo("jsonl", Finding(name, f"the file is {kind}, not UTF-8 JSONL text"))
    return FileInfo("json" if _is_json_array(path, body) else "jsonl", None)


def _is_json_array(path: Path, head: bytes) -> bool:
    """A file starting with '[' is a JSON array, unless its first line is a whole JSON value of its
    own followed by more lines: then it is JSONL whose first record happens to be a list."""
    if not head.lstrip().startswith(b"["):
        return False
    with open(path, "rb") as f:
        first = f.readline().removeprefix(UTF8_BOM)
        more = any(line.strip() for line in f)
    if not more:
        return True
    try:
        orjson.loads(first)
    except orjson.JSONDecodeError:
        return True
    return False


def parse_line(number: int, raw: bytes) -> Record:
    """One JSONL line: UTF-8 checked first (to say which byte is wrong), then strict JSON."""
    if not raw.strip():
        return Record(number, blank=True)
    if b"\x00" in raw:
        column = raw.index(b"\x00") + 1
        return Record(number, error=Finding("binary_file", f"NUL byte at column {column}: this is binary data, not text"))
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Record(number, error=Finding("invalid_encoding", describe_bad_utf8(raw, exc)))
    try:
        return Record(number, value=orjson.loads(raw))
    except orjson.JSONDecodeError as exc:
        return Record(number, error=Finding("invalid_json", f"not valid JSON: {exc.msg} (column {exc.colno})"))


def describe_bad_utf8(raw: bytes, exc: UnicodeDecodeError) -> str:
    column = len(raw[: exc.start].decode("utf-8", "replace")) + 1
    near = raw[max(0, exc.start - 12) : exc.start + 12].decode("utf-8", "backslashreplace").strip()
    guess = ""
    try:
        raw.decode("cp1252")
        guess = "; the file looks like Latin-1/Windows-1252 text"
    except UnicodeDecodeError:
        pass
    return f"byte 0x{raw[exc.start]:02X} at column {column} is not UTF-8 (near {near!r}){guess}"


def iter_jsonl(path: Path) -> Iterator[Record]:
    """Stream a JSONL file as records; stops after a binary (NUL) line."""
    with open(path, "rb") as f:
        for number, raw in enumerate(f, 1):
            record = parse_line(number, raw.removeprefix(UTF8_BOM) if number == 1 else raw)
            yield record
            if record.error and record.error.name == "binary_file":
                return


def iter_json_array(path: Path) -> Iterator[Record]:
    """The elements of a JSON array file, each with the line it starts on."""
    if path.stat().st_size > MAX_JSON_ARRAY_BYTES:
        raise DatasetError(f"{path.name} is a JSON array over 512 MB; convert it to JSONL (one example per line) to stream it.")
    data = path.read_bytes()
    if data.startswith(UTF8_BOM):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        start = data.rfind(b"\n", 0, exc.start) + 1
        end = data.find(b"\n", exc.start)
        raw = data[start : end if end >= 0 else len(data)]
        yield Record(line, error=Finding("invalid_encoding", describe_bad_utf8(raw, UnicodeDecodeError("utf-8", raw, exc.start - start, exc.start - start + 1, exc.reason))))
        return
    decoder = json.JSONDecoder(parse_constant=_reject_constant)
    pos = _skip_ws(text, 0) + 1  # past "["
    line = 1 + text.count("\n", 0, pos)
    while True:
        nxt = _skip_ws(text, pos)
        line += text.count("\n", pos, nxt)
        pos = nxt
        if pos >= len(text):
            yield Record(line, error=Finding("invalid_json", "the JSON array is not closed with ']'"))
            return
        if text[pos] == "]":
            return
        try:
            value, end = decoder.raw_decode(text, pos)
        except (json.JSONDecodeError, ValueError) as exc:
            where = f"line {exc.lineno}, column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else f"line {line}"
            yield Record(getattr(exc, "lineno", line), error=Finding("invalid_json", f"not valid JSON at {where}: {getattr(exc, 'msg', exc)}"))
            return
        yield Record(line, value=value)
        line += text.count("\n", pos, end)
        pos = _skip_ws(text, end)
        line += text.count("\n", end, pos)
        if pos < len(text) and text[pos] == ",":
            pos += 1
        elif pos < len(text) and text[pos] != "]":
            yield Record(line, error=Finding("invalid_json", f"expected ',' or ']' between array elements at line {line}"))
            return


def iter_records(path: Path) -> Iterator[Record]:
    """Records of a JSONL or JSON-array file, whichever it is."""
    info = inspect_file(path)
    if info.problem:
        yield Record(1, error=info.problem)
        return
    yield from (iter_json_array(path) if info.container == "json" else iter_jsonl(path))


def read_chat_examples(path: Path) -> list[dict[str, Any]]:
    """Read a chat-format JSONL file whole (blank lines skipped), for training and evaluation.

    Raises DatasetError naming the line of anything that is not an object with a 'messages' list.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except OSError as exc:
        raise DatasetError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    examples = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            example = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path.name} line {number}: not valid JSON ({exc.msg}).") from None
        if not isinstance(example, dict) or not isinstance(example.get("messages"), list):
            raise DatasetError(f"{path.name} line {number}: expected an object with a 'messages' list.")
        examples.append(example)
    return examples


def detect_format(value: Any) -> RecordFormat | None:
    """Which record format a parsed record is in, from its keys."""
    if not isinstance(value, dict):
        return None
    if "messages" in value:
        return "openai"
    if "conversations" in value:
        return "sharegpt"
    if "instruction" in value and "output" in value:
        return "alpaca"
    if "prompt" in value and "completion" in value:
        return "prompt-completion"
    return None


def to_chat(value: Any, fmt: RecordFormat) -> Example:
    """Convert one record to a chat example; raises DatasetError saying which field is wrong."""
    if fmt == "openai":
        return value  # checked by the validator, which names every problem
    if not isinstance(value, dict):
        raise DatasetError(f"expected a JSON object in {fmt} format")
    if fmt == "prompt-completion":
        prompt, completion = value.get("prompt"), value.get("completion")
        if isinstance(prompt, list) and isinstance(completion, list):
            return {"messages": prompt + completion}
        _require_text(value, ("prompt", "completion"), fmt)
        return {"messages": [{"role": "user", "content": prompt.strip()}, {"role": "assistant", "content": completion.strip()}]}
    if fmt == "alpaca":
        _require_text(value, ("instruction", "output"), fmt)
        extra = value.get("input") or ""
        if not isinstance(extra, str):
            raise DatasetError('alpaca "input" must be text')
        user = value["instruction"].strip() + (f"\n\n{extra.strip()}" if extra.strip() else "")
        return _with_system(value, [{"role": "user", "content": user}, {"role": "assistant", "content": value["output"].strip()}])
    turns = value.get("conversations")
    if not isinstance(turns, list) or not turns:
        raise DatasetError('sharegpt "conversations" must be a non-empty list')
    messages = []
    for number, turn in enumerate(turns, 1):
        if not isinstance(turn, dict):
            raise DatasetError(f"sharegpt turn {number} is not an object")
        speaker, text = turn.get("from", turn.get("role")), turn.get("value", turn.get("content"))
        role = _SHAREGPT_ROLES.get(str(speaker).lower())
        if role is None or not isinstance(text, str):
            raise DatasetError(f'sharegpt turn {number} needs "from" (human, gpt or system) and a text "value"; found from={speaker!r}')
        messages.append({"role": role, "content": text})
    return _with_system(value, messages)


def convert_fix(fmt: RecordFormat) -> str:
    return {
        "openai": 'Write {"messages": [{"role": ..., "content": ...}]} per line.',
        "prompt-completion": 'Write {"prompt": "...", "completion": "..."} per line.',
        "alpaca": 'Write {"instruction": "...", "input": "...", "output": "..."} per line.',
        "sharegpt": 'Write {"conversations": [{"from": "human", "value": "..."}, {"from": "gpt", "value": "..."}]} per line.',
    }[fmt]


def uses_tools(example: Any) -> bool:
    """Does a chat example declare tools or make or answer tool (or function) calls?"""
    if not isinstance(example, dict):
        return False
    if example.get("tools") or example.get("functions"):
        return True
    return any(
        isinstance(m, dict) and (m.get("tool_calls") or m.get("function_call") or m.get("role") in ("tool", "function"))
        for m in example.get("messages") or []
    )


_PROBE = ("probe_lookup_tool_7f3", "probe_called_9d2", "probe_result_4e1")


def template_supports_tools(tokenizer: Any) -> bool:
    """Does the tokenizer's chat template render tool definitions, an assistant's tool call and the tool's answer?"""
    tool = {"type": "function", "function": {"name": _PROBE[0], "description": "probe", "parameters": {"type": "object", "properties": {}}}}
    messages = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": _PROBE[1], "arguments": {}}}]},
        {"role": "tool", "tool_call_id": "c1", "name": _PROBE[1], "content": _PROBE[2]},
    ]
    try:
        text = tokenizer.apply_chat_template(messages, tools=[tool], tokenize=False)
    except Exception:  # a template that cannot take these messages (e.g. content None) has no tool support
        return False
    return isinstance(text, str) and all(marker in text for marker in _PROBE)


def tool_calling_rows(examples: list[Example], tokenizer: Any, model: str) -> list[dict[str, str]] | None:
    """Text prompt/completion rows rendered with the model's template and each example's tools, one per trained
    assistant turn (weight 0 turns are context only); None when no example uses tool calling.

    Raises DatasetError when some do and the template has no tool support, naming the lines and the ways out.
    """
    lines = [number for number, example in enumerate(examples, 1) if uses_tools(example)]
    if not lines:
        return None
    if not template_supports_tools(tokenizer):
        shown = ", ".join(map(str, lines[:10])) + (", ..." if len(lines) > 10 else "")
        raise DatasetError(
            f"{len(lines)} training example(s) use tool calling (lines {shown} of the job's training file), but {model}'s chat template has no tool support: "
            "it would drop the tool definitions and calls, so the model would learn replies without them. Train a base "
            "model whose chat template supports tools (TUTOR_LOCAL_MODEL or --model), remove those examples, or use "
            "--backend openai or --backend azure, which train tool calls."
        )
    rows = []
    for example in examples:
        tools = example.get("tools") or [{"type": "function", "function": f} for f in example.get("functions") or []] or None
        messages = [_template_message(m) for m in example["messages"]]
        for index, original in enumerate(example["messages"]):
            if index == 0 or original.get("role") != "assistant" or original.get("weight", 1) == 0:
                continue
            prompt = tokenizer.apply_chat_template(messages[:index], tools=tools, tokenize=False, add_generation_prompt=True)
            full = tokenizer.apply_chat_template(messages[: index + 1], tools=tools, tokenize=False)
            cut = len(os.path.commonprefix([prompt, full]))  # the turn starts where the renderings part
            if full[cut:].strip():
                rows.append({"prompt": full[:cut], "completion": full[cut:]})
    return rows


def _template_message(message: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI message as Hugging Face chat templates take it: text content, call arguments as objects."""
    content = message.get("content")
    if isinstance(content, list):
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    out: dict[str, Any] = {"role": message.get("role"), "content": content or ""}
    calls = message.get("tool_calls") or ([{"type": "function", "function": message["function_call"]}] if message.get("function_call") else [])
    if calls:
        out["tool_calls"] = [
            {"id": c.get("id", ""), "type": "function",
             "function": {"name": c["function"]["name"], "arguments": _arguments(c["function"].get("arguments"))}}
            for c in calls
        ]
    for key in ("tool_call_id", "name"):
        if key in message:
            out[key] = message[key]
    return out


def _arguments(value: Any) -> Any:
    try:
        return json.loads(value) if isinstance(value, str) else value
    except json.JSONDecodeError:
        return value


def to_hf(example: Example) -> Example:
    """A `messages` row with only text role/content pairs, so every row has one Arrow schema."""
    messages = []
    for message in example.get("messages", []):
        content = message.get("content")
        if isinstance(content, list):  # content parts: keep the text ones
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        messages.append({"role": str(message.get("role")), "content": content if isinstance(content, str) else ""})
    return {"messages": messages}


def write_jsonl(path: Path, examples: Iterator[Example] | list[Example]) -> int:
    """Atomically write examples as compact UTF-8 JSONL; returns how many were written."""
    n = 0
    with atomic_writer(path) as f:
        for example in examples:
            f.write(dump_example(example) + b"\n")
            n += 1
    return n


def _require_text(value: dict[str, Any], keys: tuple[str, ...], fmt: str) -> None:
    missing = [k for k in keys if not isinstance(value.get(k), str)]
    if missing:
        raise DatasetError(f"{fmt} record needs text in {', '.join(repr(k) for k in missing)}")


def _with_system(value: dict[str, Any], messages: list[dict[str, Any]]) -> Example:
    system = value.get("system")
    if isinstance(system, str) and system.strip():
        messages.insert(0, {"role": "system", "content": system.strip()})
    return {"messages": messages}


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")
