"""Regional prices that clear: the GCMat rule (excess demand and inventory gap), no anchor.

Each good has a price inside China (`CHN`) and one outside (`ROW`). Every week, in each region,

    d log p = demand_sensitivity * excess_demand + inventory_sensitivity * inventory_gap

where excess_demand is (orders placed, less those that replace refused applications, - goods
shipped to the region) / usual weekly demand and
inventory_gap is (target stock - stock) / target stock, stocks being buyers' and producers'
inventories in the region (buyers' input stocks included, and goods waiting for an export
licence counted where they physically are: in the exporting region). Nothing pulls a price back to its
old level: it stops moving only when orders are met and stocks are at target. When exports
from China are blocked, orders abroad go unshipped (the price outside rises) while the goods
that cannot leave pile up in Chinese producers' stocks (the price inside falls) until producers
cut output and Chinese buyers, facing the lower price, use more.
"""

from __future__ import annotations

import numpy as np

from abm.market.books import N_REGIONS
from abm.market.trade import export_prices

MAX_WEEKLY_LOG_CHANGE = 0.5


def excess_demand_and_gap(model) -> tuple[np.ndarray, np.ndarray]:
    """Excess demand and inventory gap by (good, region), as arrays [n_goods, 2]."""
    b, p, e = model.buyers, model.pairs, model.exporters
    size = len(model.goods) * N_REGIONS
    key_b, key_e = b.price_key, e.price_key
    usual = model.usual_demand_t  # this week's, from the buyers' orders
    demand = np.bincount(key_b, weights=usual, minlength=size)
    # Orders that replace refused applications are not new demand.
    orders = np.bincount(key_b, weights=model.orders_t - model.refused_last_week_t, minlength=size)
    shipped = np.bincount(p.price_key, weights=model.shipped_this_week, minlength=size)
    stock = (np.bincount(key_b, weights=b.inventory_t, minlength=size)
             + np.bincount(key_e, weights=e.inventory_t, minlength=size)).astype(float, copy=False)
    # Goods waiting for a licence or in customs are still in the exporting country's
    # warehouses: they weigh on its market, not the buyer's.
    if b.queued_t.any():
        held = np.where(model.pair_licence, p.share, 0.0)
        total = np.bincount(p.buyer, weights=held, minlength=b.good.size)
        part = np.divide(held, total[p.buyer], out=np.zeros_like(held),
                         where=total[p.buyer] > 0) * b.queued_t[p.buyer]
        stock += np.bincount(p.origin_price_key, weights=part, minlength=size)
    # (bincount of no weights at all is integer: float without a copy when it is not)
    target = np.bincount(key_b, weights=b.cover_weeks * usual, minlength=size).astype(
        float, copy=False)
    target += np.bincount(key_e, weights=e.inventory_weeks * e.expected_orders_t, minlength=size)
    excess = np.divide(orders - shipped, demand, out=np.zeros(size), where=demand > 1e-9)
    gap = np.divide(target - stock, target, out=np.zeros(size), where=target > 1e-9)
    return excess.reshape(-1, N_REGIONS), gap.reshape(-1, N_REGIONS)


def update_prices(model) -> None:
    excess, gap = excess_demand_and_gap(model)
    change = model.price_demand_sensitivity * excess + model.price_inventory_sensitivity * gap
    change = np.minimum(np.maximum(change, -MAX_WEEKLY_LOG_CHANGE), MAX_WEEKLY_LOG_CHANGE)
    model.price_usd_per_kg = model.price_usd_per_kg * np.exp(change)
    if model.config.market.export_price_parity:
        parity = model.price_usd_per_kg[:, 0] * model.reference_price[:, 1] / model.reference_price[:, 0]
        model.price_usd_per_kg[:, 1] = np.maximum(model.price_usd_per_kg[:, 1], parity)
    export_prices(model)
