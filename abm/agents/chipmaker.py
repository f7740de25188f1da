"""Chipmakers: US designers (like Nvidia), allied foundries (like TSMC) and Chinese chipmakers.

What a chipmaker decides each week (`abm.market.chips.ChipMarket.step`), in order:

1. `accepted_share`: how much of its usual demand in each region it may serve (its home
   State's licences, the buyers' State's discouragement);
2. `planned_units`: how much to make for each region, to meet orders and restore stock;
3. `input_factor`: how much of its capacity it can use, given its stock of the controlled input;
4. `capacity_growth_per_week`: how fast its capacity grows.

As for buyers, a chipmaker's state lives in the chip market's arrays (`abm.market.chips`) and
is reachable from the agent (`capacity_units_per_week`, `inventory_units`). The decision rules
are static methods acting on the arrays of every chipmaker of the class at once; a subclass
overrides one to change a behaviour, and a scenario names it (`[[chipmakers]] behaviour`).
Quantities are in units (accelerators) a week, money in USD.
"""

from __future__ import annotations

import mesa
import numpy as np


class Chipmaker(mesa.Agent):
    """One chipmaker: kind (`designer`, `foundry`, `integrated`), capacity, stock of chips by
    region of sale, and a stock of the controlled input its production needs."""

    behaviour = "default"

    def __init__(self, model, index: int, name: str, country: str, kind: str):
        super().__init__(model)
        self.index = index
        self.name = name
        self.country = country
        self.kind = kind

    @property
    def capacity_units_per_week(self) -> float:
        return float(self.model.chip_market.capacity_units[self.index])

    @property
    def inventory_units(self) -> float:
        return float(self.model.chip_market.inventory_units[self.index].sum())

    # --- decision rules, vectorised over all chipmakers of the class -------------------------

    @staticmethod
    def planned_units(
        expected_units: np.ndarray,
        inventory_units: np.ndarray,
        inventory_weeks: float,
        adjust_weeks: float,
    ) -> np.ndarray:
        """Production wanted for each region of sale (units/week): expected orders plus the gap
        to target stock (`inventory_weeks` of expected orders) closed over `adjust_weeks`."""
        target = inventory_weeks * expected_units
        return np.maximum(0.0, expected_units + (target - inventory_units) / adjust_weeks)

    @staticmethod
    def accepted_share(permitted: np.ndarray, discouraged: np.ndarray) -> np.ndarray:
        """Share of a maker's usual demand in a region that it may serve: what its home State
        licenses, less what the buyers' State steers away."""
        return permitted * (1.0 - discouraged)

    @staticmethod
    def capacity_growth_per_week(
        growth_per_year: np.ndarray,
        substitution_per_year: np.ndarray,
        displaced_share: np.ndarray,
        technology_drag: np.ndarray,
        technology_level: np.ndarray,
    ) -> np.ndarray:
        """Weekly capacity growth: the usual rate, plus substitution while imports into the
        home region are displaced (blocked or discouraged), slowed by foreign technology
        controls (chip-design software, tools)."""
        yearly = growth_per_year + substitution_per_year * displaced_share
        yearly = yearly * (1.0 - technology_drag * technology_level)
        return (1.0 + yearly) ** (1.0 / 52.0) - 1.0

    @staticmethod
    def input_factor(
        stock_weeks: np.ndarray, supply_share: np.ndarray, dependence: np.ndarray
    ) -> np.ndarray:
        """Share of capacity usable given the controlled input: full while a week's stock is
        left, then the dependent share of output is limited to what supply delivers."""
        # np.minimum(np.maximum(...)) is np.clip without its Python-level overhead
        covered = np.minimum(np.maximum(stock_weeks + supply_share, 0.0), 1.0)
        return 1.0 - dependence * (1.0 - covered)
