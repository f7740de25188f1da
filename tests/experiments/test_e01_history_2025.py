"""e01 end to end in quick mode, its key metrics against the episode, and a regression pin
against the committed results (a change that breaks the fit fails here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import abm

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "results" / "e01_history_2025"
OBSERVED = {"2025-04": 2627, "2025-05": 1238, "2025-06": 3188, "2025-07": 5577}


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("e01") / "e01"
    subprocess.run([sys.executable, str(ROOT / "experiments" / "e01_history_2025.py"), "--quick",
                    "--workers", "1", "--out", str(out)], check=True, capture_output=True)
    return out


def test_quick_run_writes_its_tables_figures_and_summary(quick):
    names = {p.name for p in quick.iterdir()}
    assert {"monthly_exports.csv", "exports_vs_observed.png", "buyers_halted.png", "prices.png",
            "summary.md", "metrics.json", "manifest.json"} <= names
    table = pd.read_csv(quick / "monthly_exports.csv", dtype={"month": str})
    assert list(table.columns) == ["month", "destination", "observed_t", "model_median_t",
                                   "model_p05_t", "model_p95_t"]
    assert len(table) == 36 * 2
    assert set(table["destination"]) == {"ALL", "USA"}
    assert table["month"].min() == "2024-01" and table["month"].max() == "2026-12"
    assert (table["model_p05_t"] <= table["model_median_t"] + 1e-9).all()
    assert (table["model_median_t"] <= table["model_p95_t"] + 1e-9).all()
    observed = table.dropna(subset=["observed_t"])
    assert observed.loc[(observed["month"] == "2025-05") & (observed["destination"] == "ALL"),
                        "observed_t"].item() == 1238


def test_quick_run_reproduces_the_episode(quick):
    metrics = json.loads((quick / "metrics.json").read_text())
    for month, observed in OBSERVED.items():
        got = metrics["fit"][month]["model_median_t"]
        assert got == pytest.approx(observed, rel=0.45), month
    assert metrics["trough_month"] == "2025-05"
    assert metrics["us_may_2025_over_observed_may_2024"] <= 0.2
    assert metrics["automotive_halt_spells_mid_may_to_june"]["median_spells_of_1_to_3_weeks"] >= 1
    assert 2.0 <= metrics["heavy_ree_price"]["ROW_ratio_5_weeks"] <= 4.0
    assert metrics["heavy_ree_price"]["CHN_max_rise_apr_jul"] <= 0.10  # flat or falling
    assert metrics["buyer_weeks_halted_2024_max"] == 0
    assert metrics["baseline_2024"]["exports_t:magnet:CHN:2024"] == pytest.approx(58152, rel=0.10)
    assert metrics["export_unit_value_usd_per_kg"]["2024"] == pytest.approx(49, rel=0.10)
    assert metrics["share_granted"]["IND 2025-08-05 applications"] <= 0.10


def test_committed_results_meet_what_the_summary_claims():
    """The committed 20-seed results hold what results/INDEX.md claims of them; each miss
    is stated there with its size."""
    metrics = json.loads((COMMITTED / "metrics.json").read_text())
    manifest = json.loads((COMMITTED / "manifest.json").read_text())
    assert len(manifest["seeds"]) >= 20
    medians = {m: metrics["fit"][m]["model_median_t"] for m in OBSERVED}
    # April and July within 25%; May's depth (-36%) and June's overshoot (+31%) are stated
    # misses (docs/calibration.md), pinned here within 40%.
    for month in ("2025-04", "2025-07"):
        assert medians[month] == pytest.approx(OBSERVED[month], rel=0.25), month
    for month in ("2025-05", "2025-06"):
        assert medians[month] == pytest.approx(OBSERVED[month], rel=0.40), month
    assert min(medians, key=medians.get) == "2025-05"
    aug_dec = metrics["august_december"]
    assert aug_dec["worst_abs_error_pct"] <= 25
    assert aug_dec["mean_abs_error_pct"] <= 12
    assert abs(aug_dec["us_sum_error_pct"]) <= 15
    assert 2.0 <= metrics["heavy_ree_price"]["ROW_ratio_5_weeks"] <= 4.0
    # Dy/Tb inside China, December over June 2025: +4% against -17% (a stated miss; the aim
    # is -35% to 0%): within 10% of flat.
    assert abs(metrics["heavy_ree_price"]["CHN_december_over_june_2025"]) <= 0.10
    assert 0.8 <= metrics["magnet_price"]["ROW_december_2026_over_2024"] <= 2.0
    assert metrics["export_unit_value_usd_per_kg"]["2024"] == pytest.approx(49, rel=0.10)
    assert metrics["baseline_2024"]["exports_t:magnet:CHN:2024"] == pytest.approx(58152, rel=0.10)
    assert 0.10 <= metrics["baseline_2024"]["export_share:magnet:CHN:USA:2024"] <= 0.15
    assert 0.33 <= metrics["baseline_2024"]["export_share:magnet:CHN:EU:2024"] <= 0.45
    assert metrics["share_granted"]["IND 2025-08-05 applications"] <= 0.10
    # A handful of plants for one to three weeks, not most of the sector.
    capacity = metrics["automotive_capacity_mid_may_to_june"]
    assert 0.0 < capacity["capacity_weeks_halted_share"] <= 0.10


def test_quick_run_stays_close_to_committed_results(quick):
    """Regression pin: the quick ensemble's key numbers stay near the committed 20-seed ones."""
    now = json.loads((quick / "metrics.json").read_text())
    then = json.loads((COMMITTED / "metrics.json").read_text())
    for key in now["fit"]:
        assert now["fit"][key]["model_median_t"] == pytest.approx(
            then["fit"][key]["model_median_t"], rel=0.25, abs=40), key
    assert now["heavy_ree_price"]["ROW_ratio_5_weeks"] == pytest.approx(
        then["heavy_ree_price"]["ROW_ratio_5_weeks"], rel=0.15)


def test_history_scenario_holds_the_fitted_parameters():
    fitted = json.loads((ROOT / "results" / "calibration_2025" / "fitted_parameters.json").read_text())
    values = fitted["parameters"]["full_year"]
    raw = abm.scenario.to_dict(abm.load("history-2025"))

    april = next(e for e in raw["events"] if e["label"] == "China licences Dy/Tb magnets")
    london = next(e for e in raw["events"] if e["label"] == "London framework")
    assert april["control"]["approval"] == pytest.approx(values["approval"], rel=0.01)
    assert april["control"]["approval_by_destination"]["USA"] == pytest.approx(
        values["approval_usa"], abs=0.005)
    assert april["control"]["review_capacity_t_per_week"] == pytest.approx(
        values["review_capacity_t_per_week"], rel=0.01)
    assert april["control"]["review_cv"] == pytest.approx(values["review_cv"], rel=0.01)
    assert april["control"]["review_learning"] == pytest.approx(values["review_learning"],
                                                                abs=0.005)
    after = min(1.0, values["approval"] + values["london_step"])
    assert london["changes"]["approval"] == pytest.approx(after, rel=0.01)
    assert london["changes"]["approval_by_destination.USA"] == pytest.approx(after, rel=0.01)
    # Approval is higher after London than before, for every destination.
    assert after >= values["approval"] and after >= values["approval_usa"]
    # Fewer fitted parameters than targets, in both fits.
    for fit, targets in fitted["fitted_targets"].items():
        assert len(fitted["parameters"][fit]) < targets, fit
