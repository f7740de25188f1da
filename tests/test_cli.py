"""The `abm` command end to end on short runs."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import abm
from abm.cli import main
from tests.conftest import TINY


def test_run_writes_tables_figures_and_manifest(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["run", "april-2025-controls", "--seed", "3", "--until", "2025-06-30",
                 "--out", str(out), "--quiet"])
    assert code == 0
    names = {p.name for p in out.iterdir()}
    assert {"customs_monthly.csv", "weekly.csv", "manifest.json", "shipments.parquet",
            "exports_by_destination.png", "prices.png", "buyers_halted.png",
            "licences.png", "weekly_chip_sales.csv", "weekly_pain.csv"} <= names
    customs = pd.read_csv(out / "customs_monthly.csv", dtype={"month": str})
    assert {"month", "good", "origin", "destination", "quantity_t", "value_usd"} <= set(customs)
    assert customs["month"].max() == "2025-06"
    assert set(customs["destination"]) <= {"CHN", "USA", "EU", "JPN", "KOR", "IND", "ROW"}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["scenario"] == "april-2025-controls"
    assert manifest["seed"] == 3
    assert manifest["package_version"]
    again = tmp_path / "again"
    main(["run", "april-2025-controls", "--seed", "3", "--until", "2025-06-30",
          "--out", str(again), "--quiet"])
    assert (again / "customs_monthly.csv").read_bytes() == (out / "customs_monthly.csv").read_bytes()


def test_bad_scenario_prints_one_line_and_writes_nothing(tmp_path, capsys, write_scenario):
    path = write_scenario('[scenario]\nname = "x"\nstart = 2024-01-01\nend = 2024-02-01\n'
                          '[[goods]]\nname = "magnet"\nreference_price_usd_per_kg = '
                          '{ CHN = 1.0, ROW = 1.5 }\n[[countries]]\ncode = "CHN"\n'
                          '[[exporters]]\nname = "a"\ncountry = "CHN"\ngood = "magnet"\n'
                          'capacity_t_per_week = -1.0\n')
    out = tmp_path / "never"
    assert main(["run", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "exporters[0].capacity_t_per_week: expected a number >= 0" in err
    assert str(path) in err
    assert not out.exists()


def test_until_outside_the_run_is_an_error(tmp_path, capsys):
    assert main(["run", "baseline-2024", "--until", "2030-01-01", "--out", str(tmp_path / "x")]) == 2
    assert "--until" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_scenarios_lists_builtins_with_descriptions(capsys):
    assert main(["scenarios"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("baseline-2024 ") for line in lines)
    assert all(len(line.split(None, 1)) == 2 for line in lines)


def test_help_everywhere(capsys):
    for argv in (["--help"], ["run", "--help"], ["scenarios", "--help"]):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 0
    assert "--until" in capsys.readouterr().out


def test_a_run_shorter_than_a_month_has_an_empty_customs_table():
    import datetime as dt

    import abm

    result = abm.run(abm.load("baseline-2024"), seed=0, until=dt.date(2024, 1, 3))
    customs = result.customs_monthly
    assert customs.empty
    assert {"month", "good", "origin", "destination", "quantity_t", "value_usd"} <= set(customs)


def test_a_run_above_the_work_limit_needs_allow_large(tmp_path, capsys, write_scenario):
    from abm import limits

    path = write_scenario(TINY.replace("count = 3", "count = 1000000"))
    out = tmp_path / "big"
    assert main(["run", str(path), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "buyer-weeks" in err and "--allow-large" in err
    assert not out.exists()
    config = abm.load(path)
    with pytest.raises(limits.TooMuchWork):
        limits.check_run(config)
    limits.check_run(config, allow_large=True)
    assert limits.buyer_weeks(config) == 1_000_000 * config.weeks


def test_bad_seeds_are_one_line(capsys):
    for seed in ("-5", "x", str(2**64)):
        with pytest.raises(SystemExit) as exit_:
            main(["run", "baseline-2024", "--seed", seed])
        assert exit_.value.code == 2
    assert "expected a whole number in [0, 2**63)" in capsys.readouterr().err
