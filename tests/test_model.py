"""The Mesa model: builds with defaults, is deterministic, conserves material."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import abm
from abm.agents.buyer import Buyer
from abm.agents.exporter import Exporter
from abm.agents.state import State
from abm.model import ExportControlModel
from abm.scenario import from_dict


def test_smoke_model_builds_with_defaults_and_runs():
    model = ExportControlModel(rng=42)
    assert len(model.agents_by_type[State]) == 7
    assert len(model.agents_by_type[Exporter]) >= 8
    assert len(model.agents_by_type[Buyer]) > 100
    model.run_for(10)
    assert model.steps == 10
    assert model.date == dt.date(2024, 3, 4)
    assert not model.buyers.halted.any()


def test_same_seed_same_numbers_different_seed_different_numbers():
    config = abm.load("april-2025-controls")
    until = dt.date(2025, 9, 30)
    a = abm.run(config, seed=7, until=until).customs_monthly
    b = abm.run(config, seed=7, until=until).customs_monthly
    c = abm.run(config, seed=8, until=until).customs_monthly
    assert a.to_csv(index=False) == b.to_csv(index=False)
    assert a.to_csv(index=False) != c.to_csv(index=False)


def test_agent_handles_read_the_arrays():
    model = ExportControlModel(rng=1)
    model.run_for(3)
    buyer = model.buyer_agents[5]
    assert buyer.inventory_t == model.buyers.inventory_t[5]
    assert buyer.cover_weeks > 0
    exporter = model.exporter_agents[0]
    assert exporter.capacity_t_per_week == model.exporters.capacity_t[0]


def _random_scenario(draw):
    countries = ["CHN", "USA", "EU"][: draw(st.integers(2, 3))]
    exporters = []
    chain = draw(st.booleans())  # a second stage: makers use "ore" from the first country
    for i, country in enumerate(countries[: draw(st.integers(1, len(countries)))]):
        exporters.append({
            "name": f"maker{i}", "country": country, "good": "magnet",
            "capacity_t_per_week": draw(st.floats(0.0, 200.0)),
            "inventory_weeks": draw(st.floats(0.0, 4.0)),
            **({"inputs": {"ore": draw(st.floats(0.01, 2.0))}} if chain else {}),
        })
    origins = sorted({e["country"] for e in exporters})
    buyers = []
    if chain:
        exporters.append({"name": "miner", "country": countries[0], "good": "ore",
                          "capacity_t_per_week": draw(st.floats(0.0, 300.0))})
        buyers += [{"country": e["country"], "sector": "magnet_making", "good": "ore",
                    "feeds": "magnet", "cover_weeks": [0.0, draw(st.floats(0.0, 8.0))],
                    "sourcing": {countries[0]: 1.0}} for e in exporters[:-1]]
    for country in countries:
        weights = [draw(st.floats(0.1, 1.0)) for _ in origins]
        shares = [w / sum(weights) for w in weights]
        shares[-1] = 1.0 - sum(shares[:-1])
        buyers.append({
            "country": country, "sector": "automotive",
            "good": "magnet", "demand_t_per_year": draw(st.floats(0.0, 5000.0)),
            "count": draw(st.integers(1, 4)),
            "cover_weeks": [1.0, draw(st.floats(1.0, 8.0))],
            "sourcing": dict(zip(origins, shares, strict=True)),
        })
    regime = draw(st.sampled_from(["licence", "quota", "ban", "none"]))
    events = [{
        "date": dt.date(2024, 1, 1) + dt.timedelta(days=draw(st.integers(0, 200))),
        "kind": "export_control", "label": "control", "state": origins[0],
        "good": draw(st.sampled_from(["magnet", "ore"] if chain else ["magnet"])),
        "control": {
            "regime": regime, "review_weeks": draw(st.floats(0.0, 10.0)),
            "review_capacity_t_per_week": draw(st.floats(1.0, 500.0)),
            "approval": draw(st.floats(0.0, 1.0)), "quota_t_per_year": draw(st.floats(0, 5000)),
            "scope": draw(st.sampled_from(["all", "listed_grades"])),
            "grades_told_apart": draw(st.booleans()),
            "refile_weeks": draw(st.floats(0.0, 4.0)),
        },
    }]
    if draw(st.booleans()):
        events.append({"date": events[0]["date"] + dt.timedelta(days=60),
                       "kind": "export_control", "label": "second control",
                       "state": origins[0], "good": "magnet",
                       "control": {"regime": draw(st.sampled_from(["none", "ban"]))}})
    return {
        "scenario": {"name": "random", "start": dt.date(2024, 1, 1), "end": dt.date(2024, 12, 31)},
        "goods": [{"name": "magnet", "reference_price_usd_per_kg": {"CHN": 50.0, "ROW": 60.0}},
                  {"name": "ore", "reference_price_usd_per_kg": {"CHN": 5.0, "ROW": 6.0},
                   "price_elasticity_of_demand": draw(st.floats(0.1, 2.0))}],
        "sectors": [{"name": "automotive", "listed_grade_share": draw(st.floats(0.0, 1.0)),
                     "input_cost_share": draw(st.floats(0.0, 0.2)),
                     "final_demand_elasticity": draw(st.floats(0.0, 2.0))}],
        "countries": [{"code": c, "price_region": "CHN" if c == "CHN" else "ROW"}
                      for c in countries],
        "exporters": exporters, "buyers": buyers, "events": events,
        "market": {"demand_cv": draw(st.floats(0.0, 0.3)),
                   "transit_weeks": {"default": draw(st.integers(0, 6))}},
    }


# Random examples locally (set ABM_HYPOTHESIS_EXAMPLES to search harder); a fixed set on CI, so
# that a landing never depends on luck.
@settings(
    max_examples=int(os.environ.get("ABM_HYPOTHESIS_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=os.environ.get("CI") == "true",
    database=None if os.environ.get("CI") == "true" else settings.default.database,
)
@given(st.data(), st.integers(0, 2**32 - 1))
def test_material_is_conserved_in_random_small_scenarios(data, seed):
    config = from_dict(data.draw(st.builds(lambda: None).flatmap(
        lambda _: st.composite(lambda draw: _random_scenario(draw))())), "random")
    result = abm.run(config, seed=seed)
    # Each stage of the chain (each good) balances on its own.
    for good, parts in result.material_balance().items():
        supply = parts["initial_stock_t"] + parts["produced_t"]
        uses = (parts["consumed_t"] + parts["buyer_inventory_t"] + parts["input_inventory_t"]
                + parts["exporter_inventory_t"] + parts["in_transit_t"])
        assert abs(supply - uses) <= 1e-6 * max(1.0, supply), (good, parts)
        for name, value in parts.items():
            assert value >= -1e-6, (good, name, value)
    shipped = result.shipments["quantity_t"].sum()
    assert shipped >= 0
    assert (result.weekly["used_t"] <= result.weekly["demand_t"] + 1e-9).all()


def test_a_quota_caps_a_years_exports_and_counts_what_shipped(write_scenario):
    from tests.conftest import TINY

    quota = TINY + """
[[events]]
label = "event 1"
date = 2024-01-01
kind = "export_control"
state = "CHN"
good = "magnet"
[events.control]
regime = "quota"
quota_t_per_year = 1000.0
"""
    result = abm.run(abm.load(write_scenario(quota)), seed=0)
    exported = result.shipments.query("origin == 'CHN' and destination == 'USA'")["quantity_t"].sum()
    assert 950.0 <= exported <= 1000.0 + 1e-6
    assert result.model.quota_used_t[("CHN", "magnet", 2024)] == pytest.approx(exported)


def test_a_scenario_without_buyers_runs_and_balances(write_scenario):
    path = write_scenario("""
        [scenario]
        name = "no-buyers"
        start = 2024-01-01
        end = 2024-06-30
        [[goods]]
        name = "widget"
        reference_price_usd_per_kg = { CHN = 5.0, ROW = 6.0 }
        [[countries]]
        code = "XAA"
        price_region = "CHN"
        [[exporters]]
        name = "maker"
        country = "XAA"
        good = "widget"
        capacity_t_per_week = 10.0
    """)
    result = abm.run(abm.load(path), seed=0)
    balance = result.material_balance()["widget"]
    assert balance["produced_t"] == 0.0 and balance["consumed_t"] == 0.0
    assert (result.prices.groupby("region")["price_usd_per_kg"].nunique() == 1).all()


@given(st.lists(st.integers(0, 50), max_size=12, unique=True).map(sorted))
def test_as_slice_reads_the_same_entries_as_the_indices(indices):
    import numpy as np

    from abm.build import as_slice

    idx = np.array(indices, dtype=np.int64)
    values = np.arange(100.0) * 1.5
    at = as_slice(idx)
    assert np.array_equal(values[at], values[idx])
    run = len(indices) > 0 and indices == list(range(indices[0], indices[-1] + 1))
    assert isinstance(at, slice) == run
