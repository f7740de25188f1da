"""abm.ema: EMA Workbench experiments equal `abm sweep` runs at the same points, and the worked
example of docs/ema.md runs."""

from __future__ import annotations

import re
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from ema_workbench import RealParameter, Sample, perform_experiments
from pandas.errors import Pandas4Warning

import abm
import abm.ema
from abm.outcomes import OutcomeError
from abm.sweep import load_spec, run_sweep

ROOT = Path(__file__).resolve().parents[1]
MADE_UP = ROOT / "tests" / "data" / "made_up.toml"
APPROVALS, HALTS, COVERS = [0.2, 0.4, 0.6, 0.8], [0.4, 0.6], [0.5, 2.0]
METRICS = ["buyer_weeks_halted:CYR", "exports_t:gallium:ATL:BOR:2024-05",
           "shortfall_t:gallium::solar"]


def test_sixteen_ema_experiments_equal_the_sweep_runs_at_the_same_points(tmp_path):
    # the sweep: a 4 x 2 x 2 grid, two replications
    spec = tmp_path / "spec.toml"
    spec.write_text(textwrap.dedent(f"""
        [sweep]
        name = "ema-check"
        scenario = "{MADE_UP}"
        until = 2024-07-31
        seed = 11
        replications = 2
        [[parameters]]
        name = "approval"
        paths = ["events[0].control.approval"]
        values = {APPROVALS}
        [[parameters]]
        name = "halt"
        path = "market.halt_threshold"
        values = {HALTS}
        [[parameters]]
        name = "cover_scale"
        path = "buyers[*].cover_weeks"
        scale = true
        values = {COVERS}
        [outcomes]
        metrics = {METRICS}
        """).replace("'", '"'))
    run_sweep(load_spec(spec), tmp_path / "sweep", serial=True, progress=False)
    swept = pd.read_parquet(tmp_path / "sweep" / "runs.parquet")

    # EMA: the same points as 8 scenarios (uncertainties) x 2 policies (the lever)
    model = abm.ema.build_model(
        MADE_UP, uncertainties=[RealParameter("approval", 0.2, 0.8),
                                RealParameter("halt", 0.4, 0.6)],
        levers=[RealParameter("cover_scale", 0.5, 2.0)],
        paths={"approval": ["events[0].control.approval"], "halt": "market.halt_threshold",
               "cover_scale": "buyers[*].cover_weeks"},
        scale=["cover_scale"], outcomes=METRICS, until="2024-07-31", replications=2, seed=11)
    scenarios = [Sample(approval=a, halt=h) for a in APPROVALS for h in HALTS]
    policies = [Sample(cover_scale=c) for c in COVERS]
    results = perform_experiments(model, scenarios=scenarios, policies=policies)
    experiments, outcomes = results
    assert len(experiments) == 16
    assert outcomes["buyer_weeks_halted_CYR"].shape == (16, 2)
    runs = abm.ema.tidy(results, model)

    keys = ["approval", "halt", "cover_scale", "replication_id"]
    both = runs.merge(swept, on=keys, suffixes=("_ema", "_sweep"), validate="one_to_one")
    assert len(both) == 32
    assert (both["seed_ema"] == both["seed_sweep"]).all()
    for name in METRICS:
        np.testing.assert_array_equal(both[f"{name}_ema"], both[f"{name}_sweep"])
    # the points differ from each other, so equal columns are not an accident
    assert both["buyer_weeks_halted:CYR_ema"].nunique() > 4


def test_build_model_refuses_mistakes_before_any_experiment():
    approval = RealParameter("approval", 0.2, 0.8)
    with pytest.raises(OutcomeError, match=r"good 'galium'.*did you mean 'gallium'"):
        abm.ema.build_model(MADE_UP, uncertainties=[approval],
                            paths={"approval": "events[0].control.approval"},
                            outcomes=["exports_t:galium:ATL:2024"])
    with pytest.raises(ValueError, match=r"missing \['approval'\]"):
        abm.ema.build_model(MADE_UP, uncertainties=[approval], paths={},
                            outcomes=["buyer_weeks_halted"])
    with pytest.raises(ValueError, match=r"same EMA name twice"):
        abm.ema.build_model(MADE_UP, uncertainties=[approval],
                            paths={"approval": "events[0].control.approval"},
                            outcomes=["buyer_weeks_halted:CYR", "buyer_weeks_halted_CYR"])


def test_outcome_names_become_identifiers():
    assert abm.ema.ema_name("exports_t:magnet:CHN:2025-04..2025-06") == \
        "exports_t_magnet_CHN_2025_04_2025_06"
    assert abm.ema.ema_name("buyer_weeks_halted::automotive").isidentifier()


def test_the_worked_example_in_docs_runs(capsys, monkeypatch, tmp_path):
    text = (ROOT / "docs" / "ema.md").read_text()
    code = re.findall(r"```python\n(.*?)```", text, re.S)[0]
    assert "N = 200 " in code
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    with warnings.catch_warnings():
        # EMA 3.0's PRIM calls pandas APIs that pandas 3.1 deprecates; the model does not.
        warnings.filterwarnings("ignore", category=Pandas4Warning, module=r"ema_workbench\.")
        exec(compile(code.replace("N = 200 ", "N = 16 "), "docs/ema.md", "exec"), namespace)
    experiments, outcomes = namespace["results"]
    assert len(experiments) == 32  # 16 scenarios x 2 policies
    assert outcomes["exports_t_magnet_CHN_USA"].shape == (32, 2, 18)
    scores = namespace["scores"]
    assert set(scores.index) == {"approval", "cover_scale", "review_weeks"}
    assert np.allclose(scores.sum(), 1.0)
    assert len(namespace["runs"]) == 64
    assert "replication_id" in capsys.readouterr().out


def test_a_categorical_parameter_sets_its_category_and_runs():
    from ema_workbench import CategoricalParameter

    model = abm.ema.build_model(
        MADE_UP, uncertainties=[CategoricalParameter("regime", ["licence", "ban"])],
        paths={"regime": "events[0].control.regime"},
        outcomes=["exports_t:gallium:ATL:BOR:2024-05"], until="2024-06-30")
    experiments, outcomes = perform_experiments(model, scenarios=4)  # sampled by EMA
    exports = outcomes["exports_t_gallium_ATL_BOR_2024_05"][:, 0]
    by_regime = {regime: set(exports[(experiments["regime"] == regime).to_numpy()])
                 for regime in ("licence", "ban")}
    assert by_regime["ban"] == {0.0}
    assert len(by_regime["licence"]) == 1 and min(by_regime["licence"]) > 0.0


def test_a_category_the_scenario_refuses_stops_the_build():
    from ema_workbench import CategoricalParameter

    with pytest.raises(ValueError, match=r"regime: category 'embargo' is not a value"):
        abm.ema.build_model(MADE_UP, levers=[CategoricalParameter("regime", ["licence", "embargo"])],
                            paths={"regime": "events[0].control.regime"},
                            outcomes=["buyer_weeks_halted"])


def test_an_ema_warning_names_the_callers_line():
    with pytest.warns(abm.OverriddenPathWarning) as caught:
        abm.ema.build_model(MADE_UP, levers=[RealParameter("review", 2.0, 8.0)],
                            paths={"review": "events[0].control.review_weeks"},
                            outcomes=["buyer_weeks_halted"])
    assert caught[0].filename == __file__


def test_the_sobol_example_in_docs_runs_and_gives_intervals(monkeypatch, tmp_path):
    text = (ROOT / "docs" / "ema.md").read_text()
    code = re.findall(r"```python\n(.*?)```", text, re.S)[1]
    assert "N = 256 " in code and "num_resamples=200" in code
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code.replace("N = 256 ", "N = 8 "), "docs/ema.md", "exec"), namespace)
    first = namespace["first"]
    assert list(first.index) == ["approval", "halt"]
    assert (first["S1_conf"] >= 0).all() and np.isfinite(first["S1_conf"]).all()
    assert len(namespace["experiments"]) == 8 * 6
