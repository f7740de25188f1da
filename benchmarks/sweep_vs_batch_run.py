"""The sweep engine against `mesa.batch_run`: same model, same design, same seeds, same weekly
series kept, the same number of worker processes.

    .venv/bin/python benchmarks/sweep_vs_batch_run.py [--workers 2] [--small 200] [--large 2000]

Configuration: `april-2025-controls` moved to start on 2025-01-01 and run for 52 weeks (one
simulated year, with the April licence regime), its 163 buyers; a 10 x 10 grid of the magnet
licence approval rate and review time, with replications (2 for 200 runs, 20 for 2,000). Both
sides keep three weekly series per run (buyers halted, magnet shortfall, magnet price outside
China): batch_run through the model's DataCollector with `data_collection_period=1`, its result
list then saved as Parquet; the engine through its series dataset.

Every measurement runs in a fresh child process (this script with `--child`), so each parent's
memory is measured alone: its resident memory once everything is imported, and its peak
(`ru_maxrss`) at the end. Prints the figures, then

    RESULT speedup=S memory_ratio=M memory_growth=G parallel_efficiency=E

S = batch_run's wall time / ours at the large size; M = the rise of our parent's peak memory
above its level after imports / the same rise for batch_run, at the large size; G = our
parent's peak memory at the large size / at the small size; E = our 1-worker time / (2 x our
2-worker time) on the same runs.
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
            "halted_checksum": float(frame["buyers_halted"].sum())}


def child_scaling(scenario_path: Path) -> dict:
    """Seconds per 52-week run (median of 3) and its model construction, by buyer count."""
    import datetime as dt

    from abm import run

    base = load(scenario_path)
    total = sum(g.count for g in base.buyers)
    until = dt.date.fromisoformat(UNTIL)
    out = {}
    for target in (300, 3_000, 30_000):
        factor = target / total
        config = override(base, {f"buyers[{i}].count": max(1, round(g.count * factor))
                                 for i, g in enumerate(base.buyers)})
        buyers = sum(g.count for g in config.buyers)
        runs, builds = [], []
        for seed in range(3):
            started = time.perf_counter()
            ExportControlModel(config, rng=seed)
            builds.append(time.perf_counter() - started)
            started = time.perf_counter()
            run(config, seed, until=until)
            runs.append(time.perf_counter() - started)
        out[str(target)] = {"buyers": buyers, "run_s": statistics.median(runs),
                            "build_s": statistics.median(builds)}
    return out


def measure(kind: str, spec: Path, out: Path, workers: int, env: dict) -> dict:
    command = [sys.executable, __file__, "--child", kind, "--spec", str(spec), "--out", str(out),
               "--workers", str(workers)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{kind} child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--small", type=int, default=200, help="runs of the small sweep")
    parser.add_argument("--large", type=int, default=2000, help="runs of the large sweep")
    parser.add_argument("--efficiency", type=int, default=400,
                        help="runs of the 1- and 2-worker timing")
    parser.add_argument("--child", choices=["ours", "batch_run", "scaling"])
    parser.add_argument("--spec")
    parser.add_argument("--out")
    args = parser.parse_args()

    if args.child:
        if args.child == "ours":
            result = child_ours(Path(args.spec), Path(args.out), args.workers)
        elif args.child == "batch_run":
            result = child_batch_run(Path(args.spec), Path(args.out), args.workers)
        else:
            result = child_scaling(Path(args.spec))
        print(json.dumps(result))
        return 0

    points = len(APPROVALS) * len(REVIEW_WEEKS)
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        folder = Path(tmp)
        env = dict(os.environ, BENCH_SCENARIO=str(folder / "bench-2025.toml"))
        specs = {n: write_inputs(folder, max(1, n // points))
                 for n in (args.small, args.large, args.efficiency)}
        figures: dict[str, dict] = {}
        plan = [
            ("ours_small", "ours", args.small, args.workers),
            ("ours_large", "ours", args.large, args.workers),
            ("batch_run_small", "batch_run", args.small, args.workers),
            ("batch_run_large", "batch_run", args.large, args.workers),
            ("ours_eff_1", "ours", args.efficiency, 1),
            ("ours_eff_2", "ours", args.efficiency, 2),
        ]
        for name, kind, runs, workers in plan:
            figures[name] = measure(kind, specs[runs], folder / name, workers, env)
            f = figures[name]
            print(f"{name:16s} runs={f['runs']:5d} workers={workers} wall={f['wall_s']:7.1f} s "
                  f"base={f['base_bytes'] / 2**20:6.1f} MiB peak={f['peak_bytes'] / 2**20:6.1f} MiB",
                  flush=True)
        figures["scaling"] = measure("scaling", folder / "bench-2025.toml", folder, 1, env)

    ours_l, br_l = figures["ours_large"], figures["batch_run_large"]
    speedup = br_l["wall_s"] / ours_l["wall_s"]
    rise_ours = max(ours_l["peak_bytes"] - ours_l["base_bytes"], 0)
    rise_br = max(br_l["peak_bytes"] - br_l["base_bytes"], 1)
    memory_ratio = rise_ours / rise_br
    growth = ours_l["peak_bytes"] / figures["ours_small"]["peak_bytes"]
    efficiency = figures["ours_eff_1"]["wall_s"] / (2 * figures["ours_eff_2"]["wall_s"])
    # Overhead from the 1-worker sweep, where the worker has the pool to itself: everything
    # but the runs themselves (pool start, spec, scenarios, transfer, writing), per run.
    one = figures["ours_eff_1"]
    per_run = one["run_seconds"] / one["runs"]
    overhead = (one["wall_s"] - one["run_seconds"]) / one["runs"]

    print(f"same series on both sides (sum of weekly halted buyers): ours "
          f"{ours_l['halted_checksum']:.0f}, batch_run {br_l['halted_checksum']:.0f}")
    print(f"peak memory rise at {args.large} runs: ours {rise_ours / 2**20:.1f} MiB, batch_run "
          f"{rise_br / 2**20:.1f} MiB")
    print(f"1-worker sweep: a run takes {per_run * 1000:.1f} ms in the worker (model construction, "
          f"52 weeks, outcomes, series); engine overhead per run (pool start, spec, scenarios, "
          f"transfer, writing): {overhead * 1000:.1f} ms = {overhead / per_run:.1%} of a run")
    for target, s in figures["scaling"].items():
        print(f"scaling: {s['buyers']:6d} buyers ({target} asked): run {s['run_s'] * 1000:8.1f} ms, "
              f"of which model construction {s['build_s'] * 1000:7.1f} ms")
    print(json.dumps(figures))
    print(f"RESULT speedup={speedup:.2f} memory_ratio={memory_ratio:.2f} "
          f"memory_growth={growth:.2f} parallel_efficiency={efficiency:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
