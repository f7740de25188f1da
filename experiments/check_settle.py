"""Do prices settle under constant policy? Every built-in scenario, run 104 weeks past its last
event, over 10 seeds: the largest change of any seed-median price over the final 26 weeks, and
in any one of those weeks, against the aims of 2% and 0.5% (issue 20).

Writes results/settle/settle.csv (one row per scenario, good and region) and summary.md, and
prints the summary.

    .venv/bin/python experiments/check_settle.py [--seeds 10]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd

import abm
from abm.ensemble import seeds
from abm.output import atomic_directory
from abm.reproduce import manifest
from abm.scenario.load import builtin_names

OUT = Path(__file__).resolve().parent.parent / "results" / "settle"
FINAL_WEEKS = 26
AIM_OVER_FINAL = 0.02
AIM_ANY_WEEK = 0.005


def extended(name: str):
    config = abm.load(name)
    last = max([e.date for e in config.events] + [config.start])
    return dataclasses.replace(config, end=last + dt.timedelta(weeks=104))


def check(name: str, seed_list: list[int]) -> pd.DataFrame:
    config = extended(name)
    runs = []
    for seed in seed_list:
        prices = abm.run(config, seed=seed).prices
        runs.append(prices.pivot_table(index="week", columns=["good", "region"],
                                       values="price_usd_per_kg"))
    columns = runs[0].columns
    median = np.median(np.stack([r[columns].to_numpy() for r in runs]), axis=0)
    tail = median[-FINAL_WEEKS:]
    over = np.abs(tail[-1] / tail[0] - 1.0)
    weekly = np.abs(tail[1:] / tail[:-1] - 1.0).max(axis=0)
    frame = pd.DataFrame({"scenario": name, "good": [c[0] for c in columns],
                          "region": [c[1] for c in columns],
                          "change_final_26_weeks": over.round(4),
                          "largest_weekly_change": weekly.round(4)})
    frame["settles"] = (frame["change_final_26_weeks"] < AIM_OVER_FINAL) & (
        frame["largest_weekly_change"] < AIM_ANY_WEEK)
    return frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    args = parser.parse_args()
    seed_list = seeds(20, args.seeds)
    table = pd.concat([check(name, seed_list) for name in builtin_names()], ignore_index=True)
    by_scenario = table.groupby("scenario").agg(
        prices=("settles", "size"), settled=("settles", "sum"),
        worst_change_final_26_weeks=("change_final_26_weeks", "max"),
        worst_weekly_change=("largest_weekly_change", "max"))
    worst = table.loc[table.groupby("scenario")["change_final_26_weeks"].idxmax(),
                      ["scenario", "good", "region"]].set_index("scenario")
    by_scenario["worst_price"] = worst["good"] + " " + worst["region"]
    lines = ["# Do prices settle under constant policy?", "",
             f"Each built-in scenario run 104 weeks past its last event, {args.seeds} seeds; "
             f"seed-median prices. Aims: less than {AIM_OVER_FINAL:.0%} over the final "
             f"{FINAL_WEEKS} weeks and less than {AIM_ANY_WEEK:.1%} in any week. Written by "
             "`experiments/check_settle.py`.", "",
             "```", by_scenario.reset_index().to_string(index=False), "```"]
    # Written whole into a staging folder that replaces OUT only when everything is written,
    # and never over a folder abm did not write.
    with atomic_directory(OUT) as staging:
        table.to_csv(staging / "settle.csv", index=False)
        (staging / "summary.md").write_text("\n".join(lines) + "\n")
        (staging / "manifest.json").write_text(json.dumps(manifest(
            "settle", "every built-in scenario", 20, seed_list, []), indent=2) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
