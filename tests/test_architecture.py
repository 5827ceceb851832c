"""The layering rules, read from the imports with `ast`: an arrow pointing up the stack is a bug.

core/ imports no other project package; knowledge/ and trainer/ import neither assistant/, ui/
nor gradio, and not each other's insides (trainer/ never imports knowledge/).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT = ("core", "knowledge", "trainer", "assistant", "ui", "app")
FORBIDDEN = {
    "core": {"knowledge", "trainer", "assistant", "ui", "app", "gradio"},
    "knowledge": {"trainer", "assistant", "ui", "app", "gradio"},
    "trainer": {"knowledge", "assistant", "ui", "app", "gradio"},
    "assistant": {"ui", "app", "gradio"},
}


def imported_packages(path: Path) -> set[str]:
    """Top-level names of every module a file imports, at any depth (lazy imports count too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_import_points_up_the_stack(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"{package}/ has no modules"
    wrong = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & FORBIDDEN[package])
        for path in files
        if imported_packages(path) & FORBIDDEN[package]
    }
    assert wrong == {}, f"{package}/ may not import {sorted(FORBIDDEN[package])}"


def test_the_reader_sees_lazy_and_nested_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from assistant.registry import Tool\n    import gradio as gr\nfrom . import sibling\n")
    assert imported_packages(sample) == {"assistant", "gradio"}


def test_every_module_says_what_it_holds() -> None:
    missing = [
        str(path.relative_to(ROOT))
        for package in ("core", "knowledge", "trainer", "assistant", "ui")
        for path in sorted((ROOT / package).rglob("*.py"))
        if path.name != "__init__.py" and ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) is None
    ]
    assert missing == []
