"""Slow adjustments at the end of the week: supplier reliability and sourcing shares,
stockpiling alerts, final demand's response to the product's price, substitution and
thrifting, capacity expansion and market growth (demand, producers' and licence offices'
capacities). Each behaviour is a rule of the agent class (`abm.agents`), applied to the
arrays of all agents of the class at once."""

from __future__ import annotations

import numpy as np

from abm.market.trade import TINY_T


def landed_price_usd_per_kg(model) -> np.ndarray:
    """Price at which each pair's goods reach the buyer: what it pays in its region (contract
    and spot), plus tariff."""
    p = model.pairs
    return model.prices.transaction(p.contract_share, p.price_key) * model.pair_tariff_factor


def adjust(model) -> None:
    b, p, e = model.buyers, model.pairs, model.exporters
    market = model.config.market
    memory = 1.0 / market.reliability_memory_weeks
    p.ordered_t += memory * (model.new_orders_t - p.ordered_t)
    p.shipped_t += memory * (model.shipped_this_week - p.shipped_t)
    # np.minimum(np.maximum(...)) is np.clip without its Python wrapper, which costs more
    # than the work on arrays of this size.
    reliability = np.minimum(np.maximum(
        np.divide(p.shipped_t, p.ordered_t, out=np.ones_like(p.shipped_t),
                  where=p.ordered_t > TINY_T), 0.0), 1.0)
    ratio = landed_price_usd_per_kg(model) / p.base_landed_usd_per_kg
    attractiveness = np.zeros(p.buyer.size)
    origin = np.asarray(model.countries)[p.origin]  # each link's origin, ISO3 code
    for cls, idx in model.buyer_rules:
        mask = model.pairs_of(cls, idx)
        attractiveness[mask] = cls.target_shares(
            p.base_share[mask], reliability[mask], ratio[mask],
            market.sourcing_price_elasticity, market.sourcing_reliability_weight, origin[mask],
        )
    total = np.bincount(p.buyer, weights=attractiveness, minlength=b.good.size)[p.buyer]
    target = np.divide(attractiveness, total, out=p.base_share.copy(), where=total > 1e-12)
    p.share += market.sourcing_adjust_per_week * (target - p.share)

    decay = 0.5 ** (1.0 / market.alert_half_life_weeks)
    b.alert *= decay
    if market.restock_after_shortage > 0:
        b.alert[b.halted] = np.maximum(b.alert[b.halted], market.restock_after_shortage)

    landed_buyer = np.bincount(p.buyer, weights=p.share * ratio, minlength=b.good.size)
    final = model.final_at
    if model.any_demand_elasticity:
        # Final demand answers the product's price, which rises by the good's cost share
        # times the rise of its landed price (magnets are a few percent of a car's cost).
        product_price = np.maximum(1.0 + b.input_cost_share * (landed_buyer - 1.0), 1e-6)
        target_factor = product_price ** -b.final_demand_elasticity
        b.demand_factor += (target_factor - b.demand_factor) / model.buyer_demand_response_weeks

    short = np.divide(b.need_t - b.used_t, b.need_t, out=np.zeros(b.good.size),
                      where=b.need_t > TINY_T)
    # A price rise presses a buyer to adapt in proportion to what adapting costs: a premium
    # over its usual landed price as large as the substitute's extra cost per tonne is full
    # pressure.
    premium_usd_per_t = (landed_buyer - 1.0) * model.buyer_base_price_usd_per_t
    price_pressure = np.divide(premium_usd_per_t, b.substitution_cost_usd_per_t,
                               out=np.maximum(landed_buyer - 1.0, 0.0),
                               where=b.substitution_cost_usd_per_t > 0)
    b.pressure += (np.maximum(short, price_pressure) - b.pressure) / market.pressure_memory_weeks
    if model.substitutes:
        for cls, idx in model.buyer_rules:
            b.substituted[idx] = cls.substituted_share(
                b.substituted[idx], b.pressure[idx], b.substitution_ceiling[idx],
                b.substitution_lead_weeks[idx], b.substitution_reversal_weeks[idx],
            )

    if e.expansion_per_year.any():
        ratio_e = (np.take(model.price_usd_per_kg.reshape(-1), e.price_key)
                   / np.take(model.reference_price.reshape(-1), e.price_key))
        added = np.zeros(e.good.size)
        for cls, idx in model.exporter_rules:
            added[idx] = cls.capacity_investment_t(
                e.capacity_t[idx], ratio_e[idx], e.expansion_price_ratio[idx],
                e.expansion_per_year[idx],
            )
        ordered = added.nonzero()[0]
        if ordered.size:  # comes online after each producer's lead time (a few distinct ones)
            online = model.steps + e.expansion_lead_weeks[ordered].astype(np.int64)
            for week in np.unique(online).tolist():
                at = ordered[online == week]
                e.capacity_pipeline.setdefault(week, np.zeros(e.good.size))[at] += added[at]
    growth = market.demand_growth_per_year
    if growth:
        weekly = (1.0 + growth) ** (1.0 / 52.0)
        b.mean_demand_t[final] *= weekly
        e.capacity_t *= weekly
        # A licence office's capacity is stated at the market's size when it opens and grows
        # with the market, as producers' capacities do.
        for state in model.states.values():
            for office in state.offices.values():
                office.capacity_scale *= weekly
    arriving = e.capacity_pipeline.pop(model.steps, None)
    if arriving is not None:
        e.capacity_t += arriving
