"""The Dataset tab: the learner's examples in a table, add/edit/remove, upload, validation and cost, download.

Every button calls the same functions as the chat tools: `trainer.data.store.DatasetStore` for the
examples, and from `assistant.dataset_tools` the rule for the current dataset (`learner_dataset`,
`remember_dataset`), the exports (`export_files`) and the report's wording (`describe_report`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from assistant.dataset_tools import dataset_names, describe_report, export_files, learner_dataset, remember_dataset
from assistant.learner_state import learner_language
from core.settings import Settings
from trainer.data.drafts.files import draft_file_into, is_material_file
from trainer.data.examples import make_example
from trainer.data.store import DatasetStore, learner_store
from trainer.data.tokens import DEFAULT_MODEL, MODEL_ALIASES
from ui.common import learner_text, user_error
from ui.i18n import T
from ui.identity import Identity, identified

COLUMNS = ["#", "system", "user", "assistant"]


def store_for(settings: Settings, learner: str) -> DatasetStore:
    return learner_store(settings, learner)


class MissingInput(ValueError):
    """A field the action needs is empty; `key` names the catalogue text that says which."""

    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _content(example: dict[str, Any], role: str) -> str:
    found = [m.get("content") for m in example.get("messages", []) if m.get("role") == role]
    return str(found[-1]) if found and found[-1] is not None else ""


def examples_frame(examples: list[dict[str, Any]]) -> pd.DataFrame:
    rows = [[i + 1, _content(e, "system"), _content(e, "user"), _content(e, "assistant")] for i, e in enumerate(examples)]
    return pd.DataFrame(rows, columns=COLUMNS)


def build(settings: Settings, learner: gr.BrowserState, tab: gr.Tab, identity: Identity) -> None:
    """Lay out the tab inside the current Blocks; it reloads whenever the learner opens it.

    Every event's first input is the learner's token; `identified` resolves it (or refuses) before a handler runs.
    """
    with gr.Row():
        dataset = gr.Dropdown(label=T("dataset"), choices=[], scale=2, elem_id="dataset-select")
        new_name = gr.Textbox(label=T("new_dataset"), placeholder=T("new_dataset_placeholder"), scale=2)
        create = gr.Button(T("create"), scale=1)
    table = gr.Dataframe(headers=COLUMNS, interactive=False, wrap=True, label=T("examples"), elem_id="examples-table",
                         column_widths=["6%", "24%", "30%", "40%"], max_height=420)
    with gr.Row():
        number = gr.Number(label=T("example_number"), precision=0, value=None)
        system = gr.Textbox(label=T("system"), lines=2)
    with gr.Row():
        user = gr.Textbox(label=T("user"), lines=3)
        assistant = gr.Textbox(label=T("assistant"), lines=3)
    with gr.Row():
        add = gr.Button(T("add"), variant="primary")
        save = gr.Button(T("save_edit"))
        remove = gr.Button(T("remove"), variant="stop")
    with gr.Row():
        upload = gr.File(label=T("upload"), file_types=[".jsonl", ".json", ".txt", ".md", ".csv", ".tsv"], type="filepath")
        mode = gr.Radio(["append", "replace"], value="append", label=T("import_mode"))
    with gr.Row():
        # Shown by alias, passed on as the dated snapshot (the default is one of them).
        model = gr.Dropdown([(alias, name) for alias, name in MODEL_ALIASES.items()], value=DEFAULT_MODEL, label=T("model"))
        validate = gr.Button(T("validate"), variant="primary", elem_id="validate-dataset")
    report = gr.Markdown(elem_id="dataset-report")
    with gr.Row():
        fraction = gr.Slider(0, 0.5, value=0.0, step=0.05, label=T("validation_fraction"))
        export = gr.Button(T("export"))
        download = gr.File(label=T("download"), file_count="multiple", interactive=False)

    def current(who: str, name: str | None) -> str:
        return learner_dataset(settings, who, name)

    def show(who: str, name: str | None):
        names = dataset_names(settings, who)
        chosen = current(who, name)
        examples = store_for(settings, who).load(chosen) if chosen in names else []
        return gr.update(choices=names, value=chosen if chosen in names else None), examples_frame(examples)

    def remember(who: str, name: str) -> None:
        remember_dataset(settings, who, name)

    def choose(who: str, name: str | None):
        remember(who, name)
        return show(who, name)

    def guarded(action):
        """Run a store action; a domain error becomes a toast and nothing is changed."""
        def run(who: str, name: str | None, *args):
            try:
                action(who, store_for(settings, who), current(who, name), *args)
            except MissingInput as exc:
                raise user_error(ValueError(learner_text(settings, who, exc.key))) from None
            except (ValueError, LookupError, OSError) as exc:
                raise user_error(exc) from None
            return show(who, current(who, name))
        run.__name__ = action.__name__
        return run

    def do_create(who: str, name: str | None, fresh: str):
        try:
            store_for(settings, who).create(fresh.strip())
        except (ValueError, OSError) as exc:
            raise user_error(exc) from None
        remember(who, fresh.strip())
        return show(who, fresh.strip())

    def do_add(_who: str, store: DatasetStore, name: str, sys_text: str, user_text: str, reply: str):
        store.create(name, exist_ok=True)
        store.add(name, make_example(user_text, reply, sys_text or None))

    def do_edit(_who: str, store: DatasetStore, name: str, index: float | None, sys_text: str, user_text: str, reply: str):
        if not index:
            raise MissingInput("error.number_to_change")
        store.edit(name, int(index), make_example(user_text, reply, sys_text or None))

    def do_remove(_who: str, store: DatasetStore, name: str, index: float | None):
        if not index:
            raise MissingInput("error.number_to_remove")
        store.remove(name, int(index))

    def do_import(who: str, store: DatasetStore, name: str, path: str | None, how: str):
        if not path:
            raise MissingInput("error.choose_file")
        store.create(name, exist_ok=True)
        if is_material_file(Path(path)):  # a FAQ, CSV/TSV or Q&A text: draft examples from it
            gr.Info(draft_file_into(store, name, Path(path), mode=how, lang=learner_language(settings, who))[1])
            return
        store.import_file(name, Path(path), mode=how)

    def pick(who: str, name: str | None, event: gr.SelectData):
        examples = store_for(settings, who).load(current(who, name))
        row = event.index[0]
        example = examples[row]
        return row + 1, _content(example, "system"), _content(example, "user"), _content(example, "assistant")

    def do_validate(who: str, name: str | None, model_name: str):
        chosen = current(who, name)
        try:
            result = store_for(settings, who).validate(chosen, model_name)
        except (ValueError, LookupError) as exc:
            raise user_error(exc) from None
        return describe_report(chosen, result, learner_language(settings, who))

    def do_export(who: str, name: str | None, share: float):
        try:
            return [str(p) for p in export_files(settings, who, current(who, name), share)]
        except (ValueError, LookupError, OSError) as exc:
            raise user_error(exc) from None

    def on(fn, inputs: int | None = None):
        return identified(identity, fn, inputs=inputs)

    view = [dataset, table]
    create.click(on(do_create), [learner, dataset, new_name], view)
    dataset.input(on(choose), [learner, dataset], view)
    dataset.focus(on(show), [learner, dataset], view)
    add.click(on(guarded(do_add), 5), [learner, dataset, system, user, assistant], view)
    save.click(on(guarded(do_edit), 6), [learner, dataset, number, system, user, assistant], view)
    remove.click(on(guarded(do_remove), 3), [learner, dataset, number], view)
    upload.upload(on(guarded(do_import), 4), [learner, dataset, upload, mode], view)
    table.select(on(pick), [learner, dataset], [number, system, user, assistant])
    validate.click(on(do_validate), [learner, dataset, model], [report])
    export.click(on(do_export), [learner, dataset, fraction], [download])
    tab.select(on(show), [learner, dataset], view)
