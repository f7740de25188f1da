"""`abm dashboard [SCENARIO] [--host ADDRESS] [--port N] [--scenarios DIR] [--open]`,
registered on the main command line by `add_subcommand(subparsers)`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from abm.dashboard.access import exposure_warning
from abm.dashboard.server import DEFAULT_HOST, DEFAULT_PLAY_MS, DEFAULT_PORT


def positive_ms(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of milliseconds of 1 or "
                                         f"more, got {text!r}")
    return value


def add_subcommand(subparsers) -> None:
    dashboard = subparsers.add_parser(
        "dashboard", help="serve an interactive dashboard of a scenario in the browser",
        description="Serve a web page (Mesa's SolaraViz) that runs SCENARIO week by week: "
        "levers and seed as controls, play/pause/step/reset, run to a date, charts against "
        "the unchanged scenario, downloads of the tables (CSV) and charts (PNG). Stop with "
        "Ctrl-C.")
    dashboard.add_argument("scenario", metavar="SCENARIO", nargs="?", default="history-2025",
                           help="a built-in scenario name (see `abm scenarios`) or a TOML file "
                           "(default history-2025); another can be opened on the page")
    dashboard.add_argument("--host", default=DEFAULT_HOST, metavar="ADDRESS",
                           help=f"address to serve on (default {DEFAULT_HOST}: this machine "
                           "only; 0.0.0.0 serves every network the machine is on)")
    dashboard.add_argument("--port", type=int, default=DEFAULT_PORT, metavar="N",
                           help=f"port to serve on (default {DEFAULT_PORT})")
    dashboard.add_argument("--play-interval", type=positive_ms, default=DEFAULT_PLAY_MS,
                           metavar="MS", help="pause between the five-week steps of Play, in "
                           f"milliseconds (default {DEFAULT_PLAY_MS}; larger plays slower, "
                           "so that each step can be watched on a busy machine)")
    dashboard.add_argument("--scenarios", action="append", default=[], metavar="DIR",
                           help="a folder whose scenario files (.toml) the page may open "
                           "(repeatable); without it the page opens only the built-in "
                           "scenarios and SCENARIO")
    dashboard.add_argument("--open", action="store_true",
                           help="open the page in the default web browser")
    dashboard.set_defaults(func=dashboard_command)


def dashboard_command(args: argparse.Namespace) -> int:
    import abm
    from abm.dashboard.server import serve

    abm.load(args.scenario)  # a bad scenario stops here with one line, before serving
    folders = scenario_folders(args.scenarios)
    print(f"abm dashboard: serving {args.scenario} at http://{args.host}:{args.port}/ "
          "(Ctrl-C stops)", flush=True)
    warning = exposure_warning(args.host, args.port, folders)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    serve(args.scenario, host=args.host, port=args.port, open_browser=args.open,
          play_interval_ms=args.play_interval, scenario_dirs=folders)
    return 0


def scenario_folders(names: list[str]) -> tuple[str, ...]:
    """The --scenarios folders, each checked to be a folder; raises ScenarioError."""
    from abm.scenario import ScenarioError

    for name in names:
        if not Path(name).is_dir():
            raise ScenarioError(name, "--scenarios", "expected a folder of scenario files")
    return tuple(str(Path(name).resolve()) for name in names)
