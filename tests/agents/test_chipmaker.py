"""Chipmaker decision rules (vectorised static methods) and their handles on the model."""

from __future__ import annotations

import numpy as np
import pytest

import abm
from abm.agents.chipmaker import Chipmaker
from tests.chip_scenarios import chips_tiny


def test_planned_units_restore_target_stock():
    plan = Chipmaker.planned_units(np.array([100.0, 100.0]), np.array([200.0, 0.0]), 2.0, 4.0)
    np.testing.assert_allclose(plan, [100.0, 150.0])
    assert Chipmaker.planned_units(np.array([0.0]), np.array([500.0]), 2.0, 4.0)[0] == 0.0


def test_capacity_grows_faster_when_imports_are_displaced_and_slower_under_tech_controls():
    def growth(displaced, technology):
        return Chipmaker.capacity_growth_per_week(
            np.array([0.4]), np.array([0.6]), np.array([displaced]), np.array([0.5]),
            np.array([technology]))[0]

    assert (1 + growth(0.0, 0.0)) ** 52 == pytest.approx(1.4)
    assert (1 + growth(1.0, 0.0)) ** 52 == pytest.approx(2.0)
    assert (1 + growth(1.0, 1.0)) ** 52 == pytest.approx(1.5)


def test_input_factor_limits_only_the_dependent_share_once_stock_is_gone():
    factor = Chipmaker.input_factor(np.array([5.0, 0.0, 0.0]), np.array([0.0, 0.0, 0.5]),
                                    np.array([0.2, 0.2, 0.2]))
    np.testing.assert_allclose(factor, [1.0, 0.8, 0.9])


def test_accepted_share_combines_licences_and_discouragement():
    share = Chipmaker.accepted_share(np.array([1.0, 0.5, 0.0]), np.array([0.95, 0.0, 0.0]))
    np.testing.assert_allclose(share, [0.05, 0.5, 0.0])


def test_handles_read_the_market_arrays(write_scenario):
    result = abm.run(abm.load(write_scenario(chips_tiny())), seed=0)
    market = result.model.chip_market
    agents = {a.name: a for a in market.agents}
    assert agents["domestic"].kind == "integrated"
    assert agents["domestic"].capacity_units_per_week == pytest.approx(550.0)
    assert agents["designer"].inventory_units == pytest.approx(market.inventory_units[0].sum())
    assert all(isinstance(a, Chipmaker) for a in result.model.agents_by_type[Chipmaker])
