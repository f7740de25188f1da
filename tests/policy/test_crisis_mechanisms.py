"""The general mechanisms e02 uses: an embargo on named destinations under any regime, dated
capacity projects and offtake agreements; and the quota-crisis scenario's calendar."""

from __future__ import annotations

import datetime as dt

import numpy as np

import abm
from abm.policy.events import EVENT_KINDS
from abm.scenario.config import Event


def test_blocked_destination_receives_nothing_while_others_trade():
    config = abm.load("quota-crisis-2010")
    result = abm.run(config, seed=1, until=dt.date(2010, 12, 31))
    customs = result.customs_monthly
    china = customs[(customs["origin"] == "CHN") & (customs["good"] == "nd_oxide")]
    to_japan = china[(china["destination"] == "JPN")].set_index("month")["quantity_t"]
    # shipments leave in the weeks of the embargo (2010-09-21 to 2010-11-19): none in October
    assert to_japan.get("2010-10", 0.0) == 0.0
    assert to_japan.get("2010-06", 0.0) > 0.0
    others = china[china["destination"] == "EU"].set_index("month")["quantity_t"]
    assert others.get("2010-10", 0.0) > 0.0


def test_capacity_event_sets_nameplate_and_sourcing_event_reweights_usual_shares():
    model = abm.ExportControlModel(abm.load("quota-crisis-2010"), rng=1)
    name = "Producers outside China (Nd)"
    EVENT_KINDS["capacity"].apply(model, Event(date=dt.date(2011, 1, 1), kind="capacity",
                                               exporter=name,
                                               changes={"capacity_t_per_week": 50.0}))
    assert model.exporters.capacity_t[model.exporter_index[name]] == 50.0
    EVENT_KINDS["sourcing"].apply(model, Event(date=dt.date(2011, 1, 1), kind="sourcing",
                                               good="nd_oxide", destinations=("JPN",),
                                               changes={"ROW": 0.35}))
    p, b = model.pairs, model.buyers
    japan = (b.country[p.buyer] == model.country_index["JPN"]) & (
        b.good[p.buyer] == model.good_index["nd_oxide"])
    outside = japan & (p.origin == model.country_index["ROW"])
    assert abs(p.base_share[outside] - 0.35).max() < 1e-12
    totals = {}
    for i in np.flatnonzero(japan):
        totals[p.buyer[i]] = totals.get(p.buyer[i], 0.0) + p.base_share[i]
    assert all(abs(t - 1.0) < 1e-12 for t in totals.values())
    eu = ((b.country[p.buyer] == model.country_index["EU"])
          & (p.origin == model.country_index["ROW"])
          & (b.good[p.buyer] == model.good_index["nd_oxide"]))
    assert abs(p.base_share[eu] - 0.125).max() < 1e-12


def test_every_event_of_the_new_scenarios_has_a_unique_label():
    for name in ("quota-crisis-2010", "ecb-partial-restriction", "ecb-near-total-ban",
                 "imf-80pct-cut"):
        labels = [e.label for e in abm.load(name).events]
        own = [label for label in labels if label]
        assert len(own) == len(set(own)), name
    crisis = abm.load("quota-crisis-2010").events
    assert all(e.label for e in crisis)


def test_under_the_quota_the_price_abroad_carries_a_rent_over_chinas():
    """Arbitrage ties the regions to the usual margin (17/14) until the quota binds; then the
    price abroad carries a rationing rent over China's price times that margin."""
    prices = abm.run(abm.load("quota-crisis-2010"), seed=2).prices
    table = prices[prices["good"] == "nd_oxide"].pivot(index="date", columns="region",
                                                       values="price_usd_per_kg")
    ratio = table["ROW"] / (table["CHN"] * 17.0 / 14.0)
    assert abs(ratio.loc["2009-03-01":"2009-12-31"].mean() - 1.0) < 0.05
    assert ratio.loc["2011-01-01":"2011-12-31"].mean() > 1.2
