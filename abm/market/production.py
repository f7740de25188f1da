"""Production: producers plan output from their orders and stock, limited by capacity and by
the input stocks their buyers of inputs hold (the chain oxide -> magnet -> products).

A producer with `inputs` (tonnes of input per tonne of output, less what its input buyer has
thrifted away) can make at most min over inputs of stock / content. What it makes draws the
inputs down: the input is then consumed (it leaves the material balance of the input good and
is embodied in the output). A control on an input therefore cuts output downstream once the
producers' input stocks run down.
"""

from __future__ import annotations

import numpy as np

from abm.market.trade import TINY_T


def input_content_t_per_t(model) -> np.ndarray:
    """Input per tonne of output of each input buyer: the bill of materials, less what is
    thrifted or designed out (the substituted share, the one adaptation channel, which takes
    as long as a redesign)."""
    b = model.buyers
    return model.input_content_t_per_t * (1.0 - b.substituted[model.inputs_at])


def plan_inputs(model) -> None:
    """Input buyers' demand: what their producer plans to make this week, times content; their
    usual demand follows the producer's forecast orders."""
    b, e = model.buyers, model.exporters
    inputs = model.inputs_at
    if model.n_inputs == 0:
        return
    maker, bill = model.input_maker, model.input_content_t_per_t
    content = input_content_t_per_t(model)
    planned = e.planned_t[maker]
    b.mean_demand_t[inputs] = bill * e.expected_orders_t[maker]
    b.demand_t[inputs] = bill * planned
    b.need_t[inputs] = content * planned


def produce(model, shippable_orders_t: np.ndarray) -> None:
    """Each producer class's production rule, within capacity and input stocks."""
    p, e, b = model.pairs, model.exporters, model.buyers
    n_e = e.good.size
    open_orders = np.bincount(p.exporter, weights=shippable_orders_t, minlength=n_e)
    target_stock = e.inventory_weeks * e.expected_orders_t
    planned = np.zeros(n_e)
    for cls, idx in model.exporter_rules:
        planned[idx] = cls.production_t(
            e.capacity_t[idx], open_orders[idx], e.inventory_t[idx], target_stock[idx]
        )
    produced = planned
    inputs = model.inputs_at
    if model.n_inputs:
        maker = model.input_maker
        content = input_content_t_per_t(model)
        can_make = np.divide(b.inventory_t[inputs], content, out=np.full(model.n_inputs, np.inf),
                             where=content > TINY_T)
        limit = np.full(n_e, np.inf)
        np.minimum.at(limit, maker, can_make)
        produced = np.minimum(planned, limit)
        used = np.minimum(content * produced[maker], b.inventory_t[inputs])
        b.inventory_t[inputs] -= used
        b.used_t[inputs] = used
        planned_by_input = planned[maker]
        b.need_t[inputs] = content * planned_by_input
        b.demand_t[inputs] = model.input_content_t_per_t * planned_by_input
        np.add.at(model.consumed_total_t, model.input_good, used)
    e.planned_t = planned
    e.produced_t = produced
    e.inventory_t += produced
    np.add.at(model.produced_total_t, e.good, produced)


def forecast_orders(model) -> None:
    """Producers smooth their new orders into a forecast (`market.exporter_forecast_weeks`)."""
    e, p = model.exporters, model.pairs
    smoothing = 1.0 / model.config.market.exporter_forecast_weeks
    new = np.bincount(p.exporter, weights=model.new_orders_t, minlength=e.good.size)
    e.expected_orders_t += smoothing * (new - e.expected_orders_t)
