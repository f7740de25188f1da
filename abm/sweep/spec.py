"""Sweep specifications: a TOML file loaded into frozen dataclasses and checked once.

A spec names the base scenario, the parameters to vary (scenario fields addressed by path, as
`abm.override` takes them), the design, the replications and the outcomes to keep:

    [sweep]
    name = "smoke"
    scenario = "april-2025-controls"   # built-in name, or a path relative to the spec
    until = 2025-06-30                 # optional: stop every run at this date
    seed = 20250404                    # root of every run's seed
    replications = 2

    [design]
    kind = "grid"                      # grid | lhs | sobol | morris

    [[parameters]]
    name = "approval"                  # column name (default: the path)
    path = "events[0].control.approval"
    values = [0.25, 0.75]              # or range = [low, high] (+ steps = k for a grid)

    [outcomes]
    metrics = ["buyer_weeks_halted:USA"]
    series = ["exports_t:magnet:CHN"]  # optional monthly/weekly series

Paths are written in the grammar of `abm.paths` (the one `abm.override`, `abm.model_function`,
the EMA adapter and the dashboard use). A parameter may set several paths at once
(`paths = [...]`), address every element of a list with `[*]` (`buyers[*].cover_weeks`) or
the elements a selector picks (`buyers[country=USA, sector=automotive].cover_weeks`), and
multiply the base values instead of replacing them (`scale = true`; a pair such as
`cover_weeks` is multiplied element by element, whole numbers are rounded). Every problem
raises `SpecError` naming the file, the field and what was expected.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import json
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from abm.function import ModelFunction
from abm.outcomes import OutcomeError, parse_all
from abm.parameters import Parameter, overridden, resolve_targets, warn_overridden
from abm.paths import PathError
from abm.scenario import Scenario, ScenarioError, load, override
from abm.scenario.load import MAX_MAGNITUDE, to_dict

DESIGN_KINDS = ("grid", "lhs", "sobol", "morris")
# Hard bounds on the size of a sweep, checked before any design is built: past them the
# design table, the seeds or the parent's table of finished runs (one byte a run) would not
# fit in memory. The work itself (runs x buyers x weeks) is bounded in `abm.limits`.
MAX_REPLICATIONS = 100_000
MAX_DESIGN_POINTS = 1_000_000
MAX_RUNS = 10_000_000


class SpecError(ValueError):
    """A sweep spec cannot be used; the message names the file, the field and what was
    expected, and is meant to be shown to the user as it is."""

    def __init__(self, source: str, path: str, expected: str, got: Any = dataclasses.MISSING):
        self.source = source
        self.path = path
        self.expected = expected
        shown = "" if got is dataclasses.MISSING else f", got {got!r}"
        where = f"{source}: {path}" if path else source
        super().__init__(f"{where}: expected {expected}{shown}")


@dataclass(frozen=True)
class Design:
    kind: str = "grid"
    samples: int = 0  # lhs: number of points
    n: int = 0  # sobol: base sample size (power of two)
    second_order: bool = False  # sobol
    trajectories: int = 0  # morris
    levels: int = 4  # morris


@dataclass(frozen=True)
class SweepSpec:
    """A loaded, checked sweep. `base` is the scenario every run starts from."""

    name: str
    source: str
    scenario: str
    base: Scenario
    parameters: tuple[Parameter, ...]
    design: Design
    seed: int
    replications: int
    metrics: tuple[str, ...]
    series: tuple[str, ...] = ()
    until: dt.date | None = None
    description: str = ""
    raw: dict[str, Any] = dataclasses.field(default_factory=dict, compare=False)  # as given
    # the registry of behaviours the runs use (abm.agents.behaviours), with the user's plugins
    behaviours: Any = dataclasses.field(default=None, compare=False)

    @property
    def parameter_names(self) -> list[str]:
        return [p.name for p in self.parameters]

    @functools.cached_property
    def model_function(self):
        """The `abm.ModelFunction` every run of this sweep goes through."""
        return ModelFunction(base=self.base, parameters=self.parameters,
                             metrics=parse_all(self.metrics, self.base, self.until),
                             series=parse_all(self.series, self.base, self.until, series=True),
                             until=self.until, behaviours=self.behaviours)

    def overridden(self) -> list[str]:
        """One line per swept field that a later event sets again inside the run."""
        return overridden(self.parameters, self.base, self.until)

    def scenario_for(self, values: tuple[Any, ...]) -> Scenario:
        """The base scenario with one design point's values applied (validated)."""
        return self.model_function.scenario(dict(zip(self.parameter_names, values, strict=True)))

    def fingerprint(self) -> str:
        """A hash of everything that determines the runs' results (not the name or text)."""
        content = {
            "base": _determining(to_dict(self.base)),
            "parameters": [dataclasses.asdict(p) for p in self.parameters],
            "design": dataclasses.asdict(self.design),
            "seed": self.seed,
            "replications": self.replications,
            "metrics": list(self.metrics),
            "series": list(self.series),
            "until": self.until,
        }
        text = json.dumps(content, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _determining(raw: dict[str, Any]) -> dict[str, Any]:
    """A scenario's TOML-shaped dict without what cannot change a run's numbers and was added
    after sweeps were first fingerprinted (so their folders still resume): whether figures
    mark an event, and behaviours left at `default`."""
    out = dict(raw)
    for key in ("buyers", "exporters", "chipmakers"):
        out[key] = [{k: v for k, v in entry.items()
                     if not (k == "behaviour" and v == "default")} for entry in raw.get(key, [])]
    out["events"] = [{k: v for k, v in event.items() if k != "mark"}
                     for event in raw.get("events", [])]
    return out


_SPEC_KEYS = {
    "sweep": {"name", "description", "scenario", "until", "seed", "replications"},
    "design": {"kind", "samples", "n", "second_order", "trajectories", "levels"},
    "parameters": {"name", "path", "paths", "values", "range", "steps", "scale", "integer"},
    "outcomes": {"metrics", "series"},
}


def load_spec(path: str | Path, behaviours=None) -> SweepSpec:
    """Read and check a sweep spec file; the scenario's behaviour names are looked up in
    `behaviours` (`abm.agents.behaviours.Behaviours`; default: the built-in ones)."""
    path = Path(path)
    source = str(path)
    try:
        with path.open("rb") as handle:
            raw = tomllib.load(handle)
    except tomllib.TOMLDecodeError as err:
        raise SpecError(source, "", f"valid TOML ({err})") from None
    except UnicodeDecodeError:
        raise SpecError(source, "", "a TOML text file (UTF-8), not binary data") from None
    except RecursionError:
        raise SpecError(source, "", "valid TOML (nested too deeply)") from None
    except OSError as err:
        raise SpecError(source, "", f"a readable spec file ({err.strerror})") from None
    return spec_from_dict(raw, source=source, root=path.parent, behaviours=behaviours)


def spec_from_dict(raw: dict[str, Any], source: str = "<spec>", root: Path | None = None,
                   behaviours=None) -> SweepSpec:
    """Build and check a spec from a TOML-shaped dict; `root` resolves a relative scenario."""
    for table in raw:
        if table not in _SPEC_KEYS:
            raise SpecError(source, table, f"one of the tables {sorted(_SPEC_KEYS)}")
    header = _table(raw, "sweep", source)
    scenario_ref = _get(header, "scenario", str, source, "sweep", required=True)
    base = _load_base(scenario_ref, source, root, behaviours)
    until = header.get("until")
    if until is not None:
        if not isinstance(until, dt.date) or isinstance(until, dt.datetime):
            raise SpecError(source, "sweep.until", "a date YYYY-MM-DD", until)
        if not base.start <= until <= base.end:
            raise SpecError(source, "sweep.until",
                            f"a date between the scenario's start {base.start} and end {base.end}",
                            str(until))
    seed = _get(header, "seed", int, source, "sweep", default=0)
    if seed < 0:
        raise SpecError(source, "sweep.seed", "an integer >= 0", seed)
    replications = _get(header, "replications", int, source, "sweep", default=1)
    if not 1 <= replications <= MAX_REPLICATIONS:
        raise SpecError(source, "sweep.replications", f"an integer in [1, {MAX_REPLICATIONS:,}]",
                        replications)

    design = _design(_table(raw, "design", source, required=False), source)
    entries = raw.get("parameters")
    if not isinstance(entries, list) or not entries:
        raise SpecError(source, "parameters", "at least one [[parameters]] table")
    parameters = tuple(
        _parameter(entry, f"parameters[{i}]", design, base, source, behaviours)
        for i, entry in enumerate(entries)
    )
    names = [p.name for p in parameters]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise SpecError(source, f"parameters[{i}].name", "a name not used by another parameter",
                            name)
    points = design_points(design, parameters)
    if points > MAX_DESIGN_POINTS:
        raise SpecError(source, "design", f"at most {MAX_DESIGN_POINTS:,} design points", points)
    if points * replications > MAX_RUNS:
        raise SpecError(source, "sweep.replications", f"at most {MAX_RUNS:,} runs in all "
                        f"({points:,} design points x {replications:,} replications)")

    table = _table(raw, "outcomes", source)
    metrics = tuple(_string_list(table, "metrics", source, required=True))
    series = tuple(_string_list(table, "series", source, required=False))
    for field, listed, is_series in (("metrics", metrics, False), ("series", series, True)):
        try:
            parse_all(listed, base, until, series=is_series)
        except OutcomeError as err:
            raise SpecError(source, f"outcomes.{field}", f"an outcome computable on this "
                            f"scenario; {err}") from None
    clash = set(metrics) & set(names)
    if clash:
        raise SpecError(source, "outcomes.metrics", "names different from the parameters'",
                        sorted(clash))
    warn_overridden(parameters, base, until)

    return SweepSpec(
        name=_get(header, "name", str, source, "sweep", default=Path(source).stem),
        description=_get(header, "description", str, source, "sweep", default=""),
        source=source,
        scenario=scenario_ref,
        base=base,
        parameters=parameters,
        design=design,
        seed=seed,
        replications=replications,
        metrics=metrics,
        series=series,
        until=until,
        raw=raw,
        behaviours=behaviours,
    )


def design_points(design: Design, parameters: tuple[Parameter, ...]) -> int:
    """The number of rows `design_table` will have, computed without building it."""
    d = len(parameters)
    if design.kind == "grid":
        points = 1
        for parameter in parameters:
            points *= len(parameter.values) if parameter.values is not None else parameter.steps
        return points
    if design.kind == "lhs":
        return design.samples
    if design.kind == "sobol":
        return design.n * (2 * d + 2 if design.second_order else d + 2)
    return design.trajectories * (d + 1)


def _load_base(ref: str, source: str, root: Path | None, behaviours=None) -> Scenario:
    candidate = (root / ref) if root is not None else Path(ref)
    try:
        return load(candidate if candidate.is_file() else ref, behaviours=behaviours)
    except ScenarioError as err:
        raise SpecError(source, "sweep.scenario", f"a loadable scenario ({err})") from None


def _design(table: dict[str, Any], source: str) -> Design:
    kind = _get(table, "kind", str, source, "design", default="grid")
    if kind not in DESIGN_KINDS:
        raise SpecError(source, "design.kind", f"one of {list(DESIGN_KINDS)}", kind)
    design = Design(
        kind=kind,
        samples=_get(table, "samples", int, source, "design", default=0),
        n=_get(table, "n", int, source, "design", default=0),
        second_order=_get(table, "second_order", bool, source, "design", default=False),
        trajectories=_get(table, "trajectories", int, source, "design", default=0),
        levels=_get(table, "levels", int, source, "design", default=4),
    )
    if kind == "lhs" and not 1 <= design.samples <= MAX_DESIGN_POINTS:
        raise SpecError(source, "design.samples", "the number of Latin hypercube points "
                        f"(1 to {MAX_DESIGN_POINTS:,})", design.samples)
    if kind == "sobol" and (not 2 <= design.n <= MAX_DESIGN_POINTS or design.n & (design.n - 1)):
        raise SpecError(source, "design.n", "a power of two >= 2 for a Sobol' design "
                        f"(for example 64, 128, 256; at most {MAX_DESIGN_POINTS:,})", design.n)
    if kind == "morris":
        if not 2 <= design.trajectories <= MAX_DESIGN_POINTS:
            raise SpecError(source, "design.trajectories",
                            f"an integer in [2, {MAX_DESIGN_POINTS:,}]", design.trajectories)
        if not 2 <= design.levels <= 1000 or design.levels % 2:
            raise SpecError(source, "design.levels", "an even integer in [2, 1000]",
                            design.levels)
    return design


def _parameter(entry: Any, where: str, design: Design, base: Scenario, source: str,
               behaviours=None) -> Parameter:
    if not isinstance(entry, dict):
        raise SpecError(source, where, "a [[parameters]] table")
    for key in entry:
        if key not in _SPEC_KEYS["parameters"]:
            raise SpecError(source, f"{where}.{key}",
                            f"a parameter field (one of {sorted(_SPEC_KEYS['parameters'])})")
    if ("path" in entry) == ("paths" in entry):
        raise SpecError(source, where, "exactly one of path = \"...\" or paths = [...]")
    paths = [entry["path"]] if "path" in entry else entry["paths"]
    field = f"{where}.path" if "path" in entry else f"{where}.paths"
    if not isinstance(paths, list) or not paths or not all(isinstance(p, str) for p in paths):
        raise SpecError(source, field, "a scenario field path or a non-empty list of them",
                        paths)
    scale = _get(entry, "scale", bool, source, where, default=False)
    integer = _get(entry, "integer", bool, source, where, default=False)
    try:
        targets = resolve_targets(base, paths, scale)
    except PathError as err:
        raise SpecError(source, field, err.expected, err.path) from None

    has_values, has_range = "values" in entry, "range" in entry
    if has_values == has_range:
        raise SpecError(source, where, "exactly one of values = [...] or range = [low, high]")
    values = low = high = steps = None
    if has_values:
        values = entry["values"]
        if not isinstance(values, list):
            raise SpecError(source, f"{where}.values", "a list of values", values)
        if not values:
            raise SpecError(source, f"{where}.values", "a non-empty list of values (empty range)")
        if len(values) > MAX_DESIGN_POINTS:
            raise SpecError(source, f"{where}.values", f"at most {MAX_DESIGN_POINTS:,} values",
                            len(values))
        if not all(isinstance(v, int | float | str) for v in values):
            raise SpecError(source, f"{where}.values", "a list of numbers, strings or true/false",
                            values)
        if any(_is_number(v) and not math.isfinite(v) for v in values):
            raise SpecError(source, f"{where}.values", "finite numbers (not nan or inf)", values)
        if design.kind != "grid":
            raise SpecError(source, f"{where}.values",
                            f"range = [low, high] (a {design.kind} design samples ranges)")
        if "steps" in entry:
            raise SpecError(source, f"{where}.steps", "no steps with a list of values")
    else:
        bounds = entry["range"]
        if (not isinstance(bounds, list) or len(bounds) != 2
                or not all(_is_number(b) for b in bounds)):
            raise SpecError(source, f"{where}.range", "a list of two numbers [low, high]", bounds)
        if not all(math.isfinite(b) and abs(b) <= MAX_MAGNITUDE for b in bounds):
            raise SpecError(source, f"{where}.range", "two finite numbers [low, high] (not nan "
                            f"or inf, of magnitude at most {MAX_MAGNITUDE:g})", bounds)
        low, high = float(bounds[0]), float(bounds[1])
        if low > high:
            raise SpecError(source, f"{where}.range", "a lower bound not above the upper bound",
                            bounds)
        if low == high:
            raise SpecError(source, f"{where}.range", "a non-empty range (low < high)", bounds)
        if design.kind == "grid":
            steps = _get(entry, "steps", int, source, where, required=True)
            if not 2 <= steps <= MAX_DESIGN_POINTS:
                raise SpecError(source, f"{where}.steps", f"an integer in [2, {MAX_DESIGN_POINTS:,}]",
                                steps)
        elif "steps" in entry:
            raise SpecError(source, f"{where}.steps", f"no steps (a {design.kind} design sets "
                            "its own sample points)")

    name = _get(entry, "name", str, source, where, default=paths[0] if len(paths) == 1 else "")
    if not name:
        raise SpecError(source, f"{where}.name", "a name for a parameter that sets several paths")
    parameter = Parameter(
        name=name,
        targets=targets,
        values=None if values is None else tuple(values),
        low=low,
        high=high,
        steps=steps,
        scale=scale,
        integer=integer,
    )
    if values is not None:
        parameter = dataclasses.replace(parameter, values=tuple(parameter.cast(v) for v in values))
        if len({type(v) for v in parameter.values}) > 1:
            raise SpecError(source, f"{where}.values", "values of one type", values)
    checks = parameter.values if values is not None else (parameter.cast(low),
                                                          parameter.cast(high))
    for value in checks:
        try:
            override(base, parameter.changes(value), source=f"scenario {base.name!r}",
                     behaviours=behaviours)
        except ScenarioError as err:
            expected = f"values the scenario accepts ({err})"
            raise SpecError(source, field if "existing field" in str(err) else where,
                            expected) from None
    return parameter


# --- small helpers ------------------------------------------------------------------------------

def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _table(raw: dict[str, Any], name: str, source: str, required: bool = True) -> dict[str, Any]:
    table = raw.get(name)
    if table is None and not required:
        return {}
    if not isinstance(table, dict):
        raise SpecError(source, name, f"a [{name}] table")
    for key in table:
        if key not in _SPEC_KEYS[name]:
            raise SpecError(source, f"{name}.{key}",
                            f"a field of [{name}] (one of {sorted(_SPEC_KEYS[name])})")
    return table


def _get(table: dict[str, Any], key: str, kind: type, source: str, where: str,
         default: Any = None, required: bool = False) -> Any:
    if key not in table:
        if required:
            raise SpecError(source, f"{where}.{key}", "a value (this field is required)")
        return default
    value = table[key]
    ok = isinstance(value, kind) and (kind is bool or not isinstance(value, bool))
    if not ok:
        names = {int: "an integer", str: "a string", bool: "true or false", float: "a number"}
        raise SpecError(source, f"{where}.{key}", names.get(kind, kind.__name__), value)
    return value


def _string_list(table: dict[str, Any], key: str, source: str, required: bool) -> list[str]:
    value = table.get(key)
    if value is None and not required:
        return []
    if (not isinstance(value, list) or not all(isinstance(v, str) for v in value)
            or (required and not value)):
        raise SpecError(source, f"outcomes.{key}", "a non-empty list of names", value)
    if len(set(value)) != len(value):
        raise SpecError(source, f"outcomes.{key}", "names without repeats", value)
    return value


def spec_seed_children(spec: SweepSpec) -> list[int]:
    """One seed per replication, from `SeedSequence(spec.seed).spawn`. The same replication
    uses the same seed at every design point (common random numbers), so differences between
    design points are not blurred by different draws."""
    import numpy as np

    children = np.random.SeedSequence(spec.seed).spawn(spec.replications)
    return [int(child.generate_state(1, np.uint64)[0] >> np.uint64(1)) for child in children]
