"""The dashboard's charts and downloads, drawn in-process from `abm.Result` tables."""

from __future__ import annotations

import io
import zipfile

import pandas as pd
import pytest

from abm.dashboard import charts
from abm.dashboard.session import DashboardModel


@pytest.fixture(scope="module")
def moved():
    model = DashboardModel("history-2025", run_to="2025-08-01", e3_approval="0.2")
    model.run_to_date()
    return model


@pytest.mark.parametrize("name", list(charts.CHARTS))
def test_each_chart_draws_this_run_and_the_unchanged_one_with_units(moved, name):
    figure = charts.CHARTS[name](moved.result, moved.unchanged, "magnet")
    axes = figure.get_axes()
    assert all(ax.get_ylabel() for ax in axes)
    styles = {line.get_linestyle() for ax in axes for line in ax.get_lines()}
    assert {"-", "--"} <= styles
    assert all(ax.collections for ax in axes)  # the event markers
    png = charts.png(figure, moved.config.events)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_browser_driver_waits_for_every_chart_of_the_page():
    from abm.dashboard import browser

    assert browser.CHARTS == tuple(charts.CHARTS) == tuple(charts.TITLES)


def test_exports_chart_shows_customs_data_for_chinas_magnets(moved):
    figure = charts.exports(moved.result, moved.unchanged, "magnet")
    labels = [line.get_label() for ax in figure.get_axes() for line in ax.get_lines()]
    assert "customs data (ALL)" in labels and "customs data (USA)" in labels
    other = charts.exports(moved.result, moved.unchanged, "heavy_ree")
    assert not any("customs data" in line.get_label()
                   for ax in other.get_axes() for line in ax.get_lines())


class _WithoutColumn:
    """A result whose price table lacks its value column (a renamed column)."""

    def __init__(self, result):
        self._result = result
        self.prices = result.prices.rename(columns={"price_usd_per_kg": "price"})

    def __getattr__(self, name):
        return getattr(self._result, name)


def test_a_missing_column_is_said_on_the_chart_not_raised(moved):
    figure = charts.prices(_WithoutColumn(moved.result), None, "magnet")
    texts = [t.get_text() for ax in figure.get_axes() for t in ax.texts]
    assert any("no prices" in t for t in texts)


def test_downloads_hold_both_runs_tables_and_every_chart(moved):
    from abm.dashboard.app import charts_zip, tables_zip

    with zipfile.ZipFile(io.BytesIO(tables_zip(moved))) as archive:
        names = set(archive.namelist())
        customs = pd.read_csv(archive.open("this_run/customs_monthly.csv"), dtype={"month": str})
        levers = pd.read_csv(archive.open("levers.csv"))
    assert {"this_run/weekly.csv", "unchanged/weekly.csv", "this_run/weekly_pain.csv",
            "outcomes.csv", "levers.csv"} <= names
    assert customs["month"].max() == "2025-07"
    assert levers["lever"].tolist() == ["e3_approval"]
    with zipfile.ZipFile(io.BytesIO(charts_zip(moved))) as archive:
        assert sorted(archive.namelist()) == sorted(f"{n}.png" for n in charts.CHARTS)


def test_the_page_offers_every_lever_as_a_mesa_model_parameter(moved):
    from mesa.visualization.solara_viz import _check_model_params

    from abm.dashboard.app import model_params

    params = model_params("history-2025", moved.base)
    _check_model_params(moved, params)  # what SolaraViz checks when it builds the page
    assert params["source"] == "history-2025"
    assert {"seed", "run_to", "e3_approval"} <= set(params)
    rebuilt = DashboardModel(**{k: v if not isinstance(v, dict) else v["value"]
                                for k, v in params.items()})
    assert rebuilt.problem is None and not rebuilt.changed


@pytest.mark.parametrize("name", list(charts.CHARTS))
def test_each_chart_draws_in_the_first_weeks_before_any_licence_or_loss(name):
    early = DashboardModel("history-2025", seed=2, run_to="2024-01-29")
    early.run_to_date()
    assert early.result.licences.empty
    figure = charts.CHARTS[name](early.result, early.unchanged, "magnet")
    assert charts.page_png(figure)[:8] == b"\x89PNG\r\n\x1a\n"


def _solid_lines(ax) -> dict[str, tuple]:
    """This run's lines on an axis by their legend label: (dates, values)."""
    return {line.get_label(): (pd.to_datetime(line.get_xdata()), line.get_ydata())
            for line in ax.get_lines()
            if line.get_linestyle() == "-" and not line.get_label().startswith("_")}


def test_value_added_lost_by_country_and_sector_adds_up_to_the_weekly_table(moved):
    figure = charts.value_added(moved.result, moved.unchanged, "magnet")
    by_country, by_sector = figure.get_axes()[:2]
    assert by_country.get_ylabel() == by_sector.get_ylabel() == "USD million per week"
    weekly = moved.result.weekly
    magnet = weekly[weekly["good"] == "magnet"]
    for ax, column, label in ((by_country, "country", str),
                              (by_sector, "sector", lambda s: s.replace("_", " "))):
        lines = _solid_lines(ax)
        expected = magnet.groupby(column)["value_added_lost_usd"].sum() / 1e6
        assert set(lines) == {label(key) for key in expected.index}
        for key, total in expected.items():
            assert lines[label(key)][1].sum() == pytest.approx(total)
    assert magnet["value_added_lost_usd"].sum() > 0  # the chart shows a loss, not zeros
    # a good whose buyers have no value added counted says so
    ree = charts.value_added(moved.result, moved.unchanged, "heavy_ree")
    assert any("no value added is counted" in t.get_text() for t in ree.get_axes()[0].texts)


def test_supply_by_origin_shows_the_shipments_ledger_and_shares_of_supply(moved):
    figure = charts.supply(moved.result, moved.unchanged, "magnet")
    tonnes, shares = figure.get_axes()[:2]
    shipments = moved.result.shipments
    magnet = shipments[shipments["good"] == "magnet"]
    lines = _solid_lines(tonnes)
    expected = magnet.groupby("origin")["quantity_t"].sum()
    assert set(lines) == set(expected.index) >= {"CHN", "JPN"}
    for origin, total in expected.items():
        assert lines[origin][1].sum() == pytest.approx(total)
    # shares of what buyers outside China receive: they add up to 100% each week
    share_lines = _solid_lines(shares)
    weeks = pd.DataFrame({o: pd.Series(y, index=x) for o, (x, y) in share_lines.items()})
    assert weeks.fillna(0).sum(axis=1).to_numpy() == pytest.approx(100.0)
    # April 2025's controls cut China's share of that supply
    chn = pd.Series(share_lines["CHN"][1], index=share_lines["CHN"][0])
    assert chn["2025-05"].min() < chn["2025-01"].min() - 20
    # large numbers on the axis carry thousands separators
    assert tonnes.yaxis.get_major_formatter()(6000.0) == "6,000"


def test_approval_share_each_week_and_the_granted_share_so_far(moved):
    from abm.outcomes import granted_share

    result = moved.result
    figure = charts.approvals(result, moved.unchanged, "magnet")
    weekly, so_far = figure.get_axes()[:2]
    assert "listed grades" in figure._suptitle.get_text()
    licences = result.licences
    listed = licences[(licences["good"] == "magnet") & (licences["grade"] == "listed")]
    by_week = listed.groupby("date")[["approved_n", "refused_n"]].sum()
    decided = by_week["approved_n"] + by_week["refused_n"]
    expected = (100 * by_week["approved_n"] / decided[decided > 0]).dropna()
    dates, values = _solid_lines(weekly)["all destinations"]
    drawn = pd.Series(values, index=dates.strftime("%Y-%m-%d")).dropna()
    pd.testing.assert_series_equal(drawn, expected, check_names=False, check_index_type=False)
    # the last point of each destination is abm.outcomes.granted_share over the run
    after_last = (pd.Timestamp(listed["date"].max()) + pd.Timedelta(days=1)).strftime("%Y-%m-%d")
    start = result.config.start.isoformat()
    lines = _solid_lines(so_far)
    assert set(lines) == set(listed["destination"])
    for destination, (_, values) in lines.items():
        assert values[-1] == pytest.approx(
            100 * granted_share(result, "CHN", "magnet", destination, start, after_last))
    # the lower April 2025 approval rate shows: in May, this run approves a smaller share of
    # what it decides than the scenario unchanged (dashed)
    (dashed,) = [line for line in weekly.get_lines() if line.get_linestyle() == "--"]
    unchanged = pd.Series(dashed.get_ydata(),
                          index=pd.to_datetime(dashed.get_xdata()).strftime("%Y-%m-%d"))
    may = slice("2025-05-01", "2025-05-31")
    assert drawn[may].mean() < unchanged[may].mean() - 20
    # a good no State licenses says so
    oxide = charts.approvals(result, moved.unchanged, "ndpr_oxide")
    assert any("no licence applications for ndpr_oxide" in t.get_text()
               for t in oxide.get_axes()[0].texts)
