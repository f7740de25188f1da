"""What a sweep's output files record about their columns: the descriptions, units, scenario
paths and scales that `sweep.json` and the Parquet metadata carry, so a reader of
`runs.parquet` alone knows what every column is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from abm.sweep.spec import SweepSpec

KEY_COLUMNS = {
    "design_id": "row of design.parquet (design order)",
    "replication_id": "replication; the same seed at every design point",
    "seed": "the run's random seed",
    "status": "ok or error",
    "error": "the error of a failed run",
    "elapsed_s": "seconds the run took",
    "part": "results batch the run was written in",
}


def column_descriptions(spec: SweepSpec) -> dict[str, Any]:
    """What each column of runs.parquet holds: keys, parameters (their scenario paths and
    whether they scale the base values) and outcomes (unit and description); `series` the
    same for the series."""
    function = spec.model_function
    out: dict[str, Any] = {name: {"description": text} for name, text in KEY_COLUMNS.items()}
    for p in spec.parameters:
        out[p.name] = {"description": "varied parameter"
                       + (" (multiplies the base values)" if p.scale else ""),
                       "paths": [path for path, _ in p.targets], "scale": p.scale,
                       "bounds": list(p.bounds)}
    for o in function.metrics:
        out[o.name] = {"unit": o.unit, "description": o.description}
    out["series"] = {o.name: {"unit": o.unit, "description": o.description}
                     for o in function.series}
    return out


def scenario_file(spec: SweepSpec) -> str | None:
    """The scenario file a sweep read, or None for a built-in scenario."""
    for candidate in (Path(spec.source).parent / spec.scenario, Path(spec.scenario)):
        if candidate.is_file():
            return str(candidate.resolve())
    return None
