"""e08: forecasts scored. From each month-end of April-October 2025, refit on what was known
then, forecast 1-6 months ahead, and score against what followed, beside two naive forecasts.

At each origin (the last day of a month, April to October 2025):

- the parameters of `history-2025`'s licence regime (`abm.calibration.PARAMETERS`) are fitted
  only on the targets known by the origin (monthly exports to the end of the origin month,
  reports dated by it); a parameter whose event comes after the origin (London's step before
  2025-06-10) is not fitted, and the fit never sees the scenario's shipped (whole-year) values:
  every fitted parameter starts from its box;
- the scenario keeps only the events dated by the origin: after it, policy stays as it was;
- the forecast is the seed median of monthly exports (total and US-bound) for the months after
  the origin, as far as the record reaches (December 2025), at most 6 months ahead;
- the naive forecasts: the last observed month (the origin's month; for the US-bound series,
  whose April 2025 figure was not published, its latest 2025 month, none at the April origin),
  and the 2024 monthly mean (the pre-shock level: 58,152 t a year in all, 7,200 t to the US).

Writes results/e08_backtest/: forecasts.csv (one row per origin, horizon and series, with the
forecasts and the record), scores.csv (columns origin, horizon, series, model_mae,
naive_last_mae, naive_2024_mae: the absolute error of each, in tonnes, one month each),
by_horizon.csv (the mean absolute error over the origins reaching each horizon), fits.csv,
mae_by_horizon.png, summary.md, manifest.json.

    .venv/bin/python experiments/e08_backtest.py [--seeds 10] [--fit-seeds 2] [--points 16] [--maxiter 30]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

import abm  # noqa: E402
from abm.calibration import (  # noqa: E402
    NOT_FITTED,
    PARAMETERS,
    configure,
    fit,
    known_by,
    model_values,
    month_end,
    targets,
)
from abm.data import observed_magnet_exports  # noqa: E402
from abm.ensemble import seeds  # noqa: E402
from abm.output import atomic_directory, check_target  # noqa: E402
from abm.reproduce import manifest as run_manifest  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "results" / "e08_backtest"
ORIGINS = [f"2025-{m:02d}" for m in range(4, 11)]
LAST_RECORD = "2025-12"
MAX_HORIZON = 6
NAIVE_2024 = {"total": 58152 / 12, "us": 7200 / 12}
SERIES = {"total": "ALL", "us": "USA"}


def add_months(month: str, k: int) -> str:
    year, mon = int(month[:4]), int(month[5:])
    index = year * 12 + mon - 1 + k
    return f"{index // 12}-{index % 12 + 1:02d}"


def last_observed(record: pd.Series, destination: str, origin: str) -> float | None:
    """The series' latest 2025 month on or before the origin's month (None if none)."""
    months = [m for m, d in record.index if d == destination and "2025-01" <= m <= origin]
    return float(record[(max(months), destination)]) if months else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="seeds of each forecast")
    parser.add_argument("--fit-seeds", type=int, default=2, help="seeds per fit evaluation")
    parser.add_argument("--points", type=int, default=16, help="Latin hypercube points per fit")
    parser.add_argument("--maxiter", type=int, default=30, help="Nelder-Mead evaluations per fit")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--out", default=None, help="output folder (default: results/)")
    args = parser.parse_args()
    out = Path(args.out) if args.out else OUT
    check_target(out)  # refuse a folder abm did not write before the work, not after

    base = abm.load("history-2025")
    record = observed_magnet_exports().set_index(["month", "destination"])["observed_t"]
    every = targets()
    forecast_seeds = seeds(8, args.seeds)
    fit_seeds = seeds(2025, args.fit_seeds)
    rows, fits = [], []
    for origin in ORIGINS:
        day = month_end(origin)
        known = [t for t in every if t.known_on <= day and t.name not in NOT_FITTED]
        free = [p for p in PARAMETERS if p.from_date <= day]
        if not any(t.name.endswith("USA") for t in known):
            free = [p for p in free if p.name != "approval_usa"]
        values = fit(known_by(base, day), known, free, fit_seeds, args.points, args.maxiter,
                     args.workers, label=f"origin {origin}", log=None)
        fits.append({"origin": origin, "targets": len(known), **values})
        print(f"origin {origin}: {len(known)} targets, fitted {values}", flush=True)
        config = known_by(configure(base, values), day)
        got = model_values(config, forecast_seeds, args.workers, "median")
        for horizon in range(1, MAX_HORIZON + 1):
            month = add_months(origin, horizon)
            if month > LAST_RECORD:
                break
            for series, destination in SERIES.items():
                last = last_observed(record, destination, origin)
                if last is None:  # nothing of the series observed in 2025 by the origin
                    continue
                observed = float(record[(month, destination)])
                model = float(got[f"{month} {destination}"])
                rows.append({"origin": origin, "horizon": horizon, "month": month,
                             "series": series, "observed_t": observed,
                             "model_t": round(model, 1), "naive_last_t": last,
                             "naive_2024_t": round(NAIVE_2024[series], 1)})
    forecasts = pd.DataFrame(rows)
    scores = forecasts[["origin", "horizon", "series"]].copy()
    for name, column in (("model_mae", "model_t"), ("naive_last_mae", "naive_last_t"),
                         ("naive_2024_mae", "naive_2024_t")):
        scores[name] = (forecasts[column] - forecasts["observed_t"]).abs().round(1)
    by_horizon = scores.groupby(["series", "horizon"], as_index=False).agg(
        origins=("origin", "size"), model_mae=("model_mae", "mean"),
        naive_last_mae=("naive_last_mae", "mean"), naive_2024_mae=("naive_2024_mae", "mean"))
    by_horizon["model_beats_both"] = (by_horizon["model_mae"] < by_horizon["naive_last_mae"]) & (
        by_horizon["model_mae"] < by_horizon["naive_2024_mae"])
    by_horizon = by_horizon.round(1)

    # Written whole into a staging folder that replaces `out` only when everything is written,
    # and never over a folder abm did not write.
    with atomic_directory(out) as staging:
        _write(staging, forecasts, scores, by_horizon, fits, args, forecast_seeds, fit_seeds)


def _write(out: Path, forecasts, scores, by_horizon, fits, args, forecast_seeds, fit_seeds):
    forecasts.to_csv(out / "forecasts.csv", index=False)
    scores.to_csv(out / "scores.csv", index=False)
    by_horizon.to_csv(out / "by_horizon.csv", index=False)
    pd.DataFrame(fits).to_csv(out / "fits.csv", index=False)
    _figure(by_horizon, out / "mae_by_horizon.png")
    total_3_6 = by_horizon[(by_horizon["series"] == "total") & (by_horizon["horizon"] >= 3)]
    misses = by_horizon[~by_horizon["model_beats_both"]]
    lines = [
        "# e08: forecasts scored against naive ones", "",
        f"Origins: the month-ends of {ORIGINS[0]} to {ORIGINS[-1]}; at each, the licence "
        "regime refitted on what was known then and the events known then; forecasts are "
        f"seed medians over {args.seeds} seeds, 1-{MAX_HORIZON} months ahead to {LAST_RECORD}. "
        "Naive forecasts: the last observed month, and the 2024 monthly mean.", "",
        "Mean absolute error (t) by horizon, over the origins that reach it:", "", "```",
        by_horizon.to_string(index=False), "```", "",
        f"Total exports, horizons 3-6: the model beats both naive forecasts at "
        f"{int(total_3_6['model_beats_both'].sum())} of {len(total_3_6)} horizons.",
    ]
    if len(misses):
        lines += ["", "Misses (the model does not beat both naive forecasts):", ""]
        lines += [f"- {r.series}, horizon {r.horizon}: model {r.model_mae:,.0f} t, last month "
                  f"{r.naive_last_mae:,.0f} t, 2024 mean {r.naive_2024_mae:,.0f} t"
                  for r in misses.itertuples(index=False)]
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    (out / "manifest.json").write_text(json.dumps(run_manifest(
        "e08_backtest", "history-2025", 8, forecast_seeds,
        ["magnet_exports_china_monthly.csv", "downstream_2025.csv"],
        fit_root_seed=2025, fit_seeds=fit_seeds, points=args.points, maxiter=args.maxiter),
        indent=2) + "\n")
    print("\n".join(lines))


def _figure(by_horizon: pd.DataFrame, path: Path) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharex=True)
    for ax, series, title in ((axes[0], "total", "China's magnet exports, total"),
                              (axes[1], "us", "China's magnet exports to the US")):
        rows = by_horizon[by_horizon["series"] == series]
        ax.plot(rows["horizon"], rows["model_mae"], "o-", color="C0", label="model (refitted)")
        ax.plot(rows["horizon"], rows["naive_last_mae"], "s--", color="0.4",
                label="naive: last month")
        ax.plot(rows["horizon"], rows["naive_2024_mae"], "^:", color="C3",
                label="naive: 2024 mean")
        ax.set_title(title)
        ax.set_xlabel("months ahead of the origin")
        ax.set_ylabel("mean absolute error (t per month)")
        ax.set_xticks(range(1, MAX_HORIZON + 1))
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle("Forecasts from each month-end April-October 2025, scored on what followed")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
