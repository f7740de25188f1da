"""e04: the London trade-off. What does each side get for what it gives?

The London deal (2025-06-10, `[deals.london]` in baseline-2024) traded faster Chinese licences
for US easing of chip controls. This experiment sweeps its terms on the `london-2025` scenario
(the 2025 controls and tariffs, then Geneva, London and Busan as dated deals):

- lever `chip_easing`: share of China's demand for US AI chips that US licences cover after
  the deal (0 keeps the H20 blocked, 1 is the August 2025 licences);
- lever `approval`: China's licence approval rate for magnets and oxides (all destinations);
- lever `review_weeks`: China's mean licence review time.

Outcomes over the deal's year (2025-06-10 to 2026-06-09): US buyers' magnet shortfall (t) and
buyer-weeks halted, China's chip access (share of its AI-chip demand served), and each side's
mean pain (`abm.policy.pain`). Writes to results/e04_london_tradeoff/: `runs.csv` (one row per
design and seed), `summary.csv` (mean by design), `summary.md`, a heatmap per outcome, the trade-off
figure and `manifest.json`.

    .venv/bin/python experiments/e04_london_tradeoff.py [--quick] [--seeds 3]
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
from abm.plots import DPI  # noqa: E402
from abm.policy.pain import weekly_pain  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "results" / "e04_london_tradeoff"
SCENARIO = "london-2025"
DEAL_START, DEAL_END = "2025-06-10", "2026-06-09"
LEVERS = {
    "chip_easing": [0.0, 0.25, 0.5, 0.75, 1.0],
    "approval": [0.5, 0.65, 0.8, 0.95],
    "review_weeks": [2.0, 4.0, 8.0],
}
QUICK_LEVERS = {"chip_easing": [0.0, 1.0], "approval": [0.5, 0.95], "review_weeks": [2.0, 8.0]}
OUTCOMES = {
    "usa_shortfall_t": "US magnet shortfall (t)",
    "usa_buyer_weeks_halted": "US buyer-weeks halted",
    "chn_chip_access": "China's chip access (share of demand served)",
    "usa_pain": "US pain (mean weekly)",
    "chn_pain": "China's pain (mean weekly)",
}


def deal_terms(config, chip_easing: float, approval: float, review_weeks: float) -> dict:
    """Overrides of the London template's terms for one design."""
    changes = {}
    for i, term in enumerate(config.deals["london"].terms):
        path = f"deals.london.terms[{i}].changes"
        if term.state == "CHN" and term.kind == "licence_policy":
            new = {"approval": approval, "review_weeks": review_weeks}
            if "approval_by_destination.USA" in term.changes:
                new["approval_by_destination.USA"] = approval
            changes[path] = new
        elif term.state == "USA" and term.good == "ai_chip":
            changes[path] = {**term.changes, "approval_by_destination.CHN": chip_easing}
    return changes


def run_one(job: dict) -> dict:
    base = abm.load(SCENARIO)
    config = abm.override(base, deal_terms(base, job["chip_easing"], job["approval"],
                                           job["review_weeks"]))
    result = abm.run(config, seed=job["seed"], until=dt.date.fromisoformat(DEAL_END))
    weekly = result.weekly
    window = (weekly["date"] >= DEAL_START) & (weekly["date"] <= DEAL_END)
    usa = weekly[window & (weekly["country"] == "USA") & (weekly["good"] == "magnet")]
    access = result.model.chip_market.access_table()
    china = access[(access["region"] == "CHN") & (access["date"] >= DEAL_START)]
    pain = weekly_pain(result.model)
    pain = pain[(pain["date"] >= DEAL_START) & (pain["date"] <= DEAL_END)]
    return {
        **job,
        "usa_shortfall_t": float(usa["shortfall_t"].sum()),
        "usa_buyer_weeks_halted": float(usa["buyers_halted"].sum()),
        "chn_chip_access": float(china["access"].mean()),
        "usa_pain": float(pain.loc[pain["state"] == "USA", "pain"].mean()),
        "chn_pain": float(pain.loc[pain["state"] == "CHN", "pain"].mean()),
    }


def heatmaps(summary: pd.DataFrame, levers: dict) -> list[Path]:
    paths = []
    reviews = levers["review_weeks"]
    for outcome, label in OUTCOMES.items():
        fig, axes = plt.subplots(1, len(reviews), figsize=(3.6 * len(reviews), 3.4),
                                 sharey=True, squeeze=False)
        values = summary[outcome]
        vmin, vmax = values.min(), values.max()
        for ax, review in zip(axes[0], reviews, strict=True):
            grid = summary[summary["review_weeks"] == review].pivot(
                index="approval", columns="chip_easing", values=outcome)
            image = ax.imshow(grid.to_numpy(), origin="lower", aspect="auto", cmap="viridis",
                              vmin=vmin, vmax=vmax)
            ax.set_xticks(range(grid.shape[1]), [f"{v:g}" for v in grid.columns])
            ax.set_yticks(range(grid.shape[0]), [f"{v:g}" for v in grid.index])
            for (row, col), value in np.ndenumerate(grid.to_numpy()):
                text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}"
                ax.text(col, row, text, ha="center", va="center", fontsize=7,
                        color="white" if value < (vmin + vmax) / 2 else "black")
            ax.set_title(f"China's review time {review:g} weeks", fontsize=9)
        fig.supxlabel("US chip easing (share of China's H20-class demand licensed)", fontsize=9)
        axes[0][0].set_ylabel("China's approval rate")
        fig.colorbar(image, ax=axes[0].tolist(), shrink=0.9, label=label)
        fig.suptitle(f"London deal terms: {label}, {DEAL_START} to {DEAL_END} (mean of seeds)",
                     fontsize=10)
        path = OUT / f"heatmap_{outcome}.png"
        fig.savefig(path, dpi=DPI, bbox_inches="tight")
        plt.close(fig)
        paths.append(path)
    return paths


def pareto_mask(costs: np.ndarray) -> np.ndarray:
    """Rows not dominated by any other row (every column a cost to minimise)."""
    keep = np.ones(len(costs), dtype=bool)
    for i, row in enumerate(costs):
        dominated = np.all(costs <= row, axis=1) & np.any(costs < row, axis=1)
        keep[i] = not dominated.any()
    return keep


def tradeoff(summary: pd.DataFrame) -> Path:
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    pairs = [
        ("chn_chip_access", "usa_shortfall_t", "(a) What each side gets"),
        ("usa_pain", "chn_pain", "(b) What each side bears"),
    ]
    for ax, (x, y, title) in zip(axes, pairs, strict=True):
        sign = -1.0 if x == "chn_chip_access" else 1.0  # China wants more access
        front = pareto_mask(np.column_stack([sign * summary[x], summary[y]]))
        scatter = ax.scatter(summary[x], summary[y], c=summary["chip_easing"], cmap="plasma",
                             s=18 + 30 * summary["approval"], alpha=0.8, edgecolor="none")
        order = summary[front].sort_values(x)
        ax.plot(order[x], order[y], color="black", linewidth=1, marker="o", markersize=9,
                markerfacecolor="none", label="non-dominated terms (better for both sides)")
        ax.set_xlabel(OUTCOMES[x])
        ax.set_ylabel(OUTCOMES[y])
        ax.set_title(title, fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="best", title="marker size: China's approval rate",
                  title_fontsize=7)
    fig.colorbar(scatter, ax=axes.tolist(), label="US chip easing")
    fig.suptitle("The London trade-off across deal terms (each point: one design, mean of seeds)",
                 fontsize=10)
    path = OUT / "tradeoff.png"
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return path


def number(value) -> str:
    if isinstance(value, bool | np.bool_ | str):
        return str(value)
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def markdown_table(frame: pd.DataFrame) -> str:
    rows = ["| " + " | ".join(frame.columns) + " |", "|" + "---:|" * len(frame.columns)]
    for values in frame.itertuples(index=False):
        rows.append("| " + " | ".join(number(v) for v in values) + " |")
    return "\n".join(rows)


def write_summary(summary: pd.DataFrame, levers: dict, runs: int) -> Path:
    """Headline effects of each lever, in words and numbers, for readers of results/."""
    def spread(outcome: str, lever: str) -> str:
        means = summary.groupby(lever)[outcome].mean()
        return (f"{number(means.iloc[0])} at {lever} = {means.index[0]:g} to "
                f"{number(means.iloc[-1])} at {means.index[-1]:g}")

    best = summary.loc[summary["non_dominated"]]
    lines = [
        "# e04: the London trade-off (london-2025)",
        "",
        "Written by `experiments/e04_london_tradeoff.py`; do not edit by hand. "
        f"{runs} runs; outcomes from {DEAL_START} to {DEAL_END}, means over seeds by design.",
        "",
        "## What each lever moves (averaged over the other levers)",
        "",
        f"- US magnet shortfall (t): {spread('usa_shortfall_t', 'approval')}; "
        f"{spread('usa_shortfall_t', 'review_weeks')}; "
        f"{spread('usa_shortfall_t', 'chip_easing')}.",
        f"- US buyer-weeks halted: {spread('usa_buyer_weeks_halted', 'approval')}; "
        f"{spread('usa_buyer_weeks_halted', 'review_weeks')}.",
        f"- China's chip access: {spread('chn_chip_access', 'chip_easing')}; "
        f"{spread('chn_chip_access', 'approval')}.",
        f"- US pain: {spread('usa_pain', 'approval')}; {spread('usa_pain', 'chip_easing')}.",
        f"- China's pain: {spread('chn_pain', 'chip_easing')}; {spread('chn_pain', 'approval')}.",
        "",
        "Each side's gain comes only from the other's concession: China's approvals and review "
        "time set the US shortfall and halts, US chip easing sets China's chip access. In the "
        "model's pain measures a concession costs the conceding side nothing (easing raises US "
        "chip export revenue; approvals raise Chinese magnet exports), so the terms that leave "
        "both sides best off are full concessions on both sides; what kept the real deal "
        "partial (security, leverage) is not in the pain measure.",
        "",
        "## Non-dominated terms (China's chip access up, US shortfall down)",
        "",
        markdown_table(best[[*levers, *OUTCOMES]]),
        "",
        "## All designs",
        "",
        markdown_table(summary[["design", *levers, *OUTCOMES]]),
        "",
    ]
    path = OUT / "summary.md"
    path.write_text("\n".join(lines))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 2x2x2 grid and one seed")
    parser.add_argument("--seeds", type=int, default=3, help="replications per design")
    args = parser.parse_args()
    levers = QUICK_LEVERS if args.quick else LEVERS
    replications = 1 if args.quick else args.seeds
    run_seeds = seeds(4, replications)
    designs = [dict(zip(levers, values, strict=True))
               for values in itertools.product(*levers.values())]
    jobs = [{"design": d, "replication": r, "seed": seed, **design}
            for d, design in enumerate(designs) for r, seed in enumerate(run_seeds)]
    began = time.time()
    with ProcessPoolExecutor(max_workers=2) as pool:
        rows = list(pool.map(run_one, jobs))
    OUT.mkdir(parents=True, exist_ok=True)
    runs = pd.DataFrame(rows)
    runs.to_csv(OUT / "runs.csv", index=False, float_format="%.6g")
    summary = runs.groupby(["design", *levers], as_index=False)[list(OUTCOMES)].mean()
    summary["non_dominated"] = pareto_mask(np.column_stack([
        -summary["chn_chip_access"], summary["usa_shortfall_t"]]))
    summary.to_csv(OUT / "summary.csv", index=False, float_format="%.6g")
    figures = heatmaps(summary, levers) + [tradeoff(summary), write_summary(summary, levers,
                                                                            len(runs))]
    manifest = {
        "experiment": "e04_london_tradeoff",
        "scenario": SCENARIO,
        "levers": levers,
        "outcomes": OUTCOMES,
        "window": [DEAL_START, DEAL_END],
        "seeds": run_seeds,
        "runs": len(runs),
        "quick": args.quick,
        "seconds": round(time.time() - began, 1),
        "git_commit": git_commit(),
        "package_version": abm.__version__,
        "files": sorted(p.name for p in [*figures, OUT / "runs.csv", OUT / "summary.csv"]),
    }
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(summary.round(3).to_string(index=False))
    print(f"{len(runs)} runs in {manifest['seconds']} s -> {OUT}")


if __name__ == "__main__":
    main()
