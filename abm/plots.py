"""The standard figures of a run: time series with policy events marked and labelled.

Figures are drawn for the goods the scenario declares (`material_goods`: those with buyers or
producers), one panel per good, with units from each good's declaration (`Good.unit`); no good
is assumed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

DPI = 100


class FigureWarning(UserWarning):
    """A figure of a run could not be drawn; the run's tables are written all the same."""


def labelled_events(events, start: dt.date | None = None, end: dt.date | None = None):
    """The events worth a label, in date order, numbered from 1: [(n, event)]. Events with
    `mark = false` are the silent companions of a marked one (same date, same deal), and
    unlabelled ones (a deal's terms) get no number either."""
    chosen, seen = [], set()
    for event in sorted(events, key=lambda e: e.date):
        if (not event.label or not getattr(event, "mark", True) or (start and event.date < start)
                or (end and event.date > end)):
            continue
        if (event.date, event.label) in seen:
            continue
        seen.add((event.date, event.label))
        chosen.append(event)
    return list(enumerate(chosen, start=1))


EVENT_FONTSIZE = 6.5


def mark_events(ax, events, start: dt.date | None = None, end: dt.date | None = None) -> None:
    """Draw a dashed line for each labelled event and its number at the top of the axis; the
    figure's `event_key` lists what the numbers mean. With four events or fewer the labels are
    written in full instead. Labels are stacked in rows so that none overlaps another when
    the figure is saved (`place_event_labels`)."""
    numbered = labelled_events(events, start, end)
    full = len(numbered) <= 4
    labels = getattr(ax, "_abm_event_labels", [])
    for n, event in numbered:
        x = pd.Timestamp(event.date)
        ax.axvline(x, color="0.45", linestyle="--", linewidth=0.8, zorder=0)
        text = event.label if full else str(n)
        labels.append(ax.annotate(text, (x, 1.0), xycoords=("data", "axes fraction"),
                                  xytext=(2, -3), textcoords="offset points",
                                  fontsize=EVENT_FONTSIZE, color="0.25", va="top"))
    ax._abm_event_labels = labels


def _renderer(fig):
    """The figure's renderer, to measure text (a bare `Figure` gets an Agg canvas first)."""
    if not hasattr(fig.canvas, "get_renderer"):
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        FigureCanvasAgg(fig)
    return fig.canvas.get_renderer()


def _overlaps(box, boxes) -> bool:
    return any(box.overlaps(other) for other in boxes)


def place_event_labels(fig) -> None:
    """Move each axis's event labels down, row by row, until none overlaps one placed before
    it (in date order), measured in the figure as drawn."""
    renderer = _renderer(fig)
    row = EVENT_FONTSIZE + 1.5  # points
    for ax in fig.axes:
        labels = sorted(getattr(ax, "_abm_event_labels", []), key=lambda a: a.xy[0])
        placed = []
        for label in labels:
            for r in range(len(labels) + 1):
                label.xyann = (2, -3 - row * r)
                box = label.get_window_extent(renderer).expanded(1.0, 1.0)
                if not _overlaps(box, placed):
                    break
            placed.append(box)


def event_key(fig, events, start: dt.date | None = None, end: dt.date | None = None) -> None:
    """List the numbered events under the figure, in columns (call after tight_layout)."""
    numbered = labelled_events(events, start, end)
    if len(numbered) <= 4:
        return
    height = fig.get_figheight()
    bottom = fig.subplotpars.bottom
    renderer = _renderer(fig)
    # As many columns as the longest label allows without overlapping its neighbour.
    for columns in (3, 2, 1):
        rows = -(-len(numbered) // columns)
        margin = (0.16 * rows + 0.2) / height
        texts = [fig.text(0.02 + (i // rows) * (0.98 / columns),
                          margin - 0.05 / height - (i % rows) * 0.16 / height,
                          f"{n}  {event.date:%Y-%m-%d}  {event.label}", fontsize=EVENT_FONTSIZE,
                          color="0.25", va="top") for i, (n, event) in enumerate(numbered)]
        boxes = [text.get_window_extent(renderer) for text in texts]
        clash = any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
        if not clash or columns == 1:
            break
        for text in texts:
            text.remove()
    fig.subplots_adjust(bottom=bottom + margin)


def date_axis(ax, span: tuple[dt.date, dt.date] | None = None) -> None:
    """Calendar x axis: quarterly ticks labelled YYYY-MM, light grid; `span` (first, last
    date) fixes the range, so that several figures share one date axis."""
    if span is not None:
        ax.set_xlim(pd.Timestamp(span[0]), pd.Timestamp(span[1]))
    ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=(1, 4, 7, 10)))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m"))
    ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    ax.grid(alpha=0.3)


def layout(fig, events=()) -> None:
    """Lay the figure out: tight layout, the key of numbered `events` under it, and the event
    labels of every axis stacked so that none overlaps another."""
    fig.tight_layout()
    event_key(fig, events)
    place_event_labels(fig)


def save(fig, path: Path, events=()) -> Path:
    """Lay out, add the key of numbered `events` under the figure, write PNG, close."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    layout(fig, events)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def empty_panel(ax, note: str) -> None:
    """An axis with nothing to draw: no ticks, and `note` saying why, in its middle."""
    ax.text(0.5, 0.5, note, transform=ax.transAxes, ha="center", va="center", fontsize=9,
            color="0.35", wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])


def material_goods(config) -> list[str]:
    """The goods traded by the scenario's buyers and producers, in declaration order (not the
    chip good, which has its own market, nor a good nobody makes or buys)."""
    used = {b.good for b in config.buyers} | {e.good for e in config.exporters}
    return [g.name for g in config.goods if g.name in used and g.name != config.chips.good]


def quantity_unit(config, good: str) -> str:
    """The unit quantities of `good` are counted in (its `unit`; `t` reads "tonnes")."""
    unit = next((g.unit for g in config.goods if g.name == good), "t")
    return "tonnes" if unit == "t" else unit


def price_scale(config, good: str) -> tuple[float, str]:
    """Factor and unit to show a price of `good` held per kg (a thousandth of a tonne): USD per
    kg for goods counted in tonnes, else USD per the good's own unit."""
    unit = next((g.unit for g in config.goods if g.name == good), "t")
    return (1.0, "USD per kg") if unit == "t" else (1000.0, f"USD per {unit}")


def main_origin(result, good: str) -> str | None:
    """The country that exported most of `good` over the run (customs), if any did."""
    customs = result.customs_monthly
    flows = customs[customs["good"] == good]
    if flows.empty:
        exporters = [e.country for e in result.config.exporters if e.good == good]
        return exporters[0] if exporters else None
    return str(flows.groupby("origin")["quantity_t"].sum().idxmax())


def _goods_or(result, good: str | None) -> list[str]:
    return [good] if good is not None else material_goods(result.config)


def _panels(count: int, height: float):
    fig, axes = plt.subplots(max(1, count), 1, figsize=(9, height * max(1, count)),
                             squeeze=False)
    return fig, axes[:, 0]


def exports_by_destination(result, path: Path, good: str | None = None,
                           origin: str | None = None) -> Path:
    """Monthly exports of each good (or only `good`) from its main exporting country (or
    `origin`), stacked by destination (customs table): one panel per good."""
    goods = _goods_or(result, good)
    customs = result.customs_monthly
    fig, axes = _panels(len(goods), 4.0)
    if not goods:
        axes[0].set_title("Monthly exports by destination (model customs table)")
        empty_panel(axes[0], "no goods with buyers or producers in this scenario")
        return save(fig, path)
    events = ()
    for ax, name in zip(axes, goods, strict=True):
        source = origin or main_origin(result, name)
        flows = customs[(customs["good"] == name) & (customs["origin"] == source)]
        table = flows.pivot_table(index="month", columns="destination", values="quantity_t",
                                  aggfunc="sum").fillna(0.0)
        ax.set_title(f"Monthly {name} exports from {source or 'anywhere'} by destination "
                     "(model customs table)")
        if table.empty:
            empty_panel(ax, f"no exports of {name} from {source or 'any country'} in any whole "
                        "month of this run")
            continue
        table.index = pd.to_datetime(table.index + "-15")
        ax.stackplot(table.index, table.T.to_numpy(), labels=table.columns, alpha=0.85)
        ax.set_ylabel(f"{quantity_unit(result.config, name)} per month")
        ax.legend(loc="upper left", ncol=min(len(table.columns), 8), fontsize=8)
        ax.set_ylim(0, max(table.sum(axis=1).max(), 1e-9) * 1.35)
        date_axis(ax)
        mark_events(ax, result.config.events)
        events = result.config.events
    return save(fig, path, events)


def prices(result, path: Path) -> Path:
    """Weekly price of each good in the two price regions (`CHN`, inside China, and `ROW`, the
    rest of the world; each legend entry lists the region's countries), in USD per kg for
    goods counted in tonnes and per the good's unit otherwise."""
    frame = result.prices
    goods = material_goods(result.config)
    fig, axes = _panels(len(goods), 3.2)
    if not goods:
        axes[0].set_title("Prices")
        empty_panel(axes[0], "no goods with buyers or producers in this scenario")
        return save(fig, path)
    for ax, good in zip(axes, goods, strict=True):
        factor, unit = price_scale(result.config, good)
        for region in ("CHN", "ROW"):
            series = frame[(frame["good"] == good) & (frame["region"] == region)]
            members = [c.code for c in result.config.countries if c.price_region == region]
            shown = ", ".join(members[:6]) + (", ..." if len(members) > 6 else "")
            label = f"{region} price region ({shown or 'no country'})"
            ax.plot(pd.to_datetime(series["date"]), series["price_usd_per_kg"] * factor, "-",
                    label=label)
        ax.set_title(f"{good}: price in each price region")
        ax.set_ylabel(unit)
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=8, loc="center left")
        date_axis(ax)
        mark_events(ax, result.config.events)
    return save(fig, path, result.config.events)


def buyers_halted(result, path: Path, good: str | None = None) -> Path:
    """For each good (or only `good`): the share of its buyers' capacity halted each week by
    country, and their inventory cover by country."""
    goods = _goods_or(result, good)
    fig, axes = _panels(2 * len(goods), 3.25)
    if not goods:
        axes[0].set_title("Buyers halted")
        empty_panel(axes[0], "no goods with buyers in this scenario")
        return save(fig, path)
    events = ()
    for i, name in enumerate(goods):
        if _halted_panels(result, name, axes[2 * i], axes[2 * i + 1]):
            events = result.config.events
    return save(fig, path, events)


def _halted_panels(result, good: str, top, bottom) -> bool:
    """Draw `good`'s halted share and cover by country; False if it has no buyers."""
    weekly = result.weekly[result.weekly["good"] == good]
    by_country = weekly.groupby(["date", "country"], as_index=False)[
        ["halted_demand_t", "demand_t", "inventory_t", "mean_demand_t"]
    ].sum()
    # a country whose buyers have no demand has no cover to show (not an infinite one)
    demand = by_country["mean_demand_t"].where(by_country["mean_demand_t"] > 0)
    by_country["cover_weeks"] = (by_country["inventory_t"] / demand).replace(
        [np.inf, -np.inf], np.nan)
    by_country["halted_pct"] = 100 * by_country["halted_demand_t"] / by_country["demand_t"].where(
        by_country["demand_t"] > 0)
    threshold = result.config.market.halt_threshold
    top.set_title(f"{good} users' capacity halted (less than {threshold:.0%} of weekly need "
                  "met), by country")
    bottom.set_title(f"{good} inventory held by buyers, by country")
    if by_country.empty:
        for ax in (top, bottom):
            empty_panel(ax, f"no buyers of {good} in this run")
        return False
    for country, rows in by_country.groupby("country"):
        dates = pd.to_datetime(rows["date"])
        top.plot(dates, rows["halted_pct"], label=country)
        bottom.plot(dates, rows["cover_weeks"], label=country)
    top.set_ylabel("% of capacity halted")
    top.legend(fontsize=8, ncol=4)
    bottom.set_ylabel("weeks of demand")
    if by_country["cover_weeks"].notna().any():
        bottom.set_ylim(bottom=0)
    for ax in (top, bottom):
        date_axis(ax)
        mark_events(ax, result.config.events)
    return True


def licences(result, path: Path) -> Path | None:
    """Licence applications filed, approved and refused each week, and the backlog (tonnes,
    all destinations and grades)."""
    frame = result.licences
    if frame.empty:
        return None
    frame = frame.groupby(["date", "state", "good"], as_index=False)[
        ["filed_t", "approved_t", "refused_t", "backlog_t"]].sum()
    offices = frame[["state", "good"]].drop_duplicates().itertuples(index=False)
    offices = list(offices)
    fig, axes = plt.subplots(len(offices), 1, figsize=(9, 3.4 * len(offices)), squeeze=False)
    for ax, (state, good) in zip(axes[:, 0], offices, strict=True):
        rows = frame[(frame["state"] == state) & (frame["good"] == good)]
        dates = pd.to_datetime(rows["date"])
        for column in ("filed_t", "approved_t", "refused_t"):
            ax.plot(dates, rows[column], label=column.replace("_t", ""))
        ax.plot(dates, rows["backlog_t"], "k:", label="backlog (pending)")
        ax.set_title(f"{state} export licences for {good}")
        unit = quantity_unit(result.config, good)
        ax.set_ylabel(f"{unit} per week; backlog in {unit}")
        ax.legend(fontsize=8)
        date_axis(ax)
        mark_events(ax, result.config.events)
    return save(fig, path, result.config.events)


FIGURES = {
    "exports_by_destination.png": exports_by_destination,
    "prices.png": prices,
    "buyers_halted.png": buyers_halted,
    "licences.png": licences,
}


def standard_figures(result, directory: Path) -> tuple[list[Path], list[str]]:
    """Write the standard figures of a run into `directory`. Returns the paths written and,
    for each figure that could not be drawn, one line saying which and why: one figure never
    loses the run."""
    directory = Path(directory)
    made, not_drawn = [], []
    for name, draw in FIGURES.items():
        open_before = set(plt.get_fignums())
        try:
            path = draw(result, directory / name)
        except Exception as err:  # noqa: BLE001 - reported; the tables matter more than a figure
            for number in set(plt.get_fignums()) - open_before:
                plt.close(number)
            (directory / name).unlink(missing_ok=True)
            not_drawn.append(f"{name} not drawn ({type(err).__name__}: {err})")
            continue
        if path is not None:
            made.append(path)
    return made, not_drawn
