"""The text catalogue: one module per language with the same keys and placeholders, English as the fallback,
and no language switches left in the code (read with `ast`)."""

from __future__ import annotations

import ast
import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

from core.texts import DEFAULT_LANGUAGE, LANGUAGES, catalogue, placeholders, text, with_prefix

ROOT = Path(__file__).resolve().parent.parent
CODE = ("core", "knowledge", "trainer", "assistant", "ui")
# Per-language values that are not text for a reader: library identifiers and the search's stopwords.
NOT_TEXT = {("knowledge/lexical.py", "_SNOWBALL_NAMES"), ("knowledge/lexical.py", "_STOPWORDS")}


def test_the_tutor_speaks_english_and_finnish_english_first():
    assert LANGUAGES[0] == DEFAULT_LANGUAGE == "en"
    assert "fi" in LANGUAGES


@pytest.mark.parametrize("lang", [code for code in LANGUAGES if code != DEFAULT_LANGUAGE])
def test_every_language_has_the_same_keys_and_placeholders(lang: str):
    reference, other = catalogue(DEFAULT_LANGUAGE), catalogue(lang)
    assert sorted(set(reference) - set(other)) == [], f"missing in core/texts/{lang}.py"
    assert sorted(set(other) - set(reference)) == [], f"only in core/texts/{lang}.py"
    differing = {key: (placeholders(reference[key]), placeholders(other[key]))
                 for key in reference if placeholders(reference[key]) != placeholders(other[key])}
    assert differing == {}


def test_lookup_fills_values_and_falls_back_to_english():
    assert text("fi", "dataset.example_removed", index=2, total=5) == "Poistin esimerkin 2; jäljellä 5."
    assert text("sv", "dataset.example_removed", index=2, total=5) == "Removed example 2; 5 left."
    assert text(None, "job.none") == "No jobs yet."
    with pytest.raises(KeyError, match="no text 'job.nothing'"):
        text("en", "job.nothing")


def test_the_pages_labels_come_from_the_catalogue():
    from ui.i18n import T

    assert with_prefix("fi", "ui.")["dataset_tab"] == catalogue("fi")["ui.dataset_tab"]
    assert set(T.translations) == set(LANGUAGES)
    assert T.translations["fi"]["dataset_tab"] == catalogue("fi")["ui.dataset_tab"]


def test_a_new_language_is_one_file(tmp_path: Path):
    package = tmp_path / "texts_copy"
    package.mkdir()
    for name in ("__init__.py", "en.py"):
        shutil.copy(ROOT / "core" / "texts" / name, package / name)
    (package / "sv.py").write_text('"""Swedish."""\nTEXTS = {"job.none": "Inga jobb än."}\n', encoding="utf-8")
    spec = importlib.util.spec_from_file_location("texts_copy", package / "__init__.py", submodule_search_locations=[str(package)])
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["texts_copy"] = module
    try:
        spec.loader.exec_module(module)
        assert module.LANGUAGES == ("en", "sv")
        assert module.text("sv", "job.none") == "Inga jobb än."
        assert module.text("sv", "job.base") == "Base model"  # untranslated: English
    finally:
        del sys.modules["texts_copy"]


# -- no language switches in the code ------------------------------------------------------------------------

def _tests_language(test: ast.expr) -> bool:
    """`lang == "fi"`, `x.lang in ("en", "fi")`, or a flag named `fi`."""
    for node in ast.walk(test):
        if isinstance(node, ast.Constant) and node.value in LANGUAGES:
            return True
        if isinstance(node, ast.Name) and node.id in LANGUAGES:
            return True
    return False


def _holds_text(node: ast.AST) -> bool:
    return any(isinstance(n, ast.JoinedStr) or (isinstance(n, ast.Constant) and isinstance(n.value, str)
                                                 and n.value.strip() and n.value not in LANGUAGES)
               for n in ast.walk(node))


def _text_values(node: ast.AST) -> bool:
    """Whether a table's values (not its keys) hold text, at any depth."""
    if isinstance(node, ast.Dict):
        return any(_text_values(value) for value in node.values)
    return _holds_text(node)


def language_switches(path: Path) -> list[str]:
    """Places where code picks a text by language instead of asking the catalogue."""
    relative = str(path.relative_to(ROOT))
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=relative)):
        if isinstance(node, (ast.IfExp, ast.If)) and _tests_language(node.test):
            branches = [node.body, node.orelse] if isinstance(node, ast.IfExp) else [*node.body, *node.orelse]
            if any(_holds_text(branch) for branch in branches):
                found.append(f"{relative}:{node.lineno}")
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, ast.Dict):
            target = node.targets[0] if isinstance(node, ast.Assign) else node.target
            name = target.id if isinstance(target, ast.Name) else ""
            keys = {k.value for k in node.value.keys if isinstance(k, ast.Constant)}
            if len(keys & set(LANGUAGES)) >= 2 and (relative, name) not in NOT_TEXT and _text_values(node.value):
                found.append(f"{relative}:{node.lineno}")
    return sorted(found, key=lambda place: int(place.rsplit(":", 1)[1]))


def test_no_code_picks_a_text_by_language():
    files = [path for package in CODE for path in sorted((ROOT / package).rglob("*.py"))
             if "texts" not in path.relative_to(ROOT).parts[:2]] + [ROOT / "app.py"]
    assert [switch for path in files for switch in language_switches(path)] == []


def test_the_switch_finder_sees_ternaries_branches_and_tables(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    sample = tmp_path / "sample.py"
    sample.write_text(
        'def f(lang, fi):\n'
        '    a = "Hei" if lang == "fi" else "Hi"\n'
        '    b = f"{x} rivi" if fi else "line"\n'
        '    if lang == "fi":\n        return "Moi"\n'
        '    weight = 0.6 if lang == "en" else 0.3\n'
        'NAMES = {"en": "Hello there", "fi": "Hei siellä"}\n'
        'WEIGHTS = {"en": {"e5": 0.3}, "fi": {"e5": 0.6}}\n',
        encoding="utf-8",
    )
    assert language_switches(sample) == ["sample.py:2", "sample.py:3", "sample.py:4", "sample.py:7"]
