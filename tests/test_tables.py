"""Written tables keep their meaning: typed sorted dates, units, full precision, and outcomes
that name their period."""

from __future__ import annotations

import datetime as dt
import functools

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import abm
from abm import outcomes, tables
from abm.output import write_run


@functools.cache
def history_run():
    return abm.run(abm.load("history-2025"), seed=1, until=dt.date(2025, 11, 30))  # a Sunday: whole weeks


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tables") / "run"
    write_run(history_run(), folder)
    return folder


def test_floats_written_to_csv_read_back_equal(tmp_path):
    values = np.array([123_456_789.123_456_78, 0.1 + 0.2, 1e-12, 9_007_199_254_740_993.0,
                       2.0 / 3.0, 4_806.123_456_789_012, -0.0])
    frame = pd.DataFrame({"week": np.arange(1, values.size + 1), "quantity_t": values})
    tables.to_csv(frame, tmp_path / "x.csv")
    back = pd.read_csv(tmp_path / "x.csv")
    assert (back["quantity_t"].to_numpy() == values).all()


def test_a_runs_weekly_floats_survive_the_csv_exactly(written):
    result = history_run()
    back = tables.read_table(written / "weekly.csv")
    want = tables.typed(result.weekly)
    assert len(back) == len(want)
    for column in ("demand_t", "inventory_t", "output_value_usd", "cover_weeks"):
        np.testing.assert_array_equal(back[column].to_numpy(), want[column].to_numpy())


def test_series_have_typed_sorted_week_start_and_months(written):
    for name in ("weekly.csv", "weekly_prices.csv", "weekly_production.csv", "weekly_pain.csv"):
        frame = tables.read_table(written / name)
        assert "date" not in frame.columns, name
        assert pd.api.types.is_datetime64_any_dtype(frame["week_start"]), name
        assert frame["week_start"].is_monotonic_increasing, name
        # the week start is the scenario's start plus whole weeks, and matches the week number
        start = pd.Timestamp(history_run().config.start)
        assert ((frame["week_start"] - start).dt.days == 7 * (frame["week"] - 1)).all(), name
    prices = tables.read_table(written / "weekly_prices.csv")
    # within a week, rows are in key order (good, then region), not in the order of recording
    first = prices[prices["week"] == 1]
    assert list(first[["good", "region"]].itertuples(index=False)) == sorted(
        first[["good", "region"]].itertuples(index=False))
    customs = tables.read_table(written / "customs_monthly.csv")
    assert pd.api.types.is_datetime64_any_dtype(customs["month"])
    assert (customs["month"].dt.day == 1).all() and customs["month"].is_monotonic_increasing
    assert customs["month"].max() == pd.Timestamp("2025-11-01")
    # months stay readable as YYYY-MM in the CSV itself
    raw = pd.read_csv(written / "customs_monthly.csv", dtype=str)
    assert raw["month"].str.fullmatch(r"\d{4}-\d{2}").all()


def test_every_csv_column_has_a_unit_row_and_the_units_are_right(written):
    units = pd.read_csv(written / tables.UNITS_FILE, dtype=str, keep_default_na=False)
    for path in written.glob("*.csv"):
        if path.name == tables.UNITS_FILE:
            continue
        columns = list(pd.read_csv(path, nrows=0).columns)
        listed = units[units["file"] == path.name]
        assert list(listed["column"]) == columns, path.name
    unit = {(r.file, r.column): r.unit for r in units.itertuples()}
    assert unit["weekly.csv", "demand_t"] == "t per week"
    assert unit["weekly.csv", "inventory_t"] == "t"  # a stock, not a flow
    assert unit["weekly.csv", "output_lost_usd"] == "USD per week"
    assert unit["weekly.csv", "halted_share"] == "share (0-1)"
    assert unit["weekly_prices.csv", "price_usd_per_kg"] == "USD/kg"
    assert unit["customs_monthly.csv", "quantity_t"] == "t per month"
    assert unit["weekly_licences.csv", "backlog_t"] == "t"
    kind = {(r.file, r.column): r.type for r in units.itertuples()}
    assert kind["weekly.csv", "week_start"] == "date (YYYY-MM-DD)"
    assert kind["customs_monthly.csv", "month"] == "month (YYYY-MM)"
    assert tables.read_table(written / "weekly.csv").attrs["units"]["used_t"] == "t per week"


def test_parquet_schema_carries_units_and_a_date_type(written):
    schema = pq.read_schema(written / "shipments.parquet")
    assert schema.field("quantity_t").metadata[b"unit"] == b"t"
    assert schema.field("value_usd").metadata[b"unit"] == b"USD"
    assert str(schema.field("week_start").type) == "date32[day]"
    frame = tables.read_table(written / "shipments.parquet")
    assert frame.attrs["units"]["quantity_t"] == "t"
    assert frame["week_start"].is_monotonic_increasing


def test_unit_of_new_columns_follows_their_suffix():
    assert tables.unit_of("filed_n", "weekly_licences.csv") == "count per week"
    assert tables.unit_of("backlog_n", "weekly_licences.csv") == "count"
    assert tables.unit_of("value_added_lost_usd") == "USD per week"


# --- outcomes name their period -------------------------------------------------------------

def test_output_lost_over_a_named_period_is_the_pro_rata_sum_of_its_weeks():
    result = history_run()
    name = "output_lost_usd:USA:2025-04..2025-11"
    outcome = outcomes.parse(name, result.config)
    assert outcome.period_label == "April-November 2025"
    assert outcome.description.endswith("April-November 2025")
    weekly = result.weekly[result.weekly["country"] == "USA"]
    by_week = weekly.groupby("week")["output_lost_usd"].sum()
    starts = pd.to_datetime(weekly.groupby("week")["date"].first())
    # each week's days from 1 April to 30 November 2025
    inside = [sum(pd.Timestamp("2025-04-01") <= s + pd.Timedelta(days=d) <= pd.Timestamp(
        "2025-11-30") for d in range(7)) / 7 for s in starts]
    assert outcome.value(result) == pytest.approx((by_week.to_numpy() * inside).sum(), rel=1e-9)
    assert outcome.value(result) > 0


def test_periods_that_cover_the_run_add_up_to_the_whole_run():
    result = history_run()
    names = ["shortfall_t:magnet", "shortfall_t:magnet:2024", "shortfall_t:magnet:2025-01..2025-03",
             "shortfall_t:magnet:2025-04..2025-11"]
    got = outcomes.evaluate(result, names)
    whole = outcomes.parse(names[0], result.config)
    assert whole.period_label == "over the whole run"
    assert got[names[0]] == pytest.approx(got[names[1]] + got[names[2]] + got[names[3]])
    assert got[names[3]] > 0


def test_a_period_outside_the_run_or_misplaced_is_an_error_naming_it():
    config = history_run().config
    with pytest.raises(outcomes.OutcomeError, match="'2023'.*12 months"):
        outcomes.parse("output_lost_usd:USA:2023", config)
    with pytest.raises(outcomes.OutcomeError, match="a PERIOD last"):
        outcomes.parse("output_lost_usd:USA:automotive:wind", config)
    assert outcomes.parse("capacity_weeks_halted::automotive:2025", config).period_label == "2025"
