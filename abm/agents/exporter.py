"""Producers of a good (magnet makers, separators).

What a producer decides, in the order of the week:

1. `production_t`: how much to make (to fill open orders and restore its stock, within
   capacity; the model then limits it by the input stocks it holds);
2. `contract_claim_t`: how much of each customer's order it serves first, before the rest of
   its stock is sold spot to the highest bidders (for goods allocated by `priority`);
3. `capacity_investment_t`: how much capacity to order while prices are high.

Its state lives in the model's arrays (`abm.market.books.ExporterBook`) and is reachable from
the agent (`capacity_t_per_week`, `inventory_t`, `produced_t`, `expected_orders_t`). The rules
are static methods over all exporters of the class; a subclass overrides one, and a scenario
names the subclass by its behaviour name (`[[exporters]] behaviour = "rationing"`).
"""

from __future__ import annotations

import mesa
import numpy as np


class Exporter(mesa.Agent):
    """A producer with capacity (t/week), an inventory and customers at home and abroad."""

    behaviour = "default"

    def __init__(self, model, index: int, name: str, country: str, good: str):
        super().__init__(model)
        self.index = index
        self.name = name
        self.country = country
        self.good = good

    @property
    def capacity_t_per_week(self) -> float:
        return float(self.model.exporters.capacity_t[self.index])

    @property
    def inventory_t(self) -> float:
        return float(self.model.exporters.inventory_t[self.index])

    @property
    def produced_t(self) -> float:
        """What it made this week (t)."""
        return float(self.model.exporters.produced_t[self.index])

    @property
    def expected_orders_t(self) -> float:
        """Its forecast of weekly orders (t/week)."""
        return float(self.model.exporters.expected_orders_t[self.index])

    @staticmethod
    def production_t(
        capacity_t: np.ndarray,
        open_orders_t: np.ndarray,
        inventory_t: np.ndarray,
        target_inventory_t: np.ndarray,
    ) -> np.ndarray:
        """Produce what fills open orders and restores target stock, within capacity."""
        # np.clip without its Python wrapper (which costs more than the work here)
        return np.minimum(np.maximum(open_orders_t + target_inventory_t - inventory_t, 0.0),
                          capacity_t)

    @staticmethod
    def contract_claim_t(
        shippable_t: np.ndarray, usual_flow_t: np.ndarray, contract_share: np.ndarray
    ) -> np.ndarray:
        """Per customer link: the tonnes served first, pro rata if stock is short. The
        contract volume: the sector's `contract_share` of the link's usual weekly flow (never
        more than the order that may ship)."""
        return np.minimum(shippable_t, contract_share * usual_flow_t)

    @staticmethod
    def capacity_investment_t(
        capacity_t: np.ndarray,
        price_ratio: np.ndarray,
        threshold_ratio: np.ndarray,
        growth_per_year: np.ndarray,
    ) -> np.ndarray:
        """Capacity (t/week) ordered this week: a weekly slice of the yearly growth rate while
        the regional price stays above the threshold multiple of its reference."""
        return np.where(price_ratio > threshold_ratio, capacity_t * growth_per_year / 52.0, 0.0)


class RationingExporter(Exporter):
    """A producer that rations to its long-term customers: when stock is short it serves every
    customer's usual weekly volume first (all of it, not only the contract share), pro rata,
    and sells only what is left spot, so surges of stockpiling orders and new customers wait.
    Scenario name: `rationing`."""

    behaviour = "rationing"

    @staticmethod
    def contract_claim_t(shippable_t, usual_flow_t, contract_share):
        return np.minimum(shippable_t, usual_flow_t)
