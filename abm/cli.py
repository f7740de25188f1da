"""The `abm` command: run scenarios, list them, sweep and analyse."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
import time
import warnings
from pathlib import Path

from tqdm import tqdm

import abm
from abm import headline, limits
from abm.agents.behaviours import PluginError
from abm.dashboard.cli import add_subcommand as add_dashboard_subcommand
from abm.output import (
    OutputError,
    atomic_directory,
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


log = logging.getLogger("abm")


def setup_logging(verbose: int, quiet: bool) -> None:
    """abm's log on stderr: warnings by default, the run's stages with `-v`, details with
    `-vv`, errors only with `-q`."""
    level = (logging.ERROR if quiet else logging.WARNING if not verbose
             else logging.INFO if verbose == 1 else logging.DEBUG)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(
        "abm: %(message)s" if level > logging.DEBUG
        else "abm: %(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S"))
    root = logging.getLogger("abm")
    for old in [h for h in root.handlers if getattr(h, "_abm_cli", False)]:
        root.removeHandler(old)
    handler._abm_cli = True
    root.addHandler(handler)
    root.setLevel(level)


def cmd_run(args: argparse.Namespace) -> int:
    behaviours = plugin_behaviours(args)
    log.info("loading scenario %s", args.scenario)
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
    log.info("running %s, seed %d: %d weeks from %s to %s", config.name, args.seed, weeks,
             config.start, last)
    began = time.perf_counter()
    with tqdm(total=weeks, unit="week", desc=config.name, delay=0.5, disable=args.quiet) as bar:
        result = abm.run(config, seed=args.seed, until=args.until,
                         progress=lambda done: bar.update(done - bar.n), behaviours=behaviours)
    log.info("ran %d weeks in %.1f s", result.weeks, time.perf_counter() - began)
    log.info("writing tables, figures and manifest to %s", out)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FigureWarning)
        written = write_run(result, out, {"until": last.isoformat()})
    for warning in caught:
        print(f"abm: warning: {warning.message}; the tables are written", file=sys.stderr)
    if not args.quiet:
        print(f"wrote {len(written)} files to {out}")
        print()
        print(headline.format_headline(headline.from_result(result)))
    return 0


def _compare_side(args: argparse.Namespace, what: str, label: str):
    """A run folder abm wrote, or a scenario (name or file) run now with --seed/--until."""
    path = Path(what)
    if path.is_dir():
        log.info("reading run folder %s", path)
        return headline.from_folder(path, label)
    behaviours = plugin_behaviours(args)
    config = abm.load(what, behaviours=behaviours, allow_large=args.allow_large)
    limits.check_run(config, args.until, args.allow_large, source=what)
    log.info("running %s, seed %d", config.name, args.seed)
    result = abm.run(config, seed=args.seed, until=args.until, behaviours=behaviours)
    return headline.from_result(result, label)


def cmd_compare(args: argparse.Namespace) -> int:
    names = [Path(x).name if Path(x).is_dir() else Path(x).stem if x.endswith(".toml") else x
             for x in (args.run_a, args.run_b)]
    if names[0] == names[1]:
        names = [f"{names[0]} (A)", f"{names[1]} (B)"]
    out = (Path(args.out) if args.out else Path("out") / safe_name(
        f"compare-{names[0]}-vs-{names[1]}"))
    check_target(out)
    check_writable(out)
    a = _compare_side(args, args.run_a, names[0])
    b = _compare_side(args, args.run_b, names[1])
    sections = headline.compare(a, b)
    with writer_lock(out), atomic_directory(out) as staging:
        for name, frame in sections.items():
            headline.tables.to_csv(frame, staging / f"compare_{name}.csv")
        headline.draw_compare(a, b, staging / "compare.png")
        info = {"package_version": abm.__version__, "a": args.run_a, "b": args.run_b,
                "seed": args.seed, "files": sorted([p.name for p in staging.iterdir()]
                                                   + ["manifest.json"])}
        (staging / "manifest.json").write_text(json.dumps(info, indent=2) + "\n")
    if not args.quiet:
        print(headline.format_compare(a, b, sections))
        print()
        print(f"wrote the differences (compare_*.csv) and their figure (compare.png) to {out}")
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
    top.add_argument("-v", "--verbose", action="count", default=0,
                     help="log the run's stages (-vv: more detail)")
    top.add_argument("-q", "--quiet", action="store_true", help="log errors only")
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
    _add_verbosity(run, "no progress bar, headline or log lines but errors")
    add_plugin_argument(run)
    run.set_defaults(func=cmd_run)

    compare = sub.add_parser(
        "compare", help="put two runs side by side: differences printed and drawn",
        description="Compare two runs: each RUN is a folder `abm run` wrote, or a scenario "
        "(built-in name or TOML file) run now with --seed and --until. Prints each run's "
        "headline (exports against the record, shortfall and output lost by country, prices, "
        "licences) as A, B and B - A, and writes the tables and a figure into DIR.")
    compare.add_argument("run_a", metavar="RUN_A", help="run folder or scenario")
    compare.add_argument("run_b", metavar="RUN_B", help="run folder or scenario")
    compare.add_argument("--seed", type=seed_number, default=0,
                         help="seed of a scenario run here (default 0)")
    compare.add_argument("--until", type=_date, metavar="DATE",
                         help="stop a scenario run here after the week containing DATE")
    compare.add_argument("--out", metavar="DIR", help="output folder (default "
                         "out/compare-A-vs-B); a new or empty folder, or one abm wrote")
    compare.add_argument("--allow-large", action="store_true",
                         help=f"run even above {limits.MAX_RUN_BUYER_WEEKS:,} buyer-weeks")
    _add_verbosity(compare, "print nothing but errors")
    add_plugin_argument(compare)
    compare.set_defaults(func=cmd_compare)

    scenarios = sub.add_parser("scenarios", help="list the built-in scenarios",
                               description="List the built-in scenarios, one line each.")
    scenarios.set_defaults(func=cmd_scenarios)
    add_sweep_subcommands(sub)
    add_dashboard_subcommand(sub)
    add_reproduce_subcommand(sub)
    return top


def _add_verbosity(command: argparse.ArgumentParser, quiet: str) -> None:
    """`-v` and `-q` after the command too (`abm run X -v`), as well as before it."""
    command.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS,
                         help="log the run's stages on stderr (-vv: more detail)")
    command.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                         help=quiet)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    setup_logging(args.verbose, args.quiet)
    try:
        return args.func(args)
    except (ScenarioError, OutputError, limits.TooMuchWork, PluginError,
            headline.RunFolderError) as err:
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
