"""The dashboard's charts: a run's tables drawn against the unchanged run's, events marked.

Each chart is a function `(run, unchanged, good) -> Figure` over two `abm.Result`s (the run on
the page and the scenario unchanged, over the same weeks). This run is drawn solid, the
unchanged run dashed in the same colour, observed customs data in black. Axes, event markers
and the PNG resolution are `abm.plots`'; the tables are `abm.Result`'s and `abm.outcomes`', read
by column name, so a chart whose column is missing says so instead of failing.

Figures are `matplotlib.figure.Figure` objects, not pyplot's, so several browser sessions can
draw at once.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

from abm import outcomes, plots
from abm.data import observed_magnet_exports

WIDTH_IN, PANEL_IN, TOP_IN, BOTTOM_IN, GAP_IN = 9.0, 2.4, 0.6, 0.55, 0.45
# Room on the left for tick labels such as "6,000" and the unit beside them.
LEFT_IN = 0.8
PAGE_DPI = 80
THIS_RUN = {"linestyle": "-", "linewidth": 1.5}
UNCHANGED = {"linestyle": "--", "linewidth": 1.1, "alpha": 0.8}


def _colours(keys) -> dict[str, str]:
    keys = list(dict.fromkeys(keys))
    return {key: f"C{i % 10}" for i, key in enumerate(keys)}


def _has(frame: pd.DataFrame | None, *columns: str) -> bool:
    return frame is not None and not frame.empty and all(c in frame.columns for c in columns)


def _dates(frame: pd.DataFrame) -> pd.Series:
    return pd.to_datetime(frame["date"])


def _figure(rows: int, title: str) -> tuple[Figure, list]:
    # Fixed margins (inches) instead of tight_layout, which draws the figure twice: a page of
    # charts is redrawn every few weeks while the run plays.
    height = TOP_IN + BOTTOM_IN + PANEL_IN * rows + GAP_IN * (rows - 1)
    fig = Figure(figsize=(WIDTH_IN, height), dpi=PAGE_DPI)
    fig.subplots_adjust(left=LEFT_IN / WIDTH_IN, right=1 - 0.12 / WIDTH_IN,
                        top=1 - TOP_IN / height, bottom=BOTTOM_IN / height,
                        hspace=GAP_IN / PANEL_IN)
    axes = fig.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
    fig.suptitle(title, fontsize=10, y=1 - 0.08 / height, va="top")
    return fig, list(axes)


def _tick(value: float, _position=None) -> str:
    """A y-axis tick: thousands separators from 1,000 up, else as short as it can be."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:g}"


def _finish(fig: Figure, axes, run, unchanged, styles_legend: bool = True) -> Figure:
    result = run if run is not None else unchanged
    for ax in axes:
        plots.date_axis(ax)
        ax.yaxis.set_major_formatter(FuncFormatter(_tick))
        if result is not None:
            config = result.config
            ax.set_xlim(pd.Timestamp(config.start), pd.Timestamp(config.end))
            mark_events(ax, config.events, numbers=ax is axes[0])
        if not ax.get_lines() and not ax.collections:
            ax.text(0.5, 0.5, "no data yet", transform=ax.transAxes, ha="center",
                    color="0.4", fontsize=9)
    if styles_legend:
        series = axes[-1].get_legend()
        if series is not None:
            axes[-1].add_artist(series)
        axes[-1].legend(handles=_style_handles(unchanged is not None and unchanged is not run),
                        loc="upper right", fontsize=7, framealpha=0.8)
    return fig


def mark_events(ax, events, numbers: bool = True) -> None:
    """Dashed lines at the labelled events, numbered as `abm.plots` numbers them (the page lists
    the key once). One collection per axis rather than a line per event: the page redraws its
    charts every few weeks of a run."""
    numbered = plots.labelled_events(events)
    if not numbered:
        return
    dates = [pd.Timestamp(event.date) for _, event in numbered]
    ax.vlines(dates, 0, 1, transform=ax.get_xaxis_transform(), colors="0.45",
              linestyles="--", linewidths=0.8, zorder=0)
    if numbers:
        for n, event in numbered:
            ax.annotate(str(n), (pd.Timestamp(event.date), 1.0),
                        xycoords=("data", "axes fraction"), xytext=(2, -3 - 8 * (n % 3)),
                        textcoords="offset points", fontsize=6.5, color="0.25", va="top")


def _style_handles(compare: bool) -> list[Line2D]:
    handles = [Line2D([], [], color="0.2", label="this run", **THIS_RUN)]
    if compare:
        handles.append(Line2D([], [], color="0.2", label="scenario unchanged", **UNCHANGED))
    return handles


def _missing(ax, what: str) -> None:
    ax.text(0.5, 0.5, f"no {what} in this run's tables", transform=ax.transAxes,
            ha="center", color="0.4", fontsize=9)


def _pair(run, unchanged):
    """(result, style) to draw: this run, then the unchanged one when it is another run."""
    out = [] if run is None else [(run, THIS_RUN)]
    if unchanged is not None and unchanged is not run:
        out.append((unchanged, UNCHANGED))
    return out


def _lines(ax, results, table, by: str, value: str, where: dict, scale: float = 1.0,
           aggregate: bool = True, colours: dict | None = None, label=str,
           share_of: str | None = None) -> bool:
    """Plot `value` of `table` over weeks, one line per `by`, for each (result, style);
    with `share_of`, the sum of `value` over the sum of that column (a share of capacity).
    `table` is the name of a result's table, or a function of the result that returns one
    (a table derived for the chart). Returns False if a result lacks the columns."""
    drawn = {}
    for result, style in results:
        frame = table(result) if callable(table) else getattr(result, table, None)
        needed = {"date", by, value, *where} | ({share_of} if share_of else set())
        if frame is None or not needed <= set(frame.columns):
            return False
        if frame.empty:
            continue
        for column, wanted in where.items():
            frame = frame[frame[column] == wanted]
        if share_of:
            frame = frame.groupby(["date", by], as_index=False)[[value, share_of]].sum()
            frame[value] = (frame[value] / frame[share_of].where(frame[share_of] > 0)).fillna(0)
        elif aggregate:
            frame = frame.groupby(["date", by], as_index=False)[value].sum()
        colours = colours or _colours(sorted(frame[by].unique()))
        for key, rows in frame.groupby(by, sort=True):
            ax.plot(_dates(rows), rows[value] * scale, color=colours.get(key, "0.5"),
                    label=label(key) if key not in drawn and style is THIS_RUN else None,
                    **style)
            drawn[key] = True
    if drawn:
        ax.legend(fontsize=7, ncol=min(4, len(drawn)), loc="upper left", framealpha=0.8)
    return True


def exports(run, unchanged, good: str, origin: str = "CHN") -> Figure:
    """Monthly exports of `good` from `origin`: the total against customs data where the
    package has it (China's magnets), and by destination."""
    fig, (total, by_destination) = _figure(2, f"{good} exports from {origin} (customs table, "
                                              "monthly)")
    observed = observed_magnet_exports() if good == "magnet" and origin == "CHN" else None
    colours = None
    for result, style in _pair(run, unchanged):
        monthly = outcomes.monthly_exports(result, good, origin)
        if not _has(monthly, "month", "destination", "quantity_t"):
            continue
        monthly = monthly.assign(date=pd.to_datetime(monthly["month"] + "-15"))
        whole = monthly[monthly["destination"] == "ALL"]
        total.plot(whole["date"], whole["quantity_t"], color="C0",
                   label="model, all destinations" if style is THIS_RUN else None, **style)
        parts = monthly[monthly["destination"] != "ALL"]
        colours = colours or _colours(sorted(parts["destination"].unique()))
        for destination, rows in parts.groupby("destination"):
            by_destination.plot(rows["date"], rows["quantity_t"], color=colours[destination],
                                label=destination if style is THIS_RUN else None, **style)
    if _has(observed, "month", "destination", "observed_t"):
        observed = observed.assign(date=pd.to_datetime(observed["month"] + "-15"))
        for ax, destination, marker in ((total, "ALL", "o"), (by_destination, "USA", "x")):
            rows = observed[observed["destination"] == destination]
            ax.plot(rows["date"], rows["observed_t"], marker, color="black", markersize=4,
                    linestyle="none", label=f"customs data ({destination})")
    total.set_ylabel("t per month")
    by_destination.set_ylabel("t per month")
    for ax in (total, by_destination):
        ax.set_ylim(bottom=0)
        if ax.get_lines():
            ax.legend(fontsize=7, ncol=4, loc="upper left", framealpha=0.8)
    return _finish(fig, [total, by_destination], run, unchanged)


def prices(run, unchanged, good: str) -> Figure:
    """Weekly price of `good` inside (CHN) and outside (ROW) China."""
    fig, (ax,) = _figure(1, f"{good}: price inside and outside China")
    names = {"CHN": "inside China", "ROW": "outside China"}
    if not _lines(ax, _pair(run, unchanged), "prices", "region", "price_usd_per_kg",
                  {"good": good}, aggregate=False, label=lambda r: names.get(r, r)):
        _missing(ax, "prices")
    ax.set_ylabel("USD per kg")
    ax.set_ylim(bottom=0)
    return _finish(fig, [ax], run, unchanged)


def shortages(run, unchanged, good: str) -> Figure:
    """Demand not met by buyers' country, and the share of capacity halted by sector."""
    fig, (lost, halted) = _figure(2, f"{good} buyers: demand not met and capacity halted")
    if not _lines(lost, _pair(run, unchanged), "weekly", "country", "shortfall_t",
                  {"good": good}):
        _missing(lost, "shortfall")
    if not _lines(halted, _pair(run, unchanged), "weekly", "sector", "halted_demand_t",
                  {"good": good}, scale=100.0, share_of="demand_t", label=_sector):
        _missing(halted, "halts")
    lost.set_title("demand not met (shortfall), by buyers' country", fontsize=9)
    lost.set_ylabel("tonnes per week")
    threshold = (run or unchanged).config.market.halt_threshold if (run or unchanged) else 0.5
    halted.set_title(f"share of buyers' capacity halted (less than {threshold:.0%} of weekly "
                     "need met), by sector", fontsize=9)
    halted.set_ylabel("% of capacity halted")
    for ax in (lost, halted):
        ax.set_ylim(bottom=0)
    return _finish(fig, [lost, halted], run, unchanged)


def licences(run, unchanged, good: str) -> Figure:
    """Licence applications filed, approved and refused each week, and the backlog."""
    fig, (flows, backlog) = _figure(2, f"export licences for {good}")
    colours = {"filed_t": "C0", "approved_t": "C2", "refused_t": "C3", "backlog_t": "0.2"}
    drew = False
    for result, style in _pair(run, unchanged):
        frame = result.licences
        if not _has(frame, "date", "good"):
            continue
        frame = frame[frame["good"] == good].groupby("date", as_index=False).sum(
            numeric_only=True)
        for ax, columns in ((flows, ("filed_t", "approved_t", "refused_t")),
                            (backlog, ("backlog_t",))):
            for column in columns:
                if column in frame.columns:
                    ax.plot(_dates(frame), frame[column], color=colours[column],
                            label=column.removesuffix("_t") if style is THIS_RUN else None,
                            **style)
                    drew = True
    if not drew:
        flows.text(0.5, 0.5, f"no licence office for {good} in this scenario",
                   transform=flows.transAxes, ha="center", color="0.4", fontsize=9)
    flows.set_ylabel("t per week")
    backlog.set_ylabel("t pending")
    backlog.set_title("backlog of applications", fontsize=9)
    for ax in (flows, backlog):
        ax.set_ylim(bottom=0)
        if ax.get_lines():
            ax.legend(fontsize=7, ncol=3, loc="upper left", framealpha=0.8)
    return _finish(fig, [flows, backlog], run, unchanged)


def _sector(name: str) -> str:
    return name.replace("_", " ")


def value_added(run, unchanged, good: str) -> Figure:
    """Value added lost each week by the buyers of `good` (their output not made for want of
    it, at the sector's value-added share), by buyers' country and by sector."""
    fig, (by_country, by_sector) = _figure(2, f"{good} buyers: value added lost")
    pairs = _pair(run, unchanged)
    if not _lines(by_country, pairs, "weekly", "country", "value_added_lost_usd",
                  {"good": good}, scale=1e-6):
        _missing(by_country, "value added")
    if not _lines(by_sector, pairs, "weekly", "sector", "value_added_lost_usd",
                  {"good": good}, scale=1e-6, label=_sector):
        _missing(by_sector, "value added")
    result = run if run is not None else unchanged
    weekly = result.weekly if result is not None else None
    if _has(weekly, "good", "value_added_usd") and not (
            weekly.loc[weekly["good"] == good, "value_added_usd"] > 0).any():
        by_country.text(0.5, 0.5, f"no value added is counted for the buyers of {good}",
                        transform=by_country.transAxes, ha="center", color="0.4", fontsize=9)
    by_country.set_title("value added lost, by buyers' country", fontsize=9)
    by_sector.set_title("value added lost, by buyers' sector", fontsize=9)
    for ax in (by_country, by_sector):
        ax.set_ylabel("USD million per week")
        ax.set_ylim(bottom=0)
    return _finish(fig, [by_country, by_sector], run, unchanged)


def _supply(good: str, outside: str | None = None):
    """The shipments of `good` to buyers (those outside `outside`, if given) by week and
    origin, with each origin's share of the week's tonnes."""
    def table(result) -> pd.DataFrame | None:
        frame = getattr(result, "shipments", None)
        if not _has(frame, "date", "good", "origin", "destination", "quantity_t"):
            return frame
        frame = frame[frame["good"] == good]
        if outside is not None:
            frame = frame[frame["destination"] != outside]
        frame = frame.groupby(["date", "origin"], as_index=False)["quantity_t"].sum()
        total = frame.groupby("date")["quantity_t"].transform("sum")
        frame["share"] = (frame["quantity_t"] / total.where(total > 0)).fillna(0.0)
        return frame
    return table


def supply(run, unchanged, good: str) -> Figure:
    """Tonnes of `good` shipped to buyers each week by origin country (the ledger of
    shipments, domestic supply included), and each origin's share of what buyers outside
    China receive."""
    fig, (tonnes, shares) = _figure(2, f"{good} supply to buyers, by origin")
    pairs = _pair(run, unchanged)
    keys = set()
    for result, _ in pairs:
        frame = getattr(result, "shipments", None)
        if _has(frame, "good", "origin"):
            keys |= set(frame.loc[frame["good"] == good, "origin"])
    colours = _colours(sorted(keys))
    if not _lines(tonnes, pairs, _supply(good), "origin", "quantity_t", {},
                  colours=colours):
        _missing(tonnes, "shipments")
    if not _lines(shares, pairs, _supply(good, outside="CHN"), "origin", "share", {},
                  scale=100.0, colours=colours):
        _missing(shares, "shipments")
    tonnes.set_title("shipped to buyers (all buyers, domestic supply included), by origin",
                     fontsize=9)
    tonnes.set_ylabel("tonnes per week")
    shares.set_title("share of what buyers outside China receive, by origin", fontsize=9)
    shares.set_ylabel("% of tonnes received")
    tonnes.set_ylim(bottom=0)
    shares.set_ylim(0, 105)
    return _finish(fig, [tonnes, shares], run, unchanged)


LICENCE_COUNTS = ("date", "state", "good", "destination", "filed_n", "approved_n", "refused_n")
NO_SHARES = pd.DataFrame({"date": [], "series": [], "share": []})


def _applications(frame: pd.DataFrame | None, good: str) -> tuple[pd.DataFrame | None, str]:
    """The licence rows of `good`, of listed grades when the table tells grades apart (the
    others are licensed only while customs cannot tell them apart), and which grades."""
    if frame is None or not set(LICENCE_COUNTS) <= set(frame.columns):
        return None, ""
    frame = frame[frame["good"] == good]
    if frame.empty:
        return frame, ""
    if "grade" in frame.columns and (frame["grade"] == "listed").any():
        return frame[frame["grade"] == "listed"], "listed grades"
    return frame, "all grades"


def _approved_each_week(good: str):
    def table(result) -> pd.DataFrame | None:
        frame, _ = _applications(getattr(result, "licences", None), good)
        if frame is None:
            return getattr(result, "licences", None)
        if frame.empty:
            return NO_SHARES
        frame = frame.groupby("date", as_index=False)[["approved_n", "refused_n"]].sum()
        decided = frame["approved_n"] + frame["refused_n"]
        frame["share"] = frame["approved_n"] / decided.where(decided > 0)
        frame["series"] = "all destinations"
        return frame
    return table


def _granted_so_far(good: str):
    def table(result) -> pd.DataFrame | None:
        frame, _ = _applications(getattr(result, "licences", None), good)
        if frame is None:
            return getattr(result, "licences", None)
        if frame.empty:
            return NO_SHARES
        frame = frame.groupby(["state", "destination", "date"], as_index=False)[
            ["filed_n", "approved_n"]].sum().sort_values("date")
        sums = frame.groupby(["state", "destination"])[["filed_n", "approved_n"]].cumsum()
        frame["share"] = sums["approved_n"] / sums["filed_n"].where(sums["filed_n"] > 0)
        several = frame["state"].nunique() > 1
        frame["series"] = (frame["state"] + " to " + frame["destination"] if several
                           else frame["destination"])
        return frame
    return table


def approvals(run, unchanged, good: str) -> Figure:
    """The share of licence applications for `good` approved: each week, of those decided
    (approved or refused) that week; and since the run began, of those filed
    (`abm.outcomes.granted_share` at each week), by destination."""
    result = run if run is not None else unchanged
    _, grades = _applications(result.licences if result is not None else None, good)
    fig, (weekly, so_far) = _figure(2, f"export licences for {good}: share approved"
                                    + (f" ({grades})" if grades else ""))
    pairs = _pair(run, unchanged)
    if not _lines(weekly, pairs, _approved_each_week(good), "series", "share", {},
                  scale=100.0, aggregate=False, colours={"all destinations": "C0"}):
        _missing(weekly, "licence counts")
    if not _lines(so_far, pairs, _granted_so_far(good), "series", "share", {}, scale=100.0,
                  aggregate=False):
        _missing(so_far, "licence counts")
    licensed, _ = _applications(result.licences if result is not None else None, good)
    if licensed is not None and licensed.empty:
        weekly.text(0.5, 0.5, f"no licence applications for {good} so far in this run",
                    transform=weekly.transAxes, ha="center", color="0.4", fontsize=9)
    weekly.set_title("each week: approved, of the applications decided that week (approved "
                     "or refused)", fontsize=9)
    weekly.set_ylabel("% of decided approved")
    so_far.set_title("since the run began: approved, of the applications filed (granted "
                     "share), by destination", fontsize=9)
    so_far.set_ylabel("% of filed approved")
    for ax in (weekly, so_far):
        ax.set_ylim(0, 105)
    return _finish(fig, [weekly, so_far], run, unchanged)


def chips(run, unchanged, good: str = "") -> Figure:
    """AI-chip sales revenue by buyers' region, and the share of chip demand served."""
    fig, (sales, access) = _figure(2, "AI chips: sales and access")
    names = {"CHN": "China", "ROW": "rest of the world"}
    if not _lines(sales, _pair(run, unchanged), "chip_sales", "region", "revenue_usd", {},
                  scale=1e-9, label=lambda r: names.get(r, r)):
        _missing(sales, "chip sales")
    if not _lines(access, _pair(run, unchanged), "chip_access", "region", "access", {},
                  aggregate=False, label=lambda r: names.get(r, r)):
        _missing(access, "chip access")
    sales.set_title("sales revenue, by buyers' region", fontsize=9)
    sales.set_ylabel("USD bn per week")
    access.set_title("access: share of chip demand served", fontsize=9)
    access.set_ylabel("share (0-1)")
    sales.set_ylim(bottom=0)
    access.set_ylim(0, 1.05)
    return _finish(fig, [sales, access], run, unchanged)


def payoffs(run, unchanged, good: str = "") -> Figure:
    """Each State's weekly pain, the opposite of its payoff (a weighted sum of shares)."""
    fig, (ax,) = _figure(1, "States' payoffs: weekly pain (lower is better)")
    if not _lines(ax, _pair(run, unchanged), "pain", "state", "pain", {}, aggregate=False):
        _missing(ax, "pain")
    ax.set_ylabel("pain (share, 0-1)")
    ax.set_ylim(bottom=0)
    return _finish(fig, [ax], run, unchanged)


TITLES = {
    "exports": "Monthly exports by destination, against customs data",
    "prices": "Weekly prices inside and outside China",
    "shortages": "Demand not met and capacity halted",
    "value_added": "Value added lost by buyers' country and sector",
    "supply": "Supply to buyers by origin",
    "licences": "Export licences: applications and backlog",
    "approvals": "Export licences: share of applications approved",
    "chips": "AI chips: sales and access",
    "payoffs": "States' payoffs: weekly pain",
}

CHARTS: dict[str, Callable[..., Figure]] = {
    "exports": exports,
    "prices": prices,
    "shortages": shortages,
    "value_added": value_added,
    "supply": supply,
    "licences": licences,
    "approvals": approvals,
    "chips": chips,
    "payoffs": payoffs,
}


def png(fig: Figure, events=()) -> bytes:
    """The figure as PNG at `abm.plots.DPI`, with the key of numbered events under it (for
    downloads; the page shows the figure without the key, which it lists once)."""
    if events:
        plots.event_key(fig, events)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=plots.DPI)
    return buffer.getvalue()


def page_png(fig: Figure) -> bytes:
    """The figure as the page shows it (light compression: it is sent once, drawn often)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=PAGE_DPI, pil_kwargs={"compress_level": 1})
    return buffer.getvalue()
