"""Reading a finished sweep back: Sobol' indices, Morris statistics and the standard figures.

Analysis reads only the output folder (`sweep.json`, `design.parquet`, `runs.parquet`,
`series/`), never the model, so it can run anywhere the folder is copied to.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from abm.sweep import plots


class AnalysisError(ValueError):
    """A sweep folder cannot be analysed (missing files, nothing finished)."""


def load_runs(out: str | Path) -> tuple[dict[str, Any], pd.DataFrame]:
    """(sweep.json as a dict, runs.parquet as a DataFrame sorted by design and replication)."""
    out = Path(out)
    meta_path, runs_path = out / "sweep.json", out / "runs.parquet"
    if not meta_path.is_file():
        raise AnalysisError(f"{out}: expected a sweep folder (no sweep.json)")
    if not runs_path.is_file():
        raise AnalysisError(f"{out}: expected runs.parquet (has the sweep finished once?)")
    meta = json.loads(meta_path.read_text())
    runs = pq.read_table(runs_path).to_pandas()
    return meta, runs.sort_values(["design_id", "replication_id"], ignore_index=True)


def load_series(out: str | Path, name: str | None = None) -> pd.DataFrame:
    folder = Path(out) / "series"
    files = sorted(folder.glob("part-*.parquet")) if folder.is_dir() else []
    if not files:
        return pd.DataFrame(columns=["design_id", "replication_id", "series", "period", "key",
                                     "value"])
    dataset = ds.dataset([str(f) for f in files], format="parquet")
    flt = None if name is None else ds.field("series") == name
    return dataset.to_table(filter=flt).to_pandas()


def design_means(meta: dict[str, Any], runs: pd.DataFrame, outcome: str) -> np.ndarray:
    """Mean of `outcome` over the successful replications of each design point, design
    order (NaN where none succeeded)."""
    ok = runs[runs["status"] == "ok"]
    means = ok.groupby("design_id")[outcome].mean()
    return means.reindex(range(meta["designs"])).to_numpy(dtype=float)


def _usable(y: np.ndarray, outcome: str) -> str | None:
    if np.isnan(y).any():
        return f"{outcome}: skipped, {int(np.isnan(y).sum())} design points have no finished run"
    if np.nanstd(y) == 0:
        return f"{outcome}: skipped, the same value at every design point"
    return None


def sobol_indices(meta: dict[str, Any], runs: pd.DataFrame, outcomes=None,
                  notes: list[str] | None = None) -> pd.DataFrame:
    """Tidy S1, S1_conf, ST, ST_conf (95% bootstrap intervals) by outcome and parameter."""
    from SALib.analyze import sobol

    problem = meta["problem"]
    rows = []
    for outcome in outcomes or meta["metrics"]:
        y = design_means(meta, runs, outcome)
        problem_note = _usable(y, outcome)
        if problem_note:
            (notes if notes is not None else []).append(problem_note)
            continue
        result = sobol.analyze(problem, y, calc_second_order=meta["second_order"],
                               num_resamples=200, conf_level=0.95, seed=meta["seed"])
        for i, name in enumerate(problem["names"]):
            rows.append({"outcome": outcome, "parameter": name,
                         "S1": result["S1"][i], "S1_conf": result["S1_conf"][i],
                         "ST": result["ST"][i], "ST_conf": result["ST_conf"][i]})
    return pd.DataFrame(rows, columns=["outcome", "parameter", "S1", "S1_conf", "ST", "ST_conf"])


def morris_statistics(meta: dict[str, Any], runs: pd.DataFrame, design: pd.DataFrame,
                      outcomes=None, notes: list[str] | None = None) -> pd.DataFrame:
    """Tidy Morris mu, mu*, its 95% interval and sigma by outcome and parameter."""
    from SALib.analyze import morris

    problem = meta["problem"]
    x = design.sort_values("design_id")[problem["names"]].to_numpy(dtype=float)
    rows = []
    for outcome in outcomes or meta["metrics"]:
        y = design_means(meta, runs, outcome)
        problem_note = _usable(y, outcome)
        if problem_note:
            (notes if notes is not None else []).append(problem_note)
            continue
        result = morris.analyze(problem, x, y, num_levels=meta["levels"], conf_level=0.95,
                                num_resamples=200, seed=meta["seed"])
        for i, name in enumerate(problem["names"]):
            rows.append({"outcome": outcome, "parameter": name, "mu": result["mu"][i],
                         "mu_star": result["mu_star"][i],
                         "mu_star_conf": result["mu_star_conf"][i],
                         "sigma": result["sigma"][i]})
    return pd.DataFrame(rows, columns=["outcome", "parameter", "mu", "mu_star", "mu_star_conf",
                                       "sigma"])


def one_at_a_time(meta: dict[str, Any], runs: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """Mean outcome where each parameter is at its lowest / highest design value (for the
    tornado chart; on a sampled design, the lowest / highest fifth of its range)."""
    ok = runs[runs["status"] == "ok"]
    rows = []
    for name in meta["parameters"]:
        column = ok[name]
        if column.dtype.kind not in "if":
            continue
        if meta["design"] == "grid":
            low_mask, high_mask = column == column.min(), column == column.max()
        else:
            low_mask = column <= column.quantile(0.2)
            high_mask = column >= column.quantile(0.8)
        rows.append({"parameter": name, "low": ok.loc[low_mask, outcome].mean(),
                     "high": ok.loc[high_mask, outcome].mean(), "base": ok[outcome].mean()})
    return pd.DataFrame(rows, columns=["parameter", "low", "high", "base"])


def _events(meta: dict[str, Any]) -> list[tuple[str, str]]:
    try:
        from abm.scenario import load

        scenario = load(meta["scenario"])
    except Exception:  # noqa: BLE001 - events only decorate the figure
        return []
    return [(str(e.date), e.label or e.kind) for e in scenario.events if e.kind != "note"]


def analyze(out: str | Path, target: str | Path | None = None) -> list[Path]:
    """Write the indices (CSV) and figures of sweep folder `out` into `target` (default
    `out/analysis`); return the files written."""
    meta, runs = load_runs(out)
    target = Path(target) if target is not None else Path(out) / "analysis"
    target.mkdir(parents=True, exist_ok=True)
    design = pq.read_table(Path(out) / "design.parquet").to_pandas()
    written: list[Path] = []
    notes: list[str] = []
    failed = int((runs["status"] != "ok").sum())
    if failed:
        notes.append(f"{failed} of {len(runs)} runs failed (see the error column)")
    if meta["design"] == "sobol":
        indices = sobol_indices(meta, runs, notes=notes)
        written.append(target / "sobol_indices.csv")
        indices.to_csv(written[-1], index=False, float_format="%.4g")
        for outcome, rows in indices.groupby("outcome", sort=False):
            written.append(plots.sobol_bars(rows, outcome, target / f"sobol_{plots.slug(outcome)}.png"))
    elif meta["design"] == "morris":
        stats = morris_statistics(meta, runs, design, notes=notes)
        written.append(target / "morris.csv")
        stats.to_csv(written[-1], index=False, float_format="%.4g")
        for outcome, rows in stats.groupby("outcome", sort=False):
            written.append(plots.morris_bars(rows, outcome,
                                             target / f"morris_{plots.slug(outcome)}.png"))
    else:
        for outcome in meta["metrics"]:
            effects = one_at_a_time(meta, runs, outcome)
            if len(effects):
                written.append(plots.tornado(effects, outcome,
                                             target / f"tornado_{plots.slug(outcome)}.png"))
    numeric = [p for p in meta["parameters"] if runs[p].dtype.kind in "if"]
    if meta["design"] == "grid" and len(numeric) >= 2:
        x, y = numeric[0], numeric[1]
        ok = runs[runs["status"] == "ok"]
        for outcome in meta["metrics"]:
            written.append(plots.heatmap(ok, x, y, outcome,
                                         target / f"heatmap_{plots.slug(outcome)}.png"))
    events = _events(meta)
    for name in meta["series"]:
        series = load_series(out, name)
        if series.empty:
            continue
        keys = series["key"].unique()
        key = "ALL" if "ALL" in keys else keys[0]
        written.append(plots.fan_chart(series[series["key"] == key], name,
                                       target / f"fan_{plots.slug(name)}.png", events=events,
                                       title=f"{name}{' to ' + key if key else ''}: spread "
                                       "across seeds and design points"))
    if notes:
        written.append(target / "notes.txt")
        written[-1].write_text("\n".join(notes) + "\n")
    return written
