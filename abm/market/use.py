"""Use: arrivals land in buyers' stocks; final buyers produce from stock.

A buyer needs its demand times (1 - substituted share) of the good this week; it uses what
its stock allows. Its output falls in proportion to the tonnes it lacks: output lost (USD) is
the share of need not met times its demand times the sector's `value_usd_per_t` (gross), and
in value added, times the sector's `value_added_share`; a producer
short of inputs loses its planned output not made, at its own price. Tonnes
replaced by substitutes cost `substitution_cost_usd_per_t`. A buyer is *halted* in a week in
which it meets less than `market.halt_threshold` of its need; halts are reported as shares of
demand (capacity), not counts of buyers.
"""

from __future__ import annotations

import numpy as np

from abm.market.trade import TINY_T


def draw_demand(model) -> None:
    """Final buyers' demand this week: mean demand, price response, and noise."""
    b = model.buyers
    cv = model.config.market.demand_cv
    noise = model.rng.lognormal(-0.5 * cv**2, cv, b.good.size) if cv > 0 else 1.0
    final = model.final_at
    demand = b.mean_demand_t * b.demand_factor * noise
    b.demand_t[final] = demand[final]
    b.need_t[final] = demand[final] * (1.0 - b.substituted[final])


def arrive(model) -> None:
    b = model.buyers
    slot = model.steps % (model.max_lag + 1)
    b.arrived_t = b.transit_t[slot].copy()
    b.transit_t[slot] = 0.0
    b.inventory_t += b.arrived_t


def use(model) -> None:
    """Final buyers use stock; output lost and halts for every buyer (input buyers' use was
    set when their producers produced)."""
    b = model.buyers
    final = model.final_at
    used = np.minimum(b.need_t[final], b.inventory_t[final])
    b.used_t[final] = used
    b.inventory_t[final] -= used
    np.add.at(model.consumed_total_t, model.final_good, used)
    met = np.divide(b.used_t, b.need_t, out=np.ones(b.good.size), where=b.need_t > TINY_T)
    b.output_lost_usd = (1.0 - met) * b.demand_t * b.value_usd_per_t
    inputs = model.inputs_at
    if model.n_inputs:
        # A producer short of inputs loses its output at its own price, booked in equal parts
        # on its input stocks (so a producer short of two inputs is not counted twice).
        e = model.exporters
        lost_t = np.maximum(0.0, e.planned_t - e.produced_t)[model.input_maker]
        price = model.price_usd_per_kg.reshape(-1).take(model.input_maker_price_key) * 1000.0
        b.output_lost_usd[inputs] = lost_t * price / model.input_maker_inputs
    b.value_added_lost_usd = b.output_lost_usd * b.value_added_share
    b.substitution_cost_usd = b.demand_t * b.substituted * b.substitution_cost_usd_per_t
    halted = np.zeros(b.good.size, dtype=bool)
    threshold = model.config.market.halt_threshold
    for cls, idx in model.buyer_rules:
        halted[idx] = cls.is_halted(b.used_t[idx], b.need_t[idx], threshold)
    b.halted = halted
    b.halted_weeks += halted
