"""Accounting: material balance by stage, and the week's values by country.

Values are in value added where they stand for output (`Sector.value_added_share`):
`output_lost_usd` of `weekly_values` is value added lost, `gross_output_lost_usd` the gross
figure. Material: for each good (each stage of the chain), initial stock + produced = used by final
buyers + used as an input by producers + stocks (buyers', producers') + in transit. A licence
application holds an order, not goods (exporters make and ship once licensed), so nothing
material waits in a licence queue. Values (USD a week, by country): output lost and substitution costs
of its buyers; its producers' export sales at the usual margin and, separately, the licence
rent (the gap between the price abroad and at home on licensed tonnes); its chipmakers'
sales abroad and the revenue share paid to it.
"""

from __future__ import annotations

import numpy as np


def material_balance(model) -> dict[str, dict[str, float]]:
    """By good: initial stock + produced, against use + stocks + in transit (t)."""
    b, e = model.buyers, model.exporters
    n = len(model.goods)
    inputs = b.is_input
    parts = {
        "initial_stock_t": model.initial_stock_t,
        "produced_t": model.produced_total_t,
        "consumed_t": model.consumed_total_t,
        "buyer_inventory_t": np.bincount(b.good, weights=b.inventory_t * ~inputs, minlength=n),
        "input_inventory_t": np.bincount(b.good, weights=b.inventory_t * inputs, minlength=n),
        "exporter_inventory_t": np.bincount(e.good, weights=e.inventory_t, minlength=n),
        "in_transit_t": np.bincount(b.good, weights=b.transit_t.sum(axis=0), minlength=n),
    }
    return {good: {name: float(v[i]) for name, v in parts.items()}
            for i, good in enumerate(model.goods)}


def stock_by_good(model) -> np.ndarray:
    b, e = model.buyers, model.exporters
    n = len(model.goods)
    return (np.bincount(b.good, weights=b.inventory_t + b.transit_t.sum(axis=0),
                        minlength=n)
            + np.bincount(e.good, weights=e.inventory_t, minlength=n))


def usual_export_rates(model) -> tuple[np.ndarray, np.ndarray]:
    """Per buyer-origin link: usual export value (USD a week per tonne a week of the buyer's
    demand, at reference prices) and the exporting country (n_countries for domestic links).
    Fixed once the links are built."""
    b, p = model.buyers, model.pairs
    price = model.reference_price[b.good[p.buyer], model.country_region[p.origin]] * 1000.0
    return p.base_share * price, np.where(p.foreign, p.origin, len(model.countries))


def usual_values(model, export_rates: tuple[np.ndarray, np.ndarray]) -> dict[str, np.ndarray]:
    """This week's values by country had nothing disrupted trade: buyers' usual flows at
    reference prices (`export_rates` from `usual_export_rates`), chipmakers' usual shares of
    demand, all chip demand served."""
    b, p = model.buyers, model.pairs
    n = len(model.countries)
    value, origin = export_rates
    flow = b.mean_demand_t[p.buyer] * value
    export = np.bincount(origin, weights=flow, minlength=n + 1)[:n]
    chips = model.chip_market
    served = chips.demand_of_regions_units()  # usually every region's demand is served
    region_of, partner_region = model.country_region, model.partner_region
    zeros = np.zeros(n)
    return {
        "output_lost_usd": zeros, "substitution_cost_usd": zeros,
        "export_revenue_usd": export, "licence_rent_usd": zeros,
        "chip_revenue_usd": chips.usual_revenue_abroad_usd(),
        "compute_units": served[region_of], "partner_compute_units": served[partner_region],
    }


def weekly_values(model) -> dict[str, np.ndarray]:
    """This week's values by country (arrays over `model.countries`, USD or chip units)."""
    b, p = model.buyers, model.pairs
    n = len(model.countries)
    foreign_origin = p.foreign_origin
    value = np.bincount(foreign_origin, weights=model.value_this_week, minlength=n + 1)[:n]
    rent = np.bincount(foreign_origin, weights=model.rent_this_week, minlength=n + 1)[:n]
    chips = model.chip_market
    chip_revenue, served = chips.revenue_abroad_usd(), chips.served_units()
    # The rival's region is China's for the others, and the rest of the world's for China.
    region_of, partner_region = model.country_region, model.partner_region
    # Payoffs value output lost in value added (a stopped car plant loses the value it adds,
    # not the car's price); the gross figure is reported beside it.
    output_lost = np.bincount(b.country, weights=b.value_added_lost_usd, minlength=n)
    return {
        "output_lost_usd": output_lost,
        "gross_output_lost_usd": np.bincount(b.country, weights=b.output_lost_usd, minlength=n),
        "substitution_cost_usd": np.bincount(b.country, weights=b.substitution_cost_usd,
                                             minlength=n),
        "export_revenue_usd": value - rent,
        "licence_rent_usd": rent,
        "chip_revenue_usd": chip_revenue,
        "compute_units": served[region_of],
        "partner_compute_units": served[partner_region],
        "output_value_usd": np.bincount(
            b.country, weights=b.demand_t * b.value_usd_per_t * b.value_added_share, minlength=n),
    }
