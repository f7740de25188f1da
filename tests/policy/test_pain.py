"""Pain measures: shares in [0, 1] that respond to the shocks that cause them."""

from __future__ import annotations

import datetime as dt

import pytest

import abm
from abm.policy.pain import weekly_pain
from abm.scenario.config import PAIN_COMPONENTS


def test_pain_follows_the_2025_shocks():
    result = abm.run(abm.load("controls-2025"), seed=0, until=dt.date(2025, 6, 30))
    pain = weekly_pain(result.model)
    assert pain[list(PAIN_COMPONENTS)].min().min() >= 0.0
    assert pain[list(PAIN_COMPONENTS)].max().max() <= 1.0
    before = pain[pain["date"] < "2025-02-01"]
    assert before["pain"].max() < 0.05
    week = pain[pain["date"] == "2025-05-05"].set_index("state")
    # H20 blocked: China loses the half of its AI-chip supply that was imported ...
    assert week.loc["CHN", "chip_shortfall"] == pytest.approx(0.47, abs=0.05)
    # ... and US chipmakers lose China, about 13% of the US designer's revenue.
    assert week.loc["USA", "export_revenue_loss"] == pytest.approx(0.12, abs=0.03)
    assert week.loc["USA", "tariff_cost"] > 0.9  # 145% on imports from China
    assert week.loc["USA", "buyers_halted"] >= 0.0
    assert pain.loc[pain["state"] == "USA", "buyers_halted"].max() > 0.2
