"""The pain each State bears, measured from the model each week (all shares, 0 to 1).

- `buyers_halted`: share of the State's buyers halted this week.
- `chip_shortfall`: share of chip demand in the State's price region not served.
- `export_revenue_loss`: export value lost, as a share of the usual: magnet and oxide exports
  (smoothed shipments at reference prices, against the start's steady flows) plus chip sales
  of its chipmakers lost to controls or to the buyers' State.
- `tariff_cost`: value-weighted mean tariff on the State's imports and on its exports in the
  model's trade, capped at 1.

`PainMeter.record` stores them every week (after the chip market); `weekly_pain` returns them
as a table, with each State's weighted pain under its strategy's weights.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from abm.scenario.config import PAIN_COMPONENTS, BargainingConfig


def pain_components(model) -> np.ndarray:
    """This week's pain components of every State, [n_countries, n_components], in the order
    of `model.countries` and `PAIN_COMPONENTS`."""
    b, p = model.buyers, model.pairs
    n = len(model.countries)
    count = np.bincount(b.country, minlength=n)
    halted = np.bincount(b.country, weights=b.halted, minlength=n)
    halted = np.divide(halted, count, out=np.zeros(n), where=count > 0)

    chips = model.chip_market
    chip_shortfall = chips.shortfall_shares()[model.country_region]
    chip_lost, chip_usual = chips.export_loss_usd()

    good = b.good[p.buyer]
    price_usd_per_t = 1000.0 * model.reference_price[good, model.country_region[p.origin]]
    origin = np.where(p.foreign, p.origin, n)
    usual = np.bincount(origin, weights=b.mean_demand_t[p.buyer] * p.base_share * price_usd_per_t,
                        minlength=n + 1)[:n]
    now = np.bincount(origin, weights=p.shipped_t * price_usd_per_t, minlength=n + 1)[:n]
    lost = np.maximum(0.0, usual - now) + chip_lost
    whole = usual + chip_usual
    export_loss = np.minimum(1.0, np.divide(lost, whole, out=np.zeros(n), where=whole > 0))

    value = p.shipped_t * price_usd_per_t * p.foreign
    paid = value * model.pair_tariff
    destination = b.country[p.buyer]
    trade = np.bincount(p.origin, weights=value, minlength=n) + np.bincount(
        destination, weights=value, minlength=n)
    taxed = np.bincount(p.origin, weights=paid, minlength=n) + np.bincount(
        destination, weights=paid, minlength=n)
    tariff = np.minimum(1.0, np.divide(taxed, trade, out=np.zeros(n), where=trade > 0))
    return np.column_stack([halted, chip_shortfall, export_loss, tariff])


def weighted(components: dict[str, float], weights: dict[str, float]) -> float:
    return float(sum(weights.get(name, 0.0) * value for name, value in components.items()))


class PainMeter:
    """Weekly pain components of every State, recorded after the chip market's step."""

    def __init__(self, model):
        self.model = model
        self.codes = list(model.states)
        self.values = np.zeros((model.config.weeks, len(self.codes), len(PAIN_COMPONENTS)))
        self.last_week = -1

    def record(self) -> None:
        week = self.model.steps - 1
        if week >= self.values.shape[0]:
            return
        self.last_week = week
        order = [self.model.country_index[code] for code in self.codes]
        self.values[week] = pain_components(self.model)[order]

    def latest(self, code: str) -> dict[str, float]:
        """The components last recorded (zeros before the first week ends)."""
        if self.last_week < 0:
            return dict.fromkeys(PAIN_COMPONENTS, 0.0)
        row = self.values[self.last_week, self.codes.index(code)]
        return dict(zip(PAIN_COMPONENTS, row.tolist(), strict=True))


def weekly_pain(model) -> pd.DataFrame:
    """One row per (week, State): the pain components and `pain`, their sum weighted by the
    State's `strategies.CODE.bargaining.pain_weights` (the defaults if not given)."""
    meter = model.pain
    weeks = min(model.steps, meter.values.shape[0])
    dates = (np.datetime64(model.config.start) + np.arange(weeks) * 7).astype(str)
    rows = []
    for s, code in enumerate(meter.codes):
        values = meter.values[:weeks, s]
        frame = pd.DataFrame({"week": np.arange(1, weeks + 1), "date": dates, "state": code})
        weights = model.config.strategies.get(code)
        weights = (weights.bargaining if weights else BargainingConfig()).pain_weights
        frame["pain"] = 0.0
        for c, name in enumerate(PAIN_COMPONENTS):
            frame[name] = values[:, c]
            frame["pain"] += weights.get(name, 0.0) * values[:, c]
        rows.append(frame)
    return pd.concat(rows, ignore_index=True)
