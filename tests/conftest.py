"""Shared fixtures: small scenarios written as TOML text, and cached runs of the built-ins."""

from __future__ import annotations

import functools
import textwrap
from pathlib import Path

import pytest

import abm

TINY = """
[scenario]
name = "tiny"
description = "Two countries, one good."
start = 2024-01-01
end = 2024-12-31

[[goods]]
name = "magnet"
reference_price_usd_per_kg = { CHN = 50.0, ROW = 60.0 }

[[countries]]
code = "CHN"
price_region = "CHN"

[[countries]]
code = "USA"

[[exporters]]
name = "maker"
country = "CHN"
good = "magnet"
capacity_t_per_week = 100.0

[[buyers]]
country = "USA"
sector = "automotive"
good = "magnet"
demand_t_per_year = 2600.0
count = 3
sourcing = { CHN = 1.0 }
"""


@pytest.fixture
def write_scenario(tmp_path):
    """Write TOML text (dedented) to a file and return its path."""

    def write(text: str, name: str = "scenario.toml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    return write


@functools.cache
def builtin_run(name: str, seed: int = 0):
    """A full run of a built-in scenario, shared by the tests that only read it."""
    return abm.run(abm.load(name), seed=seed)


# --- the tests leave a checkout as they found it -------------------------------------------------

REPO = Path(__file__).resolve().parent.parent


def _git_status() -> str | None:
    """`git status --porcelain` of the repository (untracked files included; ignored ones not),
    or None outside a git checkout."""
    import subprocess

    try:
        out = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"],
                             cwd=REPO, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


def pytest_sessionstart(session):
    session.config.stash[_STATUS_KEY] = _git_status()


def pytest_sessionfinish(session, exitstatus):
    before = session.config.stash.get(_STATUS_KEY, None)
    if before is None:
        return
    after = _git_status()
    if after is not None and after != before:
        changed = sorted(set(after.splitlines()) ^ set(before.splitlines()))
        session.config.get_terminal_writer().line(
            "the tests changed the checkout (git status before and after differ): "
            + "; ".join(changed), red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_STATUS_KEY = pytest.StashKey[str | None]()
