"""Producers of a good (magnet makers, separators). State in the model's arrays; the agent is
its handle; rules are static methods over all exporters of the class, overridable."""

from __future__ import annotations

import mesa
import numpy as np


class Exporter(mesa.Agent):
    """A producer with capacity (t/week), an inventory and customers at home and abroad."""

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

    @staticmethod
    def production_t(
        capacity_t: np.ndarray,
        open_orders_t: np.ndarray,
        inventory_t: np.ndarray,
        target_inventory_t: np.ndarray,
    ) -> np.ndarray:
        """Produce what fills open orders and restores target stock, within capacity."""
        return np.clip(open_orders_t + target_inventory_t - inventory_t, 0.0, capacity_t)

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
