"""Regional prices: the GCMat rule (excess demand and inventory gap) with a weak anchor.

Each good has a price inside China (`CHN`) and one outside (`ROW`). Every week, in each region,

    d log p = demand_sensitivity * excess_demand + inventory_sensitivity * inventory_gap
              - reversion_per_week * log(p / p_ref)

where excess_demand is (orders placed - goods shipped to the region) / mean weekly demand and
inventory_gap is (target stock - stock) / target stock, stocks being buyers' and producers'
inventories in the region. When exports from China are blocked, orders abroad go unshipped
(the price outside rises) while Chinese producers' stocks build up (the price inside falls).
"""

from __future__ import annotations

import numpy as np

N_REGIONS = 2
MAX_WEEKLY_LOG_CHANGE = 0.5


def excess_demand_and_gap(model) -> tuple[np.ndarray, np.ndarray]:
    """Excess demand and inventory gap by (good, region), as arrays [n_goods, 2]."""
    b, p, e = model.buyers, model.pairs, model.exporters
    size = len(model.goods) * N_REGIONS
    key_b = b.good * N_REGIONS + b.region
    key_e = e.good * N_REGIONS + e.region
    demand = np.bincount(key_b, weights=b.mean_demand_t * b.demand_factor, minlength=size)
    orders = np.bincount(key_b, weights=model.orders_t, minlength=size)
    shipped = np.bincount(key_b[p.buyer], weights=model._shipped_this_week, minlength=size)
    stock = np.bincount(key_b, weights=b.inventory_t, minlength=size) + np.bincount(
        key_e, weights=e.inventory_t, minlength=size
    )
    target = np.bincount(key_b, weights=b.cover_weeks * b.mean_demand_t, minlength=size)
    target += np.bincount(key_e, weights=e.inventory_weeks * e.expected_orders_t, minlength=size)
    excess = np.divide(orders - shipped, demand, out=np.zeros(size), where=demand > 1e-9)
    gap = np.divide(target - stock, target, out=np.zeros(size), where=target > 1e-9)
    return excess.reshape(-1, N_REGIONS), gap.reshape(-1, N_REGIONS)


def update_prices(model) -> None:
    excess, gap = excess_demand_and_gap(model)
    goods = model.config.goods
    k_demand = np.array([g.demand_sensitivity for g in goods])[:, None]
    k_stock = np.array([g.inventory_sensitivity for g in goods])[:, None]
    reversion = np.array([g.reversion_per_week for g in goods])[:, None]
    anchor = np.log(model.price_usd_per_kg / model.reference_price)
    change = k_demand * excess + k_stock * gap - reversion * anchor
    change = np.clip(change, -MAX_WEEKLY_LOG_CHANGE, MAX_WEEKLY_LOG_CHANGE)
    model.price_usd_per_kg = model.price_usd_per_kg * np.exp(change)
