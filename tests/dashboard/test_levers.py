"""Levers read from a scenario, and a scenario with levers set."""

from __future__ import annotations

import pytest

import abm
from abm.dashboard.levers import LeverError, apply, levers, moved


@pytest.fixture(scope="module")
def history():
    return abm.load("history-2025")


def by_name(config):
    return {lever.name: lever for lever in levers(config)}


def test_levers_cover_the_main_policy_values_with_units(history):
    found = by_name(history)
    april = [lever for lever in found.values() if "China licences Dy/Tb magnets" in lever.where]
    assert {lever.what for lever in april} >= {
        "regime", "approval rate (0-1)", "review time (weeks)", "office capacity (t/week)"}
    assert any(lever.what.startswith("tariff") for lever in found.values())
    assert {"buyers_cover_scale", "stockpile_cover_gain", "s_chn", "s_usa"} <= set(found)
    assert len(found) == len(levers(history))
    for lever in found.values():
        assert lever.parse(lever.text()) == lever.value  # the page's first value is no change


def test_levers_at_the_scenario_value_change_nothing(history):
    values = {lever.name: lever.text() for lever in levers(history)}
    assert moved(history, values) == []
    assert apply(history, values) is history


def test_apply_sets_the_paths_of_a_lever(history):
    approval = next(lever for lever in levers(history)
                    if lever.where.endswith("China licences Dy/Tb magnets")
                    and lever.what == "approval rate (0-1)")
    changed = apply(history, {approval.name: "0.3"})
    index = int(approval.paths[0].split("[")[1].split("]")[0])
    assert changed.events[index].control.approval == 0.3
    assert history.events[index].control.approval != 0.3


def test_cover_scale_multiplies_every_buyer_groups_cover(history):
    changed = apply(history, {"buyers_cover_scale": 2})
    for before, after in zip(history.buyers, changed.buyers, strict=True):
        assert after.cover_weeks == pytest.approx(tuple(2 * w for w in before.cover_weeks))


def test_deal_and_bargaining_levers_appear_where_deals_are_used():
    assert not [lv for lv in levers(abm.load("history-2025")) if lv.where.startswith("deal")]
    bargaining = by_name(abm.load("bargaining-2025"))
    assert "d_london_duration" in bargaining
    assert {"s_chn_renege", "s_usa_threshold"} <= set(bargaining)


@pytest.mark.parametrize("name, value, message", [
    ("e3_approval", "abc", "expected a number, got 'abc'"),
    ("e3_approval", "1.5", "expected a number from 0 to 1, got '1.5'"),
    ("e3_review_weeks", "-1", "expected a number >= 0"),
    ("e3_regime", "embargo", "expected one of none, licence, quota, ban"),
    ("nonsense", "1", "not a lever of scenario"),
])
def test_unusable_values_name_the_control(history, name, value, message):
    with pytest.raises(LeverError) as caught:
        apply(history, {name: value})
    assert message in str(caught.value)
    if name != "nonsense":
        assert by_name(history)[name].label in str(caught.value)


def test_what_the_scenario_rejects_is_reported_against_the_control(history):
    with pytest.raises(LeverError) as caught:
        apply(history, {"e3_review_capacity_t_per_week": "0"})
    assert str(caught.value).startswith("office capacity (t/week) · 2025-04-04")
    assert "> 0" in str(caught.value)
