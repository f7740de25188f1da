"""Scenario files: built-ins load, `extends` merges, overrides, and every kind of bad input
gets one clear error naming the file, the field and what was expected."""

from __future__ import annotations

import pytest

import abm
from abm.scenario import ScenarioError, builtin_names, load, override
from tests.conftest import TINY


def test_builtins_load_and_describe_themselves():
    assert {"baseline-2024", "april-2025-controls"} <= set(builtin_names())
    for name in builtin_names():
        scenario = load(name)
        assert scenario.name == name
        assert scenario.description


def test_extends_appends_events_and_keeps_base_tables():
    base, child = load("baseline-2024"), load("april-2025-controls")
    assert child.buyers == base.buyers
    assert len(child.events) == len(base.events) + 2
    assert child.start == base.start and child.end == base.end


def test_override_changes_a_field_by_path_and_validates():
    scenario = load("april-2025-controls")
    changed = override(scenario, {"market.halt_threshold": 0.3, "events[0].control.approval": 0.2})
    assert changed.market.halt_threshold == 0.3
    assert changed.events[0].control.approval == 0.2
    with pytest.raises(ScenarioError, match=r"market\.no_such_field"):
        override(scenario, {"market.no_such_field": 1})
    with pytest.raises(ScenarioError, match=r"events\[0\]\.control\.approval.*\[0, 1\]"):
        override(scenario, {"events[0].control.approval": 1.5})


BAD_CASES = {
    "unknown good": (
        ('good = "magnet"\ndemand', 'good = "gallium"\ndemand'),
        r"buyers\[0\]\.good: expected a declared good",
    ),
    "unknown country": (
        ('country = "USA"\nsector', 'country = "XYZ"\nsector'),
        r"buyers\[0\]\.country: expected a declared country",
    ),
    "unknown agent type": (
        ("[[buyers]]", "[[traders]]"),
        r"traders: expected a field of Scenario",
    ),
    "negative capacity": (
        ("capacity_t_per_week = 100.0", "capacity_t_per_week = -5.0"),
        r"exporters\[0\]\.capacity_t_per_week: expected a number >= 0, got -5.0",
    ),
    "negative demand": (
        ("demand_t_per_year = 2600.0", "demand_t_per_year = -1.0"),
        r"buyers\[0\]\.demand_t_per_year: expected a number >= 0",
    ),
    "sourcing not summing to one": (
        ("sourcing = { CHN = 1.0 }", "sourcing = { CHN = 0.5 }"),
        r"buyers\[0\]\.sourcing: expected shares that sum to 1",
    ),
    "wrong type": (
        ("count = 3", 'count = "three"'),
        r"buyers\[0\]\.count: expected a whole number",
    ),
    "malformed TOML": (
        ("[[buyers]]", "[[buyers"),
        r"expected valid TOML",
    ),
    "end before start": (
        ("end = 2024-12-31", "end = 2023-12-31"),
        r"scenario\.end: expected a date after start",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_scenarios_get_one_clear_error(write_scenario, case):
    (old, new), message = BAD_CASES[case]
    assert old in TINY
    path = write_scenario(TINY.replace(old, new, 1))
    with pytest.raises(ScenarioError, match=message) as caught:
        load(path)
    assert str(path) in str(caught.value)


EVENT = """
[[events]]
date = {date}
kind = "export_control"
state = "CHN"
good = "magnet"
[events.control]
regime = "licence"
approval = {approval}
"""


@pytest.mark.parametrize(
    ("date", "approval", "message"),
    [
        ("2024-06-01", "1.5", r"events\[0\]\.control\.approval: expected a probability in \[0, 1\], got 1.5"),
        ("2023-06-01", "0.5", r"events\[0\]\.date: expected a date on or after the start 2024-01-01"),
        ("2025-06-01", "0.5", r"events\[0\]\.date: expected a date on or before the end 2024-12-31"),
    ],
)
def test_bad_events(write_scenario, date, approval, message):
    path = write_scenario(TINY + EVENT.format(date=date, approval=approval))
    with pytest.raises(ScenarioError, match=message):
        load(path)


def test_unknown_event_kind_and_missing_fields(write_scenario):
    text = TINY + '\n[[events]]\ndate = 2024-03-01\nkind = "embargo"\n'
    with pytest.raises(ScenarioError, match=r"events\[0\]\.kind: expected one of"):
        load(write_scenario(text))
    text = TINY + '\n[[events]]\ndate = 2024-03-01\nkind = "export_control"\nstate = "CHN"\n'
    with pytest.raises(ScenarioError, match=r"events\[0\]\.good: expected a good"):
        load(write_scenario(text))


def test_missing_file_and_unknown_builtin():
    with pytest.raises(ScenarioError, match="no such scenario file"):
        load("does/not/exist.toml")
    with pytest.raises(ScenarioError, match="built-ins: "):
        abm.load("no-such-builtin")


def test_override_chooses_an_event_by_its_label():
    scenario = load("history-2025")
    changed = override(scenario, {
        'events[label="China licences Dy/Tb magnets"].control.review_weeks': 5.0,
        'events[label="London framework"].changes["approval_by_destination.USA"]': 0.5,
    })
    magnet = next(e for e in changed.events if e.label == "China licences Dy/Tb magnets")
    london = next(e for e in changed.events if e.label == "London framework")
    assert magnet.control.review_weeks == 5.0
    assert london.changes["approval_by_destination.USA"] == 0.5
    with pytest.raises(ScenarioError, match=r"exactly one list element with label = 'Nowhere'"):
        override(scenario, {'events[label="Nowhere"].level': 0.5})
    with pytest.raises(ScenarioError, match=r"found [2-9]"):
        override(scenario, {'events[kind="tariff"].rate': 0.5})
