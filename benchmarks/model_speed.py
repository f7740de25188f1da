"""Speed and memory of one model run: buyer-steps per second and peak memory at 10^3, 10^4 and
10^5 buyers, the three-year default runs, and the cost of each stage of the week.

    .venv/bin/python benchmarks/model_speed.py [--repeats 7] [--large-repeats 3]
        [--json results/benchmarks/model_speed.json]

- **Scale.** `baseline-2024` over its three simulated years (157 weeks), with every final
  buyer group's `count` multiplied by 5, 49 and 493 (1,015, 9,947 and 100,079 final buyers;
  the magnet makers' input stocks stay one per maker). Each size runs in a fresh process
  (so its peak resident memory, `ru_maxrss`, is its own): one warm-up run at the default
  size, then `--repeats` runs (`--large-repeats` at 10^5), each timed as CPU time
  (`time.process_time`) and wall time, model construction and the weeks separately.
  Buyer-steps per second = final buyers x 157 / the run's time (construction included).
- **Default runs.** `baseline-2024` and `history-2025` with their default buyers, the median
  of `--repeats` x 3 runs, CPU and wall (aim: under 0.2 s).
- **Stages.** The CPU time of each stage function of the week (wrapped with a timer, so the
  figure is the stage's own cost without a profiler's per-call overhead), summed over a run,
  at the default size and at 10^5 buyers.

The machine is shared: every figure carries the load average (`/proc/loadavg`, 1 minute)
before and after it. Writes everything to `--json`.
"""

from __future__ import annotations

import argparse
import collections
import gc
import json
import resource
import statistics
import subprocess
import sys
import time

from _bench import RESULTS, check_output, loadavg, now_utc, spread, write

FACTORS = {"1e3": 5, "1e4": 49, "1e5": 493}


def scaled(config, factor: int):
    """The scenario with `factor` times as many final buyers (input stocks stay one per
    producer)."""
    from abm.scenario import override

    if factor == 1:
        return config
    return override(config, {f"buyers[{i}].count": g.count * factor
                             for i, g in enumerate(config.buyers) if not g.feeds})


def final_buyers(config) -> int:
    return sum(g.count for g in config.buyers if not g.feeds)


def timed_runs(config, repeats: int, seed0: int = 1) -> list[dict]:
    from abm.model import ExportControlModel

    out = []
    for seed in range(seed0, seed0 + repeats):
        load_before = loadavg()
        c0, w0 = time.process_time(), time.perf_counter()
        model = ExportControlModel(config, rng=seed)
        c1, w1 = time.process_time(), time.perf_counter()
        model.run_for(config.weeks)
        c2, w2 = time.process_time(), time.perf_counter()
        out.append({"seed": seed, "build_cpu_s": c1 - c0, "build_wall_s": w1 - w0,
                    "weeks_cpu_s": c2 - c1, "weeks_wall_s": w2 - w1, "cpu_s": c2 - c0,
                    "wall_s": w2 - w0, "weeks": model.steps, "load_before": load_before,
                    "load_after": loadavg()})
        # Free this run before the next is built: the peak is then one model's, not two.
        del model
        gc.collect()
    return out


def child_scale(factor: int, repeats: int) -> dict:
    import abm

    base = abm.load("baseline-2024")
    timed_runs(base, 1, seed0=0)  # imports and caches warm
    config = scaled(base, factor)
    runs = timed_runs(config, repeats)
    buyers = final_buyers(config)
    weeks = config.weeks
    return {"factor": factor, "final_buyers": buyers,
            "weeks": weeks, "runs": runs,
            "buyer_steps_per_s_cpu": spread(buyers * weeks / r["cpu_s"] for r in runs),
            "buyer_steps_per_s_wall": spread(buyers * weeks / r["wall_s"] for r in runs),
            "peak_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


def child_default(repeats: int) -> dict:
    import abm

    out = {}
    for name in ("baseline-2024", "history-2025"):
        config = abm.load(name)
        timed_runs(config, 1, seed0=0)
        runs = []
        for seed in range(1, repeats + 1):
            load_before = loadavg()
            c0, w0 = time.process_time(), time.perf_counter()
            abm.run(config, seed=seed)
            runs.append({"seed": seed, "cpu_s": time.process_time() - c0,
                         "wall_s": time.perf_counter() - w0, "load_before": load_before,
                         "load_after": loadavg()})
            gc.collect()  # the last run's cycles, outside the timing
        out[name] = {"final_buyers": final_buyers(config), "weeks": config.weeks, "runs": runs,
                     "cpu_s": spread(r["cpu_s"] for r in runs),
                     "wall_s": spread(r["wall_s"] for r in runs)}
    return out


def stage_timers():
    """Wrap each stage function of the week with a CPU timer; returns the running totals."""
    import abm.model as model_module
    from abm.agents.state import State
    from abm.market import adaptation, chips, production, recorder, trade, use
    from abm.policy import pain

    cost: collections.Counter = collections.Counter()

    def timer(function, label):
        def timed(*args, **kwargs):
            start = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                cost[label] += time.process_time() - start
        return timed

    modules = [
        (State, "step", "State strategies"), (use, "draw_demand", "demand"),
        (production, "plan_inputs", "input plans"), (trade, "place_orders", "orders"),
        (trade, "shippable_t", "shippable"), (production, "produce", "production"),
        (trade, "allocate", "allocation"), (trade, "send", "filing and shipping"),
        (production, "forecast_orders", "order forecasts"),
        (trade, "review_licences", "licence review"), (use, "arrive", "arrivals"),
        (use, "use", "use"), (model_module, "update_prices", "prices"),
        (chips.ChipMarket, "step", "chip market"), (pain.PainMeter, "record", "payoffs"),
        (adaptation, "adjust", "adjustments"), (recorder.Recorder, "record", "recorder"),
        (model_module.ExportControlModel, "_rebuild_policy", "policy arrays"),
    ]
    for owner, name, label in modules:
        if hasattr(owner, name):  # a stage renamed elsewhere is left out, not an error
            setattr(owner, name, timer(getattr(owner, name), label))
    return cost


def child_stages(factor: int) -> dict:
    import abm
    from abm.model import ExportControlModel

    base = abm.load("baseline-2024")
    config = scaled(base, factor)
    ExportControlModel(base, rng=0).run_for(base.weeks)  # warm, before the timers
    cost = stage_timers()
    load_before = loadavg()
    c0 = time.process_time()
    model = ExportControlModel(config, rng=1)
    c1 = time.process_time()
    model.run_for(config.weeks)
    c2 = time.process_time()
    weeks_cpu = c2 - c1
    stages = {label: {"cpu_s": s, "share_of_weeks": s / weeks_cpu}
              for label, s in cost.most_common()}
    return {"factor": factor, "final_buyers": final_buyers(config), "build_cpu_s": c1 - c0,
            "weeks_cpu_s": weeks_cpu, "stages": stages,
            "unattributed_cpu_s": weeks_cpu - sum(cost.values()),
            "load_before": load_before, "load_after": loadavg()}


def in_child(kind: str, *args) -> dict:
    command = [sys.executable, __file__, "--child", kind, *map(str, args)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{kind} child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--large-repeats", type=int, default=3)
    parser.add_argument("--json", default=str(RESULTS / "model_speed.json"))
    parser.add_argument("--child", nargs="+")
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        run = {"scale": child_scale, "default": child_default, "stages": child_stages}[kind]
        print(json.dumps(run(*map(int, rest))))
        return 0

    check_output(args.json)
    started = now_utc()
    default = in_child("default", args.repeats * 3)
    for name, d in default.items():
        c, w = d["cpu_s"], d["wall_s"]
        print(f"{name}: {d['final_buyers']} buyers, {d['weeks']} weeks: CPU median "
              f"{c['median']:.3f} s (iqr {c['q1']:.3f}-{c['q3']:.3f}), wall median "
              f"{w['median']:.3f} s (iqr {w['q1']:.3f}-{w['q3']:.3f}) over {c['n']} runs; load "
              f"{d['runs'][0]['load_before']:.2f}->{d['runs'][-1]['load_after']:.2f}", flush=True)
    scale = {}
    for label, factor in FACTORS.items():
        repeats = args.large_repeats if factor > 100 else args.repeats
        s = scale[label] = in_child("scale", factor, repeats)
        r = s["buyer_steps_per_s_cpu"]
        builds = statistics.median(x["build_cpu_s"] for x in s["runs"])
        weeks = statistics.median(x["weeks_cpu_s"] for x in s["runs"])
        print(f"{s['final_buyers']:7d} buyers: {r['median'] / 1e6:.2f} M buyer-steps/s CPU "
              f"(range {r['min'] / 1e6:.2f}-{r['max'] / 1e6:.2f}; wall "
              f"{s['buyer_steps_per_s_wall']['median'] / 1e6:.2f}), construction {builds:.2f} s"
              f" + weeks {weeks:.2f} s CPU, peak {s['peak_bytes'] / 2**20:.0f} MiB; load "
              f"{s['runs'][0]['load_before']:.2f}->{s['runs'][-1]['load_after']:.2f}",
              flush=True)
    stages = {"default": in_child("stages", 1), "1e5": in_child("stages", FACTORS["1e5"])}
    for st in stages.values():
        print(f"stages of the week, {st['final_buyers']} buyers (CPU, weeks total "
              f"{st['weeks_cpu_s']:.3f} s; construction {st['build_cpu_s']:.3f} s):")
        for name, v in st["stages"].items():
            print(f"  {name:20s} {v['cpu_s']:8.3f} s {100 * v['share_of_weeks']:5.1f}%")
        print(f"  {'(between stages)':20s} {st['unattributed_cpu_s']:8.3f} s")
    path = write(args.json, {
        "benchmark": "model_speed",
        "command": "python benchmarks/model_speed.py " + " ".join(sys.argv[1:]),
        "started_utc": started, "finished_utc": now_utc(),
        "default": default, "scale": scale, "stages": stages,
    })
    big = scale["1e5"]
    print(f"wrote {path}")
    print(f"RESULT default_baseline_cpu_s={default['baseline-2024']['cpu_s']['median']:.3f} "
          f"default_history_cpu_s={default['history-2025']['cpu_s']['median']:.3f} "
          f"rate_1e5_M_per_s={big['buyer_steps_per_s_cpu']['median'] / 1e6:.2f} "
          f"peak_1e5_MiB={big['peak_bytes'] / 2**20:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
