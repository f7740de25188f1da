"""`extends`: named lists merge by name, entries can be removed, events append, and errors
point to the file and the position where the mistake was written."""

from __future__ import annotations

import pytest

import abm
from abm.scenario import ScenarioError, load
from tests.conftest import TINY

BASE = TINY + """
[[exporters]]
name = "other maker"
country = "USA"
good = "magnet"
capacity_t_per_week = 5.0

[[buyers]]
country = "CHN"
sector = "wind"
good = "magnet"
demand_t_per_year = 500.0
sourcing = { CHN = 1.0 }

[[sectors]]
name = "automotive"
value_usd_per_t = 1.0e6

[[events]]
date = 2024-03-04
kind = "export_control"
label = "licence"
state = "CHN"
good = "magnet"
[events.control]
regime = "licence"
approval = 0.5
"""


def child(body: str) -> str:
    return '[scenario]\nname = "child"\nextends = "base.toml"\n' + body


def test_named_entries_update_add_and_remove(write_scenario):
    write_scenario(BASE, "base.toml")
    path = write_scenario(child("""
[[buyers]]
good = "magnet"
country = "USA"
sector = "automotive"
count = 7
behaviour = "dual_sourcing"

[[buyers]]
good = "magnet"
country = "CHN"
sector = "wind"
remove = true

[[buyers]]
good = "magnet"
country = "USA"
sector = "defence"
demand_t_per_year = 100.0
sourcing = { CHN = 0.5, USA = 0.5 }

[[exporters]]
name = "maker"
capacity_t_per_week = 80.0

[[sectors]]
name = "automotive"
contract_share = 0.9

[[events]]
date = 2024-06-03
kind = "licence_policy"
label = "easing"
state = "CHN"
good = "magnet"
changes = { approval = 0.9 }
"""), "child.toml")
    scenario = load(path)
    groups = {(g.good, g.country, g.sector): g for g in scenario.buyers}
    assert list(groups) == [("magnet", "USA", "automotive"), ("magnet", "USA", "defence")]
    automotive = groups["magnet", "USA", "automotive"]
    assert (automotive.count, automotive.behaviour) == (7, "dual_sourcing")
    assert automotive.demand_t_per_year == 2600.0  # the rest of the entry is the parent's
    assert [(e.name, e.capacity_t_per_week) for e in scenario.exporters] == [
        ("maker", 80.0), ("other maker", 5.0)]
    assert scenario.sectors[0].value_usd_per_t == 1.0e6
    assert scenario.sectors[0].contract_share == 0.9
    assert [e.label for e in scenario.events] == ["licence", "easing"]


def test_a_field_given_replaces_the_parents_table_whole(write_scenario):
    write_scenario(BASE.replace("sourcing = { CHN = 1.0 }\n", "sourcing = { CHN = 0.6, USA = 0.4 }\n",
                                1), "base.toml")
    path = write_scenario(child('[[buyers]]\ngood = "magnet"\ncountry = "USA"\n'
                                'sector = "automotive"\nsourcing = { CHN = 1.0 }\n'), "child.toml")
    assert load(path).buyers[0].sourcing == {"CHN": 1.0}


def test_events_can_be_removed_by_label(write_scenario):
    write_scenario(BASE, "base.toml")
    path = write_scenario(child('[[events]]\nlabel = "licence"\nremove = true\n'), "child.toml")
    assert load(path).events == ()


@pytest.mark.parametrize(("body", "message"), [
    ('[[buyers]]\ngood = "magnet"\ncountry = "EU"\nsector = "wind"\nremove = true\n',
     r"child\.toml: buyers\[0\]\.remove: expected an entry of the base scenario to remove "
     r"\(none has good = 'magnet', country = 'EU', sector = 'wind'\)"),
    ('[[exporters]]\nname = "maker"\nremove = "yes"\n',
     r"child\.toml: exporters\[0\]\.remove: expected true"),
    ('[[exporters]]\nname = "maker"\ncapacity_t_per_week = 1.0\nremove = true\n',
     r"child\.toml: exporters\[0\]: expected only name and remove = true"),
    ('[[events]]\nlabel = "nowhere"\nremove = true\n',
     r"child\.toml: events\[0\]\.remove: expected an entry of the base scenario"),
])
def test_bad_removals_name_the_child_file(write_scenario, body, message):
    write_scenario(BASE, "base.toml")
    with pytest.raises(ScenarioError, match=message):
        load(write_scenario(child(body), "child.toml"))


def test_errors_point_to_where_the_mistake_was_written(write_scenario):
    write_scenario(BASE, "base.toml")
    event = ('[[events]]\ndate = 2024-06-03\nkind = "licence_policy"\nlabel = "easing"\n'
             'state = "CHN"\ngood = "magnet"\nchanges = { approval = 1.5 }\n')
    # The child's only event is events[0] of child.toml, not events[1] of the merged list.
    with pytest.raises(ScenarioError, match=r"child\.toml: events\[0\]\.changes\.approval"):
        load(write_scenario(child(event), "child.toml"))
    # A field the child updated is the child's; one it did not is the parent's.
    bad_cover = ('[[buyers]]\ngood = "magnet"\ncountry = "USA"\nsector = "automotive"\n'
                 'cover_weeks = [5.0, 1.0]\n')
    with pytest.raises(ScenarioError, match=r"child\.toml: buyers\[1\]\.cover_weeks"):
        load(write_scenario(child('[[buyers]]\ngood = "magnet"\ncountry = "CHN"\n'
                                  'sector = "wind"\nremove = true\n' + bad_cover), "child.toml"))
    write_scenario(BASE.replace("capacity_t_per_week = 5.0", "capacity_t_per_week = -5.0"),
                   "base.toml")
    with pytest.raises(ScenarioError, match=r"base\.toml: exporters\[1\]\.capacity_t_per_week"):
        load(write_scenario(child('[[exporters]]\nname = "maker"\ncapacity_t_per_week = 9.0\n'),
                            "child.toml"))


def test_labels_are_required_and_unique_and_a_clash_names_both_places(write_scenario):
    with pytest.raises(ScenarioError, match=r"scenario\.toml: events\[0\]\.label: expected a "
                       "label naming the event"):
        load(write_scenario(BASE.replace('label = "licence"\n', "")))
    write_scenario(BASE, "base.toml")
    again = ('[[events]]\ndate = 2024-06-03\nkind = "note"\nlabel = "licence"\n')
    with pytest.raises(ScenarioError, match=r"child\.toml: events\[0\]\.label: expected a label "
                       r"not used by another event \(events\[0\] of .*base\.toml has it\)"):
        load(write_scenario(child(again), "child.toml"))


def test_every_builtin_event_has_a_unique_label():
    for name in abm.scenario.builtin_names():
        labels = [e.label for e in load(name).events]
        assert all(labels) and len(set(labels)) == len(labels), name


def test_a_child_adds_a_material_to_baseline_2024_and_keeps_every_parent_group(write_scenario):
    path = write_scenario("""
[scenario]
name = "germanium-on-baseline"
description = "HYPOTHETICAL: a made-up germanium market added to baseline-2024."
extends = "baseline-2024"
end = 2024-06-30

[[goods]]
name = "germanium"
reference_price_usd_per_kg = { CHN = 1500.0, ROW = 1900.0 }

[[countries]]
code = "XGE"
name = "Germania (hypothetical)"

[[exporters]]
name = "Chinese germanium refiners"
country = "CHN"
good = "germanium"
capacity_t_per_week = 2.0

[[buyers]]
country = "XGE"
sector = "infrared_optics"
good = "germanium"
demand_t_per_year = 60.0
count = 4
sourcing = { CHN = 1.0 }

[[events]]
date = 2024-03-04
kind = "export_control"
label = "China licences germanium (hypothetical)"
state = "CHN"
good = "germanium"
[events.control]
regime = "licence"
approval = 0.3
""")
    parent, scenario = load("baseline-2024"), load(path)
    assert scenario.buyers[: len(parent.buyers)] == parent.buyers
    assert scenario.exporters[: len(parent.exporters)] == parent.exporters
    assert scenario.goods[: len(parent.goods)] == parent.goods
    assert [c.code for c in scenario.countries] == [c.code for c in parent.countries] + ["XGE"]
    assert scenario.chipmakers == parent.chipmakers
    result = abm.run(scenario, seed=0)
    shipped = result.shipments.query("good == 'germanium' and destination == 'XGE'")
    assert 0 < shipped["quantity_t"].sum() < 60.0 / 2
