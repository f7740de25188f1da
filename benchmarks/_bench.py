"""Helpers shared by the benchmark scripts: load average, spread of repeated figures, the
machine and commit, and writing a result file under `results/benchmarks/`."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import statistics
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results" / "benchmarks"


def loadavg() -> float:
    """The machine's 1-minute load average."""
    with open("/proc/loadavg") as handle:
        return float(handle.read().split()[0])


def spread(values) -> dict:
    """Median, quartiles (inclusive method), range and count of repeated figures."""
    values = list(values)
    q = statistics.quantiles(values, n=4, method="inclusive") if len(values) > 1 else values * 3
    return {"median": statistics.median(values), "q1": q[0], "q3": q[2],
            "min": min(values), "max": max(values), "n": len(values)}


def commit() -> str:
    done = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    return done.stdout.strip()


COMMIT_AT_START = commit()


def machine() -> dict:
    import mesa
    import numpy

    return {"cpus": os.cpu_count(), "python": platform.python_version(),
            "numpy": numpy.__version__, "mesa": mesa.__version__,
            "platform": platform.platform(),
            "memory_gib": round(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
                                / 2**30, 1)}


def now_utc() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def check_output(path: str | Path) -> Path:
    """`path`, if a benchmark may write it: a file under `results/benchmarks/` (the scripts'
    own, rewritten each run) or one that does not exist yet; a user's file is never replaced.
    Checked before measuring, so a refused name costs nothing."""
    path = Path(path).resolve()
    if path.exists() and path.parent != RESULTS.resolve():
        raise SystemExit(f"{path} exists: name a new file (benchmarks replace only their own "
                         f"files in {RESULTS})")
    return path


def write(path: str | Path, record: dict) -> Path:
    """Write `record` (with the machine and the commit measured, as at the start) as JSON, whole
    or not at all (a temporary file renamed over the target)."""
    path = check_output(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {**record, "commit": COMMIT_AT_START, "machine": machine()}
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(record, indent=1) + "\n")
    os.replace(temporary, path)
    return path
