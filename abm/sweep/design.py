"""Designs: the table of design points of a sweep, one row per `design_id`.

- `grid`: the full factorial of every parameter's values (or `steps` points over its range),
  the last parameter varying fastest;
- `lhs`: a Latin hypercube of `samples` points (`scipy.stats.qmc.LatinHypercube`);
- `sobol`: Saltelli's scheme for Sobol' indices, `n * (d + 2)` points (or `n * (2d + 2)` with
  second-order indices) (`SALib.sample.sobol`);
- `morris`: `trajectories * (d + 1)` points of elementary effects (`SALib.sample.morris`).

Sampling designs are seeded from the spec seed, so a spec always gives the same design.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd

from abm.sweep.spec import SweepSpec


def salib_problem(spec: SweepSpec) -> dict[str, Any]:
    return {
        "num_vars": len(spec.parameters),
        "names": spec.parameter_names,
        "bounds": [list(p.bounds) for p in spec.parameters],
    }


def _unit_sample(spec: SweepSpec) -> np.ndarray:
    """Points of a sampling design in parameter units, shape (points, parameters)."""
    design = spec.design
    problem = salib_problem(spec)
    if design.kind == "lhs":
        from scipy.stats import qmc

        unit = qmc.LatinHypercube(d=problem["num_vars"], rng=spec.seed).random(design.samples)
        low, high = np.array(problem["bounds"]).T
        return qmc.scale(unit, low, high)
    if design.kind == "sobol":
        from SALib.sample import sobol

        return sobol.sample(problem, design.n, calc_second_order=design.second_order,
                            seed=spec.seed)
    if design.kind == "morris":
        from SALib.sample import morris

        return morris.sample(problem, design.trajectories, num_levels=design.levels,
                             seed=spec.seed)
    raise ValueError(f"not a sampling design: {design.kind!r}")


def design_table(spec: SweepSpec) -> pd.DataFrame:
    """`design_id` and one column per parameter (values as the runs use them)."""
    names = spec.parameter_names
    if spec.design.kind == "grid":
        points = list(itertools.product(*(p.grid_values() for p in spec.parameters)))
        columns = {name: [point[i] for point in points] for i, name in enumerate(names)}
    else:
        sample = _unit_sample(spec)
        columns = {
            name: [p.cast(v) for v in sample[:, i]]
            for i, (name, p) in enumerate(zip(names, spec.parameters, strict=True))
        }
    table = pd.DataFrame(columns)
    table.insert(0, "design_id", np.arange(len(table), dtype=np.int64))
    return table


def design_matrix(spec: SweepSpec) -> np.ndarray:
    """The design as SALib's analysers expect it (unrounded, design order)."""
    if spec.design.kind == "grid":
        return design_table(spec)[spec.parameter_names].to_numpy(dtype=float)
    return _unit_sample(spec)
