"""Spec loading: the designs it gives, and one clear error per kind of mistake."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

import abm
from abm.sweep import SpecError, design_table, load_spec, spec_from_dict
from abm.sweep.spec import spec_seed_children
from tests.sweep.conftest import SMALL, SMOKE

MADE_UP = Path(__file__).resolve().parents[1] / "data" / "made_up.toml"


def test_smoke_spec_loads_with_at_most_20_runs():
    spec = load_spec(SMOKE)
    runs = len(design_table(spec)) * spec.replications
    assert 1 <= runs <= 20


def test_grid_is_the_full_factorial_in_order(write_spec):
    spec = load_spec(write_spec(SMALL))
    table = design_table(spec)
    assert list(table["design_id"]) == list(range(6))
    assert list(table["approval"]) == [0.2, 0.2, 0.2, 0.6, 0.6, 0.6]
    assert np.allclose(table["halt_threshold"], [0.3, 0.45, 0.6] * 2)


def test_scenario_for_applies_the_design_point(write_spec):
    spec = load_spec(write_spec(SMALL))
    scenario = spec.scenario_for((0.6, 0.45))
    assert scenario.events[0].control.approval == 0.6
    assert scenario.market.halt_threshold == 0.45


def test_seeds_come_from_seed_sequence_spawn(write_spec):
    spec = load_spec(write_spec(SMALL))
    seeds = spec_seed_children(spec)
    children = np.random.SeedSequence(7).spawn(2)
    assert seeds == [int(c.generate_state(1, np.uint64)[0] >> np.uint64(1)) for c in children]
    assert len(set(seeds)) == 2


def test_wildcard_scale_multiplies_every_group(write_spec):
    text = SMALL.replace('name = "halt_threshold"\npath = "market.halt_threshold"',
                         'name = "cover_scale"\npath = "buyers[*].cover_weeks"\nscale = true')
    spec = load_spec(write_spec(text))
    base = spec.base
    scenario = spec.scenario_for((0.2, 0.5))
    assert len(spec.parameters[1].targets) == len(base.buyers)
    for before, after in zip(base.buyers, scenario.buyers, strict=True):
        assert after.cover_weeks == pytest.approx(tuple(0.5 * w for w in before.cover_weeks))


@pytest.mark.parametrize("kind,extra,points", [
    ("lhs", "samples = 10", 10),
    ("sobol", "n = 8", 8 * (2 + 2)),
    ("morris", "trajectories = 4", 4 * 3),
])
def test_sampling_designs_are_reproducible(write_spec, kind, extra, points):
    text = (SMALL.replace('kind = "grid"', f'kind = "{kind}"\n{extra}')
            .replace("values = [0.2, 0.6]", "range = [0.2, 0.6]").replace("steps = 3\n", ""))
    spec = load_spec(write_spec(text))
    first, second = design_table(spec), design_table(spec)
    assert len(first) == points
    assert first.equals(second)
    assert first["approval"].between(0.2, 0.6).all()


def _error(write_spec, old: str, new: str) -> SpecError:
    path = write_spec(SMALL.replace(old, new))
    assert SMALL.replace(old, new) != SMALL, "the test's replacement did not apply"
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert str(path) in str(info.value)
    return info.value


def test_unknown_parameter_path(write_spec):
    err = _error(write_spec, "market.halt_threshold", "market.halt_treshold")
    assert err.path == "parameters[1].path"
    assert "market.halt_treshold" in str(err)


def test_empty_range(write_spec):
    err = _error(write_spec, "range = [0.3, 0.6]", "range = [0.3, 0.3]")
    assert err.path == "parameters[1].range"
    assert "non-empty range" in str(err)


def test_empty_value_list(write_spec):
    err = _error(write_spec, "values = [0.2, 0.6]", "values = []")
    assert err.path == "parameters[0].values"


def test_lower_bound_above_upper(write_spec):
    err = _error(write_spec, "range = [0.3, 0.6]", "range = [0.6, 0.3]")
    assert "lower bound not above the upper" in str(err)


def test_sobol_size_not_a_power_of_two(write_spec):
    text = (SMALL.replace('kind = "grid"', 'kind = "sobol"\nn = 100')
            .replace("values = [0.2, 0.6]", "range = [0.2, 0.6]").replace("steps = 3\n", ""))
    with pytest.raises(SpecError, match=r"design.n: expected a power of two.*got 100"):
        load_spec(write_spec(text))


def test_value_the_scenario_rejects(write_spec):
    err = _error(write_spec, "values = [0.2, 0.6]", "values = [0.2, 1.6]")
    assert "probability" in str(err)


def test_unknown_outcome(write_spec):
    err = _error(write_spec, '"buyer_weeks_halted:USA"', '"buyer_weeks_stopped:USA"')
    assert err.path == "outcomes.metrics"
    assert "buyer_weeks_stopped" in str(err)


def test_unknown_series(write_spec):
    err = _error(write_spec, 'series = ["exports_t:magnet:CHN"]', 'series = ["imports_t:x"]')
    assert err.path == "outcomes.series"


def test_unknown_scenario(write_spec):
    err = _error(write_spec, '"april-2025-controls"', '"april-2099"')
    assert err.path == "sweep.scenario"


def test_sampling_design_rejects_value_lists(write_spec):
    text = SMALL.replace('kind = "grid"', 'kind = "lhs"\nsamples = 4')
    with pytest.raises(SpecError, match=r"parameters\[0\].values: expected range"):
        load_spec(write_spec(text))


def test_a_parameter_may_name_an_event_by_its_label(write_spec):
    by_label = SMALL.replace('path = "events[0].control.approval"',
                             "path = 'events[label=\"China licences Dy/Tb magnets\"].control.approval'")
    spec = load_spec(write_spec(by_label))
    assert spec.scenario_for((0.2, 0.45)).events[0].control.approval == 0.2
    unknown = by_label.replace("China licences Dy/Tb magnets", "Nowhere")
    with pytest.raises(SpecError, match=r"parameters\[0\]\.path: expected an element of events "
                       r"with label=\"Nowhere\"; no element has label='Nowhere' \(valid: China "):
        load_spec(write_spec(unknown, "unknown.toml"))


def test_a_spec_warns_when_a_later_event_resets_a_swept_field():
    with pytest.warns(abm.OverriddenPathWarning, match=r"parameter 'review' sets "
                      r"events\[0\].control.review_weeks, but event 1"):
        spec_from_dict({
            "sweep": {"name": "warned", "scenario": str(MADE_UP)},
            "parameters": [{"name": "review", "path": "events[0].control.review_weeks",
                            "values": [2.0, 8.0]}],
            "outcomes": {"metrics": ["buyer_weeks_halted"]}})


def test_a_spec_with_a_misspelt_outcome_stops_before_running(write_spec):
    text = textwrap.dedent(f"""
        [sweep]
        scenario = "{MADE_UP}"
        [[parameters]]
        path = "market.halt_threshold"
        values = [0.4, 0.6]
        [outcomes]
        metrics = ["exports_t:gallium:ATL:BORR:2024"]
        """)
    with pytest.raises(SpecError, match=r"outcomes.metrics: .*destination 'BORR'.*did you mean "
                       r"'BOR'"):
        load_spec(write_spec(text))


@pytest.mark.parametrize(("old", "new", "path", "expected"), [
    ("range = [0.3, 0.6]", "range = [nan, 0.6]", "parameters[1].range", "two finite numbers"),
    ("range = [0.3, 0.6]", "range = [0.3, inf]", "parameters[1].range", "two finite numbers"),
    ("values = [0.2, 0.6]", "values = [0.2, nan]", "parameters[0].values", "finite numbers"),
    ("values = [0.2, 0.6]", "values = [0.2, [0.6]]", "parameters[0].values", "a list of numbers"),
    ("replications = 2", "replications = 100000000", "sweep.replications", "an integer in [1,"),
    ("steps = 3", "steps = 1000000000", "parameters[1].steps", "an integer in [2,"),
])
def test_non_finite_and_huge_values_are_refused(write_spec, old, new, path, expected):
    err = _error(write_spec, old, new)
    assert err.path == path and expected in str(err) and "\n" not in str(err)


@pytest.mark.parametrize(("design", "path"), [
    ('kind = "lhs"\nsamples = 1000000000', "design.samples"),
    ('kind = "sobol"\nn = 1073741824', "design.n"),
    ('kind = "morris"\ntrajectories = 1000000000', "design.trajectories"),
])
def test_sampling_designs_are_capped(write_spec, design, path):
    text = (SMALL.replace('kind = "grid"', design).replace("values = [0.2, 0.6]",
                                                           "range = [0.2, 0.6]")
            .replace("steps = 3\n", ""))
    with pytest.raises(SpecError) as err:
        load_spec(write_spec(text))
    assert err.value.path == path


def test_a_grid_too_large_in_all_is_refused_before_it_is_built(write_spec):
    text = SMALL.replace("steps = 3", "steps = 400000").replace("replications = 2",
                                                                "replications = 50")
    with pytest.raises(SpecError, match=r"at most 10,000,000 runs in all"):
        load_spec(write_spec(text))


def test_work_above_the_limit_needs_allow_large(write_spec, tmp_path, capsys):
    from abm.sweep.cli import main

    text = SMALL.replace("steps = 3", "steps = 20000").replace("replications = 2",
                                                               "replications = 200")
    spec = write_spec(text)
    out = tmp_path / "out"
    assert main(["sweep", str(spec), "--out", str(out), "--serial", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--allow-large" in err and "buyer-weeks" in err
    assert not out.exists()
