"""Analysis of finished sweeps: Sobol' and Morris indices and the standard figures."""

from __future__ import annotations

import pandas as pd
import pytest

from abm.sweep import analyze, load_runs, load_spec, run_sweep, sobol_indices
from abm.sweep.cli import main
from tests.sweep.conftest import SMALL, SMOKE

SAMPLED = (SMALL.replace("values = [0.2, 0.6]", "range = [0.1, 0.9]")
           .replace("steps = 3\n", "").replace("replications = 2", "replications = 1")
           .replace("until = 2025-05-31", "until = 2025-06-30"))


def test_sobol_sweep_gives_s1_and_st_with_intervals(write_spec, tmp_path):
    spec = load_spec(write_spec(SAMPLED.replace('kind = "grid"', 'kind = "sobol"\nn = 8')))
    run_sweep(spec, tmp_path / "out", workers=2, progress=False)
    meta, runs = load_runs(tmp_path / "out")
    indices = sobol_indices(meta, runs)
    assert set(indices.columns) == {"outcome", "parameter", "S1", "S1_conf", "ST", "ST_conf"}
    assert len(indices) == 2 * 2
    assert (indices["ST_conf"] >= 0).all()
    written = analyze(tmp_path / "out")
    names = {p.name for p in written}
    assert "sobol_indices.csv" in names
    assert "sobol_buyer_weeks_halted_USA.png" in names
    assert "fan_exports_t_magnet_CHN.png" in names


def test_morris_sweep_gives_mu_star(write_spec, tmp_path):
    spec = load_spec(write_spec(SAMPLED.replace('kind = "grid"',
                                                'kind = "morris"\ntrajectories = 4')))
    run_sweep(spec, tmp_path / "out", serial=True, progress=False)
    analyze(tmp_path / "out")
    stats = pd.read_csv(tmp_path / "out" / "analysis" / "morris.csv")
    assert {"mu_star", "mu_star_conf", "sigma"} <= set(stats.columns)
    assert (tmp_path / "out" / "analysis" / "morris_buyer_weeks_halted_USA.png").is_file()


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
