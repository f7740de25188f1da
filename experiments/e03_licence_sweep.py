"""e03: how do the licence regime's terms and buyers' stocks shape the 2025 magnet shortage?

A grid sweep of `april-2025-controls` (the 2025-04-04 licences alone) over

- lever `approval`: China's licence approval rate for magnets and Dy/Tb oxides;
- lever `review_weeks`: China's mean licence review time (weeks), magnets and oxides;
- uncertainty `cover_scale`: buyers' target inventory cover, as a multiple of each buyer
  group's `cover_weeks` (0.5 = half the stocks, 2 = twice),

with replications (common random numbers: replication r uses the same seed at every point),
run to the end of 2025. Outcomes: the share of buyer-weeks halted by country (buyer-weeks
halted / (buyers x weeks)), cumulative magnet shortfall (t) and the peak magnet price outside
China (x reference). Writes to results/e03_licence_sweep/: `summary.csv` (mean and standard
deviation over seeds by design point), `share_halted_by_country.csv`, heatmaps, a cover-scale
figure, `sweep/` (the engine's output folder: runs.parquet, design.parquet, sweep.json) and
`manifest.json`.

    .venv/bin/python experiments/e03_licence_sweep.py [--quick] [--workers N | --scheduler ADDR]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from abm.plots import DPI  # noqa: E402
from abm.reproduce import manifest as run_manifest  # noqa: E402
from abm.sweep import load_runs, run_sweep, spec_from_dict  # noqa: E402
from abm.sweep.plots import heatmap  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "results" / "e03_licence_sweep"
SCENARIO = "april-2025-controls"
UNTIL = "2025-12-31"
COUNTRIES = ["USA", "EU", "JPN", "KOR", "IND", "ROW", "CHN"]
FULL = {"approval": [0.1, 0.25, 0.5, 0.75, 1.0], "review_weeks": [3.0, 6.0, 9.0, 12.0, 18.0],
        "cover_scale": [0.5, 1.0, 2.0], "replications": 3}
QUICK = {"approval": [0.25, 1.0], "review_weeks": [3.0, 12.0], "cover_scale": [1.0, 2.0],
         "replications": 2}
SHORTFALL, PEAK = "shortfall_t:magnet", "peak_price_ratio:magnet:ROW"


def spec_dict(levels: dict) -> dict:
    return {
        "sweep": {"name": "e03_licence_sweep", "scenario": SCENARIO,
                  "until": pd.Timestamp(UNTIL).date(), "seed": 2025_04_04,
                  "replications": levels["replications"]},
        "design": {"kind": "grid"},
        "parameters": [
            {"name": "approval", "paths": ["events[0].control.approval",
                                           "events[1].control.approval"],
             "values": levels["approval"]},
            {"name": "review_weeks", "paths": ["events[0].control.review_weeks",
                                               "events[1].control.review_weeks"],
             "values": levels["review_weeks"]},
            {"name": "cover_scale", "path": "buyers[*].cover_weeks", "scale": True,
             "values": levels["cover_scale"]},
        ],
        "outcomes": {"metrics": [f"buyer_weeks_halted:{c}" for c in COUNTRIES]
                     + [SHORTFALL, PEAK]},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 2x2x2 grid, 2 seeds, to a temp dir")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int)
    where.add_argument("--scheduler")
    parser.add_argument("--out", help="output folder (default: results/, or a temp dir with --quick)")
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="e03-")) if args.quick else OUT
    out = Path(args.out) if args.out else out
    levels = QUICK if args.quick else FULL

    spec = spec_from_dict(spec_dict(levels), source="e03_licence_sweep")
    started = time.perf_counter()
    report = run_sweep(spec, out / "sweep", workers=args.workers, scheduler=args.scheduler)
    print(report.summary())
    _, runs = load_runs(out / "sweep")
    runs = runs[runs["status"] == "ok"].copy()

    weeks = (spec.until - spec.base.start).days // 7 + 1
    finals = [g for g in spec.base.buyers if g.good == "magnet"]
    buyers = pd.Series([g.count for g in finals],
                       index=[g.country for g in finals]).groupby(level=0).sum()
    for country in COUNTRIES:
        runs[f"share_halted:{country}"] = (runs[f"buyer_weeks_halted:{country}"]
                                           / (buyers[country] * weeks))
    keys = ["approval", "review_weeks", "cover_scale"]
    shares = [f"share_halted:{c}" for c in COUNTRIES]
    outcomes = [*shares, SHORTFALL, PEAK]
    summary = runs.groupby(keys)[outcomes].agg(["mean", "std"])
    summary.columns = [f"{name}_{stat}" for name, stat in summary.columns]
    summary = summary.reset_index()
    summary.to_csv(out / "summary.csv", index=False, float_format="%.5g")
    tidy = (runs.melt(id_vars=[*keys, "replication_id"], value_vars=shares,
                      var_name="country", value_name="share_buyer_weeks_halted")
            .assign(country=lambda f: f["country"].str.split(":").str[1])
            .groupby([*keys, "country"], as_index=False)["share_buyer_weeks_halted"].mean())
    tidy.to_csv(out / "share_halted_by_country.csv", index=False, float_format="%.5g")

    base_cover = runs[runs["cover_scale"] == 1.0]
    labels = {"approval": "licence approval rate (share of applications)",
              "review_weeks": "mean licence review time (weeks)"}
    figures = []
    for name, title, colour in [
        ("share_halted:USA", "US buyers: share of buyer-weeks halted, 2024-2025",
         "share of US buyer-weeks halted"),
        ("share_halted:EU", "EU buyers: share of buyer-weeks halted, 2024-2025",
         "share of EU buyer-weeks halted"),
        (SHORTFALL, "Cumulative magnet shortfall, all buyers, 2024-2025", "shortfall (t)"),
        (PEAK, "Peak magnet price outside China, 2024-2025", "peak price (x reference)"),
    ]:
        path = out / f"heatmap_{name.replace(':', '_')}.png"
        heatmap(base_cover, "approval", "review_weeks", name, path,
                title=f"{title}\n(buyers' usual stocks; mean of {levels['replications']} seeds)",
                x_label=labels["approval"], y_label=labels["review_weeks"], colour_label=colour)
        figures.append(path.name)

    by_cover = runs.groupby("cover_scale")[shares].mean()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for country in COUNTRIES:
        ax.plot(by_cover.index, by_cover[f"share_halted:{country}"], marker="o", label=country)
    ax.set_xscale("log", base=2)
    ax.set_xticks(by_cover.index, [f"x{v:g}" for v in by_cover.index])
    ax.set_xlabel("buyers' target cover (multiple of the scenario's cover_weeks)")
    ax.set_ylabel("share of buyer-weeks halted")
    ax.set_title("Stocks against the licence regime: halts by country\n(mean over approval "
                 "rates, review times and seeds)", fontsize=10)
    ax.legend(ncol=4, fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "cover_scale_share_halted.png", dpi=DPI)
    plt.close(fig)
    figures.append("cover_scale_share_halted.png")

    manifest = {
        **run_manifest("e03_licence_sweep", SCENARIO, spec.seed, [], []),
        "scenario": SCENARIO,
        "until": UNTIL,
        "weeks": weeks,
        "levels": levels,
        "buyers_by_country": buyers.to_dict(),
        "seed": spec.seed,
        "runs": int(report.total),
        "failed_runs": int(report.failed),
        "runs_this_session": int(report.ran),  # 0 when every run was already done
        "seconds_this_session": round(time.perf_counter() - started, 1),
        "run_seconds_total": round(float(load_runs(out / "sweep")[1]["elapsed_s"].sum()), 1),
        "figures": figures,
        "tables": ["summary.csv", "share_halted_by_country.csv"],
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
