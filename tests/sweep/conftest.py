"""Fixtures of the sweep tests: spec files written from TOML text."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT / "experiments" / "specs" / "smoke.toml"

SMALL = """
[sweep]
name = "small"
scenario = "april-2025-controls"
until = 2025-05-31
seed = 7
replications = 2

[design]
kind = "grid"

[[parameters]]
name = "approval"
path = "events[0].control.approval"
values = [0.2, 0.6]

[[parameters]]
name = "halt_threshold"
path = "market.halt_threshold"
range = [0.3, 0.6]
steps = 3

[outcomes]
metrics = ["buyer_weeks_halted:USA", "exports_t:magnet:CHN:2025-05"]
series = ["exports_t:magnet:CHN"]
"""


@pytest.fixture
def write_spec(tmp_path):
    """Write TOML text (dedented) to a spec file in the test's folder and return its path."""

    def write(text: str, name: str = "spec.toml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    return write
