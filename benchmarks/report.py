"""Markdown tables of the benchmark results in `results/benchmarks/*.json`, as quoted in
docs/performance.md and docs/cluster.md.

    .venv/bin/python benchmarks/report.py [SECTION ...]
    .venv/bin/python benchmarks/report.py --fill docs/performance.md docs/cluster.md

SECTION is one of: sweep, efficiency, model, stages, core, cluster, projection (default: all).
With --fill, each block between `<!-- benchmarks/report.py SECTION -->` and `<!-- end -->` in
the named files is replaced by that section's tables from the current result files.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import statistics
import sys
from pathlib import Path

from _bench import RESULTS, spread


def _load(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _spread(s: dict, fmt: str = ".2f") -> str:
    return (f"{s['median']:{fmt}} (quartiles {s['q1']:{fmt}}-{s['q3']:{fmt}}, range "
            f"{s['min']:{fmt}}-{s['max']:{fmt}}, n={s['n']})")


def _head(d: dict) -> str:
    m = d["machine"]
    return (f"*{d['command']}*, {d['started_utc']} to {d['finished_utc']}, commit "
            f"{d['commit']}; {m['cpus']} CPUs, {m['memory_gib']} GiB, Python {m['python']}, "
            f"NumPy {m['numpy']}, Mesa {m['mesa']}.")


def sweep(name: str = "sweep_vs_batch_run") -> None:
    d = _load(name)
    if d is None:
        return
    print(_head(d), "\n")
    print("| pair | order | engine wall (s) | engine CPU (s) | load (engine) | batch_run wall (s) "
          "| batch_run CPU (s) | load (batch_run) | speed ratio | CPU ratio |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for i, t in enumerate(d["speed_trials"]):
        o, b = t["engine"], t["batch_run"]
        order = "engine first" if i % 2 == 0 else "batch_run first"
        print(f"| {i + 1} | {order} | {o['wall_s']:.1f} | {o['cpu_s']:.1f} | "
              f"{o['load_before']:.1f}-{o['load_after']:.1f} | {b['wall_s']:.1f} | "
              f"{b['cpu_s']:.1f} | {b['load_before']:.1f}-{b['load_after']:.1f} | "
              f"{b['wall_s'] / o['wall_s']:.2f} | {b['cpu_s'] / o['cpu_s']:.2f} |")
    s = d["summary"]
    print()
    print(f"- speed ratio (batch_run's wall time / the engine's): {_spread(s['speed_ratio'])}")
    print(f"- CPU ratio (batch_run's CPU time, parent and workers / the engine's): "
          f"{_spread(s['cpu_ratio'])}")
    print(f"- parent memory rise above its level after imports: engine "
          f"{_spread(s['memory_rise_ours_mib'], '.1f')} MiB; batch_run "
          f"{_spread(s['memory_rise_batch_run_mib'], '.1f')} MiB; ratio "
          f"{_spread(s['memory_ratio'])}")
    print(f"- memory growth (engine parent's peak at {d['settings']['runs']} runs / at "
          f"{d['settings']['runs'] // 10}): {s['memory_growth']:.2f}")
    print(f"- same series on both sides: {s['same_series']} (sum of weekly halted buyers "
          f"{s['halted_checksums'][0][0]:.0f})")


def efficiency(name: str = "sweep_vs_batch_run") -> None:
    d = _load(name)
    if d is None:
        return
    print(_head(d), "\n")
    ceiling = d.get("ceiling_trials")
    extra = (" bare, 1 process (s) | bare, 2 processes (s) | bare efficiency | engine / bare |"
             if ceiling else "")
    print("| pair | order | 1 worker wall (s) | CPU share | load | 2 workers wall (s) | CPU share "
          "| load | efficiency |" + extra)
    print("|---|---|---|---|---|---|---|---|---|" + ("---|---|---|---|" if ceiling else ""))
    for i, t in enumerate(d["efficiency_trials"]):
        one, two = t["one_worker"], t["two_workers"]
        order = "1 worker first" if i % 2 == 0 else "2 workers first"
        eff = one['wall_s'] / (2 * two['wall_s'])
        row = (f"| {i + 1} | {order} | {one['wall_s']:.1f} | {one['cpu_s'] / one['wall_s']:.2f} | "
               f"{one['load_before']:.1f}-{one['load_after']:.1f} | {two['wall_s']:.1f} | "
               f"{two['cpu_s'] / two['wall_s']:.2f} | {two['load_before']:.1f}-"
               f"{two['load_after']:.1f} | {eff:.2f} |")
        if ceiling:
            b1, b2 = ceiling[i]["one_process"], ceiling[i]["two_processes"]
            c = b1["wall_s"] / (2 * b2["wall_s"])
            row += f" {b1['wall_s']:.1f} | {b2['wall_s']:.1f} | {c:.2f} | {eff / c:.2f} |"
        print(row)
    s = d["summary"]
    print()
    print(f"- parallel efficiency (1-worker wall / (2 x 2-worker wall)): "
          f"{_spread(s['parallel_efficiency'])}")
    if ceiling:
        print(f"- bare efficiency (the same runs with no engine, design points dealt in turn "
              f"to the processes; 1 process / (2 x 2 processes)): "
              f"{_spread(s['ceiling_efficiency'])}")
        print(f"- the engine's efficiency over the bare runs', pair by pair: "
              f"{_spread(s['efficiency_over_ceiling'])}")
        trials = list(zip(d["efficiency_trials"], ceiling, strict=True))
        one = [t["one_worker"]["wall_s"] / c["one_process"]["wall_s"] for t, c in trials]
        two = [t["two_workers"]["wall_s"] / c["two_processes"]["wall_s"] for t, c in trials]
        print(f"- the engine's wall time over the bare runs' (what the engine costs), pair by "
              f"pair: 1 worker {_spread(spread(one))}; 2 workers {_spread(spread(two))}")
    work = [t["one_worker"]["cpu_s"] / t["two_workers"]["cpu_s"] for t in d["efficiency_trials"]]
    print(f"- work efficiency (1-worker CPU time / 2-worker CPU time, parent and workers; what "
          f"the second worker costs in work, whatever the load): {_spread(spread(work))}")
    print(f"- a run inside the worker (1-worker sweeps): {_spread(s['run_in_worker_ms'], '.1f')} ms;"
          f" engine overhead per run (wall - runs' own time, / runs): "
          f"{_spread(s['engine_overhead_per_run_ms'], '.1f')} ms")


def model() -> None:
    d = _load("model_speed")
    if d is None:
        return
    print(_head(d), "\n")
    print("| scenario | final buyers | weeks | CPU median (s) | CPU quartiles | CPU min (s) | "
          "wall median (s) | wall quartiles | runs | load |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, r in d["default"].items():
        c, w = r["cpu_s"], r["wall_s"]
        print(f"| {name} | {r['final_buyers']} | {r['weeks']} | {c['median']:.3f} | "
              f"{c['q1']:.3f}-{c['q3']:.3f} | {c['min']:.3f} | {w['median']:.3f} | "
              f"{w['q1']:.3f}-{w['q3']:.3f} | "
              f"{c['n']} | {r['runs'][0]['load_before']:.1f}-{r['runs'][-1]['load_after']:.1f} |")
    print()
    print("| final buyers | construction CPU (s) | weeks CPU (s) | M buyer-steps/s (CPU) | "
          "M buyer-steps/s (wall) | peak memory (MiB) | runs | load |")
    print("|---|---|---|---|---|---|---|---|")
    for s in d["scale"].values():
        runs = s["runs"]
        build = statistics.median(r["build_cpu_s"] for r in runs)
        weeks = statistics.median(r["weeks_cpu_s"] for r in runs)
        c, w = s["buyer_steps_per_s_cpu"], s["buyer_steps_per_s_wall"]
        print(f"| {s['final_buyers']:,} | {build:.2f} | {weeks:.2f} | {c['median'] / 1e6:.2f} "
              f"({c['min'] / 1e6:.2f}-{c['max'] / 1e6:.2f}) | {w['median'] / 1e6:.2f} | "
              f"{s['peak_bytes'] / 2**20:.0f} | {len(runs)} | {runs[0]['load_before']:.1f}-"
              f"{runs[-1]['load_after']:.1f} |")


def default_runs() -> None:
    d = _load("default_run")
    if d is None:
        return
    print(_head(d), "\n")
    print("| scenario | runs | CPU median (s) | quartiles | least | under 0.2 s | host slowness "
          "median (range) | at full speed: median (s) | quartiles | under 0.2 s | rank "
          "correlation |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, s in d["summary"].items():
        c, f, h = s["cpu_s"], s["full_speed_cpu_s"], s["host_slowness"]
        print(f"| {name} | {s['n']} | {c['median']:.3f} | {c['q1']:.3f}-{c['q3']:.3f} | "
              f"{c['min']:.3f} | {s['under_aim']} of {s['n']} | {h['median']:.2f} "
              f"({h['min']:.2f}-{h['max']:.2f}) | {f['median']:.3f} | {f['q1']:.3f}-{f['q3']:.3f} "
              f"| {s['full_speed_under_aim']} of {s['n']} | {s['rank_correlation']:.2f} |")
    r = d["reference_s"]
    print(f"\nReference workload: least {r['min']:.3f} s, median {r['median']:.3f} s, most "
          f"{r['max']:.3f} s of CPU over {r['n']} runs.")


def stages() -> None:
    d = _load("model_speed")
    if d is None:
        return
    small, big = d["stages"]["default"], d["stages"]["1e5"]
    print(f"| stage | {small['final_buyers']} buyers: CPU (s) | share | "
          f"{big['final_buyers']:,} buyers: CPU (s) | share |")
    print("|---|---|---|---|---|")
    names = list(big["stages"])
    names += [n for n in small["stages"] if n not in names]
    for name in names:
        a, b = small["stages"].get(name), big["stages"].get(name)
        cell = lambda v: (f"{v['cpu_s']:.3f} | {100 * v['share_of_weeks']:.1f}%"  # noqa: E731
                          if v else "- | -")
        print(f"| {name} | {cell(a)} | {cell(b)} |")
    print(f"| (between stages: Mesa's step, the model's own lines) | "
          f"{small['unattributed_cpu_s']:.3f} | | {big['unattributed_cpu_s']:.3f} | |")
    print(f"| all weeks | {small['weeks_cpu_s']:.3f} | 100% | {big['weeks_cpu_s']:.3f} | 100% |")
    print(f"| construction (not in the weeks) | {small['build_cpu_s']:.3f} | | "
          f"{big['build_cpu_s']:.3f} | |")


def core(factors=(1, 493)) -> None:
    for factor in factors:
        d = _load(f"core_cost_x{factor}")
        if d is None:
            continue
        print(_head(d), "\n")
        print(f"| pair | {d['ref']} ({d['ref_commit']}) CPU (s) | wall (s) | load | this "
              "checkout CPU (s) | wall (s) | load | CPU ratio |")
        print("|---|---|---|---|---|---|---|---|")
        for i, p in enumerate(d["pairs"]):
            a, b = p["ref"], p["new"]
            print(f"| {i + 1} | {a['cpu_s']:.3f} | {a['wall_s']:.3f} | {a['load_before']:.1f}-"
                  f"{a['load_after']:.1f} | {b['cpu_s']:.3f} | {b['wall_s']:.3f} | "
                  f"{b['load_before']:.1f}-{b['load_after']:.1f} | {p['cpu_ratio']:.2f} |")
        print(f"\n{d['pairs'][0]['new']['buyers']:,} final buyers: CPU ratio (this checkout / "
              f"{d['ref']}) {_spread(d['cpu_ratio'])}; wall ratio {_spread(d['wall_ratio'])}\n")


def cluster() -> None:
    d = _load("dask_cluster")
    if d is None:
        return
    f = d["figures"]
    print(_head(d), "\n")
    print("| figure | measured |")
    print("|---|---|")
    rows = [
        ("runs (ok)", f"{f['runs']:,} ({f['ok']:,})"),
        ("workers", f"{f['workers']} (`dask worker --nthreads 1 --nworkers {f['workers']}`)"),
        ("wall time", f"{f['wall_s']:.1f} s (load {f['load_before']:.1f} before, "
                      f"{f['load_after']:.1f} after)"),
        ("a run inside a worker (`elapsed_s`)", f"median {1000 * f['run_in_worker_s']['median']:.0f}"
         f" ms (quartiles {1000 * f['run_in_worker_s']['q1']:.0f}-"
         f"{1000 * f['run_in_worker_s']['q3']:.0f})"),
        ("workers' CPU time per run", f"{1000 * f['workers_cpu_per_run_s']:.0f} ms"),
        ("worker peak memory", ", ".join(f"{m:.0f} MiB" for m in f["worker_peak_rss_mib"])),
        ("scheduler", f"{f['scheduler_cpu_s']:.1f} s CPU in all, {f['scheduler_idle_cpu_per_s']:.3f}"
         f" s/s when idle; {f['scheduler_cpu_per_task_ms']:.1f} ms per task ({f['tasks']} tasks of "
         f"{f['runs_per_task']} runs); peak {f['scheduler_peak_rss_mib']:.0f} MiB"),
        ("client (`abm sweep`)", f"{f['client_cpu_s']:.1f} s CPU, {f['client_cpu_per_run_ms']:.1f} ms "
         f"per run; peak {f['client_peak_rss_mib']:.0f} MiB"),
        ("fixed start and end (wall - runs x run time / workers)", f"{f['fixed_s']:.1f} s"),
    ]
    rows += [(f"`{k}`", f"{v / 2**20:.2f} MiB ({v / f['runs']:.0f} bytes a run)")
             for k, v in f["file_bytes"].items()]
    for k, v in rows:
        print(f"| {k} | {v} |")


def wall_model(f: dict, runs: int, workers: int, per_run_s: float) -> tuple[float, int, str]:
    """wall(N) = S + R x max(t / N, c_client, c_scheduler / k), k the engine's runs per task."""
    k = max(1, min(16, runs // (workers * 16)))
    terms = {"workers": per_run_s / workers, "client": f["client_cpu_per_run_ms"] / 1000,
             "scheduler": f["scheduler_cpu_per_task_ms"] / 1000 / k}
    bound = max(terms, key=terms.get)
    return f["fixed_s"] + runs * terms[bound], k, bound


def projection() -> None:
    d = _load("dask_cluster")
    if d is None:
        return
    f = d["figures"]
    # The mean run time in a worker, as the fixed part was computed with it.
    loaded = (f["wall_s"] - f["fixed_s"]) * f["workers"] / f["runs"]
    dedicated = f["workers_cpu_per_run_s"]
    print(f"A 10,000-run sweep of the same runs, by `wall(N) = S + R x max(t / N, c_client, "
          f"c_scheduler / k)` with S = {f['fixed_s']:.1f} s, c_client = "
          f"{f['client_cpu_per_run_ms']:.1f} ms, c_scheduler = {f['scheduler_cpu_per_task_ms']:.1f}"
          f" ms a task, k the engine's runs per task for N workers, and t a run's time in a "
          f"worker: as measured here under load ({1000 * loaded:.0f} ms, mean wall) or on a core of "
          f"its own (its CPU time, {1000 * dedicated:.0f} ms).\n")
    print("| workers | runs a task | wall, t as measured | efficiency | wall, t = CPU time | "
          "efficiency | bound by |")
    print("|---|---|---|---|---|---|---|")
    runs = 10_000
    for n in (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024):
        cells = []
        for t in (loaded, dedicated):
            wall, k, bound = wall_model(f, runs, n, t)
            one, _, _ = wall_model(f, runs, 1, t)
            cells.append((wall, one / (n * wall), bound))
        (w1, e1, _), (w2, e2, b2) = cells
        print(f"| {n} | {k} | {w1:.0f} s ({w1 / 60:.1f} min) | {e1:.2f} | {w2:.0f} s "
              f"({w2 / 60:.1f} min) | {e2:.2f} | {b2} |")


SECTIONS = {"sweep": sweep, "efficiency": efficiency, "model": model, "stages": stages,
            "default_runs": default_runs,
            "core": core, "core_x1": lambda: core((1,)), "core_x493": lambda: core((493,)),
            "cluster": cluster, "projection": projection,
            # a second run of the sweep benchmark, written with --json ..._b.json
            "sweep_b": lambda: sweep("sweep_vs_batch_run_b"),
            "efficiency_b": lambda: efficiency("sweep_vs_batch_run_b")}

BLOCK = re.compile(r"(<!-- benchmarks/report.py (\w+) -->\n).*?(<!-- end -->)", re.S)


def render(name: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        SECTIONS[name]()
    return out.getvalue().strip() + "\n"


def fill(path: Path) -> None:
    text = path.read_text()
    path.write_text(BLOCK.sub(lambda m: m.group(1) + render(m.group(2)) + m.group(3), text))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--fill"]:
        for doc in sys.argv[2:]:
            fill(Path(doc))
    else:
        for name in sys.argv[1:] or SECTIONS:
            print(f"<!-- benchmarks/report.py {name} -->")
            print(render(name), end="")
            print("<!-- end -->\n")
