"""Wall time of one baseline-2024 run (three simulated years) with the default population and
with 10x (and 100x) as many buyers. Prints figures and the cost ratio against the buyer ratio.

    .venv/bin/python benchmarks/model_speed.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import time

import abm
from abm.scenario import override


def scaled(config, factor: int):
    """The scenario with `factor` times as many final buyers (input stocks stay one per
    producer)."""
    return override(config, {f"buyers[{i}].count": g.count * factor
                             for i, g in enumerate(config.buyers) if not g.feeds})


def best_time(config, repeats: int) -> float:
    best = float("inf")
    for seed in range(repeats):
        start = time.perf_counter()
        abm.run(config, seed=seed)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    base = abm.load("baseline-2024")
    abm.run(base, seed=0)  # warm imports and caches
    results = {}
    for factor in (1, 10, 100):
        config = scaled(base, factor)
        buyers = sum(g.count for g in config.buyers if not g.feeds)
        results[factor] = best_time(config, args.repeats if factor < 100 else 2)
        print(f"buyers={buyers:6d} weeks={config.weeks} wall_s={results[factor]:.3f}")
    for factor in (10, 100):
        print(f"cost ratio x{factor} buyers: {results[factor] / results[1]:.2f} "
              f"(linear would be {factor})")


if __name__ == "__main__":
    main()
