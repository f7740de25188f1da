"""Payoffs and pain: measured in USD from the model, and a concession costs its giver."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

import abm
from abm.policy.pain import COMPONENTS, weekly_pain

DEAL_END = dt.date(2025, 12, 31)


def test_pain_follows_the_2025_shocks():
    result = abm.run(abm.load("controls-2025"), seed=0, until=dt.date(2025, 9, 30))
    pain = weekly_pain(result.model)
    assert pain["pain"].min() >= 0.0
    before = pain[pain["date"] < "2025-02-01"]
    # Pain is damage against usual flows: nothing before the shocks, whatever the trends.
    assert before["pain"].max() < 0.005
    assert before["output_lost_usd"].max() < 1e6
    summer = pain[(pain["date"] >= "2025-05-01") & (pain["date"] < "2025-10-01")]
    usa = summer[summer["state"] == "USA"]
    chn = summer[summer["state"] == "CHN"]
    # US buyers lose output to the licences (value added, about a quarter of gross output)
    assert usa["output_lost_usd"].sum() > 1e7
    assert usa["pain"].max() > 0.05 and chn["pain"].max() > 0.005
    # H20 blocked: fewer chips served in China than before the controls.
    assert chn["compute_units"].mean() < 0.8 * before.loc[before["state"] == "CHN",
                                                          "compute_units"].mean()
    # China's leverage is what its controls cost the US: output lost and substitution.
    us_cost = usa["output_lost_usd"].to_numpy() + usa["substitution_cost_usd"].to_numpy()
    assert chn["partner_output_lost_usd"].to_numpy() == pytest.approx(us_cost)


def _london(chip_easing: float, approval: float):
    base = abm.load("london-2025")
    changes = {}
    for i, term in enumerate(base.deals["london"].terms):
        path = f"deals.london.terms[{i}].changes"
        if term.state == "CHN" and term.kind == "licence_policy":
            new = {"approval": approval}
            if "approval_by_destination.USA" in term.changes:
                new["approval_by_destination.USA"] = approval
            changes[path] = new
        elif term.state == "USA" and term.good == "ai_chip":
            changes[path] = {**term.changes, "approval_by_destination.CHN": chip_easing}
    # Three seeds, summed: one seed's demand noise moves output lost by as much as a lever.
    frames = []
    for seed in (1, 2, 3):
        result = abm.run(abm.override(base, changes), seed=seed, until=DEAL_END)
        pain = weekly_pain(result.model)
        frames.append(pain[pain["date"] >= "2025-06-10"].groupby("state")[
            [*COMPONENTS, "payoff_usd"]].sum())
    return sum(frames[1:], frames[0])


def test_a_concession_costs_its_giver():
    none = _london(chip_easing=0.0, approval=0.5)
    us_concedes = _london(chip_easing=1.0, approval=0.5)
    cn_concedes = _london(chip_easing=0.0, approval=0.95)
    # US easing: China is served more chips, a cost to the US greater than its chip revenue.
    assert us_concedes.loc["CHN", "compute_units"] > none.loc["CHN", "compute_units"]
    assert us_concedes.loc["USA", "payoff_usd"] < none.loc["USA", "payoff_usd"]
    assert us_concedes.loc["CHN", "payoff_usd"] > none.loc["CHN", "payoff_usd"]
    # China's faster licences: less US output lost, so less leverage and less licence rent.
    assert cn_concedes.loc["USA", "output_lost_usd"] < none.loc["USA", "output_lost_usd"]
    assert cn_concedes.loc["CHN", "partner_output_lost_usd"] < none.loc[
        "CHN", "partner_output_lost_usd"]
    assert cn_concedes.loc["USA", "payoff_usd"] > none.loc["USA", "payoff_usd"]
    assert isinstance(none, pd.DataFrame)
