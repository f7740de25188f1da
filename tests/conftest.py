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
