"""e05: "China can restrict rare-earth exports at any time". How robust is a deal to reneging?

On `bargaining-2025` (the 2025 controls and tariffs, then US and Chinese `bargaining` States
that strike the London deal when both sides' pain passes their thresholds), this experiment
sweeps two uncertainties:

- `renege_probability`: the weekly probability that China, while the deal is in force, quietly
  undoes its terms (slower, scarcer licences);
- `notice_lag_weeks`: how long the US takes to notice and undo its own terms (the H20 licences
  and EDA easing), ending the deal; a new deal may be struck after the cooldown.

Each design runs over several seeds (the reneging draws and buyers' demand noise). Writes to
results/e05_reneging/: `runs.csv` (one row per run: capacity-weeks halted in the US and the EU,
China's mean chip access, deals struck, reneges and weeks under a deal, from 2025-06-01),
`bands.csv` (median and 10-90% band of the weekly series by design, from 2025), fan charts of US and EU
capacity halted and China's chip access over time, the distribution of outcomes, `summary.md` and
`manifest.json`.

    .venv/bin/python experiments/e05_reneging.py [--quick] [--seeds 10]
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import abm  # noqa: E402
from abm.ensemble import seeds  # noqa: E402
from abm.output import git_commit  # noqa: E402
from abm.plots import DPI, mark_events  # noqa: E402
from abm.reproduce import manifest as run_manifest  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "results" / "e05_reneging"
SCENARIO = "bargaining-2025"
FROM = "2025-06-01"
SHOWN_FROM = dt.date(2025, 1, 1)
UNCERTAINTIES = {
    "renege_probability": [0.0, 0.01, 0.02, 0.05, 0.1],
    "notice_lag_weeks": [1.0, 4.0, 8.0, 13.0],
}
QUICK = {"renege_probability": [0.0, 0.05], "notice_lag_weeks": [2.0, 8.0]}
SERIES = {
    "usa_halted_share": "US magnet users halted (share of capacity)",
    "eu_halted_share": "EU magnet users halted (share of capacity)",
    "chn_chip_access": "China's AI-chip access (share of demand served)",
}
OUTCOMES = {
    "usa_capacity_weeks_halted": "US capacity-weeks halted (weeks of all US capacity)",
    "eu_capacity_weeks_halted": "EU capacity-weeks halted (weeks of all EU capacity)",
    "chn_chip_access": "China's mean chip access",
    "weeks_under_deal": "weeks under a deal",
}


def run_one(job: dict) -> dict:
    config = abm.override(abm.load(SCENARIO), {
        "strategies.CHN.bargaining.renege_probability": job["renege_probability"],
        "strategies.USA.bargaining.notice_lag_weeks": job["notice_lag_weeks"],
    })
    result = abm.run(config, seed=job["seed"])
    model = result.model
    weekly = result.weekly
    magnets = weekly[weekly["good"] == "magnet"]
    halted = magnets.groupby(["week", "country"])[["halted_demand_t", "demand_t"]].sum()
    halted["share"] = halted["halted_demand_t"] / halted["demand_t"].clip(lower=1e-9)
    share = halted["share"].unstack("country")
    access = model.chip_market.access_table()
    china = access[access["region"] == "CHN"].set_index("week")["access"]
    dates = pd.Series(weekly["date"].unique())
    after = (dates >= FROM).to_numpy()
    actions = [e.action for deal in model.deals for e in deal.record]
    under = np.zeros(model.steps)
    for deal in model.deals:
        first = int(np.ceil(deal.start_week))
        last = model.steps if deal.end_week is None else int(np.ceil(deal.end_week))
        under[first:last] = 1.0
    return {
        **job,
        "usa_capacity_weeks_halted": float(halted.xs("USA", level="country")["share"]
                                        .to_numpy()[after].sum()),
        "eu_capacity_weeks_halted": float(halted.xs("EU", level="country")["share"]
                                       .to_numpy()[after].sum()),
        "chn_chip_access": float(china.to_numpy()[after].mean()),
        "deals_struck": actions.count("struck"),
        "reneges": actions.count("reneged"),
        "weeks_under_deal": float(under[after].sum()),
        "series": {
            "date": dates.tolist(),
            "usa_halted_share": share["USA"].tolist(),
            "eu_halted_share": share["EU"].tolist(),
            "chn_chip_access": china.tolist(),
        },
    }


def bands(rows: list[dict]) -> pd.DataFrame:
    frames = []
    for row in rows:
        frame = pd.DataFrame(row["series"])
        frame["renege_probability"] = row["renege_probability"]
        frame["notice_lag_weeks"] = row["notice_lag_weeks"]
        frames.append(frame)
    stacked = pd.concat(frames, ignore_index=True)
    stacked = stacked[stacked["date"] >= SHOWN_FROM.isoformat()]
    keys = ["renege_probability", "notice_lag_weeks", "date"]
    out = []
    for series in SERIES:
        grouped = stacked.groupby(keys)[series]
        frame = pd.DataFrame({
            "median": grouped.median(), "p10": grouped.quantile(0.1),
            "p90": grouped.quantile(0.9),
        }).reset_index()
        frame.insert(3, "series", series)
        out.append(frame)
    return pd.concat(out, ignore_index=True)


def fan_chart(table: pd.DataFrame, fixed: str, value: float, varied: str, events) -> Path:
    chosen = table[table[fixed] == value]
    levels = sorted(chosen[varied].unique())
    colours = plt.cm.viridis(np.linspace(0.0, 0.9, len(levels)))
    fig, axes = plt.subplots(len(SERIES), 1, figsize=(10, 8.5), sharex=True)
    for ax, (series, label) in zip(axes, SERIES.items(), strict=True):
        for level, colour in zip(levels, colours, strict=True):
            rows = chosen[(chosen[varied] == level) & (chosen["series"] == series)]
            x = pd.to_datetime(rows["date"])
            ax.fill_between(x, rows["p10"], rows["p90"], color=colour, alpha=0.18, linewidth=0)
            ax.plot(x, rows["median"], color=colour, linewidth=1.3,
                    label=f"{varied.replace('_', ' ')} = {level:g}")
        ax.set_ylabel(label, fontsize=8)
        ax.set_ylim(0, 1.15)
        ax.set_xlim(pd.Timestamp(SHOWN_FROM), x.max())
        ax.grid(alpha=0.3)
    mark_events(axes[0], events, start=SHOWN_FROM)
    for ax in axes[1:]:
        for event in events:
            if event.date >= SHOWN_FROM:
                ax.axvline(pd.Timestamp(event.date), color="0.45", linestyle="--",
                           linewidth=0.8, zorder=0)
    axes[-1].legend(fontsize=7, loc="lower right", title="median, 10-90% band across seeds",
                    title_fontsize=7)
    axes[-1].set_xlabel("date (weekly)")
    fig.suptitle(f"Bargaining with reneging ({fixed.replace('_', ' ')} = {value:g}): buyers "
                 "halted and China's chip access", fontsize=10)
    fig.tight_layout()
    path = OUT / f"fan_{varied}.png"
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def distributions(runs: pd.DataFrame) -> Path:
    probabilities = sorted(runs["renege_probability"].unique())
    lags = sorted(runs["notice_lag_weeks"].unique())
    colours = plt.cm.viridis(np.linspace(0.0, 0.9, len(lags)))
    fig, axes = plt.subplots(2, 2, figsize=(11, 7))
    width = 0.8 / len(lags)
    for ax, (outcome, label) in zip(axes.flat, OUTCOMES.items(), strict=True):
        for j, (lag, colour) in enumerate(zip(lags, colours, strict=True)):
            data = [runs.loc[(runs["renege_probability"] == p) & (runs["notice_lag_weeks"] == lag),
                             outcome].to_numpy() for p in probabilities]
            positions = np.arange(len(probabilities)) - 0.4 + width * (j + 0.5)
            box = ax.boxplot(data, positions=positions, widths=width * 0.9, patch_artist=True,
                             manage_ticks=False, flierprops={"markersize": 2})
            for patch in box["boxes"]:
                patch.set_facecolor(colour)
                patch.set_alpha(0.6)
            ax.plot([], [], color=colour, linewidth=6, alpha=0.6, label=f"US notices after "
                    f"{lag:g} weeks")
        ax.set_xticks(range(len(probabilities)), [f"{p:g}" for p in probabilities])
        ax.set_xlabel("China's weekly probability of reneging")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.suptitle(f"Outcomes from {FROM} to the end of 2026 across seeds, by probability of "
                 "reneging and notice lag", fontsize=10)
    fig.tight_layout()
    path = OUT / "distributions.png"
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def write_summary(summary: pd.DataFrame, runs: int) -> Path:
    """Headline comparisons for readers of results/."""
    def at(p: float, lag: float, outcome: str) -> float:
        row = summary[(summary["renege_probability"] == p) & (summary["notice_lag_weeks"] == lag)]
        return float(row[outcome].iloc[0])

    probabilities = sorted(summary["renege_probability"].unique())
    lags = sorted(summary["notice_lag_weeks"].unique())
    never, most = probabilities[0], probabilities[-1]
    quick, slow = lags[0], lags[-1]
    lines = [
        "# e05: reneging on the London deal (bargaining-2025)",
        "",
        "Written by `experiments/e05_reneging.py`; do not edit by hand. "
        f"{runs} runs; outcomes from {FROM} to the end of 2026, means over seeds by design.",
        "",
        f"- With no reneging, US buyers lose {at(never, quick, 'usa_capacity_weeks_halted'):,.2f} "
        f"capacity-weeks to halts and EU buyers {at(never, quick, 'eu_capacity_weeks_halted'):,.2f}; "
        f"China gets {at(never, quick, 'chn_chip_access'):.0%} of its AI-chip demand.",
        f"- If China reneges with probability {most:g} a week and the US notices after "
        f"{slow:g} weeks: US {at(most, slow, 'usa_capacity_weeks_halted'):,.2f}, EU "
        f"{at(most, slow, 'eu_capacity_weeks_halted'):,.2f} capacity-weeks halted; China's chip "
        f"access {at(most, slow, 'chn_chip_access'):.0%}; "
        f"{at(most, slow, 'deals_struck'):.1f} deals struck, "
        f"{at(most, slow, 'reneges'):.1f} reneged.",
        f"- Same probability, the US notices after {quick:g} week(s): US "
        f"{at(most, quick, 'usa_capacity_weeks_halted'):,.2f}, EU "
        f"{at(most, quick, 'eu_capacity_weeks_halted'):,.2f} capacity-weeks halted; China's chip "
        f"access {at(most, quick, 'chn_chip_access'):.0%}. A slow response keeps US chip easing "
        "in force while China's licences are slow (more halts, more chips for China); a quick "
        "one ends the deal sooner and, with pain still high, leads to a new one sooner.",
        "",
        "| renege probability / week | notice lag (weeks) | US capacity-weeks halted | "
        "EU capacity-weeks halted | China's chip access | weeks under a deal | deals | reneges |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in summary.itertuples(index=False):
        lines.append(
            f"| {row.renege_probability:g} | {row.notice_lag_weeks:g} | "
            f"{row.usa_capacity_weeks_halted:,.2f} | {row.eu_capacity_weeks_halted:,.2f} | "
            f"{row.chn_chip_access:.2f} | {row.weeks_under_deal:.1f} | {row.deals_struck:.1f} | "
            f"{row.reneges:.1f} |")
    path = OUT / "summary.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def main() -> None:
    global OUT
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 2x2 grid and three seeds")
    parser.add_argument("--seeds", type=int, default=10, help="replications per design")
    parser.add_argument("--out", default=None, help="output folder (default: results/)")
    args = parser.parse_args()
    if args.out:
        OUT = Path(args.out)
    grid = QUICK if args.quick else UNCERTAINTIES
    run_seeds = seeds(5, 3 if args.quick else args.seeds)
    designs = [dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())]
    jobs = [{"design": d, "replication": r, "seed": seed, **design}
            for d, design in enumerate(designs) for r, seed in enumerate(run_seeds)]
    began = time.time()
    with ProcessPoolExecutor(max_workers=2) as pool:
        rows = list(pool.map(run_one, jobs))
    OUT.mkdir(parents=True, exist_ok=True)
    runs = pd.DataFrame([{k: v for k, v in row.items() if k != "series"} for row in rows])
    runs.to_csv(OUT / "runs.csv", index=False, float_format="%.6g")
    table = bands(rows)
    table.to_csv(OUT / "bands.csv", index=False, float_format="%.3g")
    summary = runs.groupby(["design", *grid], as_index=False)[
        [*OUTCOMES, "deals_struck", "reneges"]].mean()
    summary.to_csv(OUT / "summary.csv", index=False, float_format="%.4g")
    events = abm.load(SCENARIO).events
    probabilities, lags = grid["renege_probability"], grid["notice_lag_weeks"]
    figures = [
        fan_chart(table, "notice_lag_weeks", lags[len(lags) // 2], "renege_probability", events),
        fan_chart(table, "renege_probability", probabilities[-2], "notice_lag_weeks", events),
        distributions(runs),
        write_summary(summary, len(runs)),
    ]
    manifest = {
        **run_manifest("e05_reneging", SCENARIO, 5, run_seeds, []),
        "scenario": SCENARIO,
        "uncertainties": grid,
        "outcomes": OUTCOMES,
        "series": SERIES,
        "outcomes_from": FROM,
        "seeds": run_seeds,
        "runs": len(runs),
        "quick": args.quick,
        "seconds": round(time.time() - began, 1),
        "git_commit": git_commit(),
        "package_version": abm.__version__,
        "files": sorted(p.name for p in [*figures, OUT / "runs.csv", OUT / "bands.csv",
                                         OUT / "summary.csv"]),
    }
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(summary.round(3).to_string(index=False))
    print(f"{len(runs)} runs in {manifest['seconds']} s -> {OUT}")


if __name__ == "__main__":
    main()
