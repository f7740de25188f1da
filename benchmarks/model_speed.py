"""Wall time of one baseline-2024 run (three simulated years) with the default population and
with 10x (and 100x) as many buyers, and the cost of each stage of the week (from a profile of
one default run). Prints figures and the cost ratio against the buyer ratio.

    .venv/bin/python benchmarks/model_speed.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time

import abm
from abm.scenario import override

# The stages of the week (ExportControlModel.step), as (module file, function) in the profile.
STAGES = [
    ("State strategies", "agents/state.py", "step"),
    ("demand", "market/use.py", "draw_demand"),
    ("input plans", "market/production.py", "plan_inputs"),
    ("orders", "market/trade.py", "place_orders"),
    ("shippable", "market/trade.py", "shippable_t"),
    ("production", "market/production.py", "produce"),
    ("allocation", "market/trade.py", "allocate"),
    ("filing and shipping", "market/trade.py", "send"),
    ("licence review", "market/trade.py", "review_licences"),
    ("arrivals", "market/use.py", "arrive"),
    ("use", "market/use.py", "use"),
    ("prices", "market/clearing.py", "update_prices"),
    ("chip market", "market/chips.py", "step"),
    ("payoffs", "policy/pain.py", "record"),
    ("adjustments", "market/adaptation.py", "adjust"),
    ("recorder", "market/recorder.py", "record"),
]


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


def stage_costs(config) -> None:
    profile = cProfile.Profile()
    profile.enable()
    abm.run(config, seed=0)
    profile.disable()
    stats = pstats.Stats(profile).stats
    total = sum(v[3] for k, v in stats.items() if k[2] == "step" and k[0].endswith("abm/model.py"))
    print(f"stages of the week (profile of one default run; step total {total:.3f} s):")
    for label, file, name in STAGES:
        cost = sum(v[3] for k, v in stats.items() if k[0].endswith(file) and k[2] == name)
        print(f"  {label:20s} {cost:7.3f} s  {100 * cost / total:5.1f}%")


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
    stage_costs(base)


if __name__ == "__main__":
    main()
