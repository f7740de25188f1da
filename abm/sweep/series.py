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
import pyarrow as pa

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


def _week_dates(result) -> np.ndarray:
    start = np.datetime64(result.config.start)
    return (start + np.arange(result.weeks) * 7).astype(str)


def _group_sum(result, field: str, good: str | None, country: str | None) -> np.ndarray:
    """Weekly sum of a recorded buyer field over the scenario groups that match (read from
    the recorder's arrays: a few microseconds, where the weekly table takes milliseconds)."""
    model = result.model
    mask = np.array([(good is None or g == good) and (country is None or c == country)
                     for g, c, _ in model.buyer_groups], dtype=bool)
    return model.recorder.buyer[field][: result.weeks][:, mask].sum(axis=1)


def _one(result, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(period, key, value) arrays of one series."""
    kind, *args = name.split(":")
    if kind == "exports_t":
        frame = monthly_exports(result, *args)
        return (frame["month"].to_numpy(dtype=object), frame["destination"].to_numpy(dtype=object),
                frame["quantity_t"].to_numpy(dtype=float))
    model = result.model
    if kind == "price_usd_per_kg":
        good, region = args
        if good not in model.goods or region not in ("CHN", "ROW"):
            raise ValueError(f"no price of good {good!r} in region {region!r}")
        values = model.recorder.price[: result.weeks, model.goods.index(good),
                                      ("CHN", "ROW").index(region)]
    elif kind == "buyers_halted":
        values = _group_sum(result, "buyers_halted", None, args[0] if args else None)
    else:
        if args[0] not in model.goods:
            raise ValueError(f"no good {args[0]!r}")
        values = _group_sum(result, "shortfall_t", args[0], args[1] if len(args) > 1 else None)
    periods = _week_dates(result)
    return periods, np.full(periods.size, "", dtype=object), np.asarray(values, dtype=float)


def evaluate_series(result, names: Iterable[str]) -> pa.Table:
    """The named series of a finished run as one long Arrow table (columns `COLUMNS`); Arrow
    rather than pandas because building many small frames costs more than the run's tail."""
    names = list(names)
    check_series(names)
    columns: dict[str, list] = {c: [] for c in COLUMNS}
    for name in names:
        period, key, value = _one(result, name)
        columns["series"].append(np.full(value.size, name, dtype=object))
        columns["period"].append(period)
        columns["key"].append(key)
        columns["value"].append(value)
    types = {"series": pa.string(), "period": pa.string(), "key": pa.string(),
             "value": pa.float64()}
    return pa.table({
        c: pa.array(np.concatenate(parts) if parts else [], type=types[c])
        for c, parts in columns.items()
    })
