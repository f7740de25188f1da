"""`abm sweep SPEC --out DIR [--workers N | --scheduler ADDRESS | --serial]` and
`abm analyze DIR`, registered on the main command line by `add_subcommands(subparsers)`.

Also runnable alone: `python -m abm.sweep.cli sweep ...`.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

from abm.function import OverriddenPathWarning
from abm.scenario import ScenarioError


def add_subcommands(subparsers) -> None:
    sweep = subparsers.add_parser(
        "sweep", help="run (or resume) a parameter sweep into a folder",
        description="Run every design point and replication of a sweep spec (TOML); results "
        "go to DIR/runs.parquet. Running the same command again resumes.")
    sweep.add_argument("spec", help="sweep spec file (TOML), e.g. experiments/specs/smoke.toml")
    sweep.add_argument("--out", required=True, metavar="DIR", help="output folder")
    where = sweep.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, metavar="N",
                       help="local worker processes (default: all cores)")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="Dask scheduler address (tcp://host:8786), or 'local' for a local "
                       "Dask cluster with one worker per core")
    where.add_argument("--serial", action="store_true", help="run in this process (debugging)")
    sweep.add_argument("--batch-runs", type=int, default=256, metavar="K",
                       help="write results every K runs or 2 seconds (default 256)")
    sweep.add_argument("--allow-large", action="store_true",
                       help="run even above the work limit (see docs/sweeps.md)")
    sweep.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_plugin_argument(sweep)
    sweep.set_defaults(func=sweep_command)

    analyze = subparsers.add_parser(
        "analyze", help="Sobol'/Morris indices and figures of a finished sweep",
        description="Write indices (CSV) and figures of sweep folder DIR into DIR/analysis.")
    analyze.add_argument("dir", help="a sweep output folder")
    analyze.add_argument("--to", metavar="FOLDER", help="write here instead of DIR/analysis")
    add_plugin_argument(analyze)
    analyze.set_defaults(func=analyze_command)
    add_outcomes_subcommand(subparsers)


def add_outcomes_subcommand(subparsers) -> None:
    outcomes = subparsers.add_parser(
        "outcomes", help="list the outcomes a sweep or abm.model_function can compute",
        description="List every metric and series kind with its parts and unit, and the goods, "
        "origins, countries, sectors, regions and months of SCENARIO that they accept.")
    outcomes.add_argument("scenario", nargs="?", default="baseline-2024", metavar="SCENARIO",
                          help="a built-in scenario name or a TOML file (default baseline-2024)")
    add_plugin_argument(outcomes)
    outcomes.set_defaults(func=outcomes_command)


def add_plugin_argument(command) -> None:
    command.add_argument("--plugin", action="append", default=[], metavar="MODULE",
                         help="a Python file or module whose register(behaviours) adds "
                         "behaviours the scenario names (repeatable; docs/extending.md)")


def plugin_behaviours(args: argparse.Namespace):
    """The behaviour registry of this command: the built-in behaviours and `--plugin`s.
    Raises abm.agents.behaviours.PluginError (one line)."""
    from abm.agents.behaviours import Behaviours

    return Behaviours(tuple(getattr(args, "plugin", None) or ()))


def outcomes_command(args: argparse.Namespace) -> int:
    from abm.agents.behaviours import PluginError
    from abm.outcomes import catalogue
    from abm.scenario import load

    try:
        scenario = load(args.scenario, behaviours=plugin_behaviours(args))
    except (ScenarioError, PluginError) as err:
        return _fail("outcomes", err)
    print(catalogue(scenario))
    return 0


def _fail(command: str, err: Exception) -> int:
    print(f"abm {command}: error: {err}", file=sys.stderr)
    return 2


def sweep_command(args: argparse.Namespace) -> int:
    from abm.agents.behaviours import PluginError
    from abm.limits import TooMuchWork
    from abm.sweep.runner import SchedulerError, SweepInterrupted, run_sweep
    from abm.sweep.spec import SpecError, load_spec
    from abm.sweep.store import SweepDirError

    if args.workers is not None and not 1 <= args.workers <= 1024:
        return _fail("sweep", ValueError(f"--workers: expected an integer in [1, 1024], got "
                                         f"{args.workers}"))
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", OverriddenPathWarning)
            spec = load_spec(args.spec, behaviours=plugin_behaviours(args))
        for warning in caught:
            print(f"abm sweep: warning: {warning.message}", file=sys.stderr)
        report = run_sweep(spec, args.out, workers=args.workers, scheduler=args.scheduler,
                           serial=args.serial, progress=not args.no_progress,
                           batch_runs=max(1, args.batch_runs), allow_large=args.allow_large)
    except (SpecError, ScenarioError, SweepDirError, TooMuchWork, SchedulerError, PluginError,
            OSError) as err:
        return _fail("sweep", err)
    except SweepInterrupted as err:
        print(f"abm sweep: interrupted; {err}", file=sys.stderr)
        _exit_now(130)
    except KeyboardInterrupt:
        print("abm sweep: interrupted before any run was written", file=sys.stderr)
        return 130
    print(report.summary())
    return 1 if report.not_done else 0


def _exit_now(code: int) -> None:
    """Leave at once after Ctrl-C: what was kept is on disk and said. A normal exit would
    join the stopped process pool's manager thread, which can wait for ever on the pipes of
    the workers it lost (concurrent.futures before Python 3.14)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def analyze_command(args: argparse.Namespace) -> int:
    from abm.agents.behaviours import PluginError
    from abm.sweep.analysis import AnalysisError, analyze

    try:
        written = analyze(args.dir, args.to, behaviours=plugin_behaviours(args))
    except (AnalysisError, PluginError, OSError) as err:
        return _fail("analyze", err)
    for path in written:
        print(path)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="abm", description="Sweeps of the export-control model")
    add_subcommands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
