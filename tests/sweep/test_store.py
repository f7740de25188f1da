"""The sweep folder: runs merged in design order, each run once; owned, locked, and repaired
after damage, never at a user's expense."""

from __future__ import annotations

import shutil

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from abm.sweep import SweepDirError, load_spec, run_sweep
from abm.sweep import store as store_module
from abm.sweep.analysis import AnalysisError, analyze, load_runs
from abm.sweep.cli import main
from abm.sweep.store import RunStore, runs_schema
from tests.sweep.conftest import SMALL
from tests.sweep.test_runner import runs_of, series_of

ONE_REP = SMALL.replace("replications = 2", "replications = 1")


def tree(folder) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished 6-run sweep (spec path, folder); tests copy the folder before changing it."""
    root = tmp_path_factory.mktemp("finished")
    spec = root / "spec.toml"
    spec.write_text(ONE_REP)
    # One batch, however slow the machine (a batch is also written every flush_seconds).
    run_sweep(load_spec(spec), root / "out", serial=True, progress=False, flush_seconds=1e6)
    return spec, root / "out"


def copy_of(finished, tmp_path):
    spec, folder = finished
    shutil.copytree(folder, tmp_path / "out")
    return spec, tmp_path / "out"


@pytest.mark.parametrize("files", [
    {"notes.txt": b"my notes", "keep.tmp": b"half of my work"},
    {"series/part-000001.parquet": b"my own parquet file"},
])
def test_a_folder_that_is_not_a_sweep_is_left_alone(files, write_spec, tmp_path, capsys):
    spec = write_spec(ONE_REP)
    folder = tmp_path / "mine"
    for name, content in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)
    assert main(["sweep", str(spec), "--out", str(folder), "--serial", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no sweep.json" in err
    assert tree(folder) == files


def test_a_file_as_out_is_refused(write_spec, tmp_path, capsys):
    spec = write_spec(ONE_REP)
    (tmp_path / "out").write_text("keep")
    assert main(["sweep", str(spec), "--out", str(tmp_path / "out"), "--serial",
                 "--no-progress"]) == 2
    assert "is a file" in capsys.readouterr().err
    assert (tmp_path / "out").read_text() == "keep"


def test_only_the_sweeps_own_temporary_files_are_cleared(finished, tmp_path):
    spec, out = copy_of(finished, tmp_path)
    (out / "runs.parts" / "part-000007.parquet.tmp").write_bytes(b"PAR1 half")
    (out / "my-draft.tmp").write_text("not the sweep's")
    report = run_sweep(load_spec(spec), out, serial=True, progress=False)
    assert report.ran == 0
    assert not (out / "runs.parts" / "part-000007.parquet.tmp").exists()
    assert (out / "my-draft.tmp").read_text() == "not the sweep's"


def test_a_second_sweep_into_a_locked_folder_stops_and_names_the_holder(finished, tmp_path,
                                                                       capsys):
    spec, out = copy_of(finished, tmp_path)
    holder = RunStore(out, None, 6, 1)
    holder._lock_folder()
    try:
        before = tree(out)
        assert main(["sweep", str(spec), "--out", str(out), "--serial", "--no-progress"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        assert "another sweep is writing into this folder (process" in err
        assert tree(out) == before
    finally:
        holder.close()
    assert main(["sweep", str(spec), "--out", str(out), "--serial", "--no-progress"]) == 0


@pytest.mark.parametrize("damaged", ["runs.parquet", "series/part-000001.parquet"])
def test_a_truncated_file_is_dropped_and_its_runs_run_again(damaged, finished, tmp_path):
    spec, out = copy_of(finished, tmp_path)
    reference = runs_of(out), series_of(out)
    path = out / damaged
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(AnalysisError, match="damaged"):
        analyze(out, tmp_path / "analysis")
    report = run_sweep(load_spec(spec), out, serial=True, progress=False)
    assert report.ran == 6 and report.skipped == 0
    pd.testing.assert_frame_equal(runs_of(out), reference[0])
    pd.testing.assert_frame_equal(series_of(out), reference[1])


def test_a_corrupt_batch_is_dropped_with_its_series(finished, tmp_path, capsys):
    spec, out = copy_of(finished, tmp_path)
    reference = runs_of(out), series_of(out)
    merged = pq.read_table(out / "runs.parquet")
    # a sweep killed before its merge: rows of batch 1 only in runs.parts/, and that file
    # overwritten with garbage
    pq.write_table(merged.filter(merged.column("part").to_numpy() != 1),
                   out / "runs.parquet")
    (out / "runs.parts" / "part-000001.parquet").write_bytes(b"PAR1" + b"\0" * 64 + b"PAR1")
    report = run_sweep(load_spec(spec), out, serial=True, progress=False)
    assert "runs.parts/part-000001.parquet: damaged" in capsys.readouterr().err
    assert report.ran == 6
    pd.testing.assert_frame_equal(runs_of(out), reference[0])
    pd.testing.assert_frame_equal(series_of(out), reference[1])


def test_a_damaged_design_file_is_rewritten(finished, tmp_path):
    spec, out = copy_of(finished, tmp_path)
    good = (out / "design.parquet").read_bytes()
    (out / "design.parquet").write_bytes(good[:40])
    with pytest.raises(AnalysisError, match="design.parquet: expected a readable Parquet"):
        analyze(out, tmp_path / "analysis")
    assert run_sweep(load_spec(spec), out, serial=True, progress=False).ran == 0
    assert pq.read_table(out / "design.parquet").num_rows == 6


def test_an_unreadable_sweep_json_is_one_clear_error(finished, tmp_path, capsys):
    spec, out = copy_of(finished, tmp_path)
    (out / "sweep.json").write_text('{"fingerprint": ')
    before = tree(out)
    assert main(["sweep", str(spec), "--out", str(out), "--serial", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "sweep.json: unreadable" in err
    assert tree(out) == before
    assert main(["analyze", str(out)]) == 2
    assert "sweep.json: expected the sweep's JSON description" in capsys.readouterr().err


def test_analyze_refuses_duplicated_runs(finished, tmp_path):
    _, out = copy_of(finished, tmp_path)
    runs = pq.read_table(out / "runs.parquet")
    doubled = pd.concat([runs.to_pandas(), runs.to_pandas().iloc[:2]])
    doubled.to_parquet(out / "runs.parquet", index=False)
    with pytest.raises(AnalysisError, match="2 runs appear twice"):
        load_runs(out)


def test_the_folder_is_released_after_a_failed_start(write_spec, tmp_path):
    spec = load_spec(write_spec(ONE_REP))
    out = tmp_path / "out"
    out.mkdir()
    (out / "sweep.json").write_text('{"fingerprint": "another"}')
    with pytest.raises(SweepDirError, match="holds a different sweep"):
        run_sweep(spec, out, serial=True, progress=False)
    store = RunStore(out, None, 6, 1)
    store._lock_folder()  # not still held by the failed sweep
    store.close()


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
