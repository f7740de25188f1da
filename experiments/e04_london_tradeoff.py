"""e04: the London trade-off. What does each side get for what it gives?

The London deal (2025-06-10, `[deals.london]` in baseline-2024) traded faster Chinese licences
for US easing of chip controls. This experiment sweeps its terms on the `london-2025` scenario
(the 2025 controls and tariffs, then Geneva, London and Busan as dated deals):

- lever `chip_easing`: share of China's demand for US AI chips that US licences cover after
  the deal (0 keeps the H20 blocked, 1 is the August 2025 licences);
- lever `approval`: China's licence approval rate for magnets and oxides (all destinations);
- lever `review_weeks`: China's mean licence review time.

Outcomes over the deal's year (2025-06-10 to 2026-06-09): US buyers' magnet shortfall (t) and
output lost (USD bn), China's chip access (share of its AI-chip demand served), and each side's
payoff (`abm.policy.pain`, USD bn over the year, by the `[payoffs]` weights of the scenario):
output lost, export revenue, licence rent and the strategic stakes (China's compute access as
a cost to the US; China's own chip access and the leverage its controls give as values to
China). Each run records the payoff components, so the payoffs are recomputed under other
weights without rerunning: the summary shows how the frontier and the Nash bargaining solution
(the non-dominated design that maximises the product of both sides' gains over the least
generous design, the disagreement point) move with the US cost of China's compute access.
Writes to results/e04_london_tradeoff/: `runs.csv` (one row per design and seed),
`summary.csv` (mean by design), `weights.csv`, `summary.md`, a heatmap per outcome, the
trade-off figure and `manifest.json`.

    .venv/bin/python experiments/e04_london_tradeoff.py [--quick] [--seeds 3]
"""

from __future__ import annotations

import argparse
import dataclasses
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
from abm.policy.pain import COMPONENTS, weekly_pain  # noqa: E402
from abm.reproduce import manifest as run_manifest  # noqa: E402
from abm.scenario.config import PAYOFF_COMPONENTS  # noqa: E402

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
    "usa_output_lost_busd": "US output lost (USD bn)",
    "chn_chip_access": "China's chip access (share of demand served)",
    "usa_payoff_busd": "US payoff (USD bn over the year)",
    "chn_payoff_busd": "China's payoff (USD bn over the year)",
}
STATES = {"usa": "USA", "chn": "CHN"}
# The US cost of a chip served in China (USD a unit) under which the frontier is redrawn.
US_COMPUTE_COSTS = [0.0, 20000.0, 40000.0, 80000.0]


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
    row = {
        **job,
        "usa_shortfall_t": float(usa["shortfall_t"].sum()),
        "usa_output_lost_busd": float(usa["output_lost_usd"].sum()) / 1e9,
        "chn_chip_access": float(china["access"].mean()),
    }
    for prefix, code in STATES.items():
        mine = pain[pain["state"] == code]
        for name in COMPONENTS:
            row[f"{prefix}_{name}"] = float(mine[name].sum())
    return row


def payoff_busd(frame: pd.DataFrame, prefix: str, payoff) -> pd.Series:
    """A State's payoff over the window (USD bn) from its recorded components."""
    weights = payoff.weights()
    total = sum(PAYOFF_COMPONENTS[name] * weights[name] * frame[f"{prefix}_{name}"]
                for name in COMPONENTS)
    return total / 1e9


def least_generous(summary: pd.DataFrame) -> pd.Series:
    """The disagreement point: no chip easing, lowest approval, longest review."""
    return summary.sort_values(["chip_easing", "approval", "review_weeks"],
                               ascending=[True, True, False]).iloc[0]


def bargaining_set(summary: pd.DataFrame, x: str, y: str) -> np.ndarray:
    """Designs both sides prefer to the disagreement point (individually rational) that no
    other such design beats for both: the deals either side could accept."""
    least = least_generous(summary)
    rational = ((summary[x] >= least[x]) & (summary[y] >= least[y])).to_numpy()
    keep = np.zeros(len(summary), dtype=bool)
    if rational.any():
        keep[rational] = pareto_mask(np.column_stack([-summary[x], -summary[y]])[rational])
    return keep


def nash_design(summary: pd.DataFrame, x: str, y: str) -> int | None:
    """Index of the design maximising the product of both sides' gains over the least
    generous design (no chip easing, lowest approval, longest review); None if no design
    leaves both better off."""
    least = least_generous(summary)
    gain_x, gain_y = summary[x] - least[x], summary[y] - least[y]
    product = np.where((gain_x > 0) & (gain_y > 0), gain_x * gain_y, -np.inf)
    return int(summary.index[np.argmax(product)]) if np.isfinite(product.max()) else None


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
        ("usa_payoff_busd", "chn_payoff_busd", "(b) Each side's payoff (both want more)"),
    ]
    for ax, (x, y, title) in zip(axes, pairs, strict=True):
        if x == "chn_chip_access":  # China wants more access, the US less shortfall
            front = pareto_mask(np.column_stack([-summary[x], summary[y]]))
        else:
            front = bargaining_set(summary, x, y)
            nash = nash_design(summary, x, y)
            if nash is not None:
                ax.scatter(summary.loc[nash, x], summary.loc[nash, y], marker="*", s=220,
                           color="crimson", zorder=5, label="Nash bargaining solution")
        scatter = ax.scatter(summary[x], summary[y], c=summary["chip_easing"], cmap="plasma",
                             s=18 + 30 * summary["approval"], alpha=0.8, edgecolor="none")
        order = summary[front].sort_values(x)
        ax.plot(order[x], order[y], color="black", linewidth=1, marker="o", markersize=9,
                markerfacecolor="none", label="bargaining set")
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


def nash_text(summary: pd.DataFrame) -> str:
    x, y = "usa_payoff_busd", "chn_payoff_busd"
    front = summary[summary["non_dominated"]]
    nash = nash_design(summary, x, y)
    if nash is None:
        return f"{len(front)} non-dominated designs; no design leaves both sides better off."
    row = summary.loc[nash]
    least = least_generous(summary)
    return (
        f"{len(front)} of {len(summary)} designs are in the bargaining set (both sides gain "
        "over the least generous design, the disagreement point, and no other such design is "
        "better for both). The Nash bargaining "
        f"solution is chip easing {row['chip_easing']:g}, approval {row['approval']:g}, review "
        f"{row['review_weeks']:g} weeks: against the least generous design it changes the US "
        f"payoff by {row[x] - least[x]:+.2f} bn USD and China's by {row[y] - least[y]:+.2f} bn "
        f"USD over the year; the US shortfall goes from {least['usa_shortfall_t']:,.0f} t to "
        f"{row['usa_shortfall_t']:,.0f} t and China's chip access from "
        f"{least['chn_chip_access']:.2f} to {row['chn_chip_access']:.2f}."
    )


def weight_table(runs: pd.DataFrame, levers: dict, config) -> pd.DataFrame:
    """The Nash solution and frontier size under each US cost of China's compute access."""
    rows = []
    for cost in US_COMPUTE_COSTS:
        usa = dataclasses.replace(config.payoff("USA"), partner_compute_cost_usd_per_unit=cost)
        frame = runs.assign(usa_payoff_busd=payoff_busd(runs, "usa", usa))
        summary = frame.groupby(["design", *levers], as_index=False)[
            ["usa_payoff_busd", "chn_payoff_busd"]].mean()
        front = bargaining_set(summary, "usa_payoff_busd", "chn_payoff_busd")
        nash = nash_design(summary, "usa_payoff_busd", "chn_payoff_busd")
        row = {"us_cost_usd_per_chip": cost, "bargaining_set": int(front.sum())}
        for lever in levers:
            row[f"nash_{lever}"] = summary.loc[nash, lever] if nash is not None else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def write_summary(summary: pd.DataFrame, levers: dict, runs: int,
                  weights: pd.DataFrame, revenue_per_chip: float) -> Path:
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
        f"- US output lost (USD bn): {spread('usa_output_lost_busd', 'approval')}; "
        f"{spread('usa_output_lost_busd', 'review_weeks')}.",
        f"- China's chip access: {spread('chn_chip_access', 'chip_easing')}; "
        f"{spread('chn_chip_access', 'approval')}.",
        f"- US payoff (USD bn): {spread('usa_payoff_busd', 'approval')}; "
        f"{spread('usa_payoff_busd', 'chip_easing')}.",
        f"- China's payoff (USD bn): {spread('chn_payoff_busd', 'chip_easing')}; "
        f"{spread('chn_payoff_busd', 'approval')}.",
        "",
        "Each side's payoff counts what its concession costs it: US chip easing raises US chip "
        "revenue but serves China more compute, which the US counts as a cost; China's faster, "
        "more generous licences raise its magnet exports but lower its licence rent and the "
        "leverage it holds over US output. A deal is a trade-off, not a free lunch.",
        "",
        "## The frontier and the Nash bargaining solution",
        "",
        nash_text(summary),
        "",
        "## How the bargain moves with the US cost of China's compute access",
        "",
        "Payoffs recomputed from the recorded components (`weights.csv`); the US cost of a chip "
        "served in China is varied, everything else as in the scenario.",
        "",
        markdown_table(weights),
        "",
        "A cost of zero makes chip easing free to the US (its chip revenue is then a gain), so "
        "the bargain is full easing; as the cost rises above what US chipmakers earn on a chip "
        f"(about USD {revenue_per_chip:,.0f} here, from `runs.csv`) easing becomes a "
        "concession and the bargain moves to partial easing; at USD 80,000 no design leaves "
        "both sides better off than no deal (the bargaining set is the disagreement point "
        "alone).",
        "",
        "## The bargaining set (both sides better off than without a deal; none better for both)",
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
    global OUT
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 2x2x2 grid and one seed")
    parser.add_argument("--seeds", type=int, default=3, help="replications per design")
    parser.add_argument("--out", default=None, help="output folder (default: results/)")
    args = parser.parse_args()
    if args.out:
        OUT = Path(args.out)
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
    config = abm.load(SCENARIO)
    runs["usa_payoff_busd"] = payoff_busd(runs, "usa", config.payoff("USA"))
    runs["chn_payoff_busd"] = payoff_busd(runs, "chn", config.payoff("CHN"))
    runs.to_csv(OUT / "runs.csv", index=False, float_format="%.6g")
    summary = runs.groupby(["design", *levers], as_index=False)[list(OUTCOMES)].mean()
    summary["non_dominated"] = bargaining_set(summary, "usa_payoff_busd", "chn_payoff_busd")
    summary.to_csv(OUT / "summary.csv", index=False, float_format="%.6g")
    weights = weight_table(runs, levers, config)
    weights.to_csv(OUT / "weights.csv", index=False, float_format="%.6g")
    eased = runs.groupby(runs["chip_easing"] == runs["chip_easing"].max())[
        ["usa_chip_revenue_usd", "usa_partner_compute_units"]].mean()
    extra = eased.loc[True] - eased.loc[False]
    revenue_per_chip = extra["usa_chip_revenue_usd"] / max(extra["usa_partner_compute_units"], 1.0)
    figures = heatmaps(summary, levers) + [tradeoff(summary), write_summary(
        summary, levers, len(runs), weights, revenue_per_chip), OUT / "weights.csv"]
    manifest = {
        **run_manifest("e04_london_tradeoff", SCENARIO, 4, run_seeds, []),
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
