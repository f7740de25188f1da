"""The sweep engine against `mesa.batch_run`, as interleaved trials in fresh processes: same
model, same design, same seeds, same weekly series kept, the same number of worker processes.

    .venv/bin/python benchmarks/sweep_vs_batch_run.py [--pairs 5] [--runs 1000]
        [--eff-pairs 5] [--eff-runs 400] [--workers 2] [--json results/benchmarks/sweep_vs_batch_run.json]

Configuration: `april-2025-controls` moved to start on 2025-01-01 and run for 52 weeks (one
simulated year, with the April licence regime), its 163 buyers; a 10 x 10 grid of the magnet
licence approval rate and review time, with replications (10 for 1,000 runs). Both sides keep
three weekly series per run (buyers halted, magnet shortfall, magnet price outside China):
batch_run through the model's DataCollector with `data_collection_period=1`, its result list
then made a DataFrame and saved as Parquet; the engine through its series dataset.

Why interleaved: the machine is shared, and a side measured once, after the other, meets
another background load. Each trial is a fresh child process (this script with `--child`);
the two sides alternate within each pair, and the order flips from pair to pair (A B, B A,
A B, ...), so slow drifts of the background load fall on both sides alike. For every trial the
script records the wall time, the CPU time of the child and all its workers
(`RUSAGE_CHILDREN`), the load average (`/proc/loadavg`, 1 minute) before and after, and the
child's resident memory after imports and its peak (`ru_maxrss`).

Figures (each pair's ratio, then median, quartiles and range over the pairs):

- speed ratio = batch_run's wall time / the engine's, same runs, `--workers` processes each;
- memory ratio = the rise of the engine parent's peak memory above its level after imports /
  the same rise for batch_run;
- parallel efficiency = the engine's 1-worker wall time / (2 x its 2-worker wall time), on
  `--eff-runs` runs, interleaved the same way;
- a reference for that figure: the same runs with no engine at all (`--child bare`:
  a plain loop over the runs, computing the same metrics and series, in one process, or the
  design points dealt in turn to two processes forked at once, nothing written), 1 process
  against 2,
  interleaved in the same pairs as the engine's trials (four trials a pair, the order reversed
  every other pair). On two virtual CPUs of a shared host a run's CPU time rises when both
  are busy, so even this is under 1; the engine's efficiency over it (pair by pair) shows
  what the engine loses or gains by itself (the parent's work and the tail of the sweep
  against dynamic balancing: the bare split is fixed in advance, and design points differ in
  cost);
- memory growth = the engine parent's peak at `--runs` / at a tenth of them (one trial each);
- engine overhead per run = (1-worker wall time - the runs' own time in the worker) / runs.

Writes every trial and the summary to `--json`, and ends with one line:

    RESULT speed_ratio=S (iqr a-b) memory_ratio=M parallel_efficiency=E (iqr c-d)
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import mesa
from _bench import RESULTS, check_output, loadavg, now_utc, spread, write

from abm import ExportControlModel, load, override

SCENARIO = """
[scenario]
name = "bench-2025"
description = "April 2025 controls, from 2025-01-01 (benchmark)"
extends = "april-2025-controls"
start = 2025-01-01
"""
WEEKS = 52
UNTIL = "2025-12-24"  # the 52nd week starts on 2025-12-24
APPROVALS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
REVIEW_WEEKS = [2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0, 16.0, 18.0, 20.0]
APPROVAL_PATH = "events[0].control.approval"
REVIEW_PATH = "events[0].control.review_weeks"
SERIES = ["buyers_halted", "shortfall_t:magnet", "price_usd_per_kg:magnet:ROW"]
POINTS = len(APPROVALS) * len(REVIEW_WEEKS)


def write_inputs(folder: Path, replications: int) -> Path:
    (folder / "bench-2025.toml").write_text(SCENARIO)
    spec = folder / f"bench-{replications}.toml"
    spec.write_text(f"""
[sweep]
name = "bench"
scenario = "bench-2025.toml"
until = {UNTIL}
seed = 12345
replications = {replications}

[design]
kind = "grid"

[[parameters]]
name = "approval"
path = "{APPROVAL_PATH}"
values = {APPROVALS}

[[parameters]]
name = "review_weeks"
path = "{REVIEW_PATH}"
values = {REVIEW_WEEKS}

[outcomes]
metrics = ["buyer_weeks_halted"]
series = {json.dumps(SERIES)}
""")
    return spec


# --- the Mesa side: a model class with keyword parameters and a DataCollector ------------------

_SCENARIO_FILE = os.environ.get("BENCH_SCENARIO", "")


@functools.cache
def _config(approval: float, review_weeks: float):
    # Cached per parameter pair in each worker, as a careful Mesa user would: the scenario of a
    # design point is then built once per worker, as the sweep engine does.
    return override(load(_SCENARIO_FILE), {APPROVAL_PATH: approval, REVIEW_PATH: review_weeks})


def _shortfall_magnet(model) -> float:
    b = model.buyers
    magnet = b.good == model.goods.index("magnet")
    return float((b.demand_t - b.used_t)[magnet].sum())


class LicenceSweepModel(ExportControlModel):
    """`ExportControlModel` with the swept inputs as keyword parameters, for `batch_run`."""

    def __init__(self, approval: float = 0.5, review_weeks: float = 9.0, rng=None):
        super().__init__(_config(approval, review_weeks), rng=rng)
        self.datacollector = mesa.DataCollector(model_reporters={
            "buyers_halted": lambda m: float(m.buyers.halted.sum()),
            "shortfall_t:magnet": _shortfall_magnet,
            "price_usd_per_kg:magnet:ROW": lambda m: float(
                m.price_usd_per_kg[m.goods.index("magnet"), 1]),
        })

    def step(self) -> None:
        super().step()
        self.datacollector.collect(self)


# --- children: one measurement each --------------------------------------------------------------


def _rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def child_ours(spec_path: Path, out: Path, workers: int) -> dict:
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    from abm.sweep import load_spec, run_sweep

    spec = load_spec(spec_path)
    base = _rss_bytes()
    started = time.perf_counter()
    report = run_sweep(spec, out, workers=workers, progress=False)
    wall = time.perf_counter() - started
    peak = _peak_bytes()
    runs = pq.read_table(out / "runs.parquet", columns=["elapsed_s", "status"]).to_pandas()
    series = ds.dataset(str(out / "series"), format="parquet").to_table(
        filter=ds.field("series") == "buyers_halted", columns=["value"])
    return {"wall_s": wall, "base_bytes": base, "peak_bytes": peak, "runs": report.ran,
            "failed": report.failed, "run_seconds": float(runs["elapsed_s"].sum()),
            "parent_cpu_s": time.process_time(),
            "halted_checksum": float(series.column("value").to_numpy().sum())}


def child_batch_run(spec_path: Path, out: Path, workers: int) -> dict:
    import pandas as pd
    from mesa.batchrunner import batch_run

    from abm.sweep import load_spec
    from abm.sweep.spec import spec_seed_children

    seeds = spec_seed_children(load_spec(spec_path))
    base = _rss_bytes()
    started = time.perf_counter()
    results = batch_run(
        LicenceSweepModel,
        parameters={"approval": APPROVALS, "review_weeks": REVIEW_WEEKS},
        number_processes=workers,
        data_collection_period=1,
        max_steps=WEEKS,
        display_progress=False,
        rng=seeds,
    )
    frame = pd.DataFrame(results)
    out.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(out / "batch_run.parquet")
    wall = time.perf_counter() - started
    peak = _peak_bytes()
    return {"wall_s": wall, "base_bytes": base, "peak_bytes": peak,
            "runs": int(frame["RunId"].nunique()), "rows": len(frame),
            "parent_cpu_s": time.process_time(),
            "halted_checksum": float(frame["buyers_halted"].sum())}


def _bare_share(spec_path: Path, runs: list[tuple[tuple[float, float], int]], queue) -> None:
    from abm.sweep import load_spec

    spec = load_spec(spec_path)
    function = spec.model_function
    start = time.process_time()
    scenarios = {}
    for values, seed in runs:
        if values not in scenarios:
            scenarios[values] = spec.scenario_for(values)
        result = function.run(scenarios[values], seed)
        function.metric_values(result)
        function.series_table(result)
    queue.put(time.process_time() - start)


def child_bare(spec_path: Path, out: Path, workers: int) -> dict:
    """The same runs with no engine: the design points dealt in turn to `workers` processes
    forked at once (each builds a design point's scenario once, as the engine does, and runs
    all its replications); nothing is written."""
    import multiprocessing as mp

    from abm.sweep import load_spec
    from abm.sweep.spec import spec_seed_children

    seeds = spec_seed_children(load_spec(spec_path))
    points = [(a, r) for a in APPROVALS for r in REVIEW_WEEKS]
    shares = [[(values, seed) for values in points[i::workers] for seed in seeds]
              for i in range(workers)]
    context = mp.get_context("fork")
    queue = context.Queue()
    base = _rss_bytes()
    started = time.perf_counter()
    processes = [context.Process(target=_bare_share, args=(spec_path, share, queue))
                 for share in shares]
    for process in processes:
        process.start()
    run_cpu = sum(queue.get() for _ in processes)
    for process in processes:
        process.join()
    wall = time.perf_counter() - started
    return {"wall_s": wall, "base_bytes": base, "peak_bytes": _peak_bytes(),
            "runs": sum(map(len, shares)),
            "run_seconds": run_cpu, "parent_cpu_s": time.process_time()}


def trial(kind: str, spec: Path, out: Path, workers: int, env: dict) -> dict:
    """One fresh child process; its wall time, the CPU time of it and its workers, the load."""
    command = [sys.executable, __file__, "--child", kind, "--spec", str(spec), "--out", str(out),
               "--workers", str(workers)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load_before = loadavg()
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    outer_wall = time.perf_counter() - started
    load_after = loadavg()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{kind} child failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result.update(
        kind=kind, workers=workers, load_before=load_before, load_after=load_after,
        process_wall_s=outer_wall,
        cpu_s=(after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
    )
    return result


def _line(name: str, f: dict) -> str:
    return (f"{name:10s} runs={f['runs']:5d} workers={f['workers']} wall={f['wall_s']:7.2f} s "
            f"cpu={f['cpu_s']:7.2f} s load {f['load_before']:.2f}->{f['load_after']:.2f} "
            f"base={f['base_bytes'] / 2**20:6.1f} MiB peak={f['peak_bytes'] / 2**20:6.1f} MiB")


def interleaved(pairs: int, a: tuple, b: tuple, env: dict, folder: Path, tag: str
                ) -> list[tuple[dict, dict]]:
    """`pairs` pairs of trials of sides a and b, the order flipping each pair (A B, B A, ...)."""
    out = []
    for i in range(pairs):
        order = [("A", a), ("B", b)] if i % 2 == 0 else [("B", b), ("A", a)]
        got = {}
        for side, (kind, spec, workers) in order:
            got[side] = trial(kind, spec, folder / f"{tag}-{i}-{side}", workers, env)
            print(f"{tag} pair {i + 1} {side}: " + _line(kind, got[side]), flush=True)
        out.append((got["A"], got["B"]))
    return out


def interleaved_efficiency(pairs: int, spec: Path, workers: int, env: dict, folder: Path
                           ) -> tuple[list[tuple[dict, dict]], list[tuple[dict, dict]]]:
    """`pairs` sets of four trials: the engine with 1 and with `workers` workers, and the bare
    runs in 1 and in `workers` processes; the order reversed every other pair."""
    sides = [("ours", 1), ("ours", workers), ("bare", 1), ("bare", workers)]
    engine, ceiling = [], []
    for i in range(pairs):
        got = {}
        for kind, n in (sides if i % 2 == 0 else sides[::-1]):
            got[kind, n] = trial(kind, spec, folder / f"eff-{i}-{kind}-{n}", n, env)
            print(f"eff pair {i + 1}: " + _line(kind, got[kind, n]), flush=True)
        engine.append((got["ours", 1], got["ours", workers]))
        ceiling.append((got["bare", 1], got["bare", workers]))
    return engine, ceiling


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pairs", type=int, default=5, help="interleaved engine/batch_run pairs")
    parser.add_argument("--runs", type=int, default=1000, help="runs of each speed trial")
    parser.add_argument("--eff-pairs", type=int, default=5,
                        help="interleaved 1-worker/2-worker pairs")
    parser.add_argument("--eff-runs", type=int, default=400, help="runs of each efficiency trial")
    parser.add_argument("--json", default=str(RESULTS / "sweep_vs_batch_run.json"))
    parser.add_argument("--child", choices=["ours", "batch_run", "bare"])
    parser.add_argument("--spec")
    parser.add_argument("--out")
    args = parser.parse_args()

    if args.child:
        run = {"ours": child_ours, "batch_run": child_batch_run, "bare": child_bare}[args.child]
        print(json.dumps(run(Path(args.spec), Path(args.out), args.workers)))
        return 0

    check_output(args.json)
    started = now_utc()
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        folder = Path(tmp)
        env = dict(os.environ, BENCH_SCENARIO=str(folder / "bench-2025.toml"))
        small = max(1, args.runs // 10)
        specs = {n: write_inputs(folder, max(1, n // POINTS))
                 for n in (small, args.runs, args.eff_runs)}
        speed = interleaved(args.pairs, ("ours", specs[args.runs], args.workers),
                            ("batch_run", specs[args.runs], args.workers), env, folder, "speed")
        efficiency, ceiling = interleaved_efficiency(args.eff_pairs, specs[args.eff_runs],
                                                     args.workers, env, folder)
        growth_small = trial("ours", specs[small], folder / "growth-small", args.workers, env)
        print("growth: " + _line("ours", growth_small), flush=True)

    ratios = [br["wall_s"] / ours["wall_s"] for ours, br in speed]
    cpu_ratios = [br["cpu_s"] / ours["cpu_s"] for ours, br in speed]
    memory = [max(o["peak_bytes"] - o["base_bytes"], 0) / max(b["peak_bytes"] - b["base_bytes"], 1)
              for o, b in speed]
    n_w = args.workers
    effs = [one["wall_s"] / (n_w * two["wall_s"]) for one, two in efficiency]
    ceilings = [one["wall_s"] / (n_w * two["wall_s"]) for one, two in ceiling]
    work = [one["cpu_s"] / two["cpu_s"] for one, two in efficiency]
    growth = statistics.median(o["peak_bytes"] for o, _ in speed) / growth_small["peak_bytes"]
    overheads = [(one["wall_s"] - one["run_seconds"]) / one["runs"] for one, _ in efficiency]
    per_run = [one["run_seconds"] / one["runs"] for one, _ in efficiency]
    checks = {(o["halted_checksum"], b["halted_checksum"]) for o, b in speed}
    summary = {
        "speed_ratio": spread(ratios),
        "cpu_ratio": spread(cpu_ratios),
        "memory_ratio": spread(memory),
        "memory_rise_ours_mib": spread([(o["peak_bytes"] - o["base_bytes"]) / 2**20
                                        for o, _ in speed]),
        "memory_rise_batch_run_mib": spread([(b["peak_bytes"] - b["base_bytes"]) / 2**20
                                             for _, b in speed]),
        "memory_growth": growth,
        "parallel_efficiency": spread(effs),
        "work_efficiency": spread(work),
        "ceiling_efficiency": spread(ceilings),
        "efficiency_over_ceiling": spread([e / c for e, c in zip(effs, ceilings, strict=True)]),
        "run_in_worker_ms": spread([x * 1000 for x in per_run]),
        "engine_overhead_per_run_ms": spread([x * 1000 for x in overheads]),
        "same_series": all(o == b for o, b in checks),
        "halted_checksums": sorted(checks),
    }
    for i, ((o, b), r) in enumerate(zip(speed, ratios, strict=True)):
        print(f"speed pair {i + 1}: engine {o['wall_s']:.2f} s (load {o['load_before']:.2f}->"
              f"{o['load_after']:.2f}), batch_run {b['wall_s']:.2f} s (load {b['load_before']:.2f}"
              f"->{b['load_after']:.2f}): ratio {r:.2f}")
    for i, ((one, two), e) in enumerate(zip(efficiency, effs, strict=True)):
        print(f"efficiency pair {i + 1}: 1 worker {one['wall_s']:.2f} s (load "
              f"{one['load_before']:.2f}->{one['load_after']:.2f}), 2 workers {two['wall_s']:.2f} s"
              f" (load {two['load_before']:.2f}->{two['load_after']:.2f}): efficiency {e:.2f}")
    for i, ((one, two), c) in enumerate(zip(ceiling, ceilings, strict=True)):
        print(f"ceiling pair {i + 1}: bare runs in 1 process {one['wall_s']:.2f} s, in {n_w} "
              f"{two['wall_s']:.2f} s: efficiency {c:.2f}; engine over ceiling "
              f"{effs[i] / c:.2f}")
    s = summary
    print(f"same series on both sides (sum of weekly halted buyers): {s['halted_checksums']}")
    print(f"engine parent memory rise {s['memory_rise_ours_mib']['median']:.1f} MiB, batch_run "
          f"{s['memory_rise_batch_run_mib']['median']:.1f} MiB (medians); growth "
          f"{args.runs // 10}->{args.runs} runs: {growth:.2f}")
    print(f"1-worker sweep: a run takes {s['run_in_worker_ms']['median']:.1f} ms in the worker; "
          f"engine overhead per run {s['engine_overhead_per_run_ms']['median']:.1f} ms")
    record = {
        "benchmark": "sweep_vs_batch_run",
        "command": "python benchmarks/sweep_vs_batch_run.py " + " ".join(sys.argv[1:]),
        "started_utc": started,
        "finished_utc": now_utc(),
        "settings": {"pairs": args.pairs, "runs": args.runs, "eff_pairs": args.eff_pairs,
                     "eff_runs": args.eff_runs, "workers": args.workers, "weeks": WEEKS},
        "summary": summary,
        "speed_trials": [{"engine": o, "batch_run": b} for o, b in speed],
        "efficiency_trials": [{"one_worker": o, "two_workers": t} for o, t in efficiency],
        "ceiling_trials": [{"one_process": o, "two_processes": t} for o, t in ceiling],
        "growth_small_trial": growth_small,
    }
    path = write(args.json, record)
    sr, pe = s["speed_ratio"], s["parallel_efficiency"]
    print(f"wrote {path}")
    print(f"RESULT speed_ratio={sr['median']:.2f} (iqr {sr['q1']:.2f}-{sr['q3']:.2f}, range "
          f"{sr['min']:.2f}-{sr['max']:.2f}) memory_ratio={s['memory_ratio']['median']:.2f} "
          f"memory_growth={growth:.2f} parallel_efficiency={pe['median']:.2f} (iqr "
          f"{pe['q1']:.2f}-{pe['q3']:.2f}, range {pe['min']:.2f}-{pe['max']:.2f}) "
          f"ceiling={s['ceiling_efficiency']['median']:.2f} "
          f"over_ceiling={s['efficiency_over_ceiling']['median']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
