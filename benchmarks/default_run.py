"""The three-year default runs against the host's speed: each run is timed between two runs of
a fixed reference workload, so a slow run can be told from a slow moment of the machine.

    .venv/bin/python benchmarks/default_run.py [--trials 25] [--json results/benchmarks/default_run.json]

Why: this machine is a virtual machine on a shared host. The same run's CPU time moves by a
factor of two from one minute to the next while the load average inside the machine stays
under 1 (`docs/performance.md`): the host's other tenants take the CPU's time, caches and
turbo, and none of it shows in the load average. A median of run times measures the host's
mood as much as the code.

What it does, in one process (after a warm-up of each): for each of `--trials` trials, in
turn, the reference workload, a `baseline-2024` run (the model's default scenario), the
reference, a `history-2025` run, the reference. Every figure is CPU time
(`time.process_time`). The reference is a fixed loop of the same kind of work as a model week
(NumPy calls on arrays of a few hundred elements, and the Python between them); it does the
same work every time, so its CPU time tells how fast the host ran it then.

- host slowness of a run = the mean of the two references around it / the least reference of
  the whole benchmark (1 at the host's best moment, 2 when it ran at half speed);
- a run's cost at full speed = its CPU time / its host slowness.

Reported for each scenario: the CPU times as measured (median, quartiles, range, and how many
were under 0.2 s), their cost at full speed (the same), and the rank correlation between run
time and host slowness (close to 1 when the variation is the host's, not the code's).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np
from _bench import RESULTS, check_output, loadavg, now_utc, spread, write

SCENARIOS = ("baseline-2024", "history-2025")
AIM_S = 0.2


def reference_work(rounds: int = 600) -> float:
    """A fixed amount of model-like work: small-array NumPy calls and the Python around them."""
    rng = np.random.default_rng(0)
    a, b = rng.random(463), rng.random(463)
    idx = rng.integers(0, 221, 463)
    total = 0.0
    for _ in range(rounds):
        for _ in range(10):
            c = a * b + a
            d = np.bincount(idx, weights=c, minlength=221)[idx]
            f = np.divide(c, d, out=np.zeros(463), where=d > 1e-9)
            total += float(np.minimum(np.maximum(f, 0.0), 1.0).sum())
    return total


def cpu_of(function, *args) -> float:
    start = time.process_time()
    function(*args)
    return time.process_time() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=25)
    parser.add_argument("--json", default=str(RESULTS / "default_run.json"))
    args = parser.parse_args()
    if args.trials < 3:
        parser.error("--trials: expected at least 3")
    check_output(args.json)

    import abm
    from abm.run import run

    configs = {name: abm.load(name) for name in SCENARIOS}
    for config in configs.values():  # warm-up: imports, caches, first allocations
        run(config, seed=0)
    reference_work()

    load_before = loadavg()
    started = now_utc()
    refs = [cpu_of(reference_work)]
    trials = []
    for trial in range(args.trials):
        for name, config in configs.items():
            seed = 1 + trial
            run_cpu = cpu_of(run, config, seed)
            refs.append(cpu_of(reference_work))
            trials.append({"trial": trial, "scenario": name, "seed": seed, "cpu_s": run_cpu,
                           "reference_before_s": refs[-2], "reference_after_s": refs[-1],
                           "load": loadavg()})
    best = min(refs)
    for t in trials:
        t["host_slowness"] = (t["reference_before_s"] + t["reference_after_s"]) / 2 / best
        t["full_speed_cpu_s"] = t["cpu_s"] / t["host_slowness"]

    from scipy.stats import spearmanr

    summary = {}
    for name in SCENARIOS:
        mine = [t for t in trials if t["scenario"] == name]
        cpu = [t["cpu_s"] for t in mine]
        full = [t["full_speed_cpu_s"] for t in mine]
        slow = [t["host_slowness"] for t in mine]
        summary[name] = {
            "cpu_s": spread(cpu),
            "under_aim": sum(c < AIM_S for c in cpu),
            "full_speed_cpu_s": spread(full),
            "full_speed_under_aim": sum(c < AIM_S for c in full),
            "host_slowness": spread(slow),
            "rank_correlation": float(spearmanr(cpu, slow).statistic),
            "n": len(mine),
        }
    record = {
        "benchmark": "default_run",
        "command": "python benchmarks/default_run.py " + " ".join(sys.argv[1:]),
        "started_utc": started,
        "finished_utc": now_utc(),
        "load_before": load_before,
        "load_after": loadavg(),
        "aim_s": AIM_S,
        "reference_least_s": best,
        "reference_s": spread(refs),
        "trials": trials,
        "summary": summary,
    }
    path = write(args.json, record)
    for name, s in summary.items():
        print(f"{name}: CPU median {s['cpu_s']['median']:.3f} s "
              f"(quartiles {s['cpu_s']['q1']:.3f}-{s['cpu_s']['q3']:.3f}, least "
              f"{s['cpu_s']['min']:.3f}), {s['under_aim']}/{s['n']} under {AIM_S} s; at full "
              f"speed median {s['full_speed_cpu_s']['median']:.3f} s (quartiles "
              f"{s['full_speed_cpu_s']['q1']:.3f}-{s['full_speed_cpu_s']['q3']:.3f}); "
              f"rank correlation with host slowness {s['rank_correlation']:.2f}")
    print(f"reference: least {best:.3f} s, median {statistics.median(refs):.3f} s; wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
