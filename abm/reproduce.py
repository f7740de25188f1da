"""Rerun the experiments and check that their tables still come out of this code.

`abm reproduce [EXPERIMENT] [--quick]` runs each experiment script of `experiments/` into a
temporary folder and compares every table it writes (CSV and the numbers of JSON files) with
the committed one in `results/`, within the experiment's stated tolerances (`EXPERIMENTS`;
`results/INDEX.md` lists them). The runs are seeded, so on the same code and library versions
the numbers are equal; the tolerances absorb floating-point differences between machines and
library builds, not changes of behaviour.

`--quick` runs the experiments whose quick mode fits in a CI job (fewer seeds, no fit grid)
and compares them with the quick-reference tables committed in `results/quick/<experiment>/`,
written by the same scripts with `--quick`.

Experiment scripts use only the public API; this module also gives them `manifest()`, the
record every results folder carries (package version, commit, seeds, data files with SHA-256).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import math
import runpy
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

import pandas as pd

import abm

REPO = Path(__file__).resolve().parent.parent


def data_checksums(names: list[str]) -> list[dict]:
    """SHA-256 of each named file shipped in `abm/data/`."""
    out = []
    for name in names:
        payload = files("abm.data").joinpath(name).read_bytes()
        out.append({"file": f"abm/data/{name}", "sha256": hashlib.sha256(payload).hexdigest()})
    return out


def manifest(experiment: str, scenario: str, root_seed: int | None, seed_list: list[int],
             data_files: list[str], **extra) -> dict:
    """The manifest of a results folder: what ran, with which seeds and data. It holds nothing
    that changes from one commit to the next (no commit hash, no time), so rerunning an
    experiment on a clean checkout leaves the committed folder unchanged; the commit that
    made a results folder is the one that committed it (`git log -- results/NAME`)."""
    return {"experiment": experiment, "scenario": scenario, "root_seed": root_seed,
            "seeds": list(seed_list), "package_version": abm.__version__,
            "data_files": data_checksums(data_files), **extra}


@dataclass(frozen=True)
class Experiment:
    """How to rerun one experiment and what to compare.

    `args` and `quick_args` are the script's arguments (the output folder is added);
    `tables` the files compared; `rtol`/`atol` the tolerance on every number; `quick_tables`
    the files compared in quick mode (None: the experiment has no quick reference and is
    skipped by `--quick`)."""

    name: str
    script: str
    tables: tuple[str, ...]
    args: tuple[str, ...] = ()
    quick_args: tuple[str, ...] = ("--quick",)
    quick_tables: tuple[str, ...] | None = None
    rtol: float = 1e-6
    atol: float = 1e-6
    notes: str = ""
    ignore_keys: tuple[str, ...] = field(default=("seconds", "elapsed_s", "run_seconds_total",
                                                  "seconds_this_session"))


EXPERIMENTS: dict[str, Experiment] = {e.name: e for e in (
    Experiment("e01_history_2025", "e01_history_2025.py",
               ("monthly_exports.csv", "metrics.json"), args=("--workers", "1"),
               quick_args=("--quick", "--workers", "1"),
               quick_tables=("monthly_exports.csv", "metrics.json")),
    Experiment("e02_quota_crisis", "e02_quota_crisis.py",
               ("prices.csv", "targets.csv", "fit.csv", "metrics.json"), args=("--workers", "1"),
               quick_args=("--quick", "--workers", "1"),
               quick_tables=("prices.csv", "targets.csv", "metrics.json")),
    Experiment("e03_licence_sweep", "e03_licence_sweep.py",
               ("summary.csv", "share_halted_by_country.csv"), args=("--workers", "2"),
               rtol=1e-4, notes="tables written with 5 significant digits"),
    Experiment("e04_london_tradeoff", "e04_london_tradeoff.py",
               ("summary.csv", "weights.csv", "runs.csv"), rtol=1e-5,
               notes="tables written with 6 significant digits"),
    Experiment("e05_reneging", "e05_reneging.py", ("summary.csv", "bands.csv", "runs.csv"),
               rtol=1e-5, notes="tables written with 6 significant digits"),
    Experiment("e06_sensitivity", "e06_sensitivity.py", ("sobol_indices.csv",),
               args=("--workers", "2"), rtol=1e-6),
    Experiment("e07_output_lost", "e07_output_lost.py",
               ("output_lost_by_sector.csv", "comparison.csv", "metrics.json"),
               args=("--workers", "1"), quick_args=("--quick", "--workers", "1"),
               quick_tables=("output_lost_by_sector.csv", "comparison.csv", "metrics.json")),
    Experiment("calibration_2025", "calibrate_2025.py", ("fit.csv", "fitted_parameters.json"),
               args=("--points", "40", "--maxiter", "40", "--seeds", "2", "--workers", "1"),
               rtol=1e-6),
)}


@dataclass
class Check:
    """The comparison of one table: `status` is match, mismatch, missing or error."""

    experiment: str
    table: str
    status: str
    detail: str = ""
    compared: int = 0


def _numbers(value, prefix: str = "") -> dict[str, object]:
    """Flatten JSON into path -> leaf."""
    if isinstance(value, dict):
        out = {}
        for key, inner in value.items():
            out.update(_numbers(inner, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list):
        out = {}
        for i, inner in enumerate(value):
            out.update(_numbers(inner, f"{prefix}[{i}]"))
        return out
    return {prefix: value}


def _close(a, b, rtol: float, atol: float) -> bool:
    if isinstance(a, bool) or isinstance(b, bool) or not (
            isinstance(a, int | float) and isinstance(b, int | float)):
        return a == b
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= atol + rtol * abs(b)


def compare_json(new: Path, old: Path, spec: Experiment) -> tuple[bool, str, int]:
    got = _numbers(json.loads(new.read_text()))
    want = _numbers(json.loads(old.read_text()))
    keys = sorted(k for k in set(got) | set(want)
                  if k.split(".")[-1] not in spec.ignore_keys)
    bad = [k for k in keys if k not in got or k not in want
           or not _close(got[k], want[k], spec.rtol, spec.atol)]
    if bad:
        k = bad[0]
        return False, (f"{len(bad)} of {len(keys)} values differ; first {k}: "
                       f"{got.get(k, 'absent')!r} against {want.get(k, 'absent')!r}"), len(keys)
    return True, f"{len(keys)} values", len(keys)


def compare_csv(new: Path, old: Path, spec: Experiment) -> tuple[bool, str, int]:
    got, want = pd.read_csv(new), pd.read_csv(old)
    if list(got.columns) != list(want.columns):
        return False, f"columns {list(got.columns)} against {list(want.columns)}", 0
    if len(got) != len(want):
        return False, f"{len(got)} rows against {len(want)}", 0
    count = 0
    for column in want.columns:
        a, b = got[column], want[column]
        if pd.api.types.is_numeric_dtype(b) and pd.api.types.is_numeric_dtype(a):
            close = [_close(float(x), float(y), spec.rtol, spec.atol) for x, y in zip(a, b, strict=True)]
        else:
            close = [(x == y) or (pd.isna(x) and pd.isna(y)) for x, y in zip(a, b, strict=True)]
        count += len(close)
        if not all(close):
            row = close.index(False)
            return False, (f"{column} differs in {close.count(False)} of {len(close)} rows; "
                           f"first row {row}: {a.iloc[row]!r} against {b.iloc[row]!r}"), count
    return True, f"{count} values", count


def reference_folder(spec: Experiment, quick: bool, results: Path) -> Path:
    return results / "quick" / spec.name if quick else results / spec.name


def run_script(spec: Experiment, out: Path, quick: bool) -> None:
    """Run the experiment's script in this process (so that a test can change the model),
    with its output sent to `out`."""
    script = REPO / "experiments" / spec.script
    argv = [str(script), *(spec.quick_args if quick else spec.args), "--out", str(out)]
    saved = sys.argv
    sys.argv = argv
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            runpy.run_path(str(script), run_name="__main__")
    except SystemExit as stop:
        if stop.code not in (0, None):
            raise RuntimeError(f"{spec.script} exited with {stop.code}") from None
    finally:
        sys.argv = saved


def reproduce(names: list[str], quick: bool = False, results: Path | None = None,
              work: Path | None = None) -> tuple[list[Check], dict[str, float]]:
    """Rerun `names` and compare their tables with the committed ones. Returns the checks and
    the run time of each experiment (seconds)."""
    results = results or REPO / "results"
    checks, seconds = [], {}
    with tempfile.TemporaryDirectory(prefix="abm-reproduce-") as scratch:
        base = Path(work or scratch)
        for name in names:
            spec = EXPERIMENTS[name]
            tables = spec.quick_tables if quick else spec.tables
            if tables is None:
                continue
            out = base / name
            began = time.perf_counter()
            try:
                run_script(spec, out, quick)
            except Exception as error:  # a crash is a failure to reproduce, reported as such
                checks.append(Check(name, "(run)", "error", f"{type(error).__name__}: {error}"))
                continue
            finally:
                seconds[name] = time.perf_counter() - began
            reference = reference_folder(spec, quick, results)
            for table_name in tables:
                new, old = out / table_name, reference / table_name
                if not old.exists() or not new.exists():
                    missing = old if not old.exists() else new
                    checks.append(Check(name, table_name, "missing", f"no {missing}"))
                    continue
                compare = compare_json if table_name.endswith(".json") else compare_csv
                ok, detail, count = compare(new, old, spec)
                checks.append(Check(name, table_name, "match" if ok else "mismatch", detail, count))
    return checks, seconds


def report(checks: list[Check], seconds: dict[str, float], quick: bool) -> str:
    lines = [f"{'experiment':<20} {'table':<28} {'status':<9} detail"]
    for c in checks:
        lines.append(f"{c.experiment:<20} {c.table:<28} {c.status:<9} {c.detail}")
    failed = [c for c in checks if c.status != "match"]
    took = ", ".join(f"{k} {v:.0f} s" for k, v in seconds.items())
    lines.append(f"{len(checks) - len(failed)} of {len(checks)} tables match "
                 f"({'quick references' if quick else 'committed results'}; {took})")
    return "\n".join(lines)


def experiment_name(text: str) -> str:
    """The experiment `text` names: its full name, or the one name it begins (`e01`)."""
    if text in EXPERIMENTS:
        return text
    found = [name for name in EXPERIMENTS if name.startswith(text + "_") or name == text]
    if len(found) != 1:
        raise argparse.ArgumentTypeError(
            f"expected one of {', '.join(sorted(EXPERIMENTS))} or its short name, got {text!r}")
    return found[0]


def cmd_reproduce(args) -> int:
    names = [args.experiment] if args.experiment else list(EXPERIMENTS)
    checks, seconds = reproduce(names, quick=args.quick, work=Path(args.keep) if args.keep else None)
    print(report(checks, seconds, args.quick))
    if not checks:
        print(f"abm: {args.experiment} has no quick reference; run it without --quick",
              file=sys.stderr)
        return 2
    return 0 if all(c.status == "match" for c in checks) else 1


def add_subcommand(sub) -> None:
    """`abm reproduce [EXPERIMENT] [--quick] [--keep DIR]`."""
    parser = sub.add_parser(
        "reproduce", help="rerun experiments and compare their tables with results/",
        description="Rerun one experiment (or all) into a temporary folder and compare every "
        "table with the committed one within its tolerance (results/INDEX.md); prints what "
        "matched and exits 1 on a mismatch. --quick reruns the quick modes (fewer seeds) "
        "against results/quick/.")
    parser.add_argument("experiment", nargs="?", type=experiment_name, metavar="EXPERIMENT",
                        help=f"one of {', '.join(sorted(EXPERIMENTS))}, or its short name "
                        "(e01, ..., calibration) (default: all)")
    parser.add_argument("--quick", action="store_true",
                        help="the quick modes, against results/quick/ (what CI runs)")
    parser.add_argument("--keep", metavar="DIR", help="write the reruns to DIR, not a temp dir")
    parser.set_defaults(func=cmd_reproduce)
