"""The model as a plain function, for any sweep, optimisation or sensitivity tool:

    f = abm.model_function("april-2025-controls",
                           parameters={"approval": ["events[0].control.approval",
                                                    "events[1].control.approval"],
                                       "halt_threshold": "market.halt_threshold"},
                           outcomes=["buyer_weeks_halted:USA", "exports_t:magnet:CHN:2025-05"],
                           series=["exports_t:magnet:CHN:USA"],
                           until=datetime.date(2025, 12, 31))
    f({"approval": 0.4, "halt_threshold": 0.5}, seed=3)
    # -> {"buyer_weeks_halted:USA": 41.0, "exports_t:magnet:CHN:2025-05": 812.4,
    #     "exports_t:magnet:CHN:USA": array([...one value a month...])}

`f` is picklable (a frozen dataclass holding the scenario), so it can be sent to worker
processes; the same parameters and seed give the same numbers in any process. Everything is
checked when `f` is built: each parameter's paths must name scenario fields, each outcome must
be computable on this scenario (see `abm.outcomes`), and a parameter whose field a later event
sets again inside the run raises `OverriddenPathWarning`. The sweep engine (`abm.sweep`) and
the EMA Workbench adapter (`abm.ema`) both run the model through it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from abm.outcomes import Outcome, parse_all, periods
from abm.parameters import (  # noqa: F401  (OverriddenPathWarning is public here too)
    OverriddenPathWarning,
    Parameter,
    overridden,
    resolve_targets,
    warn_overridden,
)
from abm.paths import PathError
from abm.run import Result, run
from abm.scenario import Scenario, load, override


@dataclass(frozen=True)
class ModelFunction:
    """`f(params, seed) -> {outcome: value}`; see the module docstring. Metrics are floats,
    series are 1-D float arrays over `periods(name)`."""

    base: Scenario
    parameters: tuple[Parameter, ...]
    metrics: tuple[Outcome, ...]
    series: tuple[Outcome, ...] = ()
    until: dt.date | None = None
    behaviours: Any = dataclasses.field(default=None, compare=False)  # Behaviours or None

    @property
    def parameter_names(self) -> list[str]:
        return [p.name for p in self.parameters]

    @property
    def outcome_names(self) -> list[str]:
        return [o.name for o in (*self.metrics, *self.series)]

    def periods(self, name: str) -> list[str]:
        """The periods (months `YYYY-MM` or weeks' first days) of series `name`'s values."""
        for outcome in self.series:
            if outcome.name == name:
                return periods(outcome.kind, self.base, self.until)
        raise KeyError(f"{name!r} is not a series of this function (series: "
                       f"{[o.name for o in self.series]})")

    def scenario(self, params: Mapping[str, Any]) -> Scenario:
        """The base scenario with `params` applied (a parameter left out keeps its base
        value); ValueError naming an unknown parameter or a value the scenario rejects."""
        known = {p.name: p for p in self.parameters}
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise ValueError(f"unknown parameters {unknown}: expected some of {sorted(known)}")
        changes: dict[str, Any] = {}
        for name, value in params.items():
            parameter = known[name]
            changes.update(parameter.changes(parameter.cast(value)))
        return override(self.base, changes, source=f"scenario {self.base.name!r}",
                        behaviours=self.behaviours)

    def run(self, scenario: Scenario, seed: int) -> Result:
        return run(scenario, seed, until=self.until, behaviours=self.behaviours)

    def measure(self, result: Result) -> dict[str, Any]:
        """Every metric (float) and series (array) of a finished run."""
        out: dict[str, Any] = self.metric_values(result)
        out.update((o.name, o.series_values(result)) for o in self.series)
        return out

    def metric_values(self, result: Result) -> dict[str, float]:
        return {o.name: o.value(result) for o in self.metrics}

    def series_table(self, result: Result) -> pa.Table:
        """The series of a finished run as one long table (`series`, `period`, `key`,
        `value`), the layout of a sweep's `series/` files."""
        parts = [o.series_rows(result) for o in self.series]
        names = [np.full(len(p[0]), o.name, dtype=object)
                 for o, p in zip(self.series, parts, strict=True)]
        return pa.table({
            "series": pa.array(np.concatenate(names) if names else [], pa.string()),
            "period": pa.array(np.concatenate([p[0] for p in parts]) if parts else [],
                               pa.string()),
            "key": pa.array(np.concatenate([p[1] for p in parts]) if parts else [], pa.string()),
            "value": pa.array(np.concatenate([p[2] for p in parts]) if parts else [],
                              pa.float64()),
        })

    def __call__(self, params: Mapping[str, Any], seed: int) -> dict[str, Any]:
        return self.measure(self.run(self.scenario(params), int(seed)))


def model_function(scenario: Scenario | str | Path, parameters: Mapping[str, Any] | None = None,
                   outcomes: Sequence[str] = (), series: Sequence[str] = (),
                   until: dt.date | str | None = None, behaviours=None) -> ModelFunction:
    """Build `f(params, seed) -> dict` for `scenario` (a Scenario, a built-in name or a file).

    `parameters` maps each name to a scenario path, a list of paths (one value sets them all),
    or a dict `{"paths": [...], "scale": True, "integer": True}` (`scale` multiplies the base
    values by the parameter, as in a sweep spec). `outcomes` are metric names and `series`
    series names of `abm.outcomes`. `behaviours` is the registry of behaviours the runs use
    (`abm.agents.behaviours.Behaviours`, with the user's plugins; default: the built-in ones)."""
    base = scenario if isinstance(scenario, Scenario) else load(scenario, behaviours=behaviours)
    if isinstance(until, str):
        until = dt.date.fromisoformat(until)
    if until is not None and not base.start <= until <= base.end:
        raise ValueError(f"until: expected a date between the scenario's start {base.start} and "
                         f"end {base.end}, got {until}")
    built = []
    for name, entry in (parameters or {}).items():
        where = f"parameters[{name!r}]"
        if isinstance(entry, str):
            entry = {"paths": [entry]}
        elif isinstance(entry, Sequence):
            entry = {"paths": list(entry)}
        if not isinstance(entry, Mapping) or not entry.get("paths"):
            raise ValueError(f"{where}: expected a scenario path, a list of paths or "
                             f"{{'paths': [...], 'scale': bool}}, got {entry!r}")
        unknown = sorted(set(entry) - {"paths", "scale", "integer"})
        if unknown:
            raise ValueError(f"{where}: unknown keys {unknown} (expected paths, scale, integer)")
        paths = [entry["paths"]] if isinstance(entry["paths"], str) else list(entry["paths"])
        scale = bool(entry.get("scale", False))
        try:
            targets = resolve_targets(base, paths, scale)
        except PathError as err:
            raise ValueError(f"{where}: {err}") from None
        built.append(Parameter(name=name, targets=targets, scale=scale,
                               integer=bool(entry.get("integer", False))))
    function = ModelFunction(base=base, parameters=tuple(built),
                             metrics=parse_all(outcomes, base, until),
                             series=parse_all(series, base, until, series=True), until=until,
                             behaviours=behaviours)
    if not function.outcome_names:
        raise ValueError("outcomes: expected at least one metric or series name")
    if len(set(function.outcome_names)) != len(function.outcome_names):
        raise ValueError(f"outcomes: expected names without repeats, got "
                         f"{function.outcome_names}")
    warn_overridden(function.parameters, base, until)
    return function
