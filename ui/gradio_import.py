"""Importing gradio without its type-stub writer: a warm start's largest single cost.

Every component class gradio defines runs `gradio.component_meta.create_or_modify_pyi` as it is created:
it reads the class's source file, parses it (and its `.pyi`) with `ast`, renders a Jinja template and
rewrites the `.pyi` next to it in site-packages. Those stubs are for type checkers and editors; nothing
at run time reads them. On this project's 2-core machine it is ~1.5 s of the ~4 s that `import gradio`
takes (gradio 6.x), paid by every start of the app.

`skip_stub_writing()` installs an import hook that, once `gradio.component_meta` has run, replaces that
function with one that does nothing. It must run before gradio is imported (app.py calls it first);
if gradio is already imported or no longer has the function, it changes nothing. Importing this module
does not import gradio.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from types import ModuleType

_MODULE = "gradio.component_meta"
_FUNCTION = "create_or_modify_pyi"


def _no_stub(*_args: object, **_kwargs: object) -> None:
    return None


class _StubWriterOff(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path, target=None):  # noqa: ANN001 - the finder protocol
        if name != _MODULE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        execute = spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            execute(module)
            if callable(getattr(module, _FUNCTION, None)):
                setattr(module, _FUNCTION, _no_stub)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def skip_stub_writing() -> bool:
    """Install the hook; False when gradio's component module is already imported (then it is too late)."""
    if _MODULE in sys.modules:
        return False
    if not any(isinstance(finder, _StubWriterOff) for finder in sys.meta_path):
        sys.meta_path.insert(0, _StubWriterOff())
    return True
