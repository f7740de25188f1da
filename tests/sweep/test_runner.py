"""Running sweeps: executors agree, failures are recorded, a killed sweep resumes cleanly."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pyarrow.parquet as pq
import pytest

from abm.sweep import load_spec, run_sweep
from abm.sweep import runner as runner_module
from tests.sweep.conftest import SMALL, SMOKE

OUTCOME_COLUMNS = ["design_id", "replication_id", "seed", "status"]


def runs_of(folder) -> pd.DataFrame:
    table = pd.read_parquet(folder / "runs.parquet")
    return table.drop(columns=["elapsed_s", "part"]).sort_values(
        ["design_id", "replication_id"], ignore_index=True)


def series_of(folder) -> pd.DataFrame:
    table = pq.ParquetDataset(folder / "series").read().to_pandas()
    return table.sort_values(["design_id", "replication_id", "series", "period", "key"],
                             ignore_index=True)


@pytest.fixture(scope="module")
def smoke_serial(tmp_path_factory):
    out = tmp_path_factory.mktemp("smoke") / "serial"
    report = run_sweep(load_spec(SMOKE), out, serial=True, progress=False)
    assert report.failed == 0
    return out


def test_runs_parquet_has_one_row_per_run(smoke_serial):
    spec = load_spec(SMOKE)
    runs = runs_of(smoke_serial)
    assert len(runs) == 12
    assert not runs.duplicated(["design_id", "replication_id"]).any()
    assert set(spec.parameter_names + list(spec.metrics)) <= set(runs.columns)
    assert (runs["status"] == "ok").all()
    # common random numbers: one seed per replication, the same at every design point
    assert runs.groupby("replication_id")["seed"].nunique().eq(1).all()
    series = series_of(smoke_serial)
    assert set(series["series"]) == set(spec.series)
    assert series.groupby(["design_id", "replication_id"]).ngroups == 12


def test_local_pool_gives_the_serial_outcomes(smoke_serial, tmp_path):
    report = run_sweep(SMOKE, tmp_path / "pool", workers=2, progress=False)
    assert report.ran == 12
    pd.testing.assert_frame_equal(runs_of(tmp_path / "pool"), runs_of(smoke_serial))
    pd.testing.assert_frame_equal(series_of(tmp_path / "pool"), series_of(smoke_serial))


def test_second_run_resumes_without_redoing(smoke_serial):
    before = pq.read_table(smoke_serial / "runs.parquet").to_pandas()
    report = run_sweep(SMOKE, smoke_serial, serial=True, progress=False)
    assert (report.skipped, report.ran) == (12, 0)
    pd.testing.assert_frame_equal(pq.read_table(smoke_serial / "runs.parquet").to_pandas(),
                                  before)


def test_failing_run_is_recorded_and_the_rest_finish(write_spec, tmp_path, monkeypatch):
    real = runner_module._simulate

    def flaky(scenario, seed, spec):
        if scenario.events[0].control.approval == 0.6 and scenario.market.halt_threshold == 0.45:
            raise RuntimeError("boom at this design point")
        return real(scenario, seed, spec)

    monkeypatch.setattr(runner_module, "_simulate", flaky)
    spec = load_spec(write_spec(SMALL))
    report = run_sweep(spec, tmp_path / "out", serial=True, progress=False)
    runs = runs_of(tmp_path / "out")
    assert len(runs) == 12 and report.failed == 2
    failed = runs[runs["status"] == "error"]
    assert set(failed["design_id"]) == {4}
    assert failed["error"].str.contains("RuntimeError: boom").all()
    assert failed["buyer_weeks_halted:USA"].isna().all()
    assert runs.loc[runs["status"] == "ok", "buyer_weeks_halted:USA"].notna().all()
    # a failed run is finished: resuming does not run it again
    monkeypatch.setattr(runner_module, "_simulate", real)
    assert run_sweep(spec, tmp_path / "out", serial=True, progress=False).ran == 0


def test_another_spec_in_the_same_folder_is_refused(write_spec, smoke_serial):
    from abm.sweep import SweepDirError

    with pytest.raises(SweepDirError, match="holds a different sweep"):
        run_sweep(load_spec(write_spec(SMALL)), smoke_serial, serial=True, progress=False)


def _readable(folder) -> None:
    """Every Parquet file a reader may open is whole."""
    for path in folder.rglob("*.parquet"):
        pq.read_table(path)


def test_sweep_killed_midway_resumes_without_duplicates(write_spec, tmp_path):
    spec_path = write_spec(SMALL.replace("replications = 2", "replications = 8"))
    out = tmp_path / "out"
    command = [sys.executable, "-m", "abm.sweep.cli", "sweep", str(spec_path), "--out", str(out),
               "--workers", "1", "--batch-runs", "2", "--no-progress"]
    # its own process group, so that the kill takes the pool's worker with it
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            if len(list((out / "runs.parts").glob("part-*.parquet"))) >= 2:
                break
            time.sleep(0.01)
        assert process.poll() is None, process.stderr.read().decode()
        os.killpg(process.pid, signal.SIGKILL)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        process.stderr.close()
    assert not (out / "runs.parquet").exists()
    _readable(out)

    report = run_sweep(load_spec(spec_path), out, serial=True, progress=False)
    assert report.skipped >= 4 and report.skipped + report.ran == 48 and report.ran > 0
    runs = runs_of(out)
    assert len(runs) == 48 and not runs.duplicated(["design_id", "replication_id"]).any()
    series = series_of(out)
    assert not series.duplicated(["design_id", "replication_id", "series", "period",
                                  "key"]).any()
    assert series.groupby(["design_id", "replication_id"]).ngroups == 48
    assert list((out / "runs.parts").iterdir()) == []
    # the resumed sweep has the numbers of an uninterrupted one
    fresh = run_sweep(load_spec(spec_path), tmp_path / "fresh", workers=2, progress=False)
    assert fresh.ran == 48
    pd.testing.assert_frame_equal(runs, runs_of(tmp_path / "fresh"))


def test_kill_during_merge_or_between_files_is_repaired(smoke_serial, tmp_path):
    """A kill after runs.parquet was replaced but before the batches were removed, with a
    half-written temporary file and a series batch whose runs batch never landed."""
    import shutil

    out = tmp_path / "copy"
    shutil.copytree(smoke_serial, out)
    merged = pq.read_table(out / "runs.parquet")
    pq.write_table(merged.slice(0, 5), out / "runs.parts" / "part-000001.parquet")
    (out / "runs.parquet.tmp").write_bytes(b"PAR1 half a file")
    orphan = out / "series" / "part-000099.parquet"
    shutil.copyfile(next((out / "series").glob("part-*.parquet")), orphan)

    report = run_sweep(SMOKE, out, serial=True, progress=False)
    assert report.ran == 0
    assert not orphan.exists() and not (out / "runs.parquet.tmp").exists()
    pd.testing.assert_frame_equal(runs_of(out), runs_of(smoke_serial))
    pd.testing.assert_frame_equal(series_of(out), series_of(smoke_serial))


# --- crashes: killed sweeps, dead workers, Ctrl-C -----------------------------------------------

# 8 design points x 5 replications = 40 short runs
FORTY = (SMALL.replace("values = [0.2, 0.6]", "values = [0.2, 0.4, 0.6, 0.8]")
         .replace("steps = 3", "steps = 2").replace("replications = 2", "replications = 5"))


def _sweep_command(spec_path, out, *extra):
    return [sys.executable, "-m", "abm.sweep.cli", "sweep", str(spec_path), "--out", str(out),
            "--no-progress", *extra]


def _group_gone(pgid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


@pytest.fixture(scope="module")
def forty_uninterrupted(tmp_path_factory):
    root = tmp_path_factory.mktemp("forty")
    spec_path = root / "spec.toml"
    spec_path.write_text(FORTY)
    run_sweep(load_spec(spec_path), root / "out", serial=True, progress=False)
    return root / "out"


def test_random_sigkills_then_resume_give_the_uninterrupted_tables(forty_uninterrupted,
                                                                   write_spec, tmp_path):
    """Three SIGKILLs of the sweep's parent at random moments (fixed moments on CI), then a
    resume: the same rows as an uninterrupted run, none twice, none missing, and no worker
    outlives its parent."""
    import random

    rng = random.Random(12 if os.environ.get("CI") == "true" else None)
    spec_path = write_spec(FORTY)
    out = tmp_path / "out"
    for _ in range(3):
        process = subprocess.Popen(_sweep_command(spec_path, out, "--workers", "2",
                                                  "--batch-runs", "3"),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   start_new_session=True)
        try:
            deadline = time.monotonic() + rng.uniform(1.0, 8.0)
            while time.monotonic() < deadline and process.poll() is None:
                time.sleep(0.01)
            process.kill()  # the parent only: its workers must follow it
            process.wait(timeout=10)
            assert _group_gone(process.pid, 10), "a worker outlived its killed parent"
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        _readable(out)
    finished = subprocess.run(_sweep_command(spec_path, out, "--workers", "2"),
                              capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    runs = runs_of(out)
    assert len(runs) == 40 and not runs.duplicated(["design_id", "replication_id"]).any()
    pd.testing.assert_frame_equal(runs, runs_of(forty_uninterrupted))
    pd.testing.assert_frame_equal(series_of(out), series_of(forty_uninterrupted))


# Installed as `sitecustomize` in every Python process of the sweep (its parent, a fork server,
# the workers of a replaced pool), so each of them runs this `_simulate`.
_KILLER = """
import os, signal
from abm.sweep import runner

real = runner._simulate

def killer(scenario, seed, spec):
    if scenario.events[0].control.approval == 0.6 and scenario.market.halt_threshold == 0.6:
        try:
            os.close(os.open({marker!r}, os.O_CREAT | os.O_EXCL))
            os.kill(os.getpid(), signal.SIGKILL)
        except FileExistsError:
            if {always!r}:
                os.kill(os.getpid(), signal.SIGKILL)
    return real(scenario, seed, spec)

runner._simulate = killer
"""


@pytest.mark.parametrize("always", [False, True])
def test_a_dead_pool_worker_is_replaced_and_its_runs_retried(always, forty_uninterrupted,
                                                             write_spec, tmp_path):
    spec_path = write_spec(FORTY)
    out = tmp_path / "out"
    plugin = tmp_path / "plugin"
    plugin.mkdir()
    (plugin / "sitecustomize.py").write_text(
        _KILLER.format(marker=str(tmp_path / "killed"), always=always))
    env = {**os.environ, "PYTHONPATH": f"{plugin}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    finished = subprocess.run(_sweep_command(spec_path, out, "--workers", "2"), env=env,
                              capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert "a worker process died; its runs are run again" in finished.stderr
    runs, reference = runs_of(out), runs_of(forty_uninterrupted)
    assert len(runs) == 40 and not runs.duplicated(["design_id", "replication_id"]).any()
    killer = (runs["approval"] == 0.6) & (runs["halt_threshold"] == 0.6)
    assert killer.sum() == 5
    if not always:
        pd.testing.assert_frame_equal(runs, reference)
    else:
        assert (runs.loc[killer, "status"] == "error").all()
        assert runs.loc[killer, "error"].str.contains("worker process died").all()
        pd.testing.assert_frame_equal(runs[~killer], reference[~killer])


def test_ctrl_c_keeps_finished_runs_and_says_how_many(write_spec, tmp_path):
    # Far more runs than can finish before the interrupt, whatever the machine's speed.
    spec_path = write_spec(FORTY.replace("replications = 5", "replications = 100"))
    out = tmp_path / "out"
    # A child inherits an ignored SIGINT from its parent (a test runner that ran Dask may
    # ignore it), and Python then installs no KeyboardInterrupt: give the sweep the handler a
    # terminal's shell would.
    command = _sweep_command(spec_path, out, "--workers", "2", "--batch-runs", "2")
    argv = ["abm.sweep.cli", *command[3:]]
    process = subprocess.Popen([command[0], "-c",
                                "import runpy, signal, sys; "
                                "signal.signal(signal.SIGINT, signal.default_int_handler); "
                                f"sys.argv = {argv!r}; "
                                "runpy.run_module('abm.sweep.cli', run_name='__main__')"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               start_new_session=True)
    try:
        # Generous limits: on a loaded machine (the whole suite, a CI box) runs are slow.
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and process.poll() is None:
            if len(list((out / "runs.parts").glob("part-*.parquet"))) >= 2:
                break
            time.sleep(0.01)
        assert process.poll() is None, "the sweep ended before it could be interrupted"
        os.killpg(process.pid, signal.SIGINT)  # as a terminal's Ctrl-C does
        _, err = process.communicate(timeout=240)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    err = err.decode()
    assert process.returncode == 130, err
    assert err.count("\n") == 1 and "Traceback" not in err
    kept = int(err.split("interrupted; ")[1].split(" of ")[0])
    parts = list((out / "runs.parts").glob("part-*.parquet"))
    assert kept == sum(pq.read_table(p).num_rows for p in parts) > 0
    assert _group_gone(process.pid, 10)


# --- chunks: how runs are handed to the workers ---------------------------------------------------


def _chunk_sizes(designs: int, reps: int, slots: int, shrink: bool):
    tasks = (runner_module.Task(d, (d,), tuple((r, 1000 + r) for r in range(reps)))
             for d in range(designs))
    chunks = runner_module._Chunks(tasks, designs * reps, slots, shrink)
    sent = []
    while chunk := chunks.next():
        sent.append(chunk)
    assert chunks.unsent == 0
    runs = [(t.design_id, r, seed) for chunk in sent for t in chunk for r, seed in t.replications]
    # every run once, in design order, with its own seed
    assert runs == [(d, r, 1000 + r) for d in range(designs) for r in range(reps)]
    return chunks.size, [sum(len(t.replications) for t in chunk) for chunk in sent]


@pytest.mark.parametrize(("designs", "reps", "slots"), [
    (100, 4, 2), (100, 1, 2), (50, 7, 2), (2, 40, 2), (3, 100, 8), (10, 10, 64), (1, 1, 2)])
def test_chunks_hold_every_run_once_and_shrink_at_the_end_of_a_local_pool(designs, reps,
                                                                         slots):
    size, sizes = _chunk_sizes(designs, reps, slots, shrink=True)
    assert size == max(1, min(16, designs * reps // (slots * 16)))
    # whole design points up to `size` runs; one with more than 16 replications is split
    assert max(sizes) <= size - 1 + min(reps, 16)
    # near the end, at most half a slot's share of what is left: the last chunks are single runs
    left = designs * reps
    for n in sizes:
        assert n <= max(size - 1 + min(reps, 16, left // (2 * slots)), 1)
        left -= n
    assert sizes[-min(len(sizes), 2 * slots):] == [1] * min(len(sizes), 2 * slots)
    # without shrinking (Dask, an executor given by the caller) chunks keep their size
    size, sizes = _chunk_sizes(designs, reps, slots, shrink=False)
    assert max(sizes) <= size - 1 + min(reps, 16)
    assert min(sizes[:-1], default=size) >= size


def test_a_pool_with_split_design_points_and_small_last_chunks_gives_the_serial_outcomes(
        write_spec, tmp_path):
    # 2 design points x 40 replications: chunks of 2 runs, split design points, single runs last
    spec_path = write_spec(SMALL.replace("range = [0.3, 0.6]\nsteps = 3", "values = [0.45]")
                           .replace("replications = 2", "replications = 40"))
    serial = run_sweep(load_spec(spec_path), tmp_path / "serial", serial=True, progress=False)
    pool = run_sweep(load_spec(spec_path), tmp_path / "pool", workers=2, progress=False)
    assert serial.ran == pool.ran == 80 and serial.failed == pool.failed == 0
    pd.testing.assert_frame_equal(runs_of(tmp_path / "pool"), runs_of(tmp_path / "serial"))
    pd.testing.assert_frame_equal(series_of(tmp_path / "pool"), series_of(tmp_path / "serial"))


class _BreakingPool(runner_module.cf.Executor):
    """Stands in for a local process pool: runs chunks on a thread; its `breaks_at`-th chunk is
    refused with BrokenProcessPool and every chunk not yet finished fails with it, as when a
    worker of a process pool dies between two submissions."""

    def __init__(self, breaks_at: int | None):
        import threading
        from concurrent.futures import ThreadPoolExecutor

        self._inner = ThreadPoolExecutor(1)
        self._lock = threading.Lock()
        self._open: list = []
        self._chunks = 0
        self.breaks_at = breaks_at
        self.broken = False

    def submit(self, fn, /, *args, **kwargs):
        from concurrent.futures import Future
        from concurrent.futures.process import BrokenProcessPool

        with self._lock:
            if self.broken:
                raise BrokenProcessPool("broken")
            if fn is runner_module.run_chunk:
                self._chunks += 1
                if self._chunks == self.breaks_at:
                    self.broken = True
                    for future in self._open:
                        if not future.done():
                            future.set_exception(BrokenProcessPool("a worker died"))
                    raise BrokenProcessPool("a worker died")
            mine = Future()
            self._open.append(mine)

        def done(inner):
            with self._lock:
                if not mine.done():
                    mine.set_result(inner.result())

        self._inner.submit(fn, *args, **kwargs).add_done_callback(done)
        return mine

    def shutdown(self, wait=True, *, cancel_futures=False):
        self._inner.shutdown(wait=wait, cancel_futures=cancel_futures)


@pytest.mark.parametrize("breaks_at", [1, 3])
def test_a_pool_that_breaks_between_submissions_is_replaced_and_no_run_is_lost(
        breaks_at, smoke_serial, tmp_path, monkeypatch, capsys):
    """A worker may die after the last wait and before the next chunk is submitted: the pool
    then refuses the chunk. The chunk (never started) goes to the new pool, with the chunks
    that were in flight."""
    pools = []

    def pool(workers):
        pools.append(_BreakingPool(breaks_at if not pools else None))
        return pools[-1]

    monkeypatch.setattr(runner_module, "_process_pool", pool)
    report = run_sweep(SMOKE, tmp_path / "out", workers=2, progress=False)
    assert len(pools) == 2 and pools[0].broken
    assert (report.ran, report.failed, report.not_done) == (12, 0, 0)
    assert "a worker process died; its runs are run again" in capsys.readouterr().err
    pd.testing.assert_frame_equal(runs_of(tmp_path / "out"), runs_of(smoke_serial))
    pd.testing.assert_frame_equal(series_of(tmp_path / "out"), series_of(smoke_serial))
