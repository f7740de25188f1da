"""Each State's payoff, measured from the model each week in USD, and the pain it reads.

The components (`PAYOFF_COMPONENTS`, from `abm.market.accounting`) are valued by the State's
`[payoffs.CODE]` weights (`abm.scenario.config.Payoff`):

    payoff = sum over components of sign * weight * component

`partner_output_lost_usd` is the partner's output lost (the leverage its controls give).
Pain, which the `bargaining` strategy reads, is the conflict's damage borne: by component, the
shortfall against the same week's usual value (`abm.market.accounting.usual_values`: no output
lost, usual export flows at reference prices, all chip demand served), over the costs a State
bears (output lost, substitution, export and chip sales lost, its own compute lost; not the
rent, leverage or compute denial its controls give it, which are what it trades), weighted, as
a share of what is at stake (its buyers' output value plus its usual exports): 0 when nothing is
lost, 0.1 when a tenth of that is lost. Trends (growing chip demand) are in both and cancel.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from abm.market.accounting import usual_export_rates, usual_values, weekly_values
from abm.scenario.config import PAYOFF_COMPONENTS

COMPONENTS = tuple(PAYOFF_COMPONENTS)
BORNE = ("output_lost_usd", "substitution_cost_usd", "export_revenue_usd", "chip_revenue_usd",
         "compute_units")


class PainMeter:
    """Weekly payoff components of every State, recorded after the chip market's step."""

    def __init__(self, model):
        self.model = model
        self.codes = list(model.states)
        n = len(self.codes)
        order = [model.country_index[c] for c in self.codes]
        self._order = np.array(order, dtype=np.int64)
        self._unorder = np.argsort(self._order)
        payoffs = [model.config.payoff(c) for c in self.codes]
        self.weights = np.array([[p.weights()[name] * PAYOFF_COMPONENTS[name] for name in COMPONENTS]
                                 for p in payoffs]).reshape(n, len(COMPONENTS))
        # Pain counts the costs the State bears (output, sales and its own compute lost), not
        # the gains its controls hold over the partner (rent, leverage, compute denied): those
        # are what it trades in a deal.
        self._borne = np.array([name in BORNE for name in COMPONENTS])
        self.partner = np.array([model.country_index.get(p.partner, -1) for p in payoffs],
                                dtype=np.int64)
        self._has_partner, self._partner_at = self.partner >= 0, np.maximum(self.partner, 0)
        self.values = np.zeros((model.config.weeks, n, len(COMPONENTS)))
        self.usual = np.zeros((model.config.weeks, n, len(COMPONENTS)))
        self._export_rates = usual_export_rates(model)
        self.stake_usd = np.zeros((model.config.weeks, n))
        self.last_week = -1

    def record(self) -> None:
        week = self.model.steps - 1
        if week >= self.values.shape[0]:
            return
        self.last_week = week
        values = weekly_values(self.model)
        lost = values["output_lost_usd"] + values["substitution_cost_usd"]
        partner_lost = np.where(self._has_partner, lost[self._partner_at], 0.0)
        values["partner_output_lost_usd"] = partner_lost[self._unorder]
        self.values[week] = np.array([values[name] for name in COMPONENTS]).T[self._order]
        usual = usual_values(self.model, self._export_rates)
        usual["partner_output_lost_usd"] = np.zeros(len(self.codes))
        self.usual[week] = np.array([usual[name] for name in COMPONENTS]).T[self._order]
        self.stake_usd[week] = (values["output_value_usd"] + usual["export_revenue_usd"]
                                + usual["chip_revenue_usd"])[self._order]

    def payoff(self) -> np.ndarray:
        """Payoff (USD a week) of every State in every recorded week, [weeks, n_states]."""
        weeks = self.last_week + 1
        return (self.values[:weeks] * self.weights[None]).sum(axis=2)

    def pain(self, first_week: int = 0) -> np.ndarray:
        """Pain of every State in every recorded week from `first_week` on, [weeks,
        n_states] (shares)."""
        weeks = slice(first_week, self.last_week + 1)
        shortfall = np.maximum(0.0, (self.usual[weeks] - self.values[weeks])
                               * self.weights[None])[..., self._borne]
        return shortfall.sum(axis=2) / np.maximum(self.stake_usd[weeks], 1.0)

    def latest(self, code: str) -> float:
        """Pain of State `code` in the last recorded week (0 before the first week ends)."""
        if self.last_week < 0:
            return 0.0
        return float(self.pain(self.last_week)[-1, self.codes.index(code)])


def weekly_pain(model) -> pd.DataFrame:
    """One row per (week, State): each payoff component, the payoff (USD a week, by the
    State's weights) and the pain (share of its stake lost to the conflict)."""
    meter = model.pain
    weeks = min(model.steps, meter.values.shape[0])
    dates = (np.datetime64(model.config.start) + np.arange(weeks) * 7).astype(str)
    payoff = meter.payoff() if weeks else np.zeros((0, len(meter.codes)))
    pain = meter.pain() if weeks else np.zeros((0, len(meter.codes)))
    rows = []
    for s, code in enumerate(meter.codes):
        frame = pd.DataFrame({"week": np.arange(1, weeks + 1), "date": dates, "state": code})
        for c, name in enumerate(COMPONENTS):
            frame[name] = meter.values[:weeks, s, c]
        frame["payoff_usd"] = payoff[:weeks, s]
        frame["pain"] = pain[:weeks, s]
        rows.append(frame)
    return pd.concat(rows, ignore_index=True)
