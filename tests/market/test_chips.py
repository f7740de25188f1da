"""The chip market: accounting, controls, revenue shares, substitution, inputs, and the 2025
H20 episode."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

import abm
from tests.chip_scenarios import chips_tiny

H20_BLOCK = """
[[events]]
label = "event 1"
date = 2024-03-04
kind = "export_control"
state = "USA"
good = "ai_chip"
[events.control]
regime = "licence"
approval_by_destination = { CHN = 0.0 }
"""

H20_LICENSED = H20_BLOCK + """
[[events]]
label = "event 2"
date = 2024-06-03
kind = "licence_policy"
state = "USA"
good = "ai_chip"
changes = { "approval_by_destination.CHN" = 1.0, revenue_share = 0.15 }
"""

# Nvidia's fiscal quarters (FY2026): Q1 ends 2025-04-27, Q2 2025-07-27, Q3 2025-10-26.
QUARTERS = {"Q1": ("2025-01-27", "2025-04-27"), "Q2": ("2025-04-28", "2025-07-27"),
            "Q3": ("2025-07-28", "2025-10-26"), "Q4": ("2025-10-27", "2026-01-25")}


def run_text(write_scenario, text, until=None, seed=0):
    return abm.run(abm.load(write_scenario(text)), seed=seed, until=until)


def designer_china(result, quarter):
    sales = result.model.chip_market.sales_table()
    first, last = QUARTERS[quarter]
    rows = sales[(sales["chipmaker"] == "US AI-chip designer") & (sales["region"] == "CHN")
                 & (sales["date"] >= first) & (sales["date"] <= last)]
    return rows[["revenue_usd", "blocked_usd", "discouraged_usd", "revenue_share_paid_usd"]].sum()


def test_units_conserved_and_revenue_at_price(write_scenario):
    result = run_text(write_scenario, chips_tiny(extra=H20_LICENSED))
    market = result.model.chip_market
    change = market.inventory_units.sum(axis=1) - market.initial_inventory_units.sum(axis=1)
    np.testing.assert_allclose(market.produced_total_units - market.sold_total_units, change,
                               atol=1e-6)
    sales = market.sales_table()
    prices = {("designer", "CHN"): 1e4, ("designer", "ROW"): 2e4, ("domestic", "CHN"): 8e3}
    for (maker, region), price in prices.items():
        rows = sales[(sales["chipmaker"] == maker) & (sales["region"] == region)]
        np.testing.assert_allclose(rows["revenue_usd"], rows["sold_units"] * price)
    makers = market.maker_table()
    made = makers.loc[makers["chipmaker"] == "foundry", "made_units"].to_numpy()
    produced = sales[sales["chipmaker"] == "designer"].groupby("week")["produced_units"].sum()
    np.testing.assert_allclose(made, produced.to_numpy())


def test_licence_blocks_sales_then_revenue_share_is_paid(write_scenario):
    result = run_text(write_scenario, chips_tiny(extra=H20_LICENSED))
    sales = result.model.chip_market.sales_table()
    china = sales[(sales["chipmaker"] == "designer") & (sales["region"] == "CHN")]
    blocked = china[(china["date"] >= "2024-03-11") & (china["date"] < "2024-06-03")]
    assert blocked["sold_units"].sum() < 1e-9
    assert blocked["blocked_usd"].sum() == pytest.approx(500 * 1e4 * len(blocked))
    licensed = china[china["date"] >= "2024-06-03"]
    assert licensed["sold_units"].sum() > 0
    np.testing.assert_allclose(licensed["revenue_share_paid_usd"], 0.15 * licensed["revenue_usd"])
    before = china[china["date"] < "2024-03-04"]
    assert before["revenue_share_paid_usd"].sum() == 0.0
    rest = sales[(sales["chipmaker"] == "designer") & (sales["region"] == "ROW")]
    assert rest["revenue_share_paid_usd"].sum() == 0.0
    assert rest["sold_units"].min() == pytest.approx(2000.0)


def test_blocked_imports_speed_chinese_capacity_and_tech_controls_slow_it(write_scenario):
    until = dt.date(2024, 12, 30)
    open_market = run_text(write_scenario, chips_tiny(), until)
    blocked = run_text(write_scenario, chips_tiny(extra=H20_BLOCK), until)
    tech = H20_BLOCK + """
[[events]]
label = "event 3"
date = 2024-03-04
kind = "tech_control"
state = "USA"
destination = "CHN"
level = 1.0
"""
    slowed = run_text(write_scenario, chips_tiny(extra=tech), until)
    capacity = [r.model.chip_market.capacity_units[2] for r in (open_market, blocked, slowed)]
    assert capacity[0] == pytest.approx(550.0)
    assert capacity[1] > 1.5 * capacity[0]
    assert capacity[0] < capacity[2] < capacity[1]
    access = blocked.model.chip_market.access_table()
    china = access[access["region"] == "CHN"].set_index("date")
    # Domestic stocks cover the first weeks; then access falls to domestic capacity.
    assert china.loc["2024-04-15", "access"] < 0.65
    assert china.loc["2024-12-23", "access"] > china.loc["2024-04-15", "access"] + 0.1


def test_china_input_controls_cut_allied_chip_output(write_scenario):
    ban = """
[[events]]
label = "event 4"
date = 2024-03-04
kind = "export_control"
state = "CHN"
good = "chip_ree"
[events.control]
regime = "ban"
"""
    result = run_text(write_scenario, chips_tiny(extra=ban), dt.date(2024, 6, 30))
    makers = result.model.chip_market.maker_table()
    foundry = makers[makers["chipmaker"] == "foundry"].set_index("date")
    assert foundry.loc["2024-03-04", "input_supply_share"] == 0.0
    assert foundry.loc["2024-06-24", "input_stock_weeks"] == 0.0
    access = result.model.chip_market.access_table()
    row = access[(access["region"] == "ROW")].set_index("date")
    assert row.loc["2024-02-26", "access"] == pytest.approx(1.0)
    assert row.loc["2024-06-24", "access"] < 0.7


def test_discouraged_imports_go_to_domestic_makers(write_scenario):
    steer = """
[[events]]
label = "event 5"
date = 2024-03-04
kind = "discourage_imports"
state = "CHN"
good = "ai_chip"
level = 1.0
"""
    result = run_text(write_scenario, chips_tiny(extra=steer), dt.date(2024, 9, 30))
    sales = result.model.chip_market.sales_table()
    late = sales[(sales["date"] >= "2024-03-11") & (sales["region"] == "CHN")]
    assert late.loc[late["chipmaker"] == "designer", "sold_units"].sum() == 0.0
    assert late.loc[late["chipmaker"] == "designer", "discouraged_usd"].gt(0).all()
    domestic = late[late["chipmaker"] == "domestic"]
    assert domestic["orders_units"].min() == pytest.approx(1000.0)


def test_chip_events_are_checked(write_scenario):
    wrong = """
[[events]]
label = "event 6"
date = 2024-03-04
kind = "discourage_imports"
state = "USA"
good = "ai_chip"
"""
    with pytest.raises(abm.ScenarioError, match=r"events\[0\]\.state"):
        abm.load(write_scenario(chips_tiny(extra=wrong)))
    shares = chips_tiny().replace("market_share = { CHN = 0.5 }", "market_share = { CHN = 0.4 }")
    with pytest.raises(abm.ScenarioError, match=r"market_share\.CHN.*sum to 1"):
        abm.load(write_scenario(shares))
    foundry = chips_tiny().replace('foundry = "foundry"', 'foundry = "nobody"')
    with pytest.raises(abm.ScenarioError, match=r"chipmakers\[0\]\.foundry"):
        abm.load(write_scenario(foundry))


@pytest.fixture(scope="module")
def h20_runs():
    until = dt.date(2026, 1, 31)
    return {name: abm.run(abm.load(name), seed=0, until=until)
            for name in ("chips-2025", "chips-2025-buyers-return")}


def test_h20_episode_order_of_magnitude(h20_runs):
    """chips_2025.csv: USD 4.6 bn of H20 sold in Q1 FY2026 before the requirement, USD 2.5 bn
    unshipped in Q1 and about USD 8 bn lost in Q2; nothing sold to China after the August
    licences because Chinese buyers were steered to domestic chips."""
    happened = h20_runs["chips-2025"]
    q1, q2, q3 = (designer_china(happened, q) for q in ("Q1", "Q2", "Q3"))
    assert q1["revenue_usd"] == pytest.approx(4.6e9, rel=0.2)
    assert q1["blocked_usd"] > 0.5e9
    assert q2["revenue_usd"] < 0.02 * q1["revenue_usd"]
    assert 4e9 < q2["blocked_usd"] < 12e9
    assert q3["revenue_usd"] < 0.1 * q1["revenue_usd"]
    assert q3["discouraged_usd"] > 3e9
    returned = designer_china(h20_runs["chips-2025-buyers-return"], "Q4")
    assert returned["revenue_usd"] > 4e9
    assert returned["revenue_share_paid_usd"] / returned["revenue_usd"] > 0.15


def test_baseline_holds_with_chipmakers():
    from abm.outcomes import evaluate

    result = abm.run(abm.load("baseline-2024"), seed=0, until=dt.date(2024, 12, 31))
    assert len(result.model.chip_market.agents) == 4
    values = evaluate(result, ["exports_t:magnet:CHN:2024", "export_share:magnet:CHN:USA:2024",
                               "export_share:magnet:CHN:EU:2024", "buyer_weeks_halted"])
    assert values["exports_t:magnet:CHN:2024"] == pytest.approx(58152, rel=0.1)
    assert 0.10 <= values["export_share:magnet:CHN:USA:2024"] <= 0.15
    assert 0.33 <= values["export_share:magnet:CHN:EU:2024"] <= 0.45
    assert values["buyer_weeks_halted"] == 0
    access = result.model.chip_market.access_table()
    assert access["access"].min() == pytest.approx(1.0)
