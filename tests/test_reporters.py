"""Mesa's own tools on the bare model class: `mesa.batch_run` constructs ExportControlModel by
keyword, runs it to the scenario's end and returns the documented reporters (abm.reporters)."""

from __future__ import annotations

import datetime as dt
import pickle
from pathlib import Path

import mesa
import numpy as np
import pytest

import abm
from abm.model import ExportControlModel
from abm.reporters import weeks_in

MADE_UP = Path(__file__).resolve().parent / "data" / "made_up.toml"


@pytest.fixture(scope="module")
def config():
    return abm.load(MADE_UP)


def test_batch_run_on_the_bare_model_returns_the_documented_reporters(config):
    rows = mesa.batch_run(ExportControlModel, parameters={"config": [config]}, rng=[1, 2],
                          max_steps=10_000, data_collection_period=1, number_processes=1,
                          display_progress=False)
    weeks = weeks_in(config)
    assert len(rows) == 2 * weeks  # one row a week and seed; the runs stop at the scenario's end
    first = rows[0]
    assert {"RunId", "iteration", "Step", "config", "rng", "date", "shortfall_t:gallium",
            "halted_share:gallium", "price_usd_per_kg:gallium:CHN",
            "price_usd_per_kg:gallium:ROW"} <= set(first)
    assert first["date"] == config.start
    assert rows[weeks - 1]["date"] == config.start + dt.timedelta(weeks=weeks - 1)
    for row in rows:
        assert 0.0 <= row["halted_share:gallium"] <= 1.0 and row["shortfall_t:gallium"] >= 0.0
    # the same as abm.run with the same seed
    result = abm.run(config, seed=1)
    prices = result.prices
    row_price = prices[(prices["good"] == "gallium") & (prices["region"] == "ROW")]["price_usd_per_kg"]
    batch = [r["price_usd_per_kg:gallium:ROW"] for r in rows if r["rng"] == 1]
    np.testing.assert_allclose(batch, row_price.to_numpy())
    halted = result.weekly
    assert sum(r["halted_share:gallium"] > 0 for r in rows if r["rng"] == 1) == len(
        set(halted.loc[halted["buyers_halted"] > 0, "week"]))


def test_a_model_stepped_by_hand_stops_at_the_end_and_its_reporters_pickle(config):
    model = ExportControlModel(config=config, rng=4)
    while model.running:
        model.step()
    assert model.steps == weeks_in(config)
    frame = model.datacollector.get_model_vars_dataframe()
    assert len(frame) == weeks_in(config)
    pickle.dumps(model.datacollector.model_reporters)
