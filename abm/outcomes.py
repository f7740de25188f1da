"""Per-run outcomes: named summary numbers computed from a finished run.

An outcome is named `kind` or `kind:arg:arg`, for example

- `exports_t:magnet:CHN:2025-05`  tonnes of magnets exported by China in May 2025 (customs);
  the month may be a year (`2024`) or a range `2025-04..2025-07`;
- `export_share:magnet:CHN:USA:2024`  the US share of China's magnet exports in 2024;
- `buyer_weeks_halted` / `buyer_weeks_halted:USA` / `buyer_weeks_halted:USA:automotive`;
- `shortfall_t:magnet` / `shortfall_t:magnet:EU`  cumulative unmet demand (t);
- `peak_price_ratio:magnet:ROW`  highest weekly price over its reference;
- `price_ratio_at:heavy_ree:ROW:2025-05-05`  price in the week containing a date over reference;
- `min_monthly_exports_t:magnet:CHN:2025-04..2025-12`  the lowest month in a range.

`evaluate(result, names)` returns a dict of floats; an unknown name raises `ValueError` with
the list of kinds, so a sweep spec is checked before anything runs (`check_names`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd


def _months(customs: pd.DataFrame, period: str) -> pd.Series:
    if ".." in period:
        first, last = period.split("..")
        return (customs["month"] >= first) & (customs["month"] <= last)
    return customs["month"].str.startswith(period)


def _exports(result, good: str, origin: str) -> pd.DataFrame:
    customs = result.customs_monthly
    return customs[(customs["good"] == good) & (customs["origin"] == origin)]


def exports_t(result, good: str, origin: str, period: str) -> float:
    flows = _exports(result, good, origin)
    return float(flows.loc[_months(flows, period), "quantity_t"].sum())


def export_share(result, good: str, origin: str, destination: str, period: str) -> float:
    flows = _exports(result, good, origin)
    flows = flows[_months(flows, period)]
    total = flows["quantity_t"].sum()
    mine = flows.loc[flows["destination"] == destination, "quantity_t"].sum()
    return float(mine / total) if total > 0 else float("nan")


def min_monthly_exports_t(result, good: str, origin: str, period: str) -> float:
    flows = _exports(result, good, origin)
    monthly = flows[_months(flows, period)].groupby("month")["quantity_t"].sum()
    return float(monthly.min()) if len(monthly) else float("nan")


def _weekly(result, country: str | None, sector: str | None) -> pd.DataFrame:
    weekly = result.weekly
    if country:
        weekly = weekly[weekly["country"] == country]
    if sector:
        weekly = weekly[weekly["sector"] == sector]
    return weekly


def buyer_weeks_halted(result, country: str | None = None, sector: str | None = None) -> float:
    # Counts of halted buyers are whole numbers, so summing the recorder's weekly group totals
    # gives exactly the weekly table's sum without building the table (a sweep's hot path).
    model = result.model
    match = np.array([(not country or c == country) and (not sector or s == sector)
                      for _, c, s in model.buyer_groups], dtype=bool)
    halted = model.recorder.buyer["buyers_halted"][: result.weeks]
    return float(np.round(halted[:, match]).sum())


def shortfall_t(result, good: str, country: str | None = None) -> float:
    weekly = _weekly(result, country, None)
    return float(weekly.loc[weekly["good"] == good, "shortfall_t"].sum())


def _price(result, good: str, region: str) -> pd.DataFrame:
    prices = result.prices
    return prices[(prices["good"] == good) & (prices["region"] == region)]


def _reference(result, good: str, region: str) -> float:
    for g in result.config.goods:
        if g.name == good:
            return g.reference_price_usd_per_kg[region]
    raise ValueError(f"unknown good {good!r}")


def peak_price_ratio(result, good: str, region: str) -> float:
    return float(_price(result, good, region)["price_usd_per_kg"].max() / _reference(result, good, region))


def price_ratio_at(result, good: str, region: str, date: str) -> float:
    prices = _price(result, good, region)
    when = dt.date.fromisoformat(date)
    week = (when - result.config.start).days // 7 + 1
    row = prices[prices["week"] == week]
    if row.empty:
        return float("nan")
    return float(row["price_usd_per_kg"].iloc[0] / _reference(result, good, region))


OUTCOMES: dict[str, Callable[..., float]] = {
    "exports_t": exports_t,
    "export_share": export_share,
    "min_monthly_exports_t": min_monthly_exports_t,
    "buyer_weeks_halted": buyer_weeks_halted,
    "shortfall_t": shortfall_t,
    "peak_price_ratio": peak_price_ratio,
    "price_ratio_at": price_ratio_at,
}


def check_names(names: Iterable[str]) -> None:
    """Raise ValueError naming the first unknown outcome kind."""
    for name in names:
        kind = name.split(":")[0]
        if kind not in OUTCOMES:
            raise ValueError(f"unknown outcome {name!r}: expected one of {sorted(OUTCOMES)}")


def evaluate(result, names: Iterable[str]) -> dict[str, float]:
    """Compute each named outcome of a finished run."""
    names = list(names)
    check_names(names)
    out = {}
    for name in names:
        kind, *args = name.split(":")
        try:
            out[name] = OUTCOMES[kind](result, *args)
        except TypeError as err:
            raise ValueError(f"outcome {name!r}: wrong arguments ({err})") from None
    return out


def monthly_exports(result, good: str = "magnet", origin: str = "CHN") -> pd.DataFrame:
    """Monthly exports of `good` from `origin` by destination, plus `ALL` (tidy)."""
    flows = _exports(result, good, origin)
    by_destination = flows.groupby(["month", "destination"], as_index=False)["quantity_t"].sum()
    total = flows.groupby("month", as_index=False)["quantity_t"].sum()
    total["destination"] = "ALL"
    out = pd.concat([total, by_destination], ignore_index=True)
    out["quantity_t"] = np.round(out["quantity_t"], 3)
    return out.sort_values(["month", "destination"], ignore_index=True)
