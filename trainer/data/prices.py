"""The dated training-price table that turns billed tokens into an estimated cost.

The table ships as `trainer/prices.json` (`as_of`, `source`, `models: {snapshot: {training_per_1m}}`).
Prices change: a learner may put a file of the same shape at `TUTOR_DATA_DIR/prices.json`; its
entries replace the shipped ones model by model, and its `as_of`/`source` win when given.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from trainer.data.examples import DatasetError

SHIPPED_PRICES = Path(__file__).with_name("prices.json")
USER_PRICES_NAME = "prices.json"


class ModelPrice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    training_per_1m: float = Field(ge=0, description="USD per 1M billed training tokens.")


class PriceTable(BaseModel):
    model_config = ConfigDict(extra="forbid")

    as_of: str
    source: str = ""
    note: str = ""
    currency: str = "USD"
    models: dict[str, ModelPrice]

    def training_cost(self, model: str, billed_tokens: int) -> float | None:
        """Estimated USD for `billed_tokens` on a snapshot name; None when the table has no price."""
        price = self.models.get(model)
        if price is None:
            return None
        return round(billed_tokens / 1_000_000 * price.training_per_1m, 4)


def load_prices(data_dir: Path | None = None) -> PriceTable:
    """The shipped table, overridden entry by entry by `data_dir/prices.json` when that exists."""
    table = _read_table(SHIPPED_PRICES)
    user_file = data_dir / USER_PRICES_NAME if data_dir else None
    if user_file is None or not user_file.is_file():
        return table
    override = _read_table(user_file)
    return PriceTable(
        as_of=override.as_of,
        source=override.source or table.source,
        note=override.note,
        currency=override.currency,
        models={**table.models, **override.models},
    )


def _read_table(path: Path) -> PriceTable:
    try:
        return PriceTable.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, ValidationError) as exc:
        detail = str(exc).splitlines()[0]
        raise DatasetError(
            f"The price table {path} cannot be read ({detail}). It needs "
            '{"as_of": "YYYY-MM-DD", "models": {"gpt-4o-mini-2024-07-18": {"training_per_1m": 3.0}}}.'
        ) from exc
