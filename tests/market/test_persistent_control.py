"""The signatures of a control that lasts, on a made-up material and made-up countries, and an
input control that cuts output downstream through the chain."""

from __future__ import annotations

import abm

MATERIAL = """
[scenario]
name = "xenite-licences"
start = 2030-01-01
end = 2032-06-30

[[goods]]
name = "xenite"
unit = "t"
reference_price_usd_per_kg = { CHN = 10.0, ROW = 12.0 }

[[countries]]
code = "XAA"
price_region = "CHN"

[[countries]]
code = "XBB"

[[exporters]]
name = "xenite works"
country = "XAA"
good = "xenite"
capacity_t_per_week = 130.0

[[buyers]]
country = "XAA"
sector = "glassworks"
good = "xenite"
demand_t_per_year = 3120.0
count = 20
sourcing = { XAA = 1.0 }

[[buyers]]
country = "XBB"
sector = "optics"
good = "xenite"
demand_t_per_year = 2080.0
count = 20
cover_weeks = [3, 6]
sourcing = { XAA = 1.0 }

[[sectors]]
name = "glassworks"
value_usd_per_t = 1.0e6

[[sectors]]
name = "optics"
value_usd_per_t = 2.0e6
value_added_share = 0.3
substitution_ceiling = 0.2
substitution_lead_weeks = 52.0
substitution_cost_usd_per_t = 20000.0

[market]
transit_weeks = { default = 2 }
order_adjust_weeks = 4.0

# Announced on 2030-03-04, in force from 2030-05-06; lifted on 2031-03-03.
[[events]]
date = 2030-03-04
effective = 2030-05-06
kind = "export_control"
label = "XAA licences xenite"
state = "XAA"
good = "xenite"
[events.control]
regime = "licence"
review_weeks = 6.0
approval = 0.4
review_capacity_t_per_week = 80.0

[[events]]
date = 2031-03-03
kind = "export_control"
label = "XAA lifts the licences"
state = "XAA"
good = "xenite"
[events.control]
regime = "none"
"""


def _weekly(result, good: str, origin: str):
    ship = result.shipments
    ship = ship[(ship["good"] == good) & (ship["origin"] == origin)
                & (ship["destination"] != origin)]
    return ship.groupby("date")["quantity_t"].sum()


def test_an_announced_control_is_front_run_then_cuts_exports_prices_part_and_meet_again(
        write_scenario):
    result = abm.run(abm.load(write_scenario(MATERIAL)), seed=3)
    exports = _weekly(result, "xenite", "XAA")
    dates = result.prices["date"].drop_duplicates().astype(str)
    exports = exports.reindex(dates, fill_value=0.0)
    before = exports.loc["2030-01-14":"2030-03-03"].mean()
    assert 35 < before < 45  # about 40 t a week
    # Front-running: exports above normal between announcement and effect, the rush in the
    # last weeks before the date rather than on the announcement.
    early, late = exports.loc["2030-03-04":"2030-03-31"], exports.loc["2030-04-08":"2030-05-05"]
    assert late.mean() > 1.2 * before, late
    assert late.mean() > early.mean() + 5
    # In force: exports collapse while the first applications are reviewed, then recover over
    # months as licences flow.
    assert exports.loc["2030-05-06":"2030-06-09"].mean() < 0.3 * before
    assert exports.loc["2030-09-01":"2031-02-28"].mean() > 0.6 * before
    prices = result.prices.pivot_table(index="date", columns="region", values="price_usd_per_kg")
    start = prices.iloc[0]
    # Approvals (at most 0.4 x 80 t a week) fall short of the 40 t a week wanted: once the
    # buyers' stocks run down, the quantity limit binds and the price abroad carries a
    # rationing rent.
    binding = prices.loc["2030-10-01":"2031-02-28"]
    assert (binding["ROW"] > 1.1 * start["ROW"]).all()  # the price abroad stays up
    assert binding["CHN"].min() < 0.97 * start["CHN"]  # producers cut output: cost falls
    # Lifted: within six months the gap is back to the usual margin, within 10%.
    gap = prices["ROW"] / prices["CHN"] / (12.0 / 10.0)
    assert abs(gap.loc["2031-08-25":"2031-09-05"].mean() - 1.0) < 0.10
    # Every price settles under the constant policy that follows (one seed: demand noise
    # moves it by a percent or two around a level that no longer drifts).
    tail = prices.loc["2031-12-27":]
    drift = tail.iloc[-8:].mean() / tail.iloc[:8].mean() - 1
    assert (drift.abs() < 0.02).all(), drift


CHAIN = """
[scenario]
name = "ore-to-widgets"
start = 2030-01-01
end = 2030-12-31

[[goods]]
name = "widget"
reference_price_usd_per_kg = { CHN = 20.0, ROW = 20.0 }

[[goods]]
name = "ore"
reference_price_usd_per_kg = { CHN = 5.0, ROW = 5.0 }

[[countries]]
code = "XAA"
price_region = "CHN"

[[countries]]
code = "XBB"

[[exporters]]
name = "ore mine"
country = "XAA"
good = "ore"
capacity_t_per_week = 50.0

[[exporters]]
name = "widget maker"
country = "XBB"
good = "widget"
capacity_t_per_week = 100.0
inputs = { ore = 0.2 }

[[buyers]]
country = "XBB"
sector = "widget_making"
good = "ore"
feeds = "widget"
cover_weeks = [6, 6]
sourcing = { XAA = 1.0 }

[[buyers]]
country = "XBB"
sector = "assembly"
good = "widget"
demand_t_per_year = 4160.0
count = 5
cover_weeks = [2, 2]
sourcing = { XBB = 1.0 }

[[events]]
date = 2030-04-01
kind = "export_control"
label = "XAA bans ore"
state = "XAA"
good = "ore"
[events.control]
regime = "ban"
"""


def test_an_input_ban_cuts_output_downstream_after_input_stocks_run_down(write_scenario):
    result = abm.run(abm.load(write_scenario(CHAIN)), seed=0)
    made = result.model.recorder.weekly_production(result.model)
    widgets = made[made["good"] == "widget"].set_index("date")["produced_t"]
    assert widgets.loc["2030-03-01":"2030-03-31"].mean() > 70  # about 80 t a week
    # Six weeks of ore in stock (plus what is in transit): output holds for a month ...
    assert widgets.loc["2030-04-01":"2030-04-28"].mean() > 70
    # ... then stops: no ore, no widgets.
    assert widgets.loc["2030-07-01":"2030-12-31"].max() < 1.0
    weekly = result.weekly
    assembly = weekly[weekly["sector"] == "assembly"].set_index("date")
    late = assembly.loc["2030-08-01":]
    assert (late["shortfall_t"] / late["need_t"]).min() > 0.9
    balance = result.material_balance()["ore"]
    assert balance["consumed_t"] > 0
