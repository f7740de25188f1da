"""Aggregates collected while the model runs: sums and means by group, one row a week.

Buyers are aggregated by their scenario group (good, country, sector); prices by (good,
region); production by (good, country); licensing by (State, good). Nothing is kept per agent.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# Below this many buyers the week's fields are stacked and summed by group at once (fewer
# calls); above it each is summed alone (stacking would copy them all). Same sums either way.
STACK_BELOW = 20_000
BUYER_FIELDS = (
    "demand_t", "need_t", "used_t", "shortfall_t", "substituted_t", "arrived_t", "inventory_t",
    "target_stock_t", "queued_t", "mean_demand_t", "buyers_halted", "halted_demand_t",
    "output_value_usd", "output_lost_usd", "value_added_usd", "value_added_lost_usd",
    "substitution_cost_usd",
)


class Recorder:
    def __init__(self, model):
        weeks = model.config.weeks
        n_groups = len(model.buyer_groups)
        # One array for every field (`buyer[name]` is a view of it), so that a week's sums by
        # group are written in one call; `_week` holds the week's per-buyer fields.
        self._by_field = np.zeros((len(BUYER_FIELDS), weeks, n_groups))
        self.buyer = {name: self._by_field[i] for i, name in enumerate(BUYER_FIELDS)}
        n_buyers = model.buyers.good.size
        self._week = np.zeros((len(BUYER_FIELDS), n_buyers if n_buyers < STACK_BELOW else 0))
        self.group_size = np.bincount(model.buyers.group, minlength=n_groups)
        group = model.buyers.group
        contiguous = group.size and (np.diff(group) >= 0).all() and (self.group_size > 0).all()
        self._starts = np.r_[0, np.cumsum(self.group_size)[:-1]] if contiguous else None
        self.price = np.zeros((weeks, len(model.goods), 2))
        n_gc = len(model.goods) * len(model.countries)
        self.production = np.zeros((weeks, n_gc))
        self.capacity = np.zeros((weeks, n_gc))
        self.producer_stock = np.zeros((weeks, n_gc))
        # (State, good, destination index, grade, measure) -> weekly series
        self.licence: dict[tuple, np.ndarray] = {}
        # One bit per buyer-week: enough to tell which buyers halted, when and for how long.
        self.halted = np.zeros((weeks, model.buyers.good.size), dtype=bool)
        self._weeks = weeks
        self._pending: dict[tuple, float] = {}
        self._n_countries = len(model.countries)

    def add_applications(self, state: str, good: str, kind: str, destination: np.ndarray,
                         quantity_t: np.ndarray, listed) -> None:
        """Licence applications `kind` (filed, approved, refused) this week, one entry each
        with its destination (country index), tonnes and grade (listed or not)."""
        listed = np.broadcast_to(np.asarray(listed, dtype=bool), destination.shape)
        for grade, mask in (("listed", listed), ("unlisted", ~listed)):
            if not mask.any():
                continue
            count = np.bincount(destination[mask], minlength=self._n_countries)
            tonnes = np.bincount(destination[mask], weights=quantity_t[mask],
                                 minlength=self._n_countries)
            for d in count.nonzero()[0].tolist():
                for unit, value in (("n", count[d]), ("t", tonnes[d])):
                    key = (state, good, d, grade, f"{kind}_{unit}")
                    self._pending[key] = self._pending.get(key, 0.0) + float(value)

    def record(self, model) -> None:
        w = model.steps - 1
        if w >= self._weeks:
            return
        b = model.buyers
        n_groups = self.group_size.size
        group = b.group
        if self._starts is not None and group.size < STACK_BELOW:
            # Buyers are stored group by group: the week's fields written into one array and
            # summed by group in one reduction (few buyers)...
            week = self._week
            for row, array in zip(week, self._week_values(b).values(), strict=True):
                row[...] = array
            np.add.reduceat(week, self._starts, axis=1, out=self._by_field[:, w])
            self._record_rest(model, w)
            return
        values = self._week_values(b)
        if self._starts is not None:  # ... or one per field (many: no copy of them all)
            for name, array in values.items():
                self.buyer[name][w] = np.add.reduceat(array, self._starts)
        else:
            for name, array in values.items():
                self.buyer[name][w] = np.bincount(group, weights=array, minlength=n_groups)
        self._record_rest(model, w)

    @staticmethod
    def _week_values(b) -> dict[str, np.ndarray]:
        """The week's per-buyer fields, by name (in the order of `BUYER_FIELDS`)."""
        return {
            "demand_t": b.demand_t,
            "need_t": b.need_t,
            "used_t": b.used_t,
            "shortfall_t": b.need_t - b.used_t,
            "substituted_t": b.demand_t - b.need_t,
            "arrived_t": b.arrived_t,
            "inventory_t": b.inventory_t,
            "target_stock_t": b.cover_weeks * b.mean_demand_t,
            "queued_t": b.queued_t,
            "mean_demand_t": b.mean_demand_t * b.demand_factor,
            "buyers_halted": b.halted.astype(float),
            "halted_demand_t": b.halted * b.demand_t,
            "output_value_usd": b.demand_t * b.value_usd_per_t,
            "output_lost_usd": b.output_lost_usd,
            "value_added_usd": b.demand_t * b.value_usd_per_t * b.value_added_share,
            "value_added_lost_usd": b.value_added_lost_usd,
            "substitution_cost_usd": b.substitution_cost_usd,
        }

    def _record_rest(self, model, w: int) -> None:
        """Halts, prices, production and licence flows of week `w`."""
        b, e = model.buyers, model.exporters
        self.halted[w] = b.halted
        self.price[w] = model.price_usd_per_kg
        key = e.good * len(model.countries) + e.country
        size = self.production.shape[1]
        self.production[w] = np.bincount(key, weights=e.produced_t, minlength=size)
        self.capacity[w] = np.bincount(key, weights=e.capacity_t, minlength=size)
        self.producer_stock[w] = np.bincount(key, weights=e.inventory_t, minlength=size)
        destination = model.pairs.destination
        for office, links in model._office_links:
            state, good = office.state_code, office.good
            # Every destination the office licenses gets a row, pending or not.
            for d in np.unique(destination[links]).tolist():
                for unit in ("n", "t"):
                    self._pending.setdefault((state, good, d, "listed", f"backlog_{unit}"), 0.0)
            for grade, mask in (("listed", office.listed), ("unlisted", ~office.listed)):
                dest = destination[office.pair[mask]]
                count = np.bincount(dest, minlength=self._n_countries)
                tonnes = np.bincount(dest, weights=office.quantity_t[mask],
                                     minlength=self._n_countries)
                for d in count.nonzero()[0].tolist():
                    self._pending[(state, good, d, grade, "backlog_n")] = float(count[d])
                    self._pending[(state, good, d, grade, "backlog_t")] = float(tonnes[d])
        for key_l, value in self._pending.items():
            self.licence.setdefault(key_l, np.zeros(self._weeks))[w] = value
        self._pending = {}

    # --- tables --------------------------------------------------------------------------------

    def weekly_buyers(self, model) -> pd.DataFrame:
        """One row per (week, good, country, sector)."""
        weeks = model.steps
        dates = _dates(model, weeks)
        n_groups = self.group_size.size
        good, country, sector = zip(*model.buyer_groups, strict=True) if n_groups else ((), (), ())
        frame = pd.DataFrame(
            {
                "week": np.repeat(np.arange(1, weeks + 1), n_groups),
                "date": np.repeat(dates, n_groups),
                "good": np.tile(np.array(good, dtype=object), weeks),
                "country": np.tile(np.array(country, dtype=object), weeks),
                "sector": np.tile(np.array(sector, dtype=object), weeks),
                "buyers": np.tile(self.group_size, weeks),
            }
        )
        for name in BUYER_FIELDS:
            frame[name] = self.buyer[name][:weeks].reshape(-1)
        # Several scenario groups may share (good, country, sector): sum them.
        keys = ["week", "date", "good", "country", "sector"]
        frame = frame.groupby(keys, as_index=False, sort=False).sum()
        frame["buyers_halted"] = frame["buyers_halted"].round().astype(np.int64)
        frame["cover_weeks"] = frame["inventory_t"] / frame["mean_demand_t"].where(
            frame["mean_demand_t"] > 0
        )
        # Halts as a share of capacity (demand), not a count of buyers.
        frame["halted_share"] = (frame["halted_demand_t"] / frame["demand_t"].where(
            frame["demand_t"] > 0)).fillna(0.0)
        frame["output_lost_share"] = (frame["output_lost_usd"] / frame["output_value_usd"].where(
            frame["output_value_usd"] > 0)).fillna(0.0)
        return frame

    def halt_spells(self, model) -> pd.DataFrame:
        """One row per spell of consecutive halted weeks of one buyer: buyer id, good,
        country, sector, first week's date, length in weeks."""
        halted = self.halted[: model.steps]
        padded = np.vstack([np.zeros((1, halted.shape[1]), bool), halted,
                            np.zeros((1, halted.shape[1]), bool)]).astype(np.int8)
        change = np.diff(padded, axis=0)
        start_week, start_buyer = np.nonzero(change == 1)
        end_week, end_buyer = np.nonzero(change == -1)
        order_start = np.lexsort((start_week, start_buyer))
        order_end = np.lexsort((end_week, end_buyer))
        buyer = start_buyer[order_start]
        first = start_week[order_start]
        length = end_week[order_end] - first
        agents = model.buyer_agents
        return pd.DataFrame({
            "buyer_id": buyer,
            "good": [agents[i].good for i in buyer],
            "country": [agents[i].country for i in buyer],
            "sector": [agents[i].sector for i in buyer],
            "start": _dates(model, model.steps)[first] if len(first) else np.array([], dtype=str),
            "weeks": length,
        })

    def weekly_prices(self, model) -> pd.DataFrame:
        weeks = model.steps
        rows = []
        for gi, good in enumerate(model.goods):
            for ri, region in enumerate(("CHN", "ROW")):
                rows.append(
                    pd.DataFrame(
                        {
                            "week": np.arange(1, weeks + 1),
                            "date": _dates(model, weeks),
                            "good": good,
                            "region": region,
                            "price_usd_per_kg": self.price[:weeks, gi, ri],
                        }
                    )
                )
        return pd.concat(rows, ignore_index=True)

    def weekly_production(self, model) -> pd.DataFrame:
        weeks = model.steps
        n_c = len(model.countries)
        rows = []
        for gi, good in enumerate(model.goods):
            for ci, country in enumerate(model.countries):
                col = gi * n_c + ci
                if not self.capacity[:weeks, col].any():
                    continue
                rows.append(
                    pd.DataFrame(
                        {
                            "week": np.arange(1, weeks + 1),
                            "date": _dates(model, weeks),
                            "good": good,
                            "country": country,
                            "produced_t": self.production[:weeks, col],
                            "capacity_t": self.capacity[:weeks, col],
                            "producer_stock_t": self.producer_stock[:weeks, col],
                        }
                    )
                )
        return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()

    def weekly_licences(self, model) -> pd.DataFrame:
        """One row per (week, State, good, destination, grade) that ever had a licence
        application: applications (`_n`, a count) and their tonnes (`_t`) filed, approved and
        refused in the week (a refused application is filed again: counted as filed again),
        and pending at the end of the week (backlog). `grade` is `listed` (the grades the
        control names) or `unlisted` (filed because customs could not tell grades apart)."""
        weeks = model.steps
        keys = sorted({key[:4] for key in self.licence})
        measures = [f"{kind}_{unit}" for kind in ("filed", "approved", "refused", "backlog")
                    for unit in ("n", "t")]
        columns = ["week", "date", "state", "good", "destination", "grade", *measures]
        if not keys:
            return pd.DataFrame(columns=columns)
        rows = []
        dates = _dates(model, weeks)
        for state, good, dest, grade in keys:
            frame = pd.DataFrame({"week": np.arange(1, weeks + 1), "date": dates,
                                  "state": state, "good": good,
                                  "destination": model.countries[dest], "grade": grade})
            for measure in measures:
                series = self.licence.get((state, good, dest, grade, measure))
                frame[measure] = series[:weeks] if series is not None else 0.0
            rows.append(frame)
        return pd.concat(rows, ignore_index=True)[columns]


def _dates(model, weeks: int) -> np.ndarray:
    return (np.datetime64(model.config.start) + np.arange(weeks) * 7).astype(str)
