"""Fuzzing sweep specs: every field mutated gives one clear line naming the file and the field,
or a spec whose design has the promised size and whose sweep runs cleanly. Never a traceback.

A fixed set of mutants on CI (`ABM_FUZZ_SPECS`, default 300); a random set locally.
"""

from __future__ import annotations

import os

import pyarrow.parquet as pq
import pytest

from abm import limits
from abm.scenario import ScenarioError
from abm.sweep import SpecError, design_table, run_sweep, spec_from_dict
from abm.sweep.spec import MAX_DESIGN_POINTS, MAX_RUNS, design_points
from tests.scenario.test_fuzz import RICH, fuzz_rng, mutants

BASE = {
    "sweep": {"name": "fuzz", "scenario": "rich.toml", "until": "2024-03-31", "seed": 7,
              "replications": 2},
    "design": {"kind": "grid"},
    "parameters": [
        {"name": "approval", "path": "events[0].control.approval", "values": [0.2, 0.6]},
        {"name": "halt_threshold", "path": "market.halt_threshold", "range": [0.3, 0.6],
         "steps": 3},
    ],
    "outcomes": {"metrics": ["buyer_weeks_halted:USA", "exports_t:magnet:CHN:2024-02"],
                 "series": ["exports_t:magnet:CHN"]},
}
# Designs a mutant may switch to, so that every kind's settings are fuzzed too.
DESIGNS = [
    {"kind": "lhs", "samples": 5}, {"kind": "sobol", "n": 4}, {"kind": "sobol", "n": 3},
    {"kind": "morris", "trajectories": 2, "levels": 4}, {"kind": "lhs", "samples": 10**9},
    {"kind": "sobol", "n": 2**30}, {"kind": "morris", "trajectories": 3, "levels": 5},
]


def base_spec() -> dict:
    import datetime as dt

    spec = {table: (dict(value) if isinstance(value, dict) else [dict(p) for p in value])
            for table, value in BASE.items()}
    spec["sweep"]["until"] = dt.date(2024, 3, 31)
    return spec


def test_mutated_specs_give_one_line_or_a_clean_sweep(tmp_path):
    (tmp_path / "rich.toml").write_text(RICH)
    rng = fuzz_rng()
    count = int(os.environ.get("ABM_FUZZ_SPECS", "300"))
    loaded = refused = swept = 0
    for i, (label, raw) in enumerate(mutants(base_spec(), count, rng)):
        if i % 4 == 0:
            raw["design"] = rng.choice(DESIGNS)
            if raw["design"]["kind"] != "grid" and isinstance(raw.get("parameters"), list):
                for parameter in raw["parameters"]:
                    if isinstance(parameter, dict):
                        parameter.pop("steps", None)
                        if parameter.get("values") == [0.2, 0.6]:
                            parameter["range"] = parameter.pop("values")
        try:
            spec = spec_from_dict(raw, source="fuzz.toml", root=tmp_path)
        except (SpecError, ScenarioError) as err:
            assert "\n" not in str(err) and str(err).startswith("fuzz.toml"), str(err)
            refused += 1
            continue
        except Exception as err:  # noqa: BLE001 - the point of the test
            pytest.fail(f"{label}: {type(err).__name__}: {err}")
        loaded += 1
        points = design_points(spec.design, spec.parameters)
        assert points <= MAX_DESIGN_POINTS and points * spec.replications <= MAX_RUNS, label
        if points * spec.replications <= 2_000:
            assert len(design_table(spec)) == points, label
        if points * spec.replications <= 16 and swept < 4:
            out = tmp_path / f"sweep{i}"
            try:
                report = run_sweep(spec, out, serial=True, progress=False)
            except limits.TooMuchWork:
                continue
            assert report.ran == points * spec.replications, label
            assert pq.read_table(out / "runs.parquet").num_rows == report.ran, label
            swept += 1
    assert refused > count // 3 and loaded > count // 20 and swept >= 1
