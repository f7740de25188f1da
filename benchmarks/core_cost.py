"""Cost of a three-year default run (`baseline-2024`), this checkout against an earlier commit
(default: 7be20f8, the model before economic core v2), as interleaved trials in fresh
processes (A, B, A, B, ...), so that both sides meet the same background load. The cost is the
process's CPU time (best of three runs; less sensitive than wall time to other processes on a
shared machine). Prints each pair's ratio, their median and spread, and the load average
during each trial.

    .venv/bin/python benchmarks/core_cost.py [--ref 7be20f8] [--pairs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMER = """
import time, abm
config = abm.load("baseline-2024")
abm.run(config, seed=0)  # imports and caches warm
best = float("inf")
for seed in range(1, 4):
    start = time.process_time()
    abm.run(config, seed=seed)
    best = min(best, time.process_time() - start)
buyers = sum(g.count for g in config.buyers if not getattr(g, "feeds", ""))
print(best, buyers)
"""


def trial(tree: Path) -> tuple[float, int, float]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    load = os.getloadavg()[0]
    out = subprocess.run([sys.executable, "-c", TIMER], cwd=tree, env=env, check=True,
                         capture_output=True, text=True).stdout.split()
    return float(out[0]), int(out[1]), load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", default="7be20f8")
    parser.add_argument("--pairs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "old"
        subprocess.run(["git", "worktree", "add", "--detach", str(old), args.ref], cwd=ROOT,
                       check=True, capture_output=True)
        try:
            ratios = []
            for i in range(args.pairs):
                t_old, n_old, load_old = trial(old)
                t_new, n_new, load_new = trial(ROOT)
                ratios.append(t_new / t_old)
                print(f"pair {i + 1}: {args.ref} {t_old:.3f} s CPU ({n_old} buyers, load "
                      f"{load_old:.1f}); this checkout {t_new:.3f} s CPU ({n_new} buyers, load "
                      f"{load_new:.1f}); ratio {ratios[-1]:.2f}")
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(old)], cwd=ROOT,
                           check=True, capture_output=True)
    quartiles = statistics.quantiles(ratios, n=4)
    print(f"RESULT median_ratio={statistics.median(ratios):.2f} "
          f"iqr={quartiles[0]:.2f}-{quartiles[2]:.2f} min={min(ratios):.2f} max={max(ratios):.2f}")


if __name__ == "__main__":
    main()
