"""e06: which inputs drive the 2025 shortage? Sobol' sensitivity of `april-2025-controls`.

Eight inputs vary over the ranges below (uniform); Saltelli's sampling (SALib) with base size
N = 128 gives N (d + 2) = 1,280 runs (first and total order, no second order), one seed for all
(common random numbers, so the indices describe the inputs, not the draw), run to the end of
2025. Outcomes:

- `exports_t:magnet:CHN:2025-05`: China's magnet exports in May 2025, the trough (t);
- `buyer_weeks_halted:USA`: US buyer-weeks halted, 2024-2025;
- `peak_price_ratio:magnet:ROW`: the highest weekly magnet price outside China over its
  reference, 2024-2025.

Writes to results/e06_sensitivity/: `sobol_indices.csv` (S1, ST and their 95% bootstrap
intervals by outcome and input), `sobol_indices.md` (the same as a table), one bar chart per
outcome, `sweep/` (the engine's output folder) and `manifest.json`.

    .venv/bin/python experiments/e06_sensitivity.py [--quick] [--workers N | --scheduler ADDR]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import pandas as pd

from abm.reproduce import manifest as run_manifest
from abm.sweep import analyze, load_runs, run_sweep, spec_from_dict

OUT = Path(__file__).resolve().parent.parent / "results" / "e06_sensitivity"
SCENARIO = "april-2025-controls"
UNTIL = "2025-12-31"
N_FULL, N_QUICK = 128, 8
OUTCOMES = ["exports_t:magnet:CHN:2025-05", "buyer_weeks_halted:USA",
            "peak_price_ratio:magnet:ROW"]
# name: (path or paths, range, scale) - the ranges bracket the scenario's values
INPUTS = {
    "approval": ("events[0].control.approval", [0.2, 0.9], False),
    "review_weeks": ("events[0].control.review_weeks", [4.0, 14.0], False),
    "review_capacity_t_per_week": ("events[0].control.review_capacity_t_per_week",
                                   [400.0, 2000.0], False),
    "cover_scale": ("buyers[*].cover_weeks", [0.5, 2.0], True),
    "halt_threshold": ("market.halt_threshold", [0.3, 0.7], False),
    "stockpile_cover_gain": ("market.stockpile_cover_gain", [0.0, 2.0], False),
    "order_adjust_weeks": ("market.order_adjust_weeks", [1.0, 6.0], False),
    "price_elasticity_of_demand": ("goods[0].price_elasticity_of_demand", [0.25, 1.0], False),
}


def spec_dict(n: int) -> dict:
    return {
        "sweep": {"name": "e06_sensitivity", "scenario": SCENARIO,
                  "until": pd.Timestamp(UNTIL).date(), "seed": 6, "replications": 1},
        "design": {"kind": "sobol", "n": n, "second_order": False},
        "parameters": [{"name": name, "path": path, "range": bounds, "scale": scale}
                       for name, (path, bounds, scale) in INPUTS.items()],
        "outcomes": {"metrics": OUTCOMES},
    }


def markdown_table(indices: pd.DataFrame) -> str:
    lines = []
    for outcome, rows in indices.groupby("outcome", sort=False):
        lines += [f"### {outcome}", "", "| input | S1 | S1 95% CI | ST | ST 95% CI |",
                  "|---|---:|---:|---:|---:|"]
        for _, r in rows.sort_values("ST", ascending=False).iterrows():
            lines.append(f"| {r['parameter']} | {r['S1']:.3f} | ± {r['S1_conf']:.3f} "
                         f"| {r['ST']:.3f} | ± {r['ST_conf']:.3f} |")
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"N = {N_QUICK}, to a temp dir")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int)
    where.add_argument("--scheduler")
    parser.add_argument("--out", help="output folder (default: results/, or a temp dir with --quick)")
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="e06-")) if args.quick else OUT
    out = Path(args.out) if args.out else out
    n = N_QUICK if args.quick else N_FULL

    spec = spec_from_dict(spec_dict(n), source="e06_sensitivity")
    started = time.perf_counter()
    report = run_sweep(spec, out / "sweep", workers=args.workers, scheduler=args.scheduler)
    print(report.summary())
    written = analyze(out / "sweep", target=out)
    indices = pd.read_csv(out / "sobol_indices.csv")
    header = (f"# Sobol' indices, {SCENARIO} to {UNTIL}\n\nN = {n}, {len(INPUTS)} inputs, "
              f"{report.total} runs, one seed (common random numbers). S1: first-order index, "
              "ST: total index, with 95% bootstrap confidence intervals (SALib, 200 "
              "resamples). An input with indices of zero does not act in this scenario: "
              "`stockpile_cover_gain` scales buyers' response to alert events, and "
              f"{SCENARIO} has none; `halt_threshold` only classifies weeks as halted and "
              "moves no flow or price.\n\n")
    (out / "sobol_indices.md").write_text(header + markdown_table(indices))
    manifest = {
        **run_manifest("e06_sensitivity", SCENARIO, spec.seed, [], []),
        "scenario": SCENARIO,
        "until": UNTIL,
        "design": {"kind": "sobol", "n": n, "second_order": False},
        "inputs": {name: {"path": path, "range": bounds, "scale": scale}
                   for name, (path, bounds, scale) in INPUTS.items()},
        "outcomes": OUTCOMES,
        "seed": spec.seed,
        "runs": int(report.total),
        "failed_runs": int(report.failed),
        "runs_this_session": int(report.ran),  # 0 when every run was already done
        "seconds_this_session": round(time.perf_counter() - started, 1),
        "run_seconds_total": round(float(load_runs(out / "sweep")[1]["elapsed_s"].sum()), 1),
        "files": sorted({p.name for p in written} | {"sobol_indices.md"}),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
