"""The vectorised paths give exactly the numbers of the plain ones they replaced.

Each test keeps the straightforward version (a loop over links, a gather per link, a stack of
the week's fields) as the reference, and compares bit for bit: a speed-up must not move a
single result."""

from __future__ import annotations

import numpy as np
import pytest

import abm
from abm import build
from abm.market import recorder, trade
from abm.market.adaptation import landed_price_usd_per_kg
from abm.market.clearing import export_prices
from abm.model import ExportControlModel
from abm.scenario import override


def _scaled(name: str, factor: int):
    base = abm.load(name)
    return override(base, {f"buyers[{i}].count": g.count * factor
                           for i, g in enumerate(base.buyers) if not g.feeds})


def _links_by_loop(model: ExportControlModel) -> dict[str, np.ndarray]:
    """The links as the model made them one at a time before (a loop over buyers and their
    origins, largest flows first, each to the producer with the lowest fill after it)."""
    cfg = model.config
    b = model.buyers
    exporters_of: dict[tuple[str, str], list[int]] = {}
    for i, e in enumerate(cfg.exporters):
        exporters_of.setdefault((e.good, e.country), []).append(i)
    load = np.zeros(len(cfg.exporters))
    capacity = model.exporters.capacity_t  # as at construction: no week has run
    demand = b.mean_demand_t.copy()
    columns = {k: [] for k in ("buyer", "origin", "exporter", "lag", "foreign", "share")}
    agents = model.buyer_agents
    pending = set(range(len(agents)))
    while pending:
        goods_pending = {agents[j].good for j in pending}
        ready = [i for i in pending
                 if b.feeds[i] < 0 or cfg.exporters[b.feeds[i]].good not in goods_pending]
        for i in ready:
            if b.feeds[i] >= 0:
                demand[i] = b.content_t_per_t[i] * load[b.feeds[i]]
        rows = []
        for index in ready:
            group = cfg.buyers[b.group[index]]
            rows += [(index, o, s) for o, s in group.sourcing.items() if s > 0]
        rows.sort(key=lambda r: (-demand[r[0]] * r[2], r[0], r[1]))
        for index, o, s in rows:
            candidates = exporters_of[(agents[index].good, o)]
            flow = demand[index] * s
            fill = [(load[c] + flow) / max(capacity[c], 1e-12) for c in candidates]
            chosen = candidates[int(np.argmin(fill))]
            load[chosen] += flow
            columns["buyer"].append(index)
            columns["origin"].append(model.country_index[o])
            columns["exporter"].append(chosen)
            columns["lag"].append(build.transit_weeks(model, o, agents[index].country))
            columns["foreign"].append(o != agents[index].country)
            columns["share"].append(s)
        pending -= set(ready)
    order = np.argsort(np.array(columns["buyer"]), kind="stable")
    out = {k: np.array(v)[order] for k, v in columns.items()}
    out["load"] = load
    return out


@pytest.mark.parametrize("name,factor", [("baseline-2024", 1), ("baseline-2024", 7),
                                         ("history-2025", 3), ("chips-2025", 1)])
def test_links_made_at_once_are_the_links_made_one_by_one(name, factor):
    model = ExportControlModel(_scaled(name, factor), rng=5)
    expected = _links_by_loop(model)
    p = model.pairs
    for field, mine in (("buyer", p.buyer), ("origin", p.origin), ("exporter", p.exporter),
                        ("lag", p.lag_weeks), ("foreign", p.foreign), ("share", p.base_share)):
        assert np.array_equal(mine, expected[field]), field
    # The producers' expected orders are the loads, summed in the same order: bit for bit.
    assert model.exporters.expected_orders_t.tobytes() == expected["load"].tobytes()


def test_prices_read_off_tables_equal_prices_gathered_per_link():
    model = ExportControlModel(abm.load("history-2025"), rng=1)
    while not model.pair_tariff.any():  # until prices have moved and tariffs are in force
        model.run_for(1)
    p, b = model.pairs, model.buyers
    # Tariffs by (origin, good) table, against the rate looked up link by link.
    for i in range(p.buyer.size):
        state = model.states[model.countries[p.destination[i]]]
        origin = model.countries[p.origin[i]]
        rate = 0.0 if origin == state.code else state.tariff_on(origin, model.goods[p.good[i]])
        assert model.pair_tariff[i] == rate
    good, dest = b.good[p.buyer], b.region[p.buyer]
    origin = model.country_region[p.origin]
    spot, contract = model.prices.spot, model.prices.contract
    ref = model.reference_price
    export_prices(model)
    assert model.pair_home_price.tobytes() == spot[good, origin].tobytes()
    share = b.contract_share[p.buyer]
    paid = share * contract[good, dest] + (1.0 - share) * spot[good, dest]
    expected = paid * (ref[good, origin] / ref[good, dest])
    np.testing.assert_allclose(model.pair_export_price, expected, rtol=1e-14)
    landed = paid * (1.0 + model.pair_tariff)
    np.testing.assert_allclose(landed_price_usd_per_kg(model), landed, rtol=1e-14)


def test_shipments_added_in_place_equal_shipments_added_by_count():
    model = ExportControlModel(abm.load("baseline-2024"), rng=2)
    model.run_for(3)
    n = model.pairs.buyer.size
    rng = np.random.default_rng(0)
    pair = np.flatnonzero(rng.random(n) < 0.7)
    quantity = rng.random(pair.size)
    shipped, value = model.shipped_this_week.copy(), model.value_this_week.copy()
    transit = model.buyers.transit_t.copy()
    trade.dispatch(model, pair, quantity)
    spot = model.pair_spot_share[pair]
    price = (1.0 - spot) * model.pair_contract_price[pair] + spot * model.pair_spot_price[pair]
    worth = quantity * price * 1000.0
    slot = (model.steps + model.pairs.lag_weeks[pair]) % (model.max_lag + 1)
    np.add.at(transit, (slot, model.pairs.buyer[pair]), quantity)
    assert model.buyers.transit_t.tobytes() == transit.tobytes()
    assert model.shipped_this_week.tobytes() == (
        shipped + np.bincount(pair, weights=quantity, minlength=n)).tobytes()
    assert model.value_this_week.tobytes() == (
        value + np.bincount(pair, weights=worth, minlength=n)).tobytes()


def test_weekly_group_sums_the_same_stacked_or_field_by_field(monkeypatch):
    config = abm.load("history-2025")
    stacked = abm.run(config, seed=3).weekly
    monkeypatch.setattr(recorder, "STACK_BELOW", 0)
    by_field = abm.run(config, seed=3).weekly
    assert stacked.to_csv(index=False) == by_field.to_csv(index=False)
