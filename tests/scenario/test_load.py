"""Scenario files: built-ins load, `extends` merges, overrides, and every kind of bad input
gets one clear error naming the file, the field and what was expected."""

from __future__ import annotations

import re
from pathlib import Path

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
    assert len(child.events) == len(base.events) + 3  # magnets, oxides, the customs stop
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
label = "event 1"
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
    text = TINY + '\n[[events]]\ndate = 2024-03-01\nkind = "embargo"\nlabel = "x"\n'
    with pytest.raises(ScenarioError, match=r"events\[0\]\.kind: expected one of"):
        load(write_scenario(text))
    text = TINY + ('\n[[events]]\ndate = 2024-03-01\nkind = "export_control"\nlabel = "x"\n'
                   'state = "CHN"\n')
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
    with pytest.raises(ScenarioError, match=r"events\[label=\"Nowhere\"\]\.level: expected an "
                       r"element of events with label=\"Nowhere\"; no element has label='Nowhere'"):
        override(scenario, {'events[label="Nowhere"].level': 0.5})


def test_a_selector_matching_several_elements_sets_them_all():
    scenario = load("history-2025")
    changed = override(scenario, {'events[kind="tariff"].rate': 0.5})
    tariffs = [e for e in changed.events if e.kind == "tariff"]
    assert len(tariffs) >= 2 and {e.rate for e in tariffs} == {0.5}
    others = [(a, b) for a, b in zip(scenario.events, changed.events, strict=True)
              if a.kind != "tariff"]
    assert all(a == b for a, b in others)


# --- finite, bounded numbers --------------------------------------------------------------------

FIELDS = {
    "buyers[0].demand_t_per_year": ("[[buyers]]", "demand_t_per_year"),
    "exporters[0].capacity_t_per_week": ("[[exporters]]", "capacity_t_per_week"),
    "buyers[0].size_sigma": ("[[buyers]]", "size_sigma"),
    "market.demand_cv": ("[market]", "demand_cv"),
    "market.stockpile_cover_gain": ("[market]", "stockpile_cover_gain"),
}


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e308"])
@pytest.mark.parametrize("path", sorted(FIELDS))
def test_non_finite_and_huge_numbers_are_refused_naming_the_field(path, value, write_scenario):
    table, field = FIELDS[path]
    lines = TINY.splitlines()
    if table == "[market]":
        text = TINY + f"\n[market]\n{field} = {value}\n"
    else:
        start = lines.index(table)
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("[")),
                   len(lines))
        body = [line for line in lines[start:end] if not line.startswith(f"{field} =")]
        text = "\n".join([*lines[:start], *body, f"{field} = {value}", *lines[end:]]) + "\n"
    with pytest.raises(ScenarioError) as err:
        load(write_scenario(text))
    message = str(err.value)
    assert "\n" not in message and "scenario.toml" in message
    assert f"{path}: expected " in message
    assert "finite" in message or "magnitude" in message


@pytest.mark.parametrize(("line", "path", "expected"), [
    ("reference_price_usd_per_kg = { CHN = nan, ROW = 60.0 }",
     "goods[0].reference_price_usd_per_kg.CHN", "finite"),
    ('cover_weeks = [2.0, inf]', "buyers[0].cover_weeks[1]", "finite"),
])
def test_non_finite_numbers_inside_tables_and_pairs(line, path, expected, write_scenario):
    anchor = "count = 3" if "cover" in line else 'name = "magnet"'
    text = TINY
    if "reference" in line:
        text = text.replace("reference_price_usd_per_kg = { CHN = 50.0, ROW = 60.0 }\n", "")
    text = text.replace(anchor, f"{anchor}\n{line}", 1)
    with pytest.raises(ScenarioError, match=rf"{re.escape(path)}: expected .*{expected}"):
        load(write_scenario(text))


@pytest.mark.parametrize(("change", "match"), [
    ("start = 9999-01-01\nend = 9999-12-01", r"scenario\.start: expected a date between"),
    ("start = 0001-01-01\nend = 9999-12-01", r"scenario\.start: expected a date between"),
    ("start = 2024-01-01\nend = 9999-12-01", r"scenario\.end: expected a date between"),
])
def test_dates_are_bounded(change, match, write_scenario):
    text = TINY.replace("start = 2024-01-01\nend = 2024-12-31", change)
    with pytest.raises(ScenarioError, match=match):
        load(write_scenario(text))


@pytest.mark.parametrize(("text", "match"), [
    ("\n[market.transit_weeks]\ndefault = 1e9\n",
     r"market\.transit_weeks\.default: expected a whole number of weeks in \[0, 520\]"),
    ("\n[market]\ndemand_growth_per_year = 1e6\n",
     r"market\.demand_growth_per_year: expected a rate in \(-1, 10\]"),
    ("\n[market]\nexporter_forecast_weeks = 1e-300\n",
     r"exporter_forecast_weeks: expected a number > 0 \(at least 1e-06\)"),
])
def test_lags_rates_and_tiny_numbers_are_bounded(text, match, write_scenario):
    with pytest.raises(ScenarioError, match=match):
        load(write_scenario(TINY + text))
    count = TINY.replace("count = 3", "count = 100000000")
    with pytest.raises(ScenarioError, match=r"buyers\[0\]\.count: expected an integer in"):
        load(write_scenario(count))


@pytest.mark.parametrize(("content", "match"), [
    (b"\x00\xff\xfe\x01 binary", "not binary data"),
    (b"a = " + b"[" * 50_000, "nested too deeply|expected valid TOML"),
])
def test_files_that_are_not_toml_give_one_line(content, match, tmp_path):
    path = tmp_path / "odd.toml"
    path.write_bytes(content)
    with pytest.raises(ScenarioError, match=match) as err:
        load(path)
    assert "\n" not in str(err.value)


def test_a_removed_field_fails_with_what_replaces_it(write_scenario):
    text = TINY.replace('name = "magnet"\n', 'name = "magnet"\nreversion_per_week = 0.05\n', 1)
    with pytest.raises(ScenarioError) as err:
        load(write_scenario(text))
    message = str(err.value)
    assert "goods[0].reversion_per_week: expected no reversion_per_week (a field of earlier " \
           "versions): removed in the economic core v2" in message
    assert "price_elasticity_of_demand" in message
    # A field core v3 removed names its replacement too.
    text = TINY.replace('name = "magnet"\n', 'name = "magnet"\ndemand_sensitivity = 0.1\n', 1)
    with pytest.raises(ScenarioError, match=r"goods\[0\]\.demand_sensitivity: expected no "
                       r"demand_sensitivity .*price_elasticity_of_demand"):
        load(write_scenario(text))


def test_every_removed_field_is_really_gone_and_in_the_changelog():
    import dataclasses as dc

    from abm.scenario import config
    from abm.scenario.load import REMOVED_FIELDS

    changelog = (Path(__file__).resolve().parents[2] / "CHANGELOG.md").read_text()
    for (type_name, field_name) in REMOVED_FIELDS:
        cls = getattr(config, type_name)
        assert field_name not in {f.name for f in dc.fields(cls)}
        assert f"`{field_name}`" in changelog


def test_a_shipment_batch_under_a_kilogram_is_refused(write_scenario):
    text = TINY.replace('name = "magnet"\n', 'name = "magnet"\nshipment_batch_t = 1e-300\n', 1)
    with pytest.raises(ScenarioError, match=r"goods\[0\]\.shipment_batch_t: expected 0 or at "
                       r"least 0\.001 t"):
        load(write_scenario(text))
