"""abm.model_function: a plain, picklable f(params, seed) -> dict that equals a direct run."""

from __future__ import annotations

import datetime as dt
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest

import abm
from abm.outcomes import OutcomeError, evaluate

MADE_UP = Path(__file__).parent / "data" / "made_up.toml"
UNTIL = dt.date(2024, 8, 31)


def made_up_function(**kwargs):
    defaults = dict(
        parameters={"approval": "events[0].control.approval",
                    "halt": ["market.halt_threshold"],
                    "cover_scale": {"paths": "buyers[*].cover_weeks", "scale": True}},
        outcomes=["buyer_weeks_halted:CYR", "exports_t:gallium:ATL:BOR:2024-05",
                  "peak_price_ratio:gallium:ROW"],
        series=["exports_t:gallium:ATL:BOR", "buyers_halted:CYR"],
        until=UNTIL)
    return abm.model_function(abm.load(MADE_UP), **{**defaults, **kwargs})


def test_equals_a_direct_run_of_the_overridden_scenario():
    f = made_up_function()
    got = f({"approval": 0.3, "halt": 0.6, "cover_scale": 2.0}, seed=4)
    base = abm.load(MADE_UP)
    scenario = abm.override(base, {
        "events[0].control.approval": 0.3, "market.halt_threshold": 0.6,
        **{f"buyers[{i}].cover_weeks": [2.0 * w for w in b.cover_weeks]
           for i, b in enumerate(base.buyers)}})
    expected = evaluate(abm.run(scenario, seed=4, until=UNTIL), f.outcome_names[:3])
    assert {k: got[k] for k in expected} == expected


def test_series_are_arrays_over_the_periods_and_agree_with_the_metrics():
    f = made_up_function()
    got = f({"approval": 0.5}, seed=1)
    months = f.periods("exports_t:gallium:ATL:BOR")
    assert months == [f"2024-{m:02d}" for m in range(1, 9)]
    exports = got["exports_t:gallium:ATL:BOR"]
    assert exports.shape == (8,) and (exports > 0).all()
    assert exports[months.index("2024-05")] == pytest.approx(
        got["exports_t:gallium:ATL:BOR:2024-05"], abs=1e-3)  # the series is rounded to kg
    weeks = f.periods("buyers_halted:CYR")
    assert len(weeks) == got["buyers_halted:CYR"].size == 35
    assert got["buyers_halted:CYR"].sum() == got["buyer_weeks_halted:CYR"]


def test_is_picklable_deterministic_and_seeded():
    f = made_up_function()
    params = {"approval": 0.4, "halt": 0.5}
    first = f(params, seed=7)
    again = pickle.loads(pickle.dumps(f))(params, seed=7)
    for name in f.outcome_names:
        np.testing.assert_array_equal(again[name], first[name])
    other = f(params, seed=8)
    assert any(not np.array_equal(other[n], first[n]) for n in f.outcome_names)


def test_a_left_out_parameter_keeps_its_base_value():
    f = made_up_function()
    assert f.scenario({}) == f.base
    assert f.scenario({"approval": 0.9}).events[0].control.approval == 0.9


def test_mistakes_stop_when_the_function_is_built_or_called():
    with pytest.raises(OutcomeError, match=r"country 'CYRR'.*did you mean 'CYR'"):
        made_up_function(outcomes=["buyer_weeks_halted:CYRR"])
    with pytest.raises(OutcomeError, match=r"period '2024-10'"):
        made_up_function(outcomes=["exports_t:gallium:ATL:2024-10"])  # after `until`
    with pytest.raises(ValueError, match=r"market.halt_treshold"):
        made_up_function(parameters={"halt": "market.halt_treshold"})
    with pytest.raises(ValueError, match=r"unknown parameters \['aproval'\]"):
        made_up_function()({"aproval": 0.3}, seed=0)
    with pytest.raises(ValueError, match=r"probability"):
        made_up_function()({"approval": 1.3}, seed=0)


def test_warns_when_a_later_event_sets_the_varied_field_again():
    # events[1] (2024-09-02) sets review_weeks again: varying events[0]'s does nothing after.
    with pytest.warns(abm.OverriddenPathWarning, match=r"events\[0\].control.review_weeks.*"
                      r"event 1 \(licence_policy, 'ATL speeds up reviews'\).*2024-09-02"):
        made_up_function(parameters={"review": "events[0].control.review_weeks"}, until=None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # the run stops before the later event, and the later event leaves approval alone
        made_up_function(parameters={"review": "events[0].control.review_weeks"})
        made_up_function(parameters={"approval": "events[0].control.approval"}, until=None)
