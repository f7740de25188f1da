"""Writing a run to a directory: tables, figures and a manifest, all or nothing.

Everything is written into a temporary sibling directory first, which replaces the target only
once complete, so an interrupted or failed run never leaves half-written output.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import abm
from abm import plots


def git_commit() -> str | None:
    """The commit of the source tree this package runs from, when it is a git checkout."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def manifest(result, extra: dict | None = None) -> dict:
    return {
        "scenario": result.config.name,
        "description": result.config.description,
        "seed": result.seed,
        "start": result.config.start.isoformat(),
        "end": result.config.end.isoformat(),
        "weeks": result.weeks,
        "package_version": abm.__version__,
        "git_commit": git_commit(),
        **(extra or {}),
    }


@contextlib.contextmanager
def atomic_directory(target: Path):
    """Yield a temporary directory that replaces `target` when the block succeeds."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{staging.name.rsplit('.', 1)[-1]}")
        target.rename(old)
    staging.rename(target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_run(result, directory: Path, extra_manifest: dict | None = None) -> list[Path]:
    """Write the weekly tables, the customs table, the ledger, figures and manifest."""
    with atomic_directory(Path(directory)) as staging:
        result.weekly.to_csv(staging / "weekly.csv", index=False, float_format="%.6g")
        result.prices.to_csv(staging / "weekly_prices.csv", index=False, float_format="%.6g")
        result.production.to_csv(staging / "weekly_production.csv", index=False,
                                 float_format="%.6g")
        result.licences.to_csv(staging / "weekly_licences.csv", index=False, float_format="%.6g")
        result.customs_monthly.to_csv(staging / "customs_monthly.csv", index=False)
        result.chip_sales.to_csv(staging / "weekly_chip_sales.csv", index=False, float_format="%.6g")
        result.chip_access.to_csv(staging / "weekly_chip_access.csv", index=False,
                                  float_format="%.6g")
        result.pain.to_csv(staging / "weekly_pain.csv", index=False, float_format="%.6g")
        result.shipments.to_parquet(staging / "shipments.parquet", index=False)
        plots.standard_figures(result, staging)
        info = manifest(result, extra_manifest)
        info["balance_t"] = result.material_balance()
        (staging / "manifest.json").write_text(json.dumps(info, indent=2) + "\n")
        names = sorted(p.name for p in staging.iterdir())
    return [Path(directory) / name for name in names]
