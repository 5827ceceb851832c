"""The dated model table: training prices, and which OpenAI models still take new fine-tuning jobs.

The table ships as `trainer/data/prices.json`: `as_of` (when it was checked), `source`,
`default_model` (the snapshot a hosted job uses unless told otherwise: one OpenAI's fine-tuning
guide still lists), `platform` (OpenAI's fine-tuning platform: closed to new users from, and the
last day it accepts new jobs) and `models: {snapshot: {training_per_1m, in_guide,
new_jobs_until, tuned_serving_until, azure_name}}`. Dates are ISO days; a model's
`new_jobs_until` falls back to the platform's. Prices and dates change: a learner may put a file of
the same shape at `TUTOR_DATA_DIR/prices.json`; its fields replace the shipped ones model by model,
and its `as_of`/`source`/`default_model`/`platform` win when given.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from trainer.data.examples import DatasetError

SHIPPED_PRICES = Path(__file__).with_name("prices.json")
USER_PRICES_NAME = "prices.json"


class ModelPrice(BaseModel):
    """One snapshot: its training price and its fine-tuning dates on OpenAI's platform."""

    model_config = ConfigDict(extra="forbid")

    training_per_1m: float | None = Field(None, ge=0, description="USD per 1M billed training tokens; None: no price known.")
    in_guide: bool = Field(True, description="Listed for supervised fine-tuning in OpenAI's guide as of the table's date.")
    new_jobs_until: date | None = Field(None, description="Last day OpenAI accepts new jobs on it (default: the platform's).")
    tuned_serving_until: date | None = Field(None, description="Last day models tuned from it answer; None: no date announced.")
    azure_name: str | None = Field(None, description="The base model's name on Azure OpenAI, where it differs.")


class Platform(BaseModel):
    """OpenAI's fine-tuning platform as a whole."""

    model_config = ConfigDict(extra="forbid")

    closed_to_new_users_from: date | None = None
    new_jobs_until: date | None = None


class PriceTable(BaseModel):
    model_config = ConfigDict(extra="forbid")

    as_of: str
    source: str = ""
    note: str = ""
    currency: str = "USD"
    default_model: str = "gpt-4.1-mini-2025-04-14"
    platform: Platform = Field(default_factory=Platform)
    models: dict[str, ModelPrice]

    def training_cost(self, model: str, billed_tokens: int) -> float | None:
        """Estimated USD for `billed_tokens` on a snapshot name; None when the table has no price."""
        price = self.models.get(model)
        if price is None or price.training_per_1m is None:
            return None
        return round(billed_tokens / 1_000_000 * price.training_per_1m, 4)

    def new_jobs_until(self, model: str) -> date | None:
        """The last day OpenAI takes a new job on `model` (a snapshot name); None when no end is known."""
        entry = self.models.get(model)
        own = entry.new_jobs_until if entry else None
        return own or self.platform.new_jobs_until

    def accepts_new_jobs(self, model: str, today: date) -> bool:
        last = self.new_jobs_until(model)
        return last is None or today <= last

    def tuned_serving_until(self, model: str) -> date | None:
        entry = self.models.get(model)
        return entry.tuned_serving_until if entry else None

    def azure_name(self, model: str) -> str:
        """The name Azure OpenAI gives `model` (mostly the same snapshot name; gpt-3.5 is gpt-35 there)."""
        entry = self.models.get(model)
        return entry.azure_name if entry and entry.azure_name else model


def load_prices(data_dir: Path | None = None) -> PriceTable:
    """The shipped table, overridden field by field and model by model by `data_dir/prices.json` when that exists."""
    table = _read_table(SHIPPED_PRICES)
    user_file = data_dir / USER_PRICES_NAME if data_dir else None
    if user_file is None or not user_file.is_file():
        return table
    override = _read_table(user_file)
    given = override.model_fields_set
    models = dict(table.models)
    for name, entry in override.models.items():
        shipped = models.get(name)
        changes = entry.model_dump(include=entry.model_fields_set)
        models[name] = shipped.model_copy(update=changes) if shipped else entry
    return PriceTable(
        as_of=override.as_of,
        source=override.source or table.source,
        note=override.note,
        currency=override.currency,
        default_model=override.default_model if "default_model" in given else table.default_model,
        platform=override.platform if "platform" in given else table.platform,
        models=models,
    )


def _read_table(path: Path) -> PriceTable:
    try:
        return PriceTable.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, ValidationError) as exc:
        if isinstance(exc, ValidationError):
            first = exc.errors()[0]
            detail = f"{'.'.join(map(str, first['loc'])) or 'the table'}: {first['msg']}"
        else:
            detail = str(exc).splitlines()[0]
        raise DatasetError(
            f"The price table {path} cannot be read ({detail}). It needs "
            '{"as_of": "YYYY-MM-DD", "models": {"gpt-4.1-mini-2025-04-14": {"training_per_1m": 5.0}}}.'
        ) from exc
