"""The Mesa model the page steps: the same run as `abm.run`, the unchanged run beside it, and
messages instead of exceptions. Orderings only: the model's economics are being changed."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

import abm
from abm.dashboard.session import DashboardModel, last_whole_month, outcome_table

MAY = "exports_t:magnet:CHN:2025-05"


def test_stepping_the_page_model_is_abm_run():
    model = DashboardModel("april-2025-controls", seed="3", run_to="2024-03-31")
    assert model.problem is None and model.running
    while model.running:
        model.step()
    assert model.date == dt.date(2024, 3, 25)
    same = abm.run(abm.load("april-2025-controls"), seed=3, until=dt.date(2024, 3, 31))
    assert model.result.weeks == same.weeks
    pd.testing.assert_frame_equal(model.result.weekly, same.weekly)
    pd.testing.assert_frame_equal(model.result.customs_monthly, same.customs_monthly)


def test_lower_approval_gives_lower_may_2025_exports_than_unchanged():
    model = DashboardModel("history-2025", run_to="2025-06-07", e3_approval="0.2")
    model.run_to_date()
    assert not model.running and model.date == dt.date(2025, 6, 2)
    assert model.changed and model.unchanged is not model.result
    assert model.unchanged.weeks == model.result.weeks
    table = outcome_table(model, "magnet").set_index("outcome")
    assert table.loc[MAY, "this_run"] < table.loc[MAY, "unchanged"]


def test_without_levers_moved_the_unchanged_run_is_this_run():
    model = DashboardModel("history-2025", run_to="2024-02-15")
    model.run_to_date()
    assert not model.changed and model.unchanged is model.result


@pytest.mark.parametrize("arguments, message", [
    ({"seed": "x"}, "seed: expected a whole number"),
    ({"seed": "-2"}, "seed: expected a whole number >= 0"),
    ({"run_to": "2025-13-01"}, "run to: expected a date YYYY-MM-DD"),
    ({"run_to": "2031-01-01"}, "run to: expected a date from 2024-01-01 to 2026-12-31"),
    ({"e3_approval": "2"}, "expected a number from 0 to 1"),
    ({"source": "no-such-file.toml"}, "expected a built-in scenario name or a .toml file in a "
     "folder the dashboard was started with (--scenarios DIR)"),
])
def test_unusable_values_become_a_message_not_an_exception(arguments, message):
    model = DashboardModel(**{"source": "history-2025", **arguments})
    assert message in model.problem
    assert not model.running and model.result is None
    model.step()
    model.run_to_date()
    assert model.date is None


def test_mesas_own_scenario_argument_is_ignored():
    from mesa.experimental.scenarios import Scenario

    model = DashboardModel("history-2025", scenario=Scenario(rng=None))
    assert model.problem is None


def test_last_whole_month_follows_the_weeks_run():
    model = DashboardModel("history-2025", run_to="2025-06-07")
    assert last_whole_month(model.result) is None
    model.run_to_date()
    assert last_whole_month(model.result) == "2025-05"


@pytest.mark.parametrize("value", ["0", "-5", "fast"])
def test_a_play_interval_that_is_not_a_positive_whole_number_stops_the_command(value, capsys):
    from abm.cli import main

    with pytest.raises(SystemExit) as stop:
        main(["dashboard", "history-2025", "--play-interval", value])
    assert stop.value.code == 2
    assert f"expected a whole number of milliseconds of 1 or more, got '{value}'" in \
        capsys.readouterr().err
