"""The trade ledger (every shipment) and the customs-style monthly table derived from it."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd


class Ledger:
    """Every shipment as it leaves its origin: week, buyer-origin pair, tonnes, USD.

    Stored as one block of arrays per week, joined when a table is asked for."""

    def __init__(self):
        self._blocks: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []

    def record(self, week: int, pair: np.ndarray, quantity_t: np.ndarray, value_usd: np.ndarray):
        if quantity_t.size == 0:
            return
        keep = quantity_t > 0
        if keep.all():  # (the usual case: no copies to drop nothing)
            value_usd = value_usd.copy()
            quantity_t = quantity_t.copy()
        elif keep.any():
            pair, quantity_t, value_usd = pair[keep], quantity_t[keep], value_usd[keep]
        else:
            return
        # Link numbers kept as 32-bit integers (half the memory; read back as 64-bit).
        pair = pair.astype(np.int32) if pair.size and pair.max() < 2**31 else pair.copy()
        self._blocks.append((week, pair, quantity_t, value_usd))

    def arrays(self) -> dict[str, np.ndarray]:
        if not self._blocks:
            empty = np.empty(0)
            return {"week": empty.astype(np.int64), "pair": empty.astype(np.int64),
                    "quantity_t": empty, "value_usd": empty}
        return {
            "week": np.concatenate([np.full(blk[1].size, blk[0]) for blk in self._blocks]),
            "pair": np.concatenate([blk[1] for blk in self._blocks]).astype(np.int64),
            "quantity_t": np.concatenate([blk[2] for blk in self._blocks]),
            "value_usd": np.concatenate([blk[3] for blk in self._blocks]),
        }


def shipments_frame(model) -> pd.DataFrame:
    """The ledger as a table: one row per shipment with its origin, destination, exporter,
    buyer, sector, tonnes and value."""
    arrays = model.ledger.arrays()
    p, b = model.pairs, model.buyers
    pair = arrays["pair"]
    buyer = p.buyer[pair]
    exporter_names = np.array([e.name for e in model.config.exporters], dtype=object)
    countries = np.array(model.countries, dtype=object)
    return pd.DataFrame(
        {
            "week": arrays["week"],
            "date": (np.datetime64(model.config.start) + (arrays["week"] - 1) * 7).astype(str),
            "good": np.array(model.goods, dtype=object)[b.good[buyer]],
            "origin": countries[p.origin[pair]],
            "destination": countries[b.country[buyer]],
            "exporter": exporter_names[p.exporter[pair]],
            "buyer_id": buyer,
            "sector": np.array(model.sectors, dtype=object)[b.sector[buyer]],
            "quantity_t": arrays["quantity_t"],
            "value_usd": arrays["value_usd"],
        }
    )


def customs_monthly(model) -> pd.DataFrame:
    """Cross-border shipments by calendar month, good, origin and destination (ISO3; EU as
    `EU`, rest of world `ROW`). A week's shipments are spread evenly over its seven days, so a
    week that straddles two months counts in both. A month the run did not finish is left out.
    Every month of the run is present for every
    route that ever traded (zero where nothing shipped)."""
    arrays = model.ledger.arrays()
    p, b = model.pairs, model.buyers
    pair = arrays["pair"]
    cross = p.foreign[pair]
    buyer = p.buyer[pair[cross]]
    flows = pd.DataFrame(
        {
            "week": arrays["week"][cross],
            "good": b.good[buyer],
            "origin": p.origin[pair[cross]],
            "destination": b.country[buyer],
            "quantity_t": arrays["quantity_t"][cross],
            "value_usd": arrays["value_usd"][cross],
        }
    )
    weekly = flows.groupby(["week", "good", "origin", "destination"], as_index=False).sum()
    split = _week_month_split(model)
    monthly = weekly.merge(split, on="week")
    monthly["quantity_t"] *= monthly["fraction"]
    monthly["value_usd"] *= monthly["fraction"]
    monthly = monthly.groupby(["month", "good", "origin", "destination"], as_index=False)[
        ["quantity_t", "value_usd"]
    ].sum()
    months = sorted(split["month"].unique())
    # Only whole months: a run stopped mid-month would otherwise report a misleading stub.
    last_day = min(model.date_of_week(model.steps) + dt.timedelta(days=6), model.config.end)
    if (last_day + dt.timedelta(days=1)).month == last_day.month:
        months = months[:-1]
        monthly = monthly[monthly["month"].isin(months)]
    routes = monthly[["good", "origin", "destination"]].drop_duplicates()
    grid = routes.merge(pd.DataFrame({"month": pd.Series(months, dtype=object)}), how="cross")
    monthly = grid.merge(monthly, on=["month", "good", "origin", "destination"], how="left")
    monthly[["quantity_t", "value_usd"]] = monthly[["quantity_t", "value_usd"]].fillna(0.0)
    goods = np.array(model.goods, dtype=object)
    countries = np.array(model.countries, dtype=object)
    hs = {g.name: g.hs_code for g in model.config.goods}
    out = pd.DataFrame(
        {
            "month": monthly["month"],
            "good": goods[monthly["good"].to_numpy(dtype=np.int64)],
            "hs_code": [hs[g] for g in goods[monthly["good"].to_numpy(dtype=np.int64)]],
            "origin": countries[monthly["origin"].to_numpy(dtype=np.int64)],
            "destination": countries[monthly["destination"].to_numpy(dtype=np.int64)],
            "quantity_t": monthly["quantity_t"].round(3),
            "value_usd": monthly["value_usd"].round(0),
        }
    )
    return out.sort_values(["month", "good", "origin", "destination"], ignore_index=True)


def _week_month_split(model) -> pd.DataFrame:
    """Share of each simulated week's days that falls in each calendar month (up to the end)."""
    rows = []
    end = model.config.end
    for week in range(1, model.steps + 1):
        first = model.date_of_week(week)
        days = [first + dt.timedelta(days=d) for d in range(7)]
        days = [d for d in days if d <= end] or days[:1]
        months: dict[str, int] = {}
        for day in days:
            key = f"{day.year:04d}-{day.month:02d}"
            months[key] = months.get(key, 0) + 1
        for month, count in months.items():
            rows.append((week, month, count / len(days)))
    return pd.DataFrame(rows, columns=["week", "month", "fraction"])
