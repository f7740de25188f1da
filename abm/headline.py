"""The headline of a run, and the differences between two runs.

`headline(tables)` turns a run's tables (from a `Result` or a run folder: `run_tables`) into a
few short tables an analyst reads first:

- `exports`: monthly exports of each good with a published record (China's magnet exports),
  model against record, over the months the record covers (without a record: the main good's
  last six whole months);
- `countries`: by buyer country, unmet demand (tonnes, per good), output lost and, where the
  run records it, value added lost (USD), and the largest share of capacity halted in a week,
  all over the whole run (the title names the dates);
- `prices`: each good's price in each region at the start, at its peak and at the end;
- `licences`: each licence office's tonnes filed, approved and refused over the run, and its
  backlog at the end and at its peak (the columns the run has; `backlog_t` when present).

`compare(a, b)` puts two headlines side by side with the difference `b - a`; `draw_compare`
draws the main series of both runs. `abm run` prints the headline; `abm compare` the
comparison.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from abm import tables

log = logging.getLogger(__name__)

NAMES = {"weekly": "weekly.csv", "prices": "weekly_prices.csv",
         "licences": "weekly_licences.csv", "customs_monthly": "customs_monthly.csv"}
RECORD_MONTHS_WITHOUT_DATA = 6


class RunFolderError(ValueError):
    """A folder given as a run is not one `abm run` wrote (one line naming the path)."""


@dataclass
class RunTables:
    """The tables a headline needs, typed (`tables.typed`), and what the run was."""

    label: str
    weekly: pd.DataFrame
    prices: pd.DataFrame
    licences: pd.DataFrame
    customs_monthly: pd.DataFrame
    info: dict = field(default_factory=dict)


def from_result(result, label: str | None = None) -> RunTables:
    """The headline tables of a finished run."""
    return RunTables(
        label=label or result.config.name,
        info={"scenario": result.config.name, "seed": result.seed,
              "start": result.config.start.isoformat(),
              "end": min(result.config.end, result.config.start + dt.timedelta(
                  days=7 * result.weeks - 1)).isoformat()},
        **{name: tables.typed(getattr(result, name)) for name in NAMES})


def from_folder(folder: Path, label: str | None = None) -> RunTables:
    """The headline tables of a run folder `abm run` wrote (its CSV files and manifest).
    Raises RunFolderError naming the missing file."""
    folder = Path(folder)
    manifest = folder / "manifest.json"
    if not manifest.is_file():
        raise RunFolderError(f"{folder}: expected a run folder written by `abm run` (with "
                                "manifest.json), found none")
    info = json.loads(manifest.read_text())
    frames = {}
    for name, file in NAMES.items():
        path = folder / file
        if not path.is_file():
            raise RunFolderError(f"{path}: expected the run's {file}, found none")
        frames[name] = tables.read_table(path)
        if "date" in frames[name].columns:  # a folder from before week_start
            frames[name] = tables.typed(frames[name])
    info["end"] = info.get("until", info.get("end"))
    return RunTables(label=label or folder.name, info=info, **frames)


# --- the headline -----------------------------------------------------------------------------

def _record() -> pd.DataFrame:
    from abm.data import observed_magnet_exports

    record = observed_magnet_exports()
    record = record[record["destination"] == "ALL"]
    return pd.DataFrame({"good": "magnet", "origin": "CHN",
                         "month": pd.to_datetime(record["month"], format="ISO8601"),
                         "record_t": record["observed_t"].astype(float)})


def exports(run: RunTables) -> pd.DataFrame:
    """Monthly exports of goods with a record (model against record), or of the main good."""
    customs = run.customs_monthly
    columns = ["good", "origin", "month", "model_t", "record_t", "model_over_record"]
    if customs.empty:
        return pd.DataFrame(columns=columns)
    flows = customs.groupby(["good", "origin", "month"], as_index=False)["quantity_t"].sum()
    flows = flows.rename(columns={"quantity_t": "model_t"})
    record = _record()
    merged = flows.merge(record, on=["good", "origin", "month"], how="inner")
    if merged.empty:
        totals = flows.groupby(["good", "origin"])["model_t"].sum()
        good, origin = totals.idxmax()
        merged = flows[(flows["good"] == good) & (flows["origin"] == origin)].tail(
            RECORD_MONTHS_WITHOUT_DATA).assign(record_t=np.nan)
    merged["model_over_record"] = merged["model_t"] / merged["record_t"]
    return merged[columns].sort_values(["good", "origin", "month"], ignore_index=True)


def countries(run: RunTables) -> pd.DataFrame:
    """By buyer country over the run: unmet demand per good, output (and value added) lost,
    and the largest share of its buyers' capacity halted in one week."""
    weekly = run.weekly
    if weekly.empty:
        return pd.DataFrame(columns=["country"])
    shortfall = weekly.pivot_table(index="country", columns="good", values="shortfall_t",
                                   aggfunc="sum", fill_value=0.0)
    shortfall = shortfall.loc[:, shortfall.sum() > 0]
    shortfall.columns = [f"shortfall_t:{good}" for good in shortfall.columns]
    money = [c for c in ("output_lost_usd", "value_added_lost_usd") if c in weekly.columns]
    out = shortfall.join(weekly.groupby("country")[money].sum(), how="outer")
    by_week = weekly.groupby(["country", "week"])[["halted_demand_t", "demand_t"]].sum()
    halted = (by_week["halted_demand_t"] / by_week["demand_t"].where(by_week["demand_t"] > 0))
    out["peak_halted_share"] = halted.groupby(level="country").max().fillna(0.0)
    out = out.fillna(0.0).reset_index()
    if money:
        return out.sort_values([money[0], "country"], ascending=[False, True], ignore_index=True)
    return out.sort_values("country", ignore_index=True)


def prices(run: RunTables, goods: list[str] | None = None) -> pd.DataFrame:
    """Each good's price in each region: first week, peak (and its week) and last week."""
    frame = run.prices
    if goods is not None:
        frame = frame[frame["good"].isin(goods)]
    rows = []
    for (good, region), series in frame.groupby(["good", "region"], sort=True):
        series = series.sort_values("week_start")
        values = series["price_usd_per_kg"].to_numpy()
        peak = int(np.argmax(values))
        rows.append({"good": good, "region": region, "start_usd_per_kg": values[0],
                     "peak_usd_per_kg": values[peak],
                     "peak_week": series["week_start"].iloc[peak].date().isoformat(),
                     "end_usd_per_kg": values[-1], "end_over_start": values[-1] / values[0]
                     if values[0] else np.nan})
    return pd.DataFrame(rows, columns=["good", "region", "start_usd_per_kg", "peak_usd_per_kg",
                                       "peak_week", "end_usd_per_kg", "end_over_start"])


def licences(run: RunTables) -> pd.DataFrame:
    """Each licence office (State, good): flows over the run and the backlog, from the
    columns the run has (any `*_t` or `*_n` flow; `backlog_*` as end and peak)."""
    frame = run.licences
    if frame.empty:
        return pd.DataFrame(columns=["state", "good"])
    numeric = [c for c in frame.columns if c.endswith(("_t", "_n"))
               and pd.api.types.is_numeric_dtype(frame[c])]
    stocks = [c for c in numeric if "backlog" in c and not c.startswith("customs")]
    flows = [c for c in numeric if "backlog" not in c and not c.startswith(("held", "cleared"))]
    # several destinations or grades: one office is their sum each week
    weekly = frame.groupby(["state", "good", "week"], as_index=False)[flows + stocks].sum()
    grouped = weekly.groupby(["state", "good"])
    out = grouped[flows].sum()
    for column in stocks:
        out[f"{column.replace('_t', '')}_end_t" if column.endswith("_t")
            else f"{column}_end"] = grouped[column].last()
        out[f"{column.replace('_t', '')}_peak_t" if column.endswith("_t")
            else f"{column}_peak"] = grouped[column].max()
    return out.reset_index()


SECTIONS = ("exports", "countries", "prices", "licences")


def headline(run: RunTables) -> dict[str, pd.DataFrame]:
    """The headline tables of a run, by section name."""
    goods = sorted(set(run.weekly["good"])) if not run.weekly.empty else None
    return {"exports": exports(run), "countries": countries(run),
            "prices": prices(run, goods), "licences": licences(run)}


def titles(run: RunTables, period: bool = True) -> dict[str, str]:
    period = (f", {run.info.get('start', '?')} to {run.info.get('end', '?')}, the whole run"
              if period else ", over each whole run")
    return {
        "exports": "Monthly exports, model against the published record (t per month)",
        "countries": f"Unmet demand (t), output lost (USD) and peak share of capacity halted "
                     f"by buyer country{period}",
        "prices": "Prices (USD/kg): first week, peak, last week",
        "licences": f"Licence offices: tonnes filed, approved, refused; backlog at the end and "
                    f"at its peak{period}",
    }


# --- text -------------------------------------------------------------------------------------

def _format_value(column: str, value) -> str:
    column = column.split(":")[0]
    if isinstance(value, pd.Timestamp):
        return f"{value:%Y-%m}" if column == "month" else f"{value:%Y-%m-%d}"
    if isinstance(value, int | np.integer):
        return f"{value:,}"
    if isinstance(value, float | np.floating):
        if np.isnan(value):
            return "-"
        if column.endswith(("_share", "_over_record", "_over_start")) or column.startswith(
                "share"):
            return f"{value:.2f}"
        if column.endswith("_usd_per_kg"):
            return f"{value:,.2f}"
        if column.endswith("_usd"):
            return f"{value:,.0f}"
        return f"{value:,.1f}"
    return str(value)


def format_table(frame: pd.DataFrame) -> str:
    """A frame as aligned text: thousands separators, text left, numbers right."""
    if frame.empty:
        return "  (none)"
    # a long table (`measure`, then values) formats each row's values by its measure
    measure = list(frame.columns).index("measure") if "measure" in frame.columns else None
    cells = [[_format_value(row[measure] if measure is not None and i > measure else c, v)
              for i, (c, v) in enumerate(zip(frame.columns, row, strict=True))]
             for row in frame.itertuples(index=False)]
    widths = [max(len(str(c)), *(len(r[i]) for r in cells)) for i, c in enumerate(frame.columns)]
    text_columns = [not pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns]

    def line(values):
        return "  " + "  ".join(v.ljust(w) if left else v.rjust(w)
                                for v, w, left in zip(values, widths, text_columns, strict=True))

    return "\n".join([line(list(map(str, frame.columns))), *map(line, cells)]).rstrip()


def format_headline(run: RunTables, sections: dict[str, pd.DataFrame] | None = None) -> str:
    sections = sections if sections is not None else headline(run)
    heads = titles(run)
    parts = []
    for name in SECTIONS:
        frame = sections[name]
        if name == "licences" and frame.empty:
            continue
        parts.append(f"{heads[name]}\n{format_table(frame)}")
    return "\n\n".join(parts)


# --- two runs ---------------------------------------------------------------------------------

KEYS = {"exports": ["good", "origin", "month"], "countries": ["country"],
        "prices": ["good", "region"], "licences": ["state", "good"]}


def compare(a: RunTables, b: RunTables) -> dict[str, pd.DataFrame]:
    """Both headlines side by side, by section, one row per key and measure: columns `A`, `B`
    and `change` (B - A), and for exports the `record_t` where there is one. A row missing
    from one run is a zero there (no shortfall, no licence filed), except a month of exports
    that run did not cover (left empty)."""
    first, second = headline(a), headline(b)
    out = {}
    for name in SECTIONS:
        keys = KEYS[name]
        left, right = first[name], second[name]
        skip = {"record_t", "peak_week", "model_over_record"}
        numbers = [c for c in dict.fromkeys([*left.columns, *right.columns])
                   if c not in keys and c not in skip]
        long = []
        for side, frame in (("A", left), ("B", right)):
            frame = frame.reindex(columns=[*keys, *numbers])
            if name != "exports":
                frame[numbers] = frame[numbers].fillna(0.0)
            melted = frame.melt(id_vars=keys, value_vars=numbers, var_name="measure",
                                value_name=side)
            long.append(melted.set_index([*keys, "measure"]))
        merged = long[0].join(long[1], how="outer")
        if name != "exports":
            merged = merged.fillna(0.0)
        merged["change"] = merged["B"] - merged["A"]
        merged = merged.reset_index()
        if name == "exports":
            record = pd.concat([left, right])[[*keys, "record_t"]].drop_duplicates(keys)
            merged = merged.merge(record, on=keys, how="left")
        order = {m: i for i, m in enumerate(numbers)}
        merged["_order"] = merged["measure"].map(order)
        out[name] = merged.sort_values([*keys, "_order"], ignore_index=True).drop(
            columns="_order")
    return out


def format_compare(a: RunTables, b: RunTables, sections: dict[str, pd.DataFrame]) -> str:
    heads = titles(a, period=False)
    lines = [f"A = {a.label} ({_describe(a)})", f"B = {b.label} ({_describe(b)})"]
    for name in SECTIONS:
        frame = sections[name]
        if name == "licences" and frame.empty:
            continue
        lines.append("")
        lines.append(f"{heads[name]}: A, B and the change B - A")
        lines.append(format_table(frame))
    return "\n".join(lines)


def _describe(run: RunTables) -> str:
    info = run.info
    return f"scenario {info.get('scenario', '?')}, seed {info.get('seed', '?')}, " \
           f"{info.get('start', '?')} to {info.get('end', '?')}"


def draw_compare(a: RunTables, b: RunTables, path: Path) -> Path:
    """Four panels of A (solid) against B (dashed): monthly exports of the main good, output
    lost by country, prices by good and region, the licence backlog."""
    from abm import plots

    plt = plots.plt
    fig, axes = plt.subplots(2, 2, figsize=(14, 9))
    (ax_exports, ax_lost), (ax_prices, ax_backlog) = axes
    styles = ((a, "-"), (b, "--"))
    customs = pd.concat([a.customs_monthly, b.customs_monthly])
    main = customs.groupby("good")["quantity_t"].sum().idxmax() if len(customs) else None
    colours = {}
    for run, style in styles:
        flows = run.customs_monthly
        if main is not None and not flows.empty:
            monthly = flows[flows["good"] == main].groupby("month")["quantity_t"].sum()
            ax_exports.plot(monthly.index, monthly.to_numpy(), style, color="C0",
                            label=f"{run.label}: {main}")
        for (good, region), series in run.prices.groupby(["good", "region"]):
            if good in set(run.weekly["good"]):
                colour = colours.setdefault((good, region), f"C{len(colours) % 10}")
                ax_prices.plot(series["week_start"], series["price_usd_per_kg"], style,
                               color=colour, label=f"{run.label}: {good} {region}")
        if not run.licences.empty and "backlog_t" in run.licences.columns:
            backlog = run.licences.groupby("week_start")["backlog_t"].sum()
            ax_backlog.plot(backlog.index, backlog.to_numpy(), style, color="k",
                            label=run.label)
    ax_exports.set_title(f"Monthly exports of {main or 'no good'}, all origins (customs)")
    ax_exports.set_ylabel("tonnes per month")
    lost = pd.DataFrame({run.label + (" (A)" if run is a else " (B)"):
                         run.weekly.groupby("country")["output_lost_usd"].sum() / 1e6
                         for run in (a, b)}).fillna(0.0)
    lost.plot.bar(ax=ax_lost, rot=0)
    ax_lost.set_title("Output lost over the run, by buyer country")
    ax_lost.set_ylabel("million USD")
    ax_prices.set_title("Weekly prices")
    ax_prices.set_ylabel("USD per kg")
    ax_backlog.set_title("Licence backlog, all offices")
    ax_backlog.set_ylabel("tonnes pending")
    for ax in (ax_exports, ax_prices, ax_backlog):
        plots.date_axis(ax)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
        else:
            plots.empty_panel(ax, "nothing to draw in either run")
    ax_lost.grid(alpha=0.3, axis="y")
    fig.suptitle(f"A = {a.label} (solid) against B = {b.label} (dashed)")
    return plots.save(fig, path)
