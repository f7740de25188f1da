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
import re
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from abm import limits
from abm.scenario import Scenario
from abm.sweep.design import design_table, salib_problem
from abm.sweep.metadata import column_descriptions, scenario_file
from abm.sweep.spec import SweepSpec, design_points, load_spec, spec_seed_children
from abm.sweep.store import (
    SERIES_SCHEMA,
    UNREADABLE,
    RunStore,
    check_sweep_folder,
    described,
    read_whole,
    runs_schema,
    write_atomic,
    write_text_atomic,
)


@dataclass(frozen=True)
class Job:
    """What every worker needs to run any design point (pickled once per chunk)."""

    spec: SweepSpec


# The most runs a chunk holds.
MAX_CHUNK_RUNS = 16


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


class _Chunks:
    """The chunks a sweep sends, in design order: whole design points up to `size` runs (about
    four chunks per worker slot in flight, of roughly a second of work each); a design point
    with more than MAX_CHUNK_RUNS replications is split (each run keeps its seed).

    With `shrink` (a local process pool, where a chunk costs the parent about a millisecond),
    chunks get smaller near the end, down to one run (design points split as needed): none
    holds more than half a worker slot's share of the runs not yet sent, so that the workers
    finish together instead of one running the last large chunk while the others idle. (On
    Dask a task costs the scheduler tens of milliseconds, so there the chunks keep their
    size.)"""

    def __init__(self, tasks: Iterator[Task], runs: int, slots: int, shrink: bool):
        self._tasks = tasks
        self._split: deque[Task] = deque()  # the rest of a split design point, sent next
        self.unsent = runs
        self.slots = slots
        self.shrink = shrink
        self.size = max(1, min(MAX_CHUNK_RUNS, runs // (slots * 16)))

    def next(self) -> list[Task]:
        """The next chunk; empty once every run was sent."""
        limit, most = self.size, MAX_CHUNK_RUNS
        if self.shrink:
            share = self.unsent // (2 * self.slots)
            limit = max(1, min(limit, share))
            most = max(limit, min(most, share))
        chunk, size = [], 0
        while size < limit:
            task = self._split.popleft() if self._split else next(self._tasks, None)
            if task is None:
                break
            if len(task.replications) > most:
                take = most - size
                self._split.appendleft(Task(task.design_id, task.values,
                                            task.replications[take:]))
                task = Task(task.design_id, task.values, task.replications[:take])
            chunk.append(task)
            size += len(task.replications)
        self.unsent -= size
        return chunk


class SerialExecutor(cf.Executor):
    """Runs each task in this process when it is submitted (for debugging and profiling)."""

    def submit(self, fn, /, *args, **kwargs):
        future: cf.Future = cf.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as err:  # noqa: BLE001 - handed to the caller through the future
            future.set_exception(err)
        return future


class SchedulerError(RuntimeError):
    """The Dask scheduler cannot be reached, or was lost during the sweep."""


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped the sweep; the message says how many finished runs were kept."""


def _worker_setup() -> None:
    """In each pool worker: leave Ctrl-C to the parent (which stops the workers and says what
    was kept), and exit as soon as the parent is gone, so that a killed sweep does not leave
    workers running on for minutes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="abm-watch-parent", daemon=True).start()


def _process_pool(workers: int) -> cf.ProcessPoolExecutor:
    # A parent without other Python threads forks its workers, which then start with the model
    # imported (importing it again costs about 3 s a worker). Forking while Python threads run
    # (a Dask client, a progress bar, a replaced pool's manager) risks a lock held across the
    # fork, so such a parent uses a fork server. (Native pools such as Arrow's and BLAS's reset
    # themselves at fork.)
    if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("fork")
    else:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["abm.sweep.runner"])
    pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=context,
                                  initializer=_worker_setup)
    # With fork, the first task starts every worker, before this process starts a thread.
    pool.submit(int).result()
    return pool


def _stop_now(pool: cf.ProcessPoolExecutor) -> None:
    """Stop a process pool without waiting for the chunks it is running."""
    # ProcessPoolExecutor has no public way to end running workers before Python 3.14
    # (terminate_workers); its `_processes` table has been stable since 3.2.
    for process in list(getattr(pool, "_processes", {}).values()):
        process.terminate()
    pool.shutdown(wait=False, cancel_futures=True)


class _Workers:
    """Where a sweep's chunks run: an executor and its number of slots, and what to do when
    workers die. A local process pool is replaced (`restart`); a Dask client is watched
    (`healthy`); Ctrl-C stops the pool's workers at once (`stop`)."""

    def __init__(self, executor: cf.Executor, slots: int, workers: int | None = None,
                 client=None):
        self.executor = executor
        self.slots = slots
        self._workers = workers
        self._client = client

    @property
    def restartable(self) -> bool:
        return self._workers is not None

    def restart(self) -> None:
        _stop_now(self.executor)
        self.executor = _process_pool(self._workers)

    def healthy(self) -> bool:
        return self._client is None or self._client.status == "running"

    def has_workers(self) -> bool:
        """False while a Dask scheduler has no worker; a local pool always has its workers."""
        if self._client is None:
            return True
        try:
            return bool(self._client.scheduler_info(n_workers=1).get("workers"))
        except (OSError, TimeoutError):
            return True  # a lost scheduler is told by `healthy`

    def closed(self) -> bool:
        """True once a Dask client has given up reconnecting to its scheduler."""
        return self._client is not None and self._client.status in ("closing", "closed")

    def stop(self) -> None:
        if self._workers is not None:
            _stop_now(self.executor)


_ADDRESS = re.compile(r"(tcp|tls|ucx|ws|wss)://[^\s/]+:\d+")


@contextlib.contextmanager
def _open_workers(workers: int | None, scheduler: str | None, serial: bool
                  ) -> Iterator[_Workers]:
    if serial:
        yield _Workers(SerialExecutor(), 1)
        return
    if scheduler is not None:
        from distributed import Client, LocalCluster

        if scheduler != "local" and not _ADDRESS.fullmatch(scheduler):
            raise SchedulerError(f"--scheduler: expected 'local' or a Dask scheduler address "
                                 f"such as tcp://127.0.0.1:8786, got {scheduler!r}")
        cluster = None
        try:
            if scheduler == "local":
                cluster = LocalCluster(n_workers=workers or os.cpu_count(), threads_per_worker=1,
                                       processes=True, dashboard_address=None,
                                       host="127.0.0.1")
                client = Client(cluster)
            else:
                client = Client(scheduler, timeout="30s")
        except (OSError, TimeoutError, ValueError) as err:
            if cluster is not None:
                cluster.close()
            raise SchedulerError(f"--scheduler {scheduler}: cannot connect ({type(err).__name__}:"
                                 f" {err})") from None
        try:
            slots = sum(client.nthreads().values()) or 1
            yield _Workers(client.get_executor(pure=False), slots, client=client)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
        return
    workers = workers or os.cpu_count() or 1
    handle = _Workers(_process_pool(workers), workers, workers=workers)
    try:
        yield handle
    finally:
        handle.executor.shutdown(wait=True, cancel_futures=True)


@contextlib.contextmanager
def make_executor(workers: int | None = None, scheduler: str | None = None,
                  serial: bool = False) -> Iterator[tuple[cf.Executor, int]]:
    """Yield (executor, number of worker slots).

    `scheduler` is a Dask scheduler address (`tcp://host:port`) or `local` for a local Dask
    cluster of `workers` processes; otherwise a process pool of `workers` (default: all cores).
    """
    with _open_workers(workers, scheduler, serial) as handle:
        yield handle.executor, handle.slots


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
    flush_seconds: float = 2.0,
    allow_large: bool = False,
    scheduler_timeout: float = 60.0,
) -> SweepReport:
    """Run (or resume) a sweep into folder `out`; see the module docstring.

    Finished runs already in `out` are skipped. Rows are written every `batch_runs` runs or
    `flush_seconds`, whichever comes first, so a kill loses at most the runs in flight. A
    local pool whose worker dies is replaced and the runs it held are run again (a run that
    was running in every one of its attempts, alone in the last, is recorded as failed). A
    Dask scheduler unreachable, or without any worker, for `scheduler_timeout` seconds ends
    the sweep with SchedulerError; Ctrl-C ends it with SweepInterrupted; both keep every
    finished run.
    Work above `abm.limits` raises TooMuchWork unless `allow_large`. Pass `executor` (and its
    `slots`) to use one you manage yourself."""
    if not isinstance(spec, SweepSpec):
        spec = load_spec(spec)
    started = time.perf_counter()
    out = Path(out)
    n_designs, reps = design_points(spec.design, spec.parameters), spec.replications
    limits.check_sweep(n_designs * reps, spec.base, spec.until, allow_large)
    check_sweep_folder(out)
    table = design_table(spec)
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
    design = pa.Table.from_pandas(table, preserve_index=False)
    design = design.cast(described(design.schema, columns, {"sweep": spec.name}))
    for line in store.open(meta):
        print(f"warning: {line}", file=sys.stderr)
    try:
        return _run_locked(spec, out, store, table, design, seeds, started, workers=workers,
                           scheduler=scheduler, serial=serial, executor=executor, slots=slots,
                           progress=progress, batch_runs=batch_runs,
                           flush_seconds=flush_seconds, scheduler_timeout=scheduler_timeout)
    finally:
        store.close()


def _design_file_ok(path: Path, design: pa.Table) -> bool:
    try:
        return read_whole(path).num_rows == design.num_rows
    except UNREADABLE:
        return False


def _run_locked(spec: SweepSpec, out: Path, store: RunStore, table: pd.DataFrame,
                design: pa.Table, seeds: list[int], started: float, *, workers, scheduler,
                serial, executor, slots, progress, batch_runs, flush_seconds,
                scheduler_timeout) -> SweepReport:
    n_designs, reps = len(table), spec.replications
    design_path = out / "design.parquet"
    if not (design_path.exists() and _design_file_ok(design_path, design)):
        write_atomic(design, design_path)
    spec_copy = out / "spec.toml"
    if not spec_copy.exists() and Path(spec.source).is_file():
        write_text_atomic(Path(spec.source).read_text(errors="replace"), spec_copy)

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

    ran = failed = lost = kept = 0
    part_id = store.next_part_id()
    rows: list[dict[str, Any]] = []
    series: list[pa.Table] = []
    last_flush = time.monotonic()

    def flush() -> None:
        nonlocal rows, series, part_id, last_flush, kept
        if rows:
            store.write_batch(part_id, rows, series)
            part_id += 1
            kept += len(rows)
        rows, series = [], []
        last_flush = time.monotonic()

    def record(row: dict[str, Any], frame: pa.Table | None) -> None:
        nonlocal ran, failed
        rows.append(row)
        ran += 1
        failed += row["status"] != "ok"
        if frame is not None:
            series.append(frame)

    from tqdm.auto import tqdm

    job = Job(spec)
    context = (contextlib.nullcontext(_Workers(executor, slots or 1)) if executor is not None
               else _open_workers(workers, scheduler, serial))
    with context as pool, tqdm(total=n_designs * reps, initial=skipped, unit="run",
                               desc=spec.name, disable=not progress, smoothing=0.1) as bar:
        chunks = _Chunks(tasks(), todo, pool.slots, shrink=pool.restartable)
        in_flight: dict[cf.Future, list[Task]] = {}
        # Runs that were in flight when a pool worker died, one run a chunk, with the number
        # of deaths each has seen: at one they are retried, at two retried alone, and a run
        # whose worker dies while it runs alone is recorded as failed.
        retry: deque[tuple[Task, int]] = deque()
        strikes: dict[cf.Future, int] = {}

        refused = False  # a local pool refused a chunk: a worker died since the last wait

        def submit(chunk: list[Task], strike: int = 0) -> bool:
            nonlocal refused
            try:
                future = pool.executor.submit(run_chunk, job, chunk)
            except cf.BrokenExecutor:
                if not pool.restartable:
                    raise
                # never started: sent again, first, to the new pool (with the strikes it had)
                retry.extendleft((task, strike) for task in reversed(chunk))
                refused = True
                return False
            in_flight[future] = chunk
            if strike:
                strikes[future] = strike
            return True

        def submit_more() -> None:
            while len(in_flight) < 4 * pool.slots:
                if any(strikes.get(f, 0) >= 2 for f in in_flight):
                    return  # a suspect runs alone
                if retry:
                    task, strike = retry[0]
                    if strike >= 2 and in_flight:
                        return
                    retry.popleft()
                    if not submit([task], strike):
                        return
                    continue
                chunk = chunks.next()
                if not chunk or not submit(chunk):
                    return

        def blame(chunk: list[Task], strike: int, err: BaseException) -> None:
            """Runs of a chunk whose worker died: retry each alone, or record it as failed."""
            for task in chunk:
                for replication in task.replications:
                    single = Task(task.design_id, task.values, (replication,))
                    if strike >= 2:
                        row, _ = _failed_row(spec, single, "the worker process died while "
                                             f"running it, twice ({type(err).__name__})")
                        record(row, None)
                        bar.update(1)
                    else:
                        retry.append((single, strike + 1))

        def collect(future: cf.Future) -> bool:
            """Record a finished chunk; False if its worker was lost."""
            nonlocal lost
            chunk = in_flight.pop(future)
            strike = strikes.pop(future, 0)
            try:
                results = future.result()
            except cf.BrokenExecutor as err:
                if not pool.restartable:
                    raise
                blame(chunk, strike, err)
                return False
            except Exception as err:  # noqa: BLE001 - a lost Dask worker: leave for a re-run
                n = sum(len(t.replications) for t in chunk)
                lost += n
                if not pool.healthy():
                    return True  # the scheduler is gone: said once, below
                bar.write(f"warning: {n} runs not done ({type(err).__name__}: {err})",
                          file=sys.stderr)
                return True
            for row, frame in results:
                record(row, frame)
            bar.update(len(results))
            return True

        unhealthy_since = None
        idle_since = time.monotonic()  # since when a Dask scheduler has had no worker
        try:
            submit_more()
            while in_flight or retry:
                finished, _ = cf.wait(in_flight, timeout=min(1.0, flush_seconds),
                                      return_when=cf.FIRST_COMPLETED)
                broken = False
                for future in finished:
                    broken |= not collect(future)
                if broken:
                    # every chunk still in flight went down with the pool
                    for future in list(in_flight):
                        if future.done() and future.exception() is None:
                            collect(future)
                        else:
                            blame(in_flight.pop(future), strikes.pop(future, 0),
                                  cf.BrokenExecutor("pool restarted"))
                    bar.write("warning: a worker process died; its runs are run again",
                              file=sys.stderr)
                    pool.restart()
                    refused = False
                elif refused and not in_flight:
                    # the pool broke with no chunk in flight (the chunks it refused wait)
                    bar.write("warning: a worker process died; its runs are run again",
                              file=sys.stderr)
                    pool.restart()
                    refused = False
                if pool.healthy():
                    unhealthy_since = None
                elif unhealthy_since is None:
                    unhealthy_since = time.monotonic()
                if unhealthy_since is not None and (
                        time.monotonic() - unhealthy_since > scheduler_timeout
                        or pool.closed()):
                    flush()
                    raise SchedulerError(
                        f"lost the Dask scheduler {scheduler}; "
                        f"{skipped + kept} of {n_designs * reps} runs are kept in {out}: run "
                        "again to finish")
                if not pool.healthy() or pool.has_workers():
                    idle_since = time.monotonic()
                elif time.monotonic() - idle_since > scheduler_timeout:
                    flush()
                    raise SchedulerError(
                        f"the Dask scheduler {scheduler} has had no worker for "
                        f"{scheduler_timeout:g} s; expected workers (dask worker {scheduler} "
                        f"...); {skipped + kept} of {n_designs * reps} runs are kept in {out}: "
                        "start workers and run again to finish")
                if rows and (len(rows) >= batch_runs
                             or time.monotonic() - last_flush >= flush_seconds):
                    flush()
                submit_more()
            flush()
        except KeyboardInterrupt:
            pool.stop()
            flush()
            raise SweepInterrupted(
                f"{skipped + kept} of {n_designs * reps} runs are kept in {out} "
                f"({kept} finished now); run the same command again to finish") from None
    store.merge()
    return SweepReport(out, n_designs * reps, skipped, ran, failed, lost,
                       time.perf_counter() - started)


def _failed_row(spec: SweepSpec, task: Task, error: str) -> tuple[dict[str, Any], None]:
    replication_id, seed = task.replications[0]
    row: dict[str, Any] = {"design_id": task.design_id, "replication_id": replication_id,
                           "seed": seed}
    row.update(zip(spec.parameter_names, task.values, strict=True))
    row.update(status="error", error=error, elapsed_s=float("nan"))
    return row, None
