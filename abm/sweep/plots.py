"""The standard sweep figures (matplotlib, Agg): heatmap of an outcome over two parameters, fan
chart of a series across runs, Sobol' index bars and tornado bars. Each function writes one PNG
and returns its path."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from abm.plots import save  # noqa: E402

_UNITS = {
    "exports_t": "t",
    "min_monthly_exports_t": "t",
    "shortfall_t": "t",
    "buyer_weeks_halted": "buyer-weeks",
    "buyers_halted": "buyers",
    "peak_price_ratio": "x reference price",
    "price_ratio_at": "x reference price",
    "export_share": "share",
    "price_usd_per_kg": "USD/kg",
}


def unit_of(name: str) -> str:
    """The unit of an outcome or series name (from its kind), or '' if unknown."""
    return _UNITS.get(name.split(":")[0], "")


def label_of(name: str) -> str:
    unit = unit_of(name)
    return f"{name} ({unit})" if unit else name


def slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_")



def heatmap(frame: pd.DataFrame, x: str, y: str, outcome: str, path: Path,
            title: str | None = None, x_label: str | None = None,
            y_label: str | None = None, colour_label: str | None = None) -> Path:
    """Mean of `outcome` over every (x, y) cell of `frame` (other inputs and seeds averaged)."""
    grid = frame.groupby([y, x])[outcome].mean().unstack(x)
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    image = ax.imshow(grid.to_numpy(dtype=float), origin="lower", aspect="auto", cmap="viridis")
    ax.set_xticks(range(grid.shape[1]), [f"{v:g}" if isinstance(v, float) else str(v)
                                         for v in grid.columns])
    ax.set_yticks(range(grid.shape[0]), [f"{v:g}" if isinstance(v, float) else str(v)
                                         for v in grid.index])
    for (i, j), value in np.ndenumerate(grid.to_numpy(dtype=float)):
        if np.isfinite(value):
            ax.text(j, i, f"{value:.3g}", ha="center", va="center", fontsize=7, color="white")
    ax.set_xlabel(x_label or x)
    ax.set_ylabel(y_label or y)
    bar = fig.colorbar(image, ax=ax)
    bar.set_label(colour_label or label_of(outcome))
    ax.set_title(title or f"{outcome}: mean over seeds and other inputs", fontsize=10)
    return save(fig, path)


def fan_chart(series: pd.DataFrame, name: str, path: Path, events=(), title: str | None = None
              ) -> Path:
    """Median and 50% / 90% bands of one series across runs (`series`: rows of one series
    with columns design_id, replication_id, period, value). `events`: (date, label) pairs."""
    wide = series.pivot_table(index="period", columns=["design_id", "replication_id"],
                              values="value")
    dates = pd.to_datetime(wide.index.astype(str), format="mixed")
    q = np.nanquantile(wide.to_numpy(dtype=float), [0.05, 0.25, 0.5, 0.75, 0.95], axis=1)
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    ax.fill_between(dates, q[0], q[4], alpha=0.25, color="C0", label="5-95% of runs")
    ax.fill_between(dates, q[1], q[3], alpha=0.45, color="C0", label="25-75% of runs")
    ax.plot(dates, q[2], color="C0", lw=1.8, label="median")
    labels: dict[pd.Timestamp, list[str]] = {}
    for date, label in events:
        when = pd.Timestamp(date)
        if dates.min() <= when <= dates.max() and label not in labels.get(when, []):
            labels.setdefault(when, []).append(label)
    for when, texts in labels.items():
        ax.axvline(when, color="0.3", ls="--", lw=0.8)
        ax.annotate("; ".join(texts), (when, 0.98), xycoords=("data", "axes fraction"),
                    rotation=90, va="top", ha="right", fontsize=7, color="0.3")
    ax.set_xlabel("date")
    ax.set_ylabel(label_of(name))
    ax.set_title(title or f"{name} across {wide.shape[1]} runs", fontsize=10)
    ax.legend(loc="best", fontsize=8)
    return save(fig, path)


def sobol_bars(indices: pd.DataFrame, outcome: str, path: Path, title: str | None = None
               ) -> Path:
    """First-order (S1) and total (ST) Sobol' indices of one outcome with their confidence
    intervals (`indices`: rows of one outcome with parameter, S1, S1_conf, ST, ST_conf)."""
    rows = indices.sort_values("ST", ascending=True)
    y = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(6.8, 0.45 * len(rows) + 1.6))
    ax.barh(y + 0.2, rows["S1"], height=0.4, xerr=rows["S1_conf"], color="C0",
            label="S1 (first order)", capsize=2)
    ax.barh(y - 0.2, rows["ST"], height=0.4, xerr=rows["ST_conf"], color="C1",
            label="ST (total)", capsize=2)
    ax.set_yticks(y, rows["parameter"])
    ax.axvline(0, color="0.3", lw=0.8)
    ax.set_xlabel("Sobol' index (share of output variance), bars: 95% confidence")
    ax.set_title(title or f"Sobol' indices of {outcome}", fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    return save(fig, path)


def tornado(effects: pd.DataFrame, outcome: str, path: Path, title: str | None = None) -> Path:
    """Mean outcome at each parameter's lowest and highest values, around the overall mean
    (`effects`: parameter, low, high, base)."""
    rows = effects.assign(span=(effects["high"] - effects["low"]).abs()).sort_values("span")
    y = np.arange(len(rows))
    base = float(rows["base"].iloc[0]) if len(rows) else 0.0
    fig, ax = plt.subplots(figsize=(6.8, 0.45 * len(rows) + 1.6))
    ax.barh(y, rows["low"] - base, left=base, color="C0", label="parameter at its lowest")
    ax.barh(y, rows["high"] - base, left=base, color="C3", alpha=0.7,
            label="parameter at its highest")
    ax.axvline(base, color="0.2", lw=0.8, label="mean of all runs")
    ax.set_yticks(y, rows["parameter"])
    ax.set_xlabel(f"mean {label_of(outcome)}")
    ax.set_title(title or f"One parameter at a time: {outcome}", fontsize=10)
    ax.legend(loc="best", fontsize=8)
    return save(fig, path)


def morris_bars(stats: pd.DataFrame, outcome: str, path: Path, title: str | None = None) -> Path:
    """Morris mu* (mean absolute elementary effect, with confidence) and sigma by parameter."""
    rows = stats.sort_values("mu_star")
    y = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(6.8, 0.45 * len(rows) + 1.6))
    ax.barh(y + 0.2, rows["mu_star"], height=0.4, xerr=rows["mu_star_conf"], color="C0",
            label="mu* (mean |effect|)", capsize=2)
    ax.barh(y - 0.2, rows["sigma"], height=0.4, color="C2", label="sigma (spread of effects)")
    ax.set_yticks(y, rows["parameter"])
    ax.set_xlabel(f"elementary effect ({unit_of(outcome) or 'outcome units'} per unit range)")
    ax.set_title(title or f"Morris screening of {outcome}", fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    return save(fig, path)
