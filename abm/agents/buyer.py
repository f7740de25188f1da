"""Buyers of a good (automakers, wind, motors, electronics, defence; magnet makers buying oxide).

What a buyer decides, in the order of the week (`abm.model.ExportControlModel.step`):

1. `target_cover_weeks`: how many weeks of use to hold (more when alerted to controls);
2. `order_t`: how much to order to reach that cover (order-up-to), and `cancel_t`: how much of
   what waits for a licence to cancel when it holds more than it needs;
3. `is_halted`: whether what it could use this week is too little to keep producing;
4. `target_shares`: how attractive each of its suppliers is, given their reliability, landed
   price and origin country (its sourcing shares move toward these);
5. `substituted_share`: how much of its use to replace by substitutes or thrift away.

A buyer's state lives in the model's arrays (so that a week is a few NumPy operations over all
buyers) and is reachable from the agent through its properties (`inventory_t`, `demand_t`,
`sourcing`, ...). The decision rules are static methods that act on the arrays of every buyer
of the class at once: a subclass overrides one to change a behaviour, a scenario names the
subclass by its behaviour name (`[[buyers]] behaviour = "dual_sourcing"`,
`abm.agents.behaviours`), and the model applies each class's rules to its own buyers.
"""

from __future__ import annotations

import mesa
import numpy as np


class Buyer(mesa.Agent):
    """One buyer firm: weekly demand (t/week), an inventory measured in weeks of cover, an
    order-up-to rule and sourcing shares across origin countries."""

    behaviour = "default"

    def __init__(self, model, index: int, country: str, sector: str, good: str):
        super().__init__(model)
        self.index = index
        self.country = country
        self.sector = sector
        self.good = good

    @property
    def inventory_t(self) -> float:
        return float(self.model.buyers.inventory_t[self.index])

    @property
    def cover_weeks(self) -> float:
        """Inventory in weeks of its mean demand."""
        book = self.model.buyers
        return float(book.inventory_t[self.index] / max(book.mean_demand_t[self.index], 1e-12))

    @property
    def halted(self) -> bool:
        return bool(self.model.buyers.halted[self.index])

    @property
    def halted_weeks(self) -> int:
        return int(self.model.buyers.halted_weeks[self.index])

    @property
    def demand_t(self) -> float:
        """This week's demand (t)."""
        return float(self.model.buyers.demand_t[self.index])

    @property
    def used_t(self) -> float:
        """What it used this week (t)."""
        return float(self.model.buyers.used_t[self.index])

    @property
    def target_cover_weeks_now(self) -> float:
        """The cover it aims at this week (weeks of demand)."""
        return float(self.model.buyers.cover_weeks[self.index])

    @property
    def alert(self) -> float:
        """How much it fears controls (0 to 1)."""
        return float(self.model.buyers.alert[self.index])

    @property
    def substituted(self) -> float:
        """Share of its use replaced by substitutes (0 to 1)."""
        return float(self.model.buyers.substituted[self.index])

    @property
    def sourcing(self) -> dict[str, float]:
        """Its current sourcing shares by origin country."""
        pairs = self.model.pairs
        mine = pairs.buyer == self.index
        return {self.model.countries[o]: float(s)
                for o, s in zip(pairs.origin[mine], pairs.share[mine], strict=True)}

    # --- decision rules, vectorised over all buyers of the class ------------------------------

    @staticmethod
    def target_cover_weeks(base_cover: np.ndarray, alert: np.ndarray, gain: float) -> np.ndarray:
        """Target inventory in weeks: the usual cover, raised by stockpiling when alerted."""
        return base_cover * (1.0 + gain * alert)

    @staticmethod
    def order_t(
        mean_demand_t: np.ndarray,
        cover_weeks: np.ndarray,
        lead_weeks: np.ndarray,
        position_t: np.ndarray,
        adjust_weeks: float,
    ) -> np.ndarray:
        """Order-up-to: replace expected use and close the gap between the inventory position
        (stock + in transit + on order + in licence queues) and its target (cover plus expected
        lead time, in weeks of demand) over `adjust_weeks`."""
        target_t = Buyer.target_position_t(mean_demand_t, cover_weeks, lead_weeks)
        return np.maximum(0.0, mean_demand_t + (target_t - position_t) / adjust_weeks)

    @staticmethod
    def cancel_t(
        mean_demand_t: np.ndarray,
        cover_weeks: np.ndarray,
        lead_weeks: np.ndarray,
        position_t: np.ndarray,
        adjust_weeks: float,
    ) -> np.ndarray:
        """Orders still waiting for a licence that the buyer cancels this week (t): the excess
        of its inventory position over its target, over `adjust_weeks` (a buyer whose output
        was cut, or who expects shorter waits, does not take delivery of magnets it no longer
        needs). Orders already licensed are not cancelled."""
        target_t = Buyer.target_position_t(mean_demand_t, cover_weeks, lead_weeks)
        return np.maximum(0.0, position_t - target_t) / adjust_weeks

    @staticmethod
    def target_position_t(mean_demand_t: np.ndarray, cover_weeks: np.ndarray,
                          lead_weeks: np.ndarray) -> np.ndarray:
        """The inventory position (t) the buyer aims at: its cover plus the expected lead time,
        in weeks of its usual use (what `order_t` orders up to and `cancel_t` cancels down to)."""
        return mean_demand_t * (cover_weeks + lead_weeks)

    @staticmethod
    def target_shares(
        base_share: np.ndarray,
        reliability: np.ndarray,
        landed_price_ratio: np.ndarray,
        price_elasticity: float,
        reliability_weight: float,
        origin: np.ndarray,
    ) -> np.ndarray:
        """Unnormalised attractiveness of each (buyer, origin) link: the baseline share, scaled
        down by unreliable delivery and by landed prices above their baseline. `origin` is the
        ISO3 code of each link's origin country (a NumPy array of str, `origin == "CHN"` picks
        China's links); the default rule treats every origin alike and does not read it."""
        # Exponents of 1 (the usual case) skip the slow power.
        weight = reliability if reliability_weight == 1.0 else reliability**reliability_weight
        price = (1.0 / landed_price_ratio if price_elasticity == 1.0
                 else landed_price_ratio**-price_elasticity)
        return base_share * weight * price

    @staticmethod
    def substituted_share(
        substituted: np.ndarray,
        pressure: np.ndarray,
        ceiling: np.ndarray,
        lead_weeks: np.ndarray,
        reversal_weeks: np.ndarray,
    ) -> np.ndarray:
        """Share of use replaced by substitutes or thrifted away, next week. Under pressure
        (remembered shortfall share or landed-price rise, 0 to 1) the buyer moves toward
        `ceiling` times the pressure with time constant `lead_weeks` (redesign, qualification);
        once done a redesign is sticky and is undone only over `reversal_weeks`."""
        target = ceiling * np.minimum(np.maximum(pressure, 0.0), 1.0)  # np.clip, without its wrapper
        rate = np.where(target > substituted, 1.0 / lead_weeks, 1.0 / reversal_weeks)
        return substituted + rate * (target - substituted)

    @staticmethod
    def is_halted(used_t: np.ndarray, need_t: np.ndarray, threshold: float) -> np.ndarray:
        """A buyer halts in a week in which it meets less than `threshold` of its need (its
        demand less what it has substituted)."""
        return used_t < threshold * need_t


class DualSourcingBuyer(Buyer):
    """A buyer that does not rely on one supplier: it keeps a strategic stock of
    `strategic_stock_weeks` above its usual cover, and weighs every one of its suppliers at
    least `second_source_weight` (times their reliability), which pulls its sourcing shares
    toward an even split across its origins. Scenario name: `dual_sourcing`."""

    behaviour = "dual_sourcing"
    strategic_stock_weeks = 4.0
    second_source_weight = 0.5

    @classmethod
    def target_cover_weeks(cls, base_cover, alert, gain):
        return Buyer.target_cover_weeks(base_cover, alert, gain) + cls.strategic_stock_weeks

    @classmethod
    def target_shares(cls, base_share, reliability, landed_price_ratio, price_elasticity,
                      reliability_weight, origin):
        usual = Buyer.target_shares(base_share, reliability, landed_price_ratio,
                                    price_elasticity, reliability_weight, origin)
        return usual + cls.second_source_weight * reliability


MagnetBuyer = Buyer  # the name of this class before buyers of any good were modelled
