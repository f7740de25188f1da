"""Fuzzing scenario files: every field of a scenario, mutated (wrong types, NaN, inf, huge,
negative, empty, odd unicode, removed), gives one clear line naming the file and the field, or
a scenario that runs cleanly (finite tables, strict JSON). Never a traceback.

A fixed set of mutants on CI (`ABM_FUZZ_SCENARIOS`, default 1,000); a random set locally, so
repeated runs search further.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
import os
import random
import tomllib
import warnings
from typing import Any

import numpy as np
import pytest

import abm
from abm.output import write_run
from abm.scenario import ScenarioError, from_dict, to_dict
from tests.conftest import TINY

RICH = TINY + """
[[countries]]
code = "EU"

[[buyers]]
country = "EU"
sector = "wind"
good = "magnet"
demand_t_per_year = 1000.0
count = 2
sourcing = { CHN = 1.0 }

[market.transit_weeks]
default = 3
CHN-EU = 5

[controls.CHN.magnet]
regime = "licence"
approval = 0.8
approval_by_destination = { USA = 0.5 }

[tariffs.USA]
"CHN.magnet" = 0.25

[[events]]
date = 2024-02-05
kind = "export_control"
label = "licences tightened"
state = "CHN"
good = "magnet"
[events.control]
regime = "licence"
approval = 0.3
review_weeks = 6.0

[[events]]
date = 2024-03-04
kind = "alert"
label = "fear of a ban"
good = "magnet"
level = 0.5

[[events]]
date = 2024-04-01
kind = "general_licence"
label = "general licence"
state = "CHN"
good = "magnet"
destination = "EU"
duration_weeks = 8.0
"""

MUTATIONS: list[Any] = [
    "x", "", "=cmd|'/C calc'!A0", "..\\/../etc\u202e\u0000ü", [], [1, "a"], {}, {"k": 1}, True,
    math.nan, math.inf, -math.inf, 1e308, -1e308, 10**18, -(10**18), -1, -1.5, 0, 0.0, 1e-300,
    2**63 - 1, dt.date(1, 1, 1), dt.date(9999, 12, 31), None,
]
RATIOS = ("cover_weeks", "access", "self_sufficiency")
REMOVE = object()
UNKNOWN = object()


def leaves(node: Any, path: tuple = ()) -> list[tuple]:
    """Every path into `node` (tables, lists and values alike)."""
    out = [path] if path else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += leaves(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += leaves(value, (*path, i))
    return out


def mutated(raw: dict, path: tuple, value: Any) -> dict:
    out = copy.deepcopy(raw)
    node = out
    for key in path[:-1]:
        node = node[key]
    last = path[-1]
    if value is REMOVE:
        del node[last]
    elif value is UNKNOWN:
        target = node[last]
        if isinstance(target, dict):
            target["no_such_field"] = 1.0
        else:
            node[last] = [target, target]
    else:
        node[last] = value
    return out


def _at(raw: dict, path: tuple) -> Any:
    node = raw
    for key in path:
        node = node[key]
    return node


def mutants(raw: dict, count: int, rng: random.Random) -> list[tuple[str, dict]]:
    paths = leaves(raw)
    choices = [*MUTATIONS, REMOVE, UNKNOWN]
    out = []
    for _ in range(count):
        path = rng.choice(paths)
        value = rng.choice(choices)
        current = _at(raw, path)
        if isinstance(current, int | float) and not isinstance(current, bool) and rng.random() < 0.4:
            # a plausible change (most such scenarios load, so the model runs on them)
            value = type(current)(current * rng.choice([0.0, 0.1, 0.5, 2.0, 10.0, 1000.0]))
        label = f"{'.'.join(map(str, path))} = {value!r}"
        out.append((label, mutated(raw, path, value)))
    return out


def fuzz_rng() -> random.Random:
    return random.Random(20261127 if os.environ.get("CI") == "true" else None)


def assert_one_line(err: Exception, source: str) -> None:
    text = str(err)
    assert "\n" not in text and text.startswith(source), text


def assert_runs_cleanly(config: abm.Scenario) -> None:
    until = min(config.end, config.start + dt.timedelta(weeks=5))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow or a NaN in the model is a failure too
        result = abm.run(config, seed=0, until=until)
        for table in (result.weekly, result.prices, result.production, result.customs_monthly,
                      result.pain):
            numbers = table.select_dtypes("number")
            assert not np.isinf(numbers.to_numpy(dtype=float)).any()
            # a ratio over nothing (the cover of buyers without demand) is undefined, not a
            # number the model made up; everything else is a number
            defined = numbers.drop(columns=[c for c in RATIOS if c in numbers])
            assert not defined.isna().to_numpy().any(), list(defined.columns[defined.isna().any()])
        json.dumps(result.material_balance(), allow_nan=False)


def test_mutated_scenarios_give_one_line_or_a_clean_run(tmp_path):
    base = to_dict(from_dict(tomllib.loads(RICH), "rich"))
    rng = fuzz_rng()
    count = int(os.environ.get("ABM_FUZZ_SCENARIOS", "1000"))
    loaded = refused = 0
    for label, raw in mutants(base, count, rng):
        try:
            config = from_dict(raw, "fuzz.toml")
        except ScenarioError as err:
            assert_one_line(err, "fuzz.toml")
            refused += 1
            continue
        except Exception as err:  # noqa: BLE001 - the point of the test
            pytest.fail(f"{label}: {type(err).__name__}: {err}")
        try:
            assert_runs_cleanly(config)
        except Exception as err:  # noqa: BLE001
            pytest.fail(f"{label}: runs with {type(err).__name__}: {err}")
        loaded += 1
    # both branches are exercised: most mutants are refused, many still run
    assert refused > count // 3 and loaded > count // 10


def test_mutants_that_load_write_whole_output_folders(tmp_path):
    """Every tenth loadable mutant of a smaller set is written out with its figures: a whole
    folder with a strict-JSON manifest, nothing hidden left beside it."""
    base = to_dict(from_dict(tomllib.loads(RICH), "rich"))
    written = 0
    for i, (label, raw) in enumerate(mutants(base, 300, fuzz_rng())):
        try:
            config = from_dict(raw, "fuzz.toml")
        except ScenarioError:
            continue
        if i % 10:
            continue
        target = tmp_path / f"run{i}"
        result = abm.run(config, seed=0, until=min(config.end, config.start
                                                   + dt.timedelta(weeks=10)))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            write_run(result, target)
        text = (target / "manifest.json").read_text()
        assert "NaN" not in text and "Infinity" not in text, label
        info = json.loads(text)
        assert sorted(info["files"]) == sorted(p.name for p in target.iterdir()), label
        written += 1
    assert written >= 3
    assert all(not p.name.startswith(".") for p in tmp_path.iterdir())
