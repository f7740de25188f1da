"""Sweeps of scenarios that name plugin behaviours: the workers load the same plugins, and
what cannot change a run's numbers does not change a sweep's fingerprint."""

from __future__ import annotations

import dataclasses

import pandas as pd

import abm
from abm.agents.behaviours import Behaviours
from abm.sweep import load_runs, load_spec, run_sweep
from abm.sweep.cli import main as sweep_main
from tests.conftest import TINY

PLUGIN = '''
from abm.agents.buyer import Buyer


class Hoarder(Buyer):
    @staticmethod
    def target_cover_weeks(base_cover, alert, gain):
        return base_cover + 20.0


def register(behaviours):
    behaviours.add("buyer", "hoarder", Hoarder)
'''

SPEC = """
[sweep]
name = "hoarders"
scenario = "hoarders.toml"
seed = 3
replications = 2

[[parameters]]
name = "capacity"
path = "exporters[0].capacity_t_per_week"
values = [55.0, 70.0]

[outcomes]
metrics = ["shortfall_t:magnet", "exports_t:magnet:CHN:USA:2024-06"]
"""


def write_files(tmp_path):
    (tmp_path / "rules.py").write_text(PLUGIN)
    (tmp_path / "hoarders.toml").write_text(
        TINY.replace("count = 3\n", 'count = 3\nbehaviour = "hoarder"\n')
        + '\n[[events]]\ndate = 2024-05-06\nkind = "note"\nlabel = "a note"\n')
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC)
    return spec


def test_a_sweep_with_a_plugin_runs_the_same_in_worker_processes(tmp_path):
    spec_path = write_files(tmp_path)
    behaviours = Behaviours((str(tmp_path / "rules.py"),))
    spec = load_spec(spec_path, behaviours=behaviours)
    serial = run_sweep(spec, tmp_path / "serial", serial=True, progress=False)
    pooled = run_sweep(spec, tmp_path / "pooled", workers=2, progress=False)
    assert serial.failed == pooled.failed == 0
    columns = list(spec.metrics)
    a, b = (load_runs(tmp_path / f)[1] for f in ("serial", "pooled"))
    pd.testing.assert_frame_equal(a[columns], b[columns])


def test_abm_sweep_and_analyze_take_plugins(tmp_path, capsys):
    spec_path = write_files(tmp_path)
    out = str(tmp_path / "out")
    assert sweep_main(["sweep", str(spec_path), "--out", out, "--serial", "--no-progress"]) == 2
    assert "behaviour" in capsys.readouterr().err
    plugin = ["--plugin", str(tmp_path / "rules.py")]
    assert sweep_main(["sweep", str(spec_path), "--out", out, "--serial", "--no-progress",
                       *plugin]) == 0
    assert sweep_main(["analyze", out, *plugin]) == 0


def test_fingerprints_ignore_event_marks_but_not_behaviours(tmp_path):
    spec_path = write_files(tmp_path)
    behaviours = Behaviours((str(tmp_path / "rules.py"),))
    spec = load_spec(spec_path, behaviours=behaviours)
    unmarked = abm.override(spec.base, {"events[0].mark": False}, behaviours=behaviours)
    assert unmarked.events[0].mark is False

    other = dataclasses.replace(spec, base=abm.override(spec.base, {
        "buyers[0].behaviour": "default"}, behaviours=behaviours))
    assert dataclasses.replace(spec, base=unmarked).fingerprint() == spec.fingerprint()
    assert other.fingerprint() != spec.fingerprint()
