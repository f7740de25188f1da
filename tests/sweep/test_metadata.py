"""What a sweep's outputs record: units, descriptions and paths of every column, the spec,
the scenario file, and swept fields that a later event sets again."""

from __future__ import annotations

import datetime as dt
import json
import textwrap
import warnings
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from abm.sweep import load_spec, run_sweep, spec_from_dict
from abm.sweep.cli import main
from tests.sweep.conftest import SMOKE

MADE_UP = Path(__file__).resolve().parents[1] / "data" / "made_up.toml"


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


def test_the_command_prints_the_override_warning_and_records_it(write_spec, tmp_path, capsys):
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

