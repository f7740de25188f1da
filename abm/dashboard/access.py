"""What the dashboard lets its page reach: the scenario files it may open, and whether the
address it serves on is this machine only.

The page has no password, so anyone who reaches it can type a path into its "scenario file"
box. It opens only the built-in scenarios, the scenario it was started with, and `.toml` files
inside the folders named at start (`abm dashboard --scenarios DIR`); any other path is
refused with the same line whether or not a file is there, so the page tells nothing about
the server's files.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

from abm.scenario import ScenarioError, builtin_names

DIRS_ENV = "ABM_DASHBOARD_SCENARIO_DIRS"
STARTED_ENV = "ABM_DASHBOARD_SCENARIO"
REFUSED = ("expected a built-in scenario name or a .toml file in a folder the dashboard was "
           "started with (--scenarios DIR)")


def allowed_folders() -> list[Path]:
    """The folders named with --scenarios, as real paths (symbolic links resolved)."""
    text = os.environ.get(DIRS_ENV, "")
    return [Path(os.path.realpath(part)) for part in text.split(os.pathsep) if part]


def check_source(source: str) -> None:
    """Raise ScenarioError (the same message for a file that exists and one that does not)
    unless the page may open `source`."""
    if source in builtin_names():
        return
    started = os.environ.get(STARTED_ENV)
    real = Path(os.path.realpath(source))
    if started and started not in builtin_names() and real == Path(os.path.realpath(started)):
        return
    if real.suffix == ".toml" and any(real.is_relative_to(folder) for folder in allowed_folders()):
        return
    raise ScenarioError(source, "", REFUSED)


def is_loopback(host: str) -> bool:
    """Whether `host` is an address of this machine only (127.0.0.0/8, ::1, localhost)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def exposure_warning(host: str, port: int, folders: tuple[str, ...] = ()) -> str | None:
    """The warning to print when the page is served beyond this machine, naming what becomes
    reachable (the --scenarios `folders`); None on a loopback address."""
    if is_loopback(host):
        return None
    folders_named = ", ".join(folders) or "none"
    return (f"abm dashboard: warning: serving on {host}:{port}, not this machine only: anyone "
            "who can reach that address can use the page without a password, run scenarios "
            "on this machine's CPU and open the scenario files in the folders given with "
            f"--scenarios ({folders_named}); serve on 127.0.0.1 and use an SSH tunnel to "
            "share it safely")
