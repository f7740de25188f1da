"""The signatures of a control that lasts, on a made-up material and made-up countries, and an
input control that cuts output downstream through the chain."""

from __future__ import annotations

import abm

MATERIAL = """
[scenario]
name = "xenite-licences"
start = 2030-01-01
end = 2031-12-31

[[goods]]
name = "xenite"
unit = "t"
reference_price_usd_per_kg = { CHN = 10.0, ROW = 12.0 }
demand_sensitivity = 0.1
inventory_sensitivity = 0.05
demand_elasticity = 0.4
demand_response_weeks = 8.0

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
sourcing = { XAA = 1.0 }

[market]
transit_weeks = { default = 2 }

[[events]]
date = 2030-03-04
kind = "export_control"
label = "XAA licences xenite"
state = "XAA"
good = "xenite"
[events.control]
regime = "licence"
review_weeks = 6.0
review_capacity_t_per_week = 15.0
approval = 0.7
"""


def _monthly(result, good: str, origin: str):
    ship = result.shipments
    ship = ship[(ship["good"] == good) & (ship["origin"] == origin)
                & (ship["destination"] != origin)]
    return ship.groupby(ship["date"].str[:7])["quantity_t"].sum()


def test_a_persistent_control_keeps_exports_down_the_price_abroad_up_and_home_price_down(
        write_scenario):
    result = abm.run(abm.load(write_scenario(MATERIAL)), seed=3)
    exports = _monthly(result, "xenite", "XAA")
    before = exports.loc["2030-01":"2030-02"].mean()
    assert before > 150  # about 40 t a week
    backlog = result.licences.set_index("date")["backlog_t"]
    # The office clears 15 t a week against about 40 filed: the backlog lasts.
    assert backlog.loc["2030-09-02":"2031-06-30"].min() > 100
    during = exports.loc["2030-06":"2031-06"]
    assert (during < 0.6 * before).all(), during
    prices = result.prices.pivot_table(index="date", columns="region", values="price_usd_per_kg")
    start = prices.iloc[0]
    later = prices.loc["2030-06-01":"2031-06-30"]
    assert (later["ROW"] > 1.3 * start["ROW"]).all()  # no return while the constraint binds
    assert later["ROW"].iloc[-8:].mean() > 1.3 * start["ROW"]
    assert later["CHN"].iloc[-8:].mean() < start["CHN"]  # trapped supply sold at home
    assert later["CHN"].min() < 0.97 * start["CHN"]


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
