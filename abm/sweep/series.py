"""Time series a sweep may keep for every run, in one tidy long table.

A series is named like an outcome:

- `exports_t:GOOD:ORIGIN`  monthly customs exports by destination (and `ALL`), tonnes;
- `price_usd_per_kg:GOOD:REGION`  weekly price;
- `buyers_halted` / `buyers_halted:COUNTRY`  weekly number of halted buyers;
- `shortfall_t:GOOD` / `shortfall_t:GOOD:COUNTRY`  weekly unmet demand, tonnes.

Each series gives rows (`series`, `period`, `key`, `value`): `period` is a month `YYYY-MM` or the
first day of a week `YYYY-MM-DD`, `key` the destination for exports and empty otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from abm.outcomes import monthly_exports

SERIES_KINDS = {
    "exports_t": (2, 2),
    "price_usd_per_kg": (2, 2),
    "buyers_halted": (0, 1),
    "shortfall_t": (1, 2),
}
COLUMNS = ("series", "period", "key", "value")


def check_series(names: Iterable[str]) -> None:
    """Raise ValueError naming the first unknown series or wrong number of arguments."""
    for name in names:
        kind, *args = name.split(":")
        if kind not in SERIES_KINDS:
            raise ValueError(f"a known series kind (one of {sorted(SERIES_KINDS)}), got {name!r}")
        low, high = SERIES_KINDS[kind]
        if not low <= len(args) <= high:
            raise ValueError(f"{low} to {high} arguments after {kind!r}, got {name!r}")


def _one(result, name: str) -> pd.DataFrame:
    kind, *args = name.split(":")
    if kind == "exports_t":
        frame = monthly_exports(result, *args)
        return pd.DataFrame({"period": frame["month"], "key": frame["destination"],
                             "value": frame["quantity_t"].to_numpy(dtype=float)})
    if kind == "price_usd_per_kg":
        prices = result.prices
        good, region = args
        rows = prices[(prices["good"] == good) & (prices["region"] == region)]
        if rows.empty:
            raise ValueError(f"no price of good {good!r} in region {region!r}")
        return pd.DataFrame({"period": rows["date"], "key": "",
                             "value": rows["price_usd_per_kg"].to_numpy(dtype=float)})
    weekly = result.weekly
    if kind == "buyers_halted":
        column = "buyers_halted"
        country = args[0] if args else None
    else:
        column = "shortfall_t"
        weekly = weekly[weekly["good"] == args[0]]
        country = args[1] if len(args) > 1 else None
    if country is not None:
        weekly = weekly[weekly["country"] == country]
    summed = weekly.groupby("date", sort=True)[column].sum()
    return pd.DataFrame({"period": summed.index.astype(str), "key": "",
                         "value": summed.to_numpy(dtype=float)})


def evaluate_series(result, names: Iterable[str]) -> pd.DataFrame:
    """The named series of a finished run as one long table (columns `COLUMNS`)."""
    names = list(names)
    check_series(names)
    parts = []
    for name in names:
        frame = _one(result, name)
        frame.insert(0, "series", name)
        parts.append(frame)
    if not parts:
        return pd.DataFrame({c: np.array([], dtype=object if c != "value" else float)
                             for c in COLUMNS})
    return pd.concat(parts, ignore_index=True)[list(COLUMNS)]
