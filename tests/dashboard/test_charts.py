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
