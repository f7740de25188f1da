"""Analysis of finished sweeps: Sobol' and Morris indices and the standard figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from abm.sweep import analyze, load_runs, load_salib, load_spec, run_sweep, sobol_indices
from abm.sweep.analysis import AnalysisError
from abm.sweep.cli import main
from tests.sweep.conftest import SMALL, SMOKE

MADE_UP = Path(__file__).resolve().parents[1] / "data" / "made_up.toml"

# (US buyers do not halt by June 2025 under the April regime: all countries' halts vary)
SAMPLED = (SMALL.replace("values = [0.2, 0.6]", "range = [0.1, 0.9]")
           .replace("steps = 3\n", "").replace("replications = 2", "replications = 1")
           .replace("until = 2025-05-31", "until = 2025-06-30")
           .replace('"buyer_weeks_halted:USA"', '"buyer_weeks_halted"'))


def test_sobol_sweep_gives_s1_and_st_with_intervals(write_spec, tmp_path):
    spec = load_spec(write_spec(SAMPLED.replace('kind = "grid"', 'kind = "sobol"\nn = 8')))
    run_sweep(spec, tmp_path / "out", workers=2, progress=False)
    meta, runs = load_runs(tmp_path / "out")
    indices = sobol_indices(meta, runs)
    assert set(indices.columns) == {"outcome", "parameter", "S1", "S1_conf", "ST", "ST_conf",
                                    "S1_rep_min", "S1_rep_max", "S1_rep_sd", "ST_rep_min",
                                    "ST_rep_max", "ST_rep_sd"}
    assert len(indices) == 2 * 2
    # one replication: its indices are the pooled ones, and their spread is not defined
    assert (indices["S1_rep_min"] == indices["S1"]).all()
    assert indices["S1_rep_sd"].isna().all()
    assert (indices["ST_conf"] >= 0).all()
    written = analyze(tmp_path / "out")
    names = {p.name for p in written}
    assert "sobol_indices.csv" in names
    assert "sobol_buyer_weeks_halted.png" in names
    assert "fan_exports_t_magnet_CHN.png" in names


def test_morris_sweep_gives_mu_star(write_spec, tmp_path):
    spec = load_spec(write_spec(SAMPLED.replace('kind = "grid"',
                                                'kind = "morris"\ntrajectories = 4')))
    run_sweep(spec, tmp_path / "out", serial=True, progress=False)
    analyze(tmp_path / "out")
    stats = pd.read_csv(tmp_path / "out" / "analysis" / "morris.csv")
    assert {"mu_star", "mu_star_conf", "sigma"} <= set(stats.columns)
    assert (tmp_path / "out" / "analysis" / "morris_buyer_weeks_halted.png").is_file()


def test_grid_sweep_gives_heatmaps_and_tornado(tmp_path):
    run_sweep(SMOKE, tmp_path / "out", workers=2, progress=False)
    assert main(["analyze", str(tmp_path / "out")]) == 0
    folder = tmp_path / "out" / "analysis"
    assert (folder / "heatmap_buyer_weeks_halted_USA.png").is_file()
    assert (folder / "tornado_peak_price_ratio_magnet_ROW.png").is_file()


@pytest.mark.parametrize("argv", [
    ["sweep", "no-such-spec.toml", "--out", "x"],
    ["analyze", "no-such-folder"],
])
def test_cli_errors_are_one_line_with_exit_code_2(argv, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error:" in err and "Traceback" not in err


FIVE_INPUTS = f"""
[sweep]
name = "five"
scenario = "{MADE_UP}"
until = 2024-06-30
seed = 5
replications = 2

[design]
kind = "sobol"
n = 8

[[parameters]]
name = "approval"
path = "events[0].control.approval"
range = [0.2, 0.9]

[[parameters]]
name = "review_weeks"
path = "events[0].control.review_weeks"
range = [2.0, 10.0]

[[parameters]]
name = "halt_threshold"
path = "market.halt_threshold"
range = [0.3, 0.7]

[[parameters]]
name = "cover_scale"
path = "buyers[*].cover_weeks"
scale = true
range = [0.5, 2.0]

[[parameters]]
name = "order_adjust_weeks"
path = "market.order_adjust_weeks"
range = [1.0, 6.0]

[outcomes]
metrics = ["buyer_weeks_halted:CYR", "shortfall_t:gallium"]
"""


@pytest.fixture(scope="module")
def five_inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("five")
    spec = folder / "spec.toml"
    spec.write_text(FIVE_INPUTS)
    run_sweep(load_spec(spec), folder / "out", workers=2, progress=False)
    analyze(folder / "out")
    return folder / "out"


def _csv(path):
    return pd.read_csv(path)  # pandas reads floats back exactly (round trip)


def test_salib_on_load_salib_equals_abm_analyze_to_full_precision(five_inputs):
    from SALib.analyze import sobol
    from SALib.sample import sobol as sobol_sample

    written = _csv(five_inputs / "analysis" / "sobol_indices.csv")
    for outcome in ("buyer_weeks_halted:CYR", "shortfall_t:gallium"):
        problem, x, y = load_salib(five_inputs, outcome)
        assert problem["num_vars"] == 5 and x.shape == (8 * 7, 5) and y.shape == (56,)
        np.testing.assert_array_equal(x, sobol_sample.sample(problem, 8, calc_second_order=False,
                                                             seed=5))
        ours = sobol.analyze(problem, y, calc_second_order=False, num_resamples=200,
                             conf_level=0.95, seed=5)
        rows = written[written["outcome"] == outcome].set_index("parameter").loc[problem["names"]]
        for column in ("S1", "S1_conf", "ST", "ST_conf"):
            np.testing.assert_array_equal(rows[column].to_numpy(), ours[column])
        assert rows["ST"].max() > 0.05  # the indices are not all zero


def test_indices_per_replication_and_their_spread(five_inputs):
    from SALib.analyze import sobol

    pooled = _csv(five_inputs / "analysis" / "sobol_indices.csv")
    single = _csv(five_inputs / "analysis" / "sobol_indices_by_replication.csv")
    assert len(single) == 2 * 5 * 2  # outcomes x parameters x replications
    outcome = "buyer_weeks_halted:CYR"
    for r in (0, 1):
        problem, _, y = load_salib(five_inputs, outcome, replication=r)
        ours = sobol.analyze(problem, y, calc_second_order=False, num_resamples=200,
                             conf_level=0.95, seed=5)
        rows = single[(single["outcome"] == outcome) & (single["replication_id"] == r)]
        np.testing.assert_array_equal(rows.set_index("parameter").loc[problem["names"], "S1"],
                                      ours["S1"])
    spread = single.groupby(["outcome", "parameter"])["ST"].agg(["min", "max", "std"])
    merged = pooled.set_index(["outcome", "parameter"]).join(spread)
    np.testing.assert_array_equal(merged["ST_rep_min"], merged["min"])
    np.testing.assert_array_equal(merged["ST_rep_max"], merged["max"])
    np.testing.assert_allclose(merged["ST_rep_sd"], merged["std"], rtol=1e-12)
    assert (merged["ST_rep_max"] > merged["ST_rep_min"]).any()  # replications do differ


def test_runs_parquet_is_in_design_order(five_inputs):
    runs = pd.read_parquet(five_inputs / "runs.parquet")
    keys = list(zip(runs["design_id"], runs["replication_id"], strict=True))
    assert keys == sorted(keys) and len(set(keys)) == 56 * 2


def test_load_salib_names_a_wrong_outcome(five_inputs):
    with pytest.raises(AnalysisError, match=r"'buyer_weeks_halted:CYRR' is not a metric"):
        load_salib(five_inputs, "buyer_weeks_halted:CYRR")
    with pytest.raises(AnalysisError, match=r"replication 2 does not exist"):
        load_salib(five_inputs, "buyer_weeks_halted:CYR", replication=2)


def test_analysis_never_replaces_a_users_file(write_spec, tmp_path):
    spec = load_spec(write_spec(SAMPLED.replace('kind = "grid"', 'kind = "sobol"\nn = 8')))
    run_sweep(spec, tmp_path / "out", workers=1, progress=False)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "sobol_indices.csv").write_text("my own numbers\n")
    (mine / "notes.md").write_text("keep me\n")
    with pytest.raises(AnalysisError, match=r"sobol_indices\.csv: exists and was not written"):
        analyze(tmp_path / "out", mine)
    assert (mine / "sobol_indices.csv").read_text() == "my own numbers\n"
    assert sorted(p.name for p in mine.iterdir()) == ["notes.md", "sobol_indices.csv"]
    # Into a folder of its own, again and again: it owns what it wrote.
    ours = tmp_path / "ours"
    first = analyze(tmp_path / "out", ours)
    again = analyze(tmp_path / "out", ours)
    assert {p.name for p in first} == {p.name for p in again}
    assert (ours / "notes.md").exists() is False
    assert not [p for p in ours.iterdir() if p.name.startswith(".abm-analysis-")]
