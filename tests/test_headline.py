"""Answers where the user looks: `abm run`'s headline, `abm compare`, and `-v`/`-q` logging."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

import abm
from abm import headline
from abm.cli import main

UNTIL = ["--until", "2025-06-29"]


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """history-2025 and baseline-2024 to the end of June 2025, written by `abm run`."""
    root = tmp_path_factory.mktemp("runs")
    for name in ("history-2025", "baseline-2024"):
        assert main(["run", name, *UNTIL, "--out", str(root / name), "-q"]) == 0
    return root / "history-2025", root / "baseline-2024"


def test_run_ends_with_a_headline_of_exports_losses_prices_and_licences(tmp_path, capsys):
    assert main(["run", "history-2025", *UNTIL, "--out", str(tmp_path / "h")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("wrote ")
    assert "Monthly exports, model against the published record" in out
    assert "by buyer country, 2024-01-01 to 2025-06-29, the whole run" in out
    assert "Prices (USD/kg)" in out and "Licence offices" in out
    # May 2025 against the customs record of 1,238 t, with thousands separators
    may = next(line for line in out.splitlines() if "2025-05" in line)
    assert re.search(r"magnet\s+CHN\s+2025-05\s+[\d,.]+\s+1,238\.0\s", may), may
    # the printed numbers are those of the run's tables
    weekly = pd.read_csv(tmp_path / "h" / "weekly.csv")
    usa = weekly.loc[weekly["country"] == "USA", "output_lost_usd"].sum()
    usa_line = next(line for line in out.splitlines() if line.strip().startswith("USA "))
    assert f"{usa:,.0f}" in usa_line
    licences = pd.read_csv(tmp_path / "h" / "weekly_licences.csv")
    magnet = licences[(licences["state"] == "CHN") & (licences["good"] == "magnet")]
    backlog = magnet.groupby("week")["backlog_t"].sum()  # all destinations and grades
    office = next(line for line in out.splitlines() if re.match(r"\s+CHN\s+magnet\s", line))
    assert f"{backlog.iloc[-1]:,.1f}" in office
    assert f"{backlog.max():,.1f}" in office


def test_quiet_run_prints_nothing(tmp_path, capsys):
    assert main(["run", "baseline-2024", "--until", "2024-03-31", "--out", str(tmp_path / "q"),
                 "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_verbose_logs_the_runs_stages(tmp_path, capsys):
    assert main(["-v", "run", "baseline-2024", "--until", "2024-03-31", "--out",
                 str(tmp_path / "v")]) == 0
    err = capsys.readouterr().err
    stages = ["loading scenario baseline-2024", "running baseline-2024, seed 0: 13 weeks",
              "ran 13 weeks in", "writing tables, figures and manifest to", "drawing the figures"]
    positions = [err.index(f"abm: {stage}") for stage in stages]
    assert positions == sorted(positions)
    # -v after the command works the same; without it, no log line
    assert main(["run", "baseline-2024", "--until", "2024-03-31", "--out", str(tmp_path / "w"),
                 "-v"]) == 0
    assert "abm: running baseline-2024" in capsys.readouterr().err
    assert main(["run", "baseline-2024", "--until", "2024-03-31", "--out", str(tmp_path / "x")
                 ]) == 0
    assert "abm: running" not in capsys.readouterr().err


def test_compare_two_run_folders_prints_and_draws_the_differences(two_runs, tmp_path, capsys):
    history, baseline = two_runs
    out = tmp_path / "cmp"
    assert main(["compare", str(baseline), str(history), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert text.startswith("A = baseline-2024 (scenario baseline-2024, seed 0")
    assert "B = history-2025 (scenario history-2025" in text
    assert {p.name for p in out.iterdir()} == {
        "compare.png", "compare_exports.csv", "compare_countries.csv", "compare_prices.csv",
        "compare_licences.csv", "manifest.json"}
    exports = pd.read_csv(out / "compare_exports.csv")
    may = exports[exports["month"] == "2025-05"].iloc[0]
    customs = {name: pd.read_csv(folder / "customs_monthly.csv") for name, folder in
               (("A", baseline), ("B", history))}
    for side, frame in customs.items():
        want = frame[(frame["month"] == "2025-05") & (frame["good"] == "magnet")
                     & (frame["origin"] == "CHN")]["quantity_t"].sum()
        assert may[side] == pytest.approx(want)
    assert may["change"] == pytest.approx(may["B"] - may["A"]) and may["change"] < 0
    assert may["record_t"] == 1238.0
    countries = pd.read_csv(out / "compare_countries.csv")
    lost = countries[countries["measure"] == "output_lost_usd"].set_index("country")
    history_weekly = pd.read_csv(history / "weekly.csv")
    assert lost.loc["USA", "B"] == pytest.approx(
        history_weekly.loc[history_weekly["country"] == "USA", "output_lost_usd"].sum())
    # baseline has no licence office: its side is zero, the change is history's
    licences = pd.read_csv(out / "compare_licences.csv")
    backlog = licences[(licences["good"] == "magnet") & (licences["measure"] == "backlog_peak_t")]
    assert backlog["A"].iloc[0] == 0 and backlog["change"].iloc[0] > 0


def test_compare_two_scenarios_runs_them(tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main(["compare", "baseline-2024", "april-2025-controls", "--until", "2025-05-31",
                 "--seed", "2", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "A = baseline-2024 (scenario baseline-2024, seed 2, 2024-01-01 to 2025-06-01)" in text
    assert "B = april-2025-controls" in text
    prices = pd.read_csv(out / "compare_prices.csv")
    peak = prices[(prices["good"] == "magnet") & (prices["region"] == "ROW")
                  & (prices["measure"] == "peak_usd_per_kg")].iloc[0]
    assert peak["B"] > peak["A"]
    assert json.loads((out / "manifest.json").read_text())["seed"] == 2


def test_compare_refuses_a_folder_that_is_not_a_run(tmp_path, capsys):
    (tmp_path / "notes").mkdir()
    assert main(["compare", str(tmp_path / "notes"), "baseline-2024", "--out",
                 str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"abm: error: {tmp_path / 'notes'}: ")
    assert "notes: expected a run folder written by `abm run` (with manifest.json)" in err
    assert not (tmp_path / "c").exists()


def test_headline_reads_the_same_from_a_result_and_from_its_folder(two_runs):
    history, _ = two_runs
    import datetime as dt

    result = abm.run(abm.load("history-2025"), seed=0, until=dt.date(2025, 6, 29))
    from_result = headline.headline(headline.from_result(result))
    from_folder = headline.headline(headline.from_folder(history))
    for name in headline.SECTIONS:
        pd.testing.assert_frame_equal(from_result[name], from_folder[name], check_dtype=False)
