"""The sweep folder: runs merged in design order, with what each column means in its metadata."""

from __future__ import annotations

import datetime as dt
import json
import textwrap
import warnings
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import abm
from abm.sweep import SpecError, load_spec, run_sweep, spec_from_dict
from abm.sweep import store as store_module
from abm.sweep.store import RunStore, runs_schema
from tests.sweep.conftest import SMOKE

MADE_UP = Path(__file__).resolve().parents[1] / "data" / "made_up.toml"


def test_merge_writes_runs_in_design_order_each_once(tmp_path, monkeypatch):
    # a window of 4 runs (2 design points) makes the merge take several passes
    monkeypatch.setattr(store_module, "MERGE_WINDOW_RUNS", 4)
    schema = runs_schema({"x": pa.float64()}, ["y"])
    store = RunStore(tmp_path, schema, n_designs=5, replications=2)
    store.open({"fingerprint": "f", "name": "t"})

    def row(d, r, y):
        return {"design_id": d, "replication_id": r, "seed": r, "status": "ok", "error": None,
                "elapsed_s": 0.0, "x": float(d), "y": y}

    # batches as workers finish: out of order, and run (3, 1) recorded twice
    store.write_batch(1, [row(4, 1, 1.0), row(3, 1, 2.0), row(0, 0, 3.0)], [])
    store.write_batch(2, [row(2, 0, 4.0), row(3, 1, 99.0), row(1, 1, 5.0), row(4, 0, 6.0)], [])
    store.write_batch(3, [row(0, 1, 7.0), row(1, 0, 8.0), row(2, 1, 9.0), row(3, 0, 10.0)], [])
    assert store.merge() == 10
    runs = pd.read_parquet(tmp_path / "runs.parquet")  # plain pandas, no sorting
    assert list(zip(runs["design_id"], runs["replication_id"], strict=True)) == [
        (d, r) for d in range(5) for r in range(2)]
    assert runs.loc[(runs["design_id"] == 3) & (runs["replication_id"] == 1), "y"].item() == 2.0
    assert not list((tmp_path / "runs.parts").iterdir())


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("smoke") / "out"
    run_sweep(load_spec(SMOKE), out, serial=True, progress=False)
    return out


def test_parquet_and_sweep_json_say_what_each_column_is(smoke):
    spec = load_spec(SMOKE)
    schema = pq.read_schema(smoke / "runs.parquet")
    for name in spec.metrics:
        field = schema.field(name).metadata
        assert field[b"unit"] and field[b"description"]
    assert schema.field("buyer_weeks_halted:USA").metadata[b"unit"] == b"buyer-weeks"
    approval = schema.field("approval").metadata
    assert json.loads(approval[b"paths"]) == ["events[0].control.approval"]
    assert json.loads(approval[b"scale"]) is False
    table = json.loads(schema.metadata[b"abm"])
    assert table["scenario"] == "april-2025-controls"
    assert table["series"]["price_usd_per_kg:magnet:ROW"]["unit"] == "USD/kg"
    design = pq.read_schema(smoke / "design.parquet")
    assert json.loads(design.field("review_weeks").metadata[b"paths"]) == [
        "events[0].control.review_weeks"]
    meta = json.loads((smoke / "sweep.json").read_text())
    assert meta["columns"]["review_weeks"]["paths"] == ["events[0].control.review_weeks"]
    assert meta["columns"]["shortfall_t:magnet"]["unit"] == "t"
    assert meta["spec"]["sweep"]["name"] == "smoke"


def _made_up_spec(until: str | None, path: str) -> dict:
    sweep = {"name": "warned", "scenario": str(MADE_UP), "seed": 1, "replications": 1}
    if until:
        sweep["until"] = dt.date.fromisoformat(until)
    return {"sweep": sweep,
            "parameters": [{"name": "review", "path": path, "values": [2.0, 8.0]}],
            "outcomes": {"metrics": ["buyer_weeks_halted"]}}


def test_a_spec_from_python_is_recorded_with_its_scenario_file(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        spec = spec_from_dict(_made_up_spec("2024-04-30", "events[0].control.review_weeks"))
    run_sweep(spec, tmp_path / "out", serial=True, progress=False)
    meta = json.loads((tmp_path / "out" / "sweep.json").read_text())
    assert meta["spec"]["parameters"][0]["path"] == "events[0].control.review_weeks"
    assert meta["scenario_file"] == str(MADE_UP)


def test_a_spec_warns_when_a_later_event_resets_a_swept_field():
    with pytest.warns(abm.OverriddenPathWarning, match=r"parameter 'review' sets "
                      r"events\[0\].control.review_weeks, but event 1"):
        spec_from_dict(_made_up_spec(None, "events[0].control.review_weeks"))


def test_a_spec_with_a_misspelt_outcome_stops_before_running(write_spec):
    text = textwrap.dedent(f"""
        [sweep]
        scenario = "{MADE_UP}"
        [[parameters]]
        path = "market.halt_threshold"
        values = [0.4, 0.6]
        [outcomes]
        metrics = ["exports_t:gallium:ATL:BORR:2024"]
        """)
    with pytest.raises(SpecError, match=r"outcomes.metrics: .*destination 'BORR'.*did you mean "
                       r"'BOR'"):
        load_spec(write_spec(text))


def test_the_command_prints_the_override_warning_and_records_it(write_spec, tmp_path, capsys):
    from abm.sweep.cli import main

    text = textwrap.dedent(f"""
        [sweep]
        scenario = "{MADE_UP}"
        until = 2024-10-31
        [[parameters]]
        name = "review"
        path = "events[0].control.review_weeks"
        values = [2.0, 8.0]
        [outcomes]
        metrics = ["buyer_weeks_halted:CYR"]
        """)
    assert main(["sweep", str(write_spec(text)), "--out", str(tmp_path / "out"), "--serial",
                 "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("abm sweep: warning: parameter 'review' sets "
                          "events[0].control.review_weeks, but event 1")
    meta = json.loads((tmp_path / "out" / "sweep.json").read_text())
    assert len(meta["warnings"]) == 1 and "2024-09-02" in meta["warnings"][0]
