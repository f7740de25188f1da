"""Running a sweep: tasks to an executor, rows to the store, a progress bar on the side.

Any `concurrent.futures.Executor` will do: a local process pool (the default, one worker per
core), `SerialExecutor` (in this process, for debugging) or Dask distributed's executor (a
scheduler address, or a local Dask cluster). A worker needs nothing but `run_chunk` and the
picklable `Job`, so every executor computes the same numbers from the same spec.

Runs go out in chunks of the replications of one or a few design points (the scenario of a
design point is built once per chunk), with a bounded number of chunks in flight, so the
parent's memory does not grow with the number of runs.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import multiprocessing
import os
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from abm.scenario import Scenario
from abm.sweep.design import design_table, salib_problem
from abm.sweep.metadata import column_descriptions, scenario_file
from abm.sweep.spec import SweepSpec, load_spec, spec_seed_children
from abm.sweep.store import SERIES_SCHEMA, RunStore, described, runs_schema, write_atomic


@dataclass(frozen=True)
class Job:
    """What every worker needs to run any design point (pickled once per chunk)."""

    spec: SweepSpec


@dataclass(frozen=True)
class Task:
    design_id: int
    values: tuple[Any, ...]
    replications: tuple[tuple[int, int], ...]  # (replication_id, seed)


def _simulate(scenario: Scenario, seed: int, spec: SweepSpec):
    function = spec.model_function
    result = function.run(scenario, seed)
    series = function.series_table(result) if function.series else None
    return function.metric_values(result), series


def run_chunk(job: Job, tasks: list[Task]) -> list[tuple[dict[str, Any], pa.Table | None]]:
    """Run every replication of every task; a run that raises is returned with its error."""
    spec = job.spec
    out = []
    for task in tasks:
        scenario = None
        build_error = None
        try:
            scenario = spec.scenario_for(task.values)
        except Exception as err:  # noqa: BLE001 - recorded with the run, the sweep goes on
            build_error = f"{type(err).__name__}: {err}"
        for replication_id, seed in task.replications:
            row: dict[str, Any] = {"design_id": task.design_id, "replication_id": replication_id,
                                   "seed": seed}
            row.update(zip(spec.parameter_names, task.values, strict=True))
            started = time.perf_counter()
            series = None
            if build_error is not None:
                row.update(status="error", error=build_error)
            else:
                try:
                    metrics, series = _simulate(scenario, seed, spec)
                    row.update(metrics)
                    row.update(status="ok", error=None)
                except Exception as err:  # noqa: BLE001 - recorded with the run
                    row.update(status="error", error=f"{type(err).__name__}: {err}")
            row["elapsed_s"] = time.perf_counter() - started
            if series is not None:
                keys = pa.array(np.full(series.num_rows, task.design_id, dtype=np.int64))
                series = series.add_column(0, "replication_id", pa.array(
                    np.full(series.num_rows, replication_id, dtype=np.int64)))
                series = series.add_column(0, "design_id", keys).cast(SERIES_SCHEMA)
            out.append((row, series))
    return out


class SerialExecutor(cf.Executor):
    """Runs each task in this process when it is submitted (for debugging and profiling)."""

    def submit(self, fn, /, *args, **kwargs):
        future: cf.Future = cf.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as err:  # noqa: BLE001 - handed to the caller through the future
            future.set_exception(err)
        return future


@contextlib.contextmanager
def make_executor(workers: int | None = None, scheduler: str | None = None,
                  serial: bool = False) -> Iterator[tuple[cf.Executor, int]]:
    """Yield (executor, number of worker slots).

    `scheduler` is a Dask scheduler address (`tcp://host:port`) or `local` for a local Dask
    cluster of `workers` processes; otherwise a process pool of `workers` (default: all cores).
    """
    if serial:
        yield SerialExecutor(), 1
        return
    if scheduler is not None:
        from distributed import Client, LocalCluster

        if scheduler == "local":
            cluster = LocalCluster(n_workers=workers or os.cpu_count(), threads_per_worker=1,
                                   processes=True, dashboard_address=None)
            client = Client(cluster)
        else:
            cluster = None
            client = Client(scheduler, timeout="30s")
        try:
            slots = sum(client.nthreads().values()) or 1
            yield client.get_executor(pure=False), slots
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
        return
    workers = workers or os.cpu_count() or 1
    # A parent without other Python threads forks its workers, which then start with the model
    # imported (importing it again costs about 3 s a worker). Forking while Python threads run
    # (a Dask client, a progress bar) risks a lock held across the fork, so such a parent uses
    # a fork server. (Native pools such as Arrow's and BLAS's reset themselves at fork.)
    if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("fork")
    else:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["abm.sweep.runner"])
    with cf.ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        # With fork, the first task starts every worker, before this process starts a thread.
        pool.submit(int).result()
        yield pool, workers


@dataclass
class SweepReport:
    out: Path
    total: int
    skipped: int
    ran: int
    failed: int
    not_done: int
    seconds: float

    def summary(self) -> str:
        text = (f"{self.out}: {self.total} runs ({self.skipped} already done, {self.ran} run now, "
                f"{self.failed} failed) in {self.seconds:.1f} s")
        if self.not_done:
            text += f"; {self.not_done} not done (a worker was lost): run again to finish"
        return text


def _parameter_types(spec: SweepSpec, table: pd.DataFrame) -> dict[str, pa.DataType]:
    types = {}
    for p in spec.parameters:
        sample = table[p.name].iloc[0]
        if p.integer or isinstance(sample, int | np.integer) and not isinstance(sample, bool):
            types[p.name] = pa.int64()
        elif isinstance(sample, bool | np.bool_):
            types[p.name] = pa.bool_()
        elif isinstance(sample, str):
            types[p.name] = pa.string()
        else:
            types[p.name] = pa.float64()
    return types


def run_sweep(
    spec: SweepSpec | str | Path,
    out: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    serial: bool = False,
    executor: cf.Executor | None = None,
    slots: int | None = None,
    progress: bool = True,
    batch_runs: int = 256,
    flush_seconds: float = 30.0,
) -> SweepReport:
    """Run (or resume) a sweep into folder `out`; see the module docstring.

    Finished runs already in `out` are skipped. Rows are written every `batch_runs` runs or
    `flush_seconds`, whichever comes first. Pass `executor` (and its `slots`) to use one you
    manage yourself."""
    if not isinstance(spec, SweepSpec):
        spec = load_spec(spec)
    started = time.perf_counter()
    out = Path(out)
    table = design_table(spec)
    n_designs, reps = len(table), spec.replications
    seeds = spec_seed_children(spec)
    columns = column_descriptions(spec)
    meta = {
        "name": spec.name,
        "fingerprint": spec.fingerprint(),
        "scenario": spec.scenario,
        "until": spec.until,
        "design": spec.design.kind,
        "second_order": spec.design.second_order,
        "levels": spec.design.levels,
        "seed": spec.seed,
        "replications": reps,
        "designs": n_designs,
        "parameters": spec.parameter_names,
        "problem": salib_problem(spec),
        "metrics": list(spec.metrics),
        "series": list(spec.series),
        "seeds": seeds,
        "scenario_file": scenario_file(spec),
        "columns": columns,
        "spec": spec.raw,
        "warnings": spec.overridden(),
    }
    schema = described(runs_schema(_parameter_types(spec, table), list(spec.metrics)), columns,
                       {"sweep": spec.name, "scenario": spec.scenario, "until": spec.until,
                        "series": {name: columns["series"][name] for name in spec.series}})
    store = RunStore(out, schema, n_designs, reps)
    store.open(meta)
    if not (out / "design.parquet").exists():
        design = pa.Table.from_pandas(table, preserve_index=False)
        design = design.cast(described(design.schema, columns, {"sweep": spec.name}))
        write_atomic(design, out / "design.parquet")
    spec_copy = out / "spec.toml"
    if not spec_copy.exists() and Path(spec.source).is_file():
        shutil.copyfile(spec.source, spec_copy)

    done = store.done_mask()
    skipped = int(done.sum())
    todo = n_designs * reps - skipped
    names = spec.parameter_names
    columns = [table[name].tolist() for name in names]

    def tasks() -> Iterator[Task]:
        for d in range(n_designs):
            missing = np.flatnonzero(~done[d])
            if missing.size:
                values = tuple(col[d] for col in columns)
                yield Task(d, values, tuple((int(r), seeds[r]) for r in missing))

    ran = failed = lost = 0
    part_id = store.next_part_id()
    rows: list[dict[str, Any]] = []
    series: list[pa.Table] = []
    last_flush = time.monotonic()

    def flush() -> None:
        nonlocal rows, series, part_id, last_flush
        if rows:
            store.write_batch(part_id, rows, series)
            part_id += 1
        rows, series = [], []
        last_flush = time.monotonic()

    from tqdm.auto import tqdm

    job = Job(spec)
    context = (contextlib.nullcontext((executor, slots or 1)) if executor is not None
               else make_executor(workers, scheduler, serial))
    with context as (pool, n_slots), tqdm(total=n_designs * reps, initial=skipped, unit="run",
                                          desc=spec.name, disable=not progress,
                                          smoothing=0.1) as bar:
        # About four chunks per worker slot in flight; chunks of roughly a second of work.
        chunk_runs = max(1, min(16, todo // (n_slots * 16)))
        source = tasks()
        in_flight: dict[cf.Future, list[Task]] = {}

        def submit_more() -> None:
            while len(in_flight) < 4 * n_slots:
                chunk, size = [], 0
                for task in source:
                    chunk.append(task)
                    size += len(task.replications)
                    if size >= chunk_runs:
                        break
                if not chunk:
                    return
                in_flight[pool.submit(run_chunk, job, chunk)] = chunk

        submit_more()
        while in_flight:
            finished, _ = cf.wait(in_flight, return_when=cf.FIRST_COMPLETED)
            for future in finished:
                chunk = in_flight.pop(future)
                try:
                    results = future.result()
                except Exception as err:  # noqa: BLE001 - a lost worker: leave for a re-run
                    lost += sum(len(t.replications) for t in chunk)
                    bar.write(f"warning: {sum(len(t.replications) for t in chunk)} runs not done"
                              f" ({type(err).__name__}: {err})")
                    continue
                for row, frame in results:
                    rows.append(row)
                    ran += 1
                    failed += row["status"] != "ok"
                    if frame is not None:
                        series.append(frame)
                bar.update(len(results))
            if len(rows) >= batch_runs or time.monotonic() - last_flush > flush_seconds:
                flush()
            submit_more()
        flush()
    store.merge()
    report = SweepReport(out, n_designs * reps, skipped, ran, failed, lost,
                         time.perf_counter() - started)
    return report
