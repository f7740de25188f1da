"""`abm reproduce`: the quick references still come out of this code (what CI checks), a
changed model makes it fail, and the table comparison honours its tolerances."""

from __future__ import annotations

import argparse
import json

import pandas as pd
import pytest

from abm import cli, reproduce
from abm.market import clearing


def test_reproduce_quick_matches_the_committed_quick_references(capsys):
    assert cli.main(["reproduce", "--quick"]) == 0
    out = capsys.readouterr().out
    for name, spec in reproduce.EXPERIMENTS.items():
        for table in spec.quick_tables or ():
            assert f"{name:<20} {table:<28} match" in out
    assert "tables match" in out


def test_a_changed_model_makes_reproduce_fail(monkeypatch, capsys):
    # A different far end of the demand schedule changes e02's price paths in the crisis.
    monkeypatch.setattr(clearing, "MAX_SHORTAGE", 0.3)
    assert cli.main(["reproduce", "e02_quota_crisis", "--quick"]) == 1
    out = capsys.readouterr().out
    assert "mismatch" in out
    assert "prices.csv" in out


def test_reproduce_refuses_an_experiment_without_a_quick_reference(capsys):
    assert cli.main(["reproduce", "e03_licence_sweep", "--quick"]) == 2


def _spec(rtol=1e-6, atol=1e-6):
    return reproduce.Experiment("x", "x.py", ("t.csv",), rtol=rtol, atol=atol)


def test_csv_comparison_within_and_beyond_tolerance(tmp_path):
    old, new = tmp_path / "old.csv", tmp_path / "new.csv"
    pd.DataFrame({"month": ["2025-01", "2025-02"], "t": [100.0, 200.0]}).to_csv(old, index=False)
    pd.DataFrame({"month": ["2025-01", "2025-02"], "t": [100.00001, 200.0]}).to_csv(new, index=False)
    assert reproduce.compare_csv(new, old, _spec())[0]
    pd.DataFrame({"month": ["2025-01", "2025-02"], "t": [101.0, 200.0]}).to_csv(new, index=False)
    ok, detail, _ = reproduce.compare_csv(new, old, _spec())
    assert not ok and "t differs in 1 of 2 rows" in detail
    pd.DataFrame({"month": ["2025-01", "2025-03"], "t": [100.0, 200.0]}).to_csv(new, index=False)
    assert not reproduce.compare_csv(new, old, _spec())[0]


def test_json_comparison_ignores_timings_but_not_numbers(tmp_path):
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps({"a": {"b": 1.0, "c": "IND"}, "seconds": 3.0}))
    new.write_text(json.dumps({"a": {"b": 1.0, "c": "IND"}, "seconds": 9.0}))
    assert reproduce.compare_json(new, old, _spec())[0]
    new.write_text(json.dumps({"a": {"b": 1.1, "c": "IND"}, "seconds": 3.0}))
    assert not reproduce.compare_json(new, old, _spec())[0]
    new.write_text(json.dumps({"a": {"b": 1.0, "c": "USA"}, "seconds": 3.0}))
    assert not reproduce.compare_json(new, old, _spec())[0]


def test_manifest_records_version_seeds_and_data_checksums_but_no_commit():
    record = reproduce.manifest("e02_quota_crisis", "quota-crisis-2010", 1, [5, 6],
                                ["ree_crisis_2010_2013.csv"])
    assert record["seeds"] == [5, 6] and record["package_version"]
    assert "git_commit" not in record  # it would change the committed folder on every rerun
    (data,) = record["data_files"]
    assert data["file"] == "abm/data/ree_crisis_2010_2013.csv" and len(data["sha256"]) == 64


@pytest.mark.parametrize("name", sorted(reproduce.EXPERIMENTS))
def test_every_experiment_has_a_script_and_committed_tables(name):
    spec = reproduce.EXPERIMENTS[name]
    assert (reproduce.REPO / "experiments" / spec.script).exists()
    for table in spec.tables:
        assert (reproduce.REPO / "results" / name / table).exists(), table


def test_an_experiment_is_named_by_its_full_or_short_name():
    assert reproduce.experiment_name("e01") == "e01_history_2025"
    assert reproduce.experiment_name("calibration") == "calibration_2025"
    assert reproduce.experiment_name("e07_output_lost") == "e07_output_lost"
    for wrong in ("e", "e99", "history"):
        with pytest.raises(argparse.ArgumentTypeError, match="short name"):
            reproduce.experiment_name(wrong)
