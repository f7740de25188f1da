"""Output folders: a run never deletes, renames or replaces what it did not write."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tomllib
import warnings

import pandas as pd
import pytest

import abm
from abm import output, plots
from abm.cli import main
from abm.output import OutputError, atomic_directory, check_target, safe_name, write_run
from abm.scenario import from_dict
from tests.conftest import TINY

QUICK = ["--until", "2024-02-15", "--quiet"]


def tiny(**changes) -> abm.Scenario:
    raw = tomllib.loads(TINY)
    for key, value in changes.items():
        table, field = key.split("__")
        raw[table][0][field] = value
    return from_dict(raw, "tiny")


def tree(folder) -> dict[str, bytes]:
    """Every file under `folder` (relative path -> content), hidden ones included."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err


def test_a_folder_abm_did_not_write_is_left_alone(tmp_path, capsys):
    target = tmp_path / "mine"
    (target / "sub").mkdir(parents=True)
    (target / "notes.txt").write_text("my notes")
    (target / "sub" / "data.csv").write_text("a,b\n1,2\n")
    before = tree(tmp_path)
    assert main(["run", "baseline-2024", "--out", str(target), *QUICK]) == 2
    assert "notes.txt" in one_error_line(capsys)
    assert tree(tmp_path) == before


def test_an_output_path_that_is_a_file_is_neither_renamed_nor_replaced(tmp_path, capsys):
    target = tmp_path / "report.txt"
    target.write_text("keep me")
    assert main(["run", "baseline-2024", "--out", str(target), *QUICK]) == 2
    assert "is a file" in one_error_line(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.txt"]
    assert target.read_text() == "keep me"


def test_an_output_path_under_a_file_is_refused(tmp_path, capsys):
    (tmp_path / "report.txt").write_text("keep me")
    assert main(["run", "baseline-2024", "--out", str(tmp_path / "report.txt" / "x"),
                 *QUICK]) == 2
    one_error_line(capsys)
    assert tree(tmp_path) == {"report.txt": b"keep me"}


@pytest.mark.parametrize("out", [".", "..", "/"])
def test_the_current_folder_its_parents_and_the_root_are_refused(out, tmp_path, monkeypatch,
                                                                 capsys):
    work = tmp_path / "work"
    work.mkdir()
    (work / "thesis.txt").write_text("chapter 1")
    monkeypatch.chdir(work)
    assert main(["run", "baseline-2024", "--out", out, *QUICK]) == 2
    one_error_line(capsys)
    assert tree(tmp_path) == {"work/thesis.txt": b"chapter 1"}


@pytest.mark.parametrize(("name", "folder"), [
    ("../../escaped", "escaped-seed0"),
    ("/some/path/victim", "some-path-victim-seed0"),
    ("..", "scenario-seed0"),
])
def test_default_output_stays_inside_out(name, folder, tmp_path, monkeypatch, write_scenario):
    path = write_scenario(f'[scenario]\nname = "{name}"\nextends = "baseline-2024"\n')
    work = tmp_path / "work"
    work.mkdir()
    victim = tmp_path / "victim-seed0"
    victim.mkdir()
    (victim / "thesis.txt").write_text("chapter 1")
    monkeypatch.chdir(work)
    assert main(["run", str(path), *QUICK]) == 0
    assert [p.name for p in (work / "out").iterdir()] == [folder]
    assert sorted(p.name for p in work.iterdir()) == ["out"]
    assert tree(victim) == {"thesis.txt": b"chapter 1"}


def test_safe_name_is_one_plain_folder_name():
    assert safe_name("history-2025") == "history-2025"
    assert safe_name("../../x y") == "x-y"
    assert safe_name("/etc/passwd") == "etc-passwd"
    assert safe_name("...") == "scenario"
    assert safe_name("=cmd|'/C calc'!A0") == "cmd-C-calc-A0"


def test_a_folder_abm_wrote_is_replaced_but_not_once_a_user_adds_a_file(tmp_path, capsys):
    target = tmp_path / "run"
    assert main(["run", "baseline-2024", "--out", str(target), *QUICK]) == 0
    listed = json.loads((target / "manifest.json").read_text())["files"]
    assert sorted(listed) == sorted(p.name for p in target.iterdir())
    assert main(["run", "baseline-2024", "--seed", "1", "--out", str(target), *QUICK]) == 0
    assert json.loads((target / "manifest.json").read_text())["seed"] == 1
    (target / "my_notes.md").write_text("do not lose")
    assert main(["run", "baseline-2024", "--out", str(target), *QUICK]) == 2
    assert "my_notes.md" in one_error_line(capsys)
    assert (target / "my_notes.md").read_text() == "do not lose"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_a_manifest_abm_did_not_write_gives_no_ownership(tmp_path):
    target = tmp_path / "theirs"
    target.mkdir()
    (target / "manifest.json").write_text('{"name": "a shipping manifest"}')
    with pytest.raises(OutputError, match="no abm manifest"):
        check_target(target)


def test_an_empty_folder_is_used(tmp_path):
    target = tmp_path / "empty"
    target.mkdir()
    with atomic_directory(target) as staging:
        (staging / "a.txt").write_text("a")
    assert tree(target) == {"a.txt": b"a"}


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_staging_left_by_a_killed_writer_is_cleaned_and_only_that(tmp_path):
    target = tmp_path / "run"
    stale = tmp_path / f".run.abm-{_dead_pid()}-0123abcd"
    stale_old = tmp_path / f".run.abm-{_dead_pid()}-0123abcd-old"
    live = tmp_path / f".run.abm-{os.getpid()}-89abcdef"
    look_alike = tmp_path / ".run.abm-notes"
    for folder in (stale, stale_old, live, look_alike):
        folder.mkdir()
        (folder / "x").write_text("x")
    with atomic_directory(target) as staging:
        (staging / "a.txt").write_text("a")
    assert not stale.exists() and not stale_old.exists()
    assert live.exists() and look_alike.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [".run.abm-notes", live.name, "run"])


def test_a_failed_block_leaves_nothing(tmp_path):
    target = tmp_path / "run"
    with pytest.raises(RuntimeError), atomic_directory(target) as staging:
        (staging / "half.csv").write_text("1,")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_output_folders_get_the_users_normal_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_directory(tmp_path / "run") as staging:
            (staging / "a.txt").write_text("a")
    finally:
        os.umask(old)
    assert (tmp_path / "run").stat().st_mode & 0o777 == 0o755


def test_text_cells_that_would_run_as_formulas_are_neutralised(tmp_path):
    config = tiny(buyers__sector="=cmd|'/C calc'!A0", exporters__name="@SUM(A1)")
    result = abm.run(config, seed=0, until=dt.date(2024, 2, 20))
    write_run(result, tmp_path / "run")
    weekly = pd.read_csv(tmp_path / "run" / "weekly.csv")
    assert set(weekly["sector"]) == {"'=cmd|'/C calc'!A0"}
    assert (weekly["demand_t"] > 0).all()  # numbers are untouched
    frame = pd.DataFrame({"name": ["-1+1", "ok", "+x", None], "value": [-1.0, 2.0, 3.0, 4.0]})
    safe = output.neutralise_formulas(frame)
    assert safe["name"].tolist()[:3] == ["'-1+1", "ok", "'+x"]
    assert safe["value"].tolist() == [-1.0, 2.0, 3.0, 4.0]


def test_a_figure_that_fails_does_not_lose_the_tables(tmp_path, monkeypatch, capsys):
    def broken(result, path):
        raise TypeError("facecolor must not be an empty sequence")

    monkeypatch.setitem(plots.FIGURES, "prices.png", broken)
    target = tmp_path / "run"
    assert main(["run", "baseline-2024", "--out", str(target), *QUICK]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "prices.png not drawn (TypeError: facecolor" in err
    names = {p.name for p in target.iterdir()}
    assert "prices.png" not in names
    assert {"weekly.csv", "customs_monthly.csv", "buyers_halted.png", "manifest.json"} <= names
    info = json.loads((target / "manifest.json").read_text())
    assert info["figures_not_drawn"] == [
        "prices.png not drawn (TypeError: facecolor must not be an empty sequence)"]
    import matplotlib.pyplot as plt

    assert plt.get_fignums() == []


@pytest.mark.parametrize(("config", "until"), [
    (lambda: tiny(goods__name="gallium", exporters__good="gallium", buyers__good="gallium"),
     dt.date(2024, 4, 1)),
    (lambda: abm.load("baseline-2024"), dt.date(2024, 1, 20)),  # not one whole month
    (lambda: tiny(buyers__demand_t_per_year=0.0), dt.date(2024, 4, 1)),  # no exports at all
])
def test_degenerate_runs_draw_every_figure(config, until, tmp_path):
    result = abm.run(config(), seed=0, until=until)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        written = write_run(result, tmp_path / "run")
    assert {"exports_by_destination.png", "prices.png", "buyers_halted.png"} <= {
        p.name for p in written}
    assert "figures_not_drawn" not in json.loads((tmp_path / "run" / "manifest.json").read_text())
