"""The sweep engine: parameter designs run in parallel or on Dask, results in Parquet.

    spec = load_spec("experiments/specs/smoke.toml")
    report = run_sweep(spec, "out/smoke", workers=2)       # or scheduler="tcp://host:8786"
    analyze("out/smoke")                                    # indices, tables and figures
    problem, X, Y = load_salib("out/smoke", "buyer_weeks_halted:USA")   # for SALib directly

See docs/sweeps.md for the spec format and the output folder.
"""

from abm.sweep.analysis import analyze, load_runs, load_salib, morris_statistics, sobol_indices
from abm.sweep.design import design_table
from abm.sweep.runner import SerialExecutor, SweepReport, make_executor, run_sweep
from abm.sweep.spec import SpecError, SweepSpec, load_spec, spec_from_dict
from abm.sweep.store import SweepDirError

__all__ = ["SerialExecutor", "SpecError", "SweepDirError", "SweepReport", "SweepSpec", "analyze",
           "design_table", "load_runs", "load_salib", "load_spec", "make_executor", "morris_statistics",
           "run_sweep", "sobol_indices", "spec_from_dict"]
