"""The `abm` command: run scenarios, list them, sweep and analyse."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import warnings
from pathlib import Path

from tqdm import tqdm

import abm
from abm import limits
from abm.agents.behaviours import PluginError
from abm.dashboard.cli import add_subcommand as add_dashboard_subcommand
from abm.output import (
    OutputError,
    check_target,
    check_writable,
    safe_name,
    write_run,
    writer_lock,
)
from abm.plots import FigureWarning
from abm.reproduce import add_subcommand as add_reproduce_subcommand
from abm.scenario import ScenarioError, builtin_descriptions
from abm.sweep.cli import add_plugin_argument, plugin_behaviours
from abm.sweep.cli import add_subcommands as add_sweep_subcommands


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None


def seed_number(text: str) -> int:
    """A seed as NumPy takes it: a whole number in [0, 2**63)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"expected a whole number in [0, 2**63), got {text!r}")
    return value


def cmd_run(args: argparse.Namespace) -> int:
    behaviours = plugin_behaviours(args)
    config = abm.load(args.scenario, behaviours=behaviours, allow_large=args.allow_large)
    if args.until is not None and not config.start <= args.until <= config.end:
        raise ScenarioError(
            args.scenario, "--until", f"a date between {config.start} and {config.end}"
        )
    out = (Path(args.out) if args.out
           else Path("out") / f"{safe_name(config.name)}-seed{args.seed}")
    check_target(out)
    check_writable(out)
    limits.check_run(config, args.until, args.allow_large, source=args.scenario)
    with writer_lock(out):
        return _run_and_write(args, config, behaviours, out)


def _run_and_write(args: argparse.Namespace, config, behaviours, out: Path) -> int:
    last = args.until or config.end
    weeks = limits.run_weeks(config, args.until)
    with tqdm(total=weeks, unit="week", desc=config.name, delay=0.5, disable=args.quiet) as bar:
        result = abm.run(config, seed=args.seed, until=args.until,
                         progress=lambda done: bar.update(done - bar.n), behaviours=behaviours)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FigureWarning)
        written = write_run(result, out, {"until": last.isoformat()})
    for warning in caught:
        print(f"abm: warning: {warning.message}; the tables are written", file=sys.stderr)
    if not args.quiet:
        print(f"wrote {len(written)} files to {out}")
    return 0


def cmd_scenarios(args: argparse.Namespace) -> int:
    descriptions = builtin_descriptions()
    width = max(map(len, descriptions), default=0)
    for name, text in descriptions.items():
        print(f"{name:<{width}}  {text}")
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="abm",
        description="Agent-based model of export controls on rare-earth magnets and AI chips.",
    )
    top.add_argument("--version", action="version", version=f"%(prog)s {abm.__version__}")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run one scenario and write its tables and figures",
                         description="Run one scenario with one seed; write weekly tables, the "
                         "customs-style monthly table, the shipment ledger, figures and a "
                         "manifest into DIR.")
    run.add_argument("scenario", metavar="SCENARIO",
                     help="a built-in scenario name (see `abm scenarios`) or a TOML file")
    run.add_argument("--seed", type=seed_number, default=0, help="random seed (default 0)")
    run.add_argument("--out", metavar="DIR", help="output directory (default "
                     "out/SCENARIO-seedN); a new or empty folder, or one abm wrote, replaced "
                     "only when the run succeeds")
    run.add_argument("--until", type=_date, metavar="DATE",
                     help="stop after the week containing DATE (YYYY-MM-DD)")
    run.add_argument("--allow-large", action="store_true",
                     help=f"run even above {limits.MAX_RUN_BUYER_WEEKS:,} buyer-weeks")
    run.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    add_plugin_argument(run)
    run.set_defaults(func=cmd_run)

    scenarios = sub.add_parser("scenarios", help="list the built-in scenarios",
                               description="List the built-in scenarios, one line each.")
    scenarios.set_defaults(func=cmd_scenarios)
    add_sweep_subcommands(sub)
    add_dashboard_subcommand(sub)
    add_reproduce_subcommand(sub)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except (ScenarioError, OutputError, limits.TooMuchWork, PluginError) as err:
        print(f"abm: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"abm: error: {err.filename or ''}: {err.strerror or err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("abm: interrupted; nothing was written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
