"""Cost of a three-year `baseline-2024` run, this checkout against another commit (default:
`main`), as interleaved trials in fresh processes (A, B, then B, A, ...), so that both sides
meet the same background load. The cost is the process's CPU time (the median of `--runs`
runs after a warm-up; less sensitive than wall time to other processes on a shared machine);
wall time is recorded too. `--factor` multiplies every final buyer group's count (493: about
10^5 buyers). Prints each pair's ratio (this checkout / the reference), their median and
spread, and the load average during each trial; writes everything to `--json`.

    .venv/bin/python benchmarks/core_cost.py [--ref main] [--pairs 7] [--factor 1] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _bench import RESULTS, ROOT, check_output, loadavg, now_utc, spread, write

TIMER = """
import json, statistics, sys, time, abm
from abm.scenario import override
factor, runs = int(sys.argv[1]), int(sys.argv[2])
base = abm.load("baseline-2024")
abm.run(base, seed=0)  # imports and caches warm
config = base if factor == 1 else override(base, {f"buyers[{i}].count": g.count * factor
                                                  for i, g in enumerate(base.buyers) if not g.feeds})
cpu, wall = [], []
for seed in range(1, runs + 1):
    c, w = time.process_time(), time.perf_counter()
    abm.run(config, seed=seed)
    cpu.append(time.process_time() - c)
    wall.append(time.perf_counter() - w)
buyers = sum(g.count for g in config.buyers if not getattr(g, "feeds", ""))
print(json.dumps({"cpu_s": statistics.median(cpu), "wall_s": statistics.median(wall),
                  "buyers": buyers, "weeks": config.weeks}))
"""


def trial(tree: Path, factor: int, runs: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    before = loadavg()
    out = subprocess.run([sys.executable, "-c", TIMER, str(factor), str(runs)], cwd=tree,
                         env=env, check=True, capture_output=True, text=True).stdout
    return {**json.loads(out.strip().splitlines()[-1]), "load_before": before,
            "load_after": loadavg()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", default="main")
    parser.add_argument("--pairs", type=int, default=7)
    parser.add_argument("--factor", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json")
    args = parser.parse_args()
    path = args.json or RESULTS / f"core_cost_x{args.factor}.json"
    check_output(path)
    started = now_utc()
    ref_commit = subprocess.run(["git", "rev-parse", "--short", args.ref], cwd=ROOT, check=True,
                                capture_output=True, text=True).stdout.strip()
    pairs = []
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "old"
        subprocess.run(["git", "worktree", "add", "--detach", str(old), args.ref], cwd=ROOT,
                       check=True, capture_output=True)
        try:
            for i in range(args.pairs):
                sides = [("ref", old), ("new", ROOT)]
                got = {name: trial(tree, args.factor, args.runs)
                       for name, tree in (sides if i % 2 == 0 else sides[::-1])}
                a, b = got["ref"], got["new"]
                pairs.append({"ref": a, "new": b, "cpu_ratio": b["cpu_s"] / a["cpu_s"],
                              "wall_ratio": b["wall_s"] / a["wall_s"]})
                print(f"pair {i + 1}: {args.ref} ({ref_commit}) {a['cpu_s']:.3f} s CPU "
                      f"{a['wall_s']:.3f} s wall ({a['buyers']} buyers, load "
                      f"{a['load_before']:.1f}->{a['load_after']:.1f}); this checkout "
                      f"{b['cpu_s']:.3f} s CPU {b['wall_s']:.3f} s wall (load "
                      f"{b['load_before']:.1f}->{b['load_after']:.1f}); CPU ratio "
                      f"{pairs[-1]['cpu_ratio']:.2f}", flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(old)], cwd=ROOT,
                           check=True, capture_output=True)
    cpu = spread(p["cpu_ratio"] for p in pairs)
    wall = spread(p["wall_ratio"] for p in pairs)
    written = write(path, {
        "benchmark": "core_cost", "command": "python benchmarks/core_cost.py "
        + " ".join(sys.argv[1:]), "started_utc": started, "finished_utc": now_utc(),
        "ref": args.ref, "ref_commit": ref_commit, "factor": args.factor, "runs": args.runs,
        "cpu_ratio": cpu, "wall_ratio": wall, "pairs": pairs,
    })
    print(f"wrote {written}")
    print(f"RESULT median_cpu_ratio={cpu['median']:.2f} iqr={cpu['q1']:.2f}-{cpu['q3']:.2f} "
          f"min={cpu['min']:.2f} max={cpu['max']:.2f} median_wall_ratio={wall['median']:.2f}")


if __name__ == "__main__":
    main()
