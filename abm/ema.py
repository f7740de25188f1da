"""EMA Workbench models of a scenario (the optional extra: `pip install -e ".[ema]"`).

    from ema_workbench import RealParameter, perform_experiments
    from abm.ema import build_model

    model = build_model(
        "april-2025-controls",
        uncertainties=[RealParameter("approval", 0.2, 0.9)],
        levers=[RealParameter("review_weeks", 4.0, 12.0)],
        paths={"approval": ["events[0].control.approval", "events[1].control.approval"],
               "review_weeks": "events[0].control.review_weeks"},
        outcomes=["buyer_weeks_halted:USA", "exports_t:magnet:CHN:2025-05"],
        series=["exports_t:magnet:CHN"],
        until="2025-12-31", replications=3, seed=2025)
    experiments, outcomes = perform_experiments(model, scenarios=32, policies=2)

The model is an EMA `ReplicatorModel` over `abm.model_function`: each uncertainty or lever
sets the scenario paths `paths` gives for its name, in the grammar of `abm.paths` (one name
may set several; `scale` names the parameters that multiply the base values instead). A
`RealParameter` or `IntegerParameter` sets a number; a `CategoricalParameter` (or
`BooleanParameter`) sets its category's value, such as a regime `"licence"` or `"ban"`, each
category checked against the scenario when the model is built. Every experiment runs
`replications` times with the seeds an `abm sweep` of the same `seed` uses
(`abm.ensemble.seeds(seed, replications)`, the same seed for replication r at every point), so
an experiment equals the sweep's run at the same point. Outcome names are made into Python
identifiers for EMA (`ema_name`: `buyer_weeks_halted:USA` -> `buyer_weeks_halted_USA`) unless
given as a dict `{ema_name: outcome}`. Every outcome is an `ArrayOutcome`: a metric has shape
(experiments, replications), a series (experiments, replications, periods), with the periods
in `model.periods[ema_name]`; `ema_workbench.util.process_replications` averages the
replications. `tidy(results, model)` gives one row per run, like a sweep's `runs.parquet`.

Everything is checked when the model is built (outcomes, paths, and that every parameter has
paths), so a misspelt outcome stops before the first experiment. See docs/ema.md.
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from abm.ensemble import seeds as replication_seeds
from abm.function import ModelFunction, model_function
from abm.scenario import Scenario

with warnings.catch_warnings():
    # EMA warns at import that ipyparallel is absent; its sequential and multiprocessing
    # evaluators, the ones this adapter is used with, do not need it.
    warnings.filterwarnings("ignore", message="ipyparallel not installed")
    import ema_workbench as ema


def ema_name(outcome: str) -> str:
    """A Python identifier for an outcome name (EMA requires identifiers)."""
    name = re.sub(r"\W+", "_", outcome).strip("_")
    return name if name.isidentifier() else f"o_{name}"


@dataclass(frozen=True)
class EmaRun:
    """What EMA calls for one replication: `(seed=..., **parameters) -> {ema_name: value}`
    (picklable, for EMA's multiprocessing evaluator)."""

    function: ModelFunction
    names: tuple[tuple[str, str], ...]  # (EMA name, abm outcome name)

    def __call__(self, seed: int, **params: Any) -> dict[str, Any]:
        values = self.function(params, seed)
        return {ema_key: values[outcome] for ema_key, outcome in self.names}


def build_model(scenario: Scenario | str | Path, *, uncertainties: Sequence = (),
                levers: Sequence = (), paths: Mapping[str, str | Sequence[str]],
                outcomes: Sequence[str] | Mapping[str, str] = (),
                series: Sequence[str] | Mapping[str, str] = (),
                until: dt.date | str | None = None, replications: int = 1, seed: int = 0,
                scale: Iterable[str] = (), name: str = "abm",
                behaviours=None) -> ema.ReplicatorModel:
    """An EMA Workbench model of `scenario`; see the module docstring. `behaviours` is the
    registry of behaviours its runs use (`abm.agents.behaviours.Behaviours`)."""
    parameters = [*uncertainties, *levers]
    names = [p.name for p in parameters]
    missing = [n for n in names if n not in paths]
    if missing:
        raise ValueError(f"paths: expected scenario paths for every uncertainty and lever; "
                         f"missing {missing}")
    unused = sorted(set(paths) - set(names))
    if unused:
        raise ValueError(f"paths: {unused} are neither uncertainties nor levers ({names})")
    scale = set(scale)
    if scale - set(names):
        raise ValueError(f"scale: {sorted(scale - set(names))} are not parameters ({names})")
    if replications < 1:
        raise ValueError(f"replications: expected an integer >= 1, got {replications}")
    metric_names, series_names = _named(outcomes), _named(series)
    function = model_function(
        scenario,
        parameters={n: {"paths": paths[n], "scale": n in scale, "integer": _is_integer(p)}
                    for n, p in zip(names, parameters, strict=True)},
        outcomes=list(metric_names.values()), series=list(series_names.values()), until=until,
        behaviours=behaviours)
    for parameter in parameters:
        if isinstance(parameter, ema.CategoricalParameter):
            for category in _categories(parameter):
                try:
                    function.scenario({parameter.name: category})
                except ValueError as err:
                    raise ValueError(f"{parameter.name}: category {category!r} is not a value "
                                     f"the scenario accepts at {paths[parameter.name]}: {err}"
                                     ) from None
    all_names = {**metric_names, **series_names}
    if len(all_names) != len(metric_names) + len(series_names):
        raise ValueError(f"outcomes and series: expected distinct EMA names, got "
                         f"{list(metric_names)} and {list(series_names)}")
    model = ema.ReplicatorModel(name, function=EmaRun(function, tuple(all_names.items())))
    model.uncertainties = list(uncertainties)
    model.levers = list(levers)
    model.outcomes = [ema.ArrayOutcome(key) for key in all_names]
    model.replications = [{"seed": s} for s in replication_seeds(seed, replications)]
    model.periods = {key: function.periods(outcome) for key, outcome in series_names.items()}
    model.abm_outcomes = dict(all_names)
    return model


def _is_integer(parameter) -> bool:
    # EMA's CategoricalParameter (and BooleanParameter) subclass IntegerParameter, but pass
    # the category's value (a string, a number, true/false), not an integer index.
    return (isinstance(parameter, ema.IntegerParameter)
            and not isinstance(parameter, ema.CategoricalParameter))


def _categories(parameter) -> list[Any]:
    return [category.value for category in parameter.categories]


def _named(outcomes: Sequence[str] | Mapping[str, str]) -> dict[str, str]:
    if isinstance(outcomes, Mapping):
        bad = [k for k in outcomes if not k.isidentifier()]
        if bad:
            raise ValueError(f"outcome names for EMA must be Python identifiers, got {bad}")
        return dict(outcomes)
    named = {ema_name(o): o for o in outcomes}
    if len(named) != len(outcomes):
        raise ValueError(f"outcomes {list(outcomes)} give the same EMA name twice; pass a dict "
                         "{ema_name: outcome}")
    return named


def tidy(results: tuple[pd.DataFrame, dict[str, np.ndarray]], model: ema.ReplicatorModel
         ) -> pd.DataFrame:
    """One row per run (experiment x replication): the experiment's columns, `replication_id`,
    `seed` and each metric under its abm name (series are left in the arrays)."""
    experiments, outcomes = results
    seeds = [r["seed"] for r in model.replications]
    metrics = {k: v for k, v in model.abm_outcomes.items() if k not in model.periods}
    frames = []
    for r, seed in enumerate(seeds):
        frame = experiments.copy()
        frame["replication_id"] = r
        frame["seed"] = seed
        for key, outcome in metrics.items():
            frame[outcome] = np.asarray(outcomes[key], dtype=float)[:, r]
        frames.append(frame)
    return (pd.concat(frames).rename_axis("experiment").reset_index()
            .sort_values(["experiment", "replication_id"], ignore_index=True))
