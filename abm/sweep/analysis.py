"""Reading a finished sweep back: Sobol' indices, Morris statistics and the standard figures.

Analysis reads only the output folder (`sweep.json`, `design.parquet`, `runs.parquet`,
`series/`), never the model, so it can run anywhere the folder is copied to.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from abm.sweep import plots


class AnalysisError(ValueError):
    """A sweep folder cannot be analysed (missing files, nothing finished)."""


def load_runs(out: str | Path) -> tuple[dict[str, Any], pd.DataFrame]:
    """(sweep.json as a dict, runs.parquet as a DataFrame in design order: sorted by
    `design_id`, then `replication_id`, the order SALib's analysers expect). runs.parquet is
    written in that order too, but a file from an older version may not be."""
    out = Path(out)
    meta_path, runs_path = out / "sweep.json", out / "runs.parquet"
    if not meta_path.is_file():
        raise AnalysisError(f"{out}: expected a sweep folder (no sweep.json)")
    if not runs_path.is_file():
        raise AnalysisError(f"{out}: expected runs.parquet (has the sweep finished once?)")
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError) as err:
        raise AnalysisError(f"{meta_path}: expected the sweep's JSON description, but it is "
                            f"unreadable ({type(err).__name__})") from None
    runs = _read(runs_path).to_pandas()
    duplicated = runs.duplicated(["design_id", "replication_id"])
    if duplicated.any():
        first = runs.loc[duplicated].iloc[0]
        raise AnalysisError(f"{runs_path}: expected each run once, but {int(duplicated.sum())} "
                            f"runs appear twice (first: design {first['design_id']}, "
                            f"replication {first['replication_id']})")
    return meta, runs.sort_values(["design_id", "replication_id"], ignore_index=True)


def _read(path: Path):
    """A whole Parquet file (or dataset of files), or AnalysisError naming the damaged one."""
    try:
        return pq.read_table(path)
    except (pa.ArrowException, OSError) as err:
        raise AnalysisError(f"{path}: expected a readable Parquet file, but it is damaged "
                            f"({type(err).__name__}); run the sweep again to repair it"
                            ) from None


def load_series(out: str | Path, name: str | None = None) -> pd.DataFrame:
    folder = Path(out) / "series"
    files = sorted(folder.glob("part-*.parquet")) if folder.is_dir() else []
    if not files:
        return pd.DataFrame(columns=["design_id", "replication_id", "series", "period", "key",
                                     "value"])
    flt = None if name is None else ds.field("series") == name
    try:
        return ds.dataset([str(f) for f in files], format="parquet").to_table(
            filter=flt).to_pandas()
    except (pa.ArrowException, OSError):
        for path in files:
            _read(path)  # names the damaged file
        raise


def design_means(meta: dict[str, Any], runs: pd.DataFrame, outcome: str,
                 replication: int | None = None) -> np.ndarray:
    """Mean of `outcome` over the successful replications of each design point (or its value
    in one `replication`), in design order (NaN where no run succeeded)."""
    ok = runs[runs["status"] == "ok"]
    if replication is not None:
        ok = ok[ok["replication_id"] == replication]
    means = ok.groupby("design_id")[outcome].mean()
    return means.reindex(range(meta["designs"])).to_numpy(dtype=float)


def load_salib(out: str | Path, outcome: str, replication: int | None = None
               ) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    """(problem, X, Y) of a finished sweep, ready for SALib: the SALib problem, the design
    points in design order (X, as the runs used them) and `outcome` at each point (Y, the
    mean over replications, or one `replication`'s values). For a Sobol' design
    `SALib.analyze.sobol.analyze(problem, Y)` gives the indices `abm analyze` reports."""
    meta, runs = load_runs(out)
    if outcome not in meta["metrics"]:
        raise AnalysisError(f"{out}: outcome {outcome!r} is not a metric of this sweep; "
                            f"expected one of {meta['metrics']}")
    if replication is not None and not 0 <= replication < meta["replications"]:
        raise AnalysisError(f"{out}: replication {replication} does not exist; expected 0 to "
                            f"{meta['replications'] - 1}")
    design = pq.read_table(Path(out) / "design.parquet").to_pandas()
    x = design.sort_values("design_id")[meta["problem"]["names"]].to_numpy(dtype=float)
    return meta["problem"], x, design_means(meta, runs, outcome, replication)


def _usable(y: np.ndarray, outcome: str) -> str | None:
    if np.isnan(y).any():
        return f"{outcome}: skipped, {int(np.isnan(y).sum())} design points have no finished run"
    if np.nanstd(y) == 0:
        return f"{outcome}: skipped, the same value at every design point"
    return None


def _by_replication(meta: dict[str, Any], runs: pd.DataFrame, outcomes, notes, indices
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`indices(outcome, y)` -> rows, on the mean over replications (pooled) and on each
    replication; returns (pooled rows with the spread over replications, per-replication
    rows). The spread shows how much of an index is noise from the model's own randomness."""
    pooled, single = [], []
    for outcome in outcomes or meta["metrics"]:
        y = design_means(meta, runs, outcome)
        problem_note = _usable(y, outcome)
        if problem_note:
            (notes if notes is not None else []).append(problem_note)
            continue
        pooled.append(indices(outcome, y))
        for r in range(meta["replications"]):
            y_r = design_means(meta, runs, outcome, r)
            if _usable(y_r, outcome) is None:
                single.append(indices(outcome, y_r).assign(replication_id=r))
    pooled_frame = pd.concat(pooled, ignore_index=True) if pooled else None
    single_frame = pd.concat(single, ignore_index=True) if single else None
    return pooled_frame, single_frame


def _with_spread(pooled: pd.DataFrame | None, single: pd.DataFrame | None, columns: list[str],
                 spread: list[str]) -> pd.DataFrame:
    if pooled is None:
        return pd.DataFrame(columns=["outcome", "parameter", *columns,
                                     *[f"{c}_rep_{s}" for c in spread for s in
                                       ("min", "max", "sd")]])
    if single is None:
        single = pooled.iloc[0:0].assign(replication_id=pd.Series(dtype=int))
    stats = single.groupby(["outcome", "parameter"], sort=False)[spread].agg(
        ["min", "max", "std"])
    stats.columns = [f"{c}_rep_{'sd' if s == 'std' else s}" for c, s in stats.columns]
    return pooled.merge(stats.reset_index(), on=["outcome", "parameter"], how="left")


def _sobol_rows(meta: dict[str, Any]):
    from SALib.analyze import sobol

    def rows(outcome: str, y: np.ndarray) -> pd.DataFrame:
        result = sobol.analyze(meta["problem"], y, calc_second_order=meta["second_order"],
                               num_resamples=200, conf_level=0.95, seed=meta["seed"])
        return pd.DataFrame({"outcome": outcome, "parameter": meta["problem"]["names"],
                             "S1": result["S1"], "S1_conf": result["S1_conf"],
                             "ST": result["ST"], "ST_conf": result["ST_conf"]})
    return rows


SOBOL_COLUMNS = ["S1", "S1_conf", "ST", "ST_conf"]
MORRIS_COLUMNS = ["mu", "mu_star", "mu_star_conf", "sigma"]


def sobol_indices(meta: dict[str, Any], runs: pd.DataFrame, outcomes=None,
                  notes: list[str] | None = None, by_replication: bool = False) -> pd.DataFrame:
    """Tidy S1, S1_conf, ST, ST_conf (95% bootstrap intervals) by outcome and parameter, on
    the mean over replications, with the spread of S1 and ST across replications
    (`S1_rep_min`, `_max`, `_sd`, ...); with `by_replication`, one row per replication
    instead (`replication_id`)."""
    pooled, single = _by_replication(meta, runs, outcomes, notes, _sobol_rows(meta))
    if by_replication:
        return single if single is not None else pd.DataFrame(
            columns=["outcome", "parameter", *SOBOL_COLUMNS, "replication_id"])
    return _with_spread(pooled, single, SOBOL_COLUMNS, ["S1", "ST"])


def morris_statistics(meta: dict[str, Any], runs: pd.DataFrame, design: pd.DataFrame,
                      outcomes=None, notes: list[str] | None = None,
                      by_replication: bool = False) -> pd.DataFrame:
    """Tidy Morris mu, mu*, its 95% interval and sigma by outcome and parameter, on the mean
    over replications with the spread of mu* across replications (or per replication)."""
    from SALib.analyze import morris

    problem = meta["problem"]
    x = design.sort_values("design_id")[problem["names"]].to_numpy(dtype=float)

    def rows(outcome: str, y: np.ndarray) -> pd.DataFrame:
        result = morris.analyze(problem, x, y, num_levels=meta["levels"], conf_level=0.95,
                                num_resamples=200, seed=meta["seed"])
        return pd.DataFrame({"outcome": outcome, "parameter": problem["names"],
                             "mu": result["mu"], "mu_star": result["mu_star"],
                             "mu_star_conf": result["mu_star_conf"],
                             "sigma": result["sigma"]})

    pooled, single = _by_replication(meta, runs, outcomes, notes, rows)
    if by_replication:
        return single if single is not None else pd.DataFrame(
            columns=["outcome", "parameter", *MORRIS_COLUMNS, "replication_id"])
    return _with_spread(pooled, single, MORRIS_COLUMNS, ["mu_star"])


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


def _events(meta: dict[str, Any], behaviours=None) -> list[tuple[str, str]]:
    """The marked events of the sweep's scenario (its file if it was one, else its name)."""
    try:
        from abm.scenario import load

        scenario = load(meta.get("scenario_file") or meta["scenario"], behaviours=behaviours)
    except Exception:  # noqa: BLE001 - events only decorate the figure
        return []
    return [(str(e.date), e.label or e.kind) for e in scenario.events
            if e.kind != "note" and e.mark]


def _owned_names(target: Path) -> set[str]:
    """Files in `target` that abm wrote: those listed by an earlier analysis
    (`analysis.json`) or by the experiment that owns the folder (`manifest.json`)."""
    owned: set[str] = set()
    for name in ("analysis.json", "manifest.json"):
        try:
            listed = json.loads((target / name).read_text()).get("files", [])
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(listed, list):
            owned |= {str(f) for f in listed}
    return owned


def analyze(out: str | Path, target: str | Path | None = None, behaviours=None) -> list[Path]:
    """Write the indices (CSV) and figures of sweep folder `out` into `target` (default
    `out/analysis`); return the files written. Everything is written to a staging folder
    first; a file of the same name that abm did not write stops the analysis (one line, the
    user's file untouched). `behaviours` (with the user's plugins) reads a scenario that names
    plugin behaviours, for the events marked on the figures."""
    meta, runs = load_runs(out)
    default = target is None
    final = Path(out) / "analysis" if default else Path(target)
    final.mkdir(parents=True, exist_ok=True)
    target = Path(tempfile.mkdtemp(prefix=".abm-analysis-", dir=final))
    try:
        written = [p for p in _write_analysis(out, meta, runs, target, behaviours)
                   if p is not None]
        owned = _owned_names(final)
        for path in written:
            mine = final / path.name
            if mine.exists() and not default and path.name not in owned:
                raise AnalysisError(f"{mine}: exists and was not written by abm; choose another "
                                    "--to folder or move the file")
        for path in written:
            os.replace(path, final / path.name)
        names = sorted(owned | {p.name for p in written})
        (final / "analysis.json").write_text(json.dumps({"files": names}, indent=1) + "\n")
    finally:
        shutil.rmtree(target, ignore_errors=True)
    return [final / p.name for p in written]


def _write_analysis(out, meta: dict, runs: pd.DataFrame, target: Path, behaviours=None
                    ) -> list[Path]:
    design = _read(Path(out) / "design.parquet").to_pandas()
    written: list[Path] = []
    notes: list[str] = []
    failed = int((runs["status"] != "ok").sum())
    if failed:
        notes.append(f"{failed} of {len(runs)} runs failed (see the error column)")
    # Indices are written at full precision: rounding here would make them differ from
    # SALib's own on the same data (load_salib).
    if meta["design"] == "sobol":
        indices = sobol_indices(meta, runs, notes=notes)
        written.append(target / "sobol_indices.csv")
        indices.to_csv(written[-1], index=False)
        written.append(target / "sobol_indices_by_replication.csv")
        sobol_indices(meta, runs, by_replication=True).to_csv(written[-1], index=False)
        for outcome, rows in indices.groupby("outcome", sort=False):
            written.append(plots.sobol_bars(rows, outcome, target / f"sobol_{plots.slug(outcome)}.png"))
    elif meta["design"] == "morris":
        stats = morris_statistics(meta, runs, design, notes=notes)
        written.append(target / "morris.csv")
        stats.to_csv(written[-1], index=False)
        written.append(target / "morris_by_replication.csv")
        morris_statistics(meta, runs, design, by_replication=True).to_csv(written[-1],
                                                                          index=False)
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
    events = _events(meta, behaviours)
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
