"""Writing a run to a directory: tables, figures and a manifest, all or nothing, never over a
user's files.

Everything is written into a staging sibling directory first, which replaces the target only
once complete, so an interrupted or failed run never leaves half-written output. The target may
be replaced only when it is new, empty, or a folder that abm wrote (its `manifest.json` says
so, and holds nothing the manifest does not list); anything else is refused before any work.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import math
import os
import re
import secrets
import shutil
import socket
import subprocess
import warnings
from pathlib import Path

import filelock
import pandas as pd

import abm
from abm import plots, tables

log = logging.getLogger(__name__)
MANIFEST = "manifest.json"
# Staging folders are `.NAME.abm-PID-HEX` (and `...-old` for the folder being replaced), so a
# later writer can tell its own leftovers (a dead PID) from anything else in the parent.
_STAGING = re.compile(r"\.(?P<name>.+)\.abm-(?P<pid>\d+)-[0-9a-f]{8}(-old)?")
# Text cells a spreadsheet would read as a formula (`=cmd|...`, `+1+1`, `@SUM(...)`, `-1+1`).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class OutputError(ValueError):
    """An output path cannot be used without destroying something; the message names the
    path and what was expected, and is meant to be shown to the user as it is."""


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


def safe_name(name: str) -> str:
    """A file-name slug of a scenario name: letters, digits, `.`, `_` and `-` only, never
    starting with a dot, so a name such as `../../x` or `/etc/x` stays one folder name."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-")
    return slug or "scenario"


def _owned_entries(folder: Path) -> set[str] | None:
    """The names abm lists in `folder`'s manifest (None when abm did not write the folder).
    Manifests from before file lists were kept list nothing and own the whole folder."""
    try:
        info = json.loads((folder / MANIFEST).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(info, dict) or "package_version" not in info:
        return None
    files = info.get("files")
    if files is None:
        return {entry.name for entry in folder.iterdir()}
    return {str(name) for name in files} | {MANIFEST} if isinstance(files, list) else None


def check_path(target: Path) -> None:
    """Raise OutputError unless `target` can be an output folder at all: not the root, not
    the current folder or one containing it, not a file, not under a file."""
    target = Path(target)
    resolved = target.resolve()
    if resolved == Path(resolved.anchor):
        raise OutputError(f"{target}: expected an output folder, not the root of the file system")
    cwd = Path.cwd().resolve()
    if resolved == cwd or resolved in cwd.parents:
        raise OutputError(f"{target}: expected an output folder, not the current folder or one "
                          "that contains it")
    if target.is_symlink():
        kind = "a folder" if target.is_dir() else "a file" if target.exists() else "nothing"
        raise OutputError(f"{target}: expected a folder, but it is a symbolic link (to {kind}); "
                          "name the folder itself or choose another output folder")
    if target.exists() and not target.is_dir():
        raise OutputError(f"{target}: expected a folder, but it is a file; choose another "
                          "output folder")
    ancestor = target.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputError(f"{target}: expected a folder path, but {ancestor} is a file")


def check_target(target: Path) -> None:
    """Raise OutputError unless `target` can be written (and replaced) without destroying
    anything abm did not write: it is new, an empty folder, or an abm output folder."""
    target = Path(target)
    check_path(target)
    if not target.exists():
        return
    entries = {entry.name for entry in target.iterdir()}
    if not entries:
        return
    owned = _owned_entries(target)
    if owned is None:
        shown = ", ".join(sorted(entries)[:3]) + (", ..." if len(entries) > 3 else "")
        raise OutputError(f"{target}: expected a new or empty folder, or one abm wrote (it holds "
                          f"{shown} and no abm manifest); choose another output folder")
    foreign = sorted(entries - owned)
    if foreign:
        raise OutputError(f"{target}: expected only what abm wrote there, but it also holds "
                          f"{', '.join(foreign[:3])}; move those files or choose another output "
                          "folder")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _clean_stale_staging(target: Path) -> None:
    """Remove the staging folders of `target` left by writers that were killed."""
    for entry in target.parent.glob(f".{_glob_escape(target.name)}.abm-*"):
        match = _STAGING.fullmatch(entry.name)
        if (match and match["name"] == target.name and entry.is_dir() and not entry.is_symlink()
                and not _pid_alive(int(match["pid"]))):
            shutil.rmtree(entry, ignore_errors=True)


def _glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


def _make_staging(target: Path) -> Path:
    while True:
        staging = target.parent / f".{target.name}.abm-{os.getpid()}-{secrets.token_hex(4)}"
        try:
            # os.mkdir honours the umask (tempfile.mkdtemp would make it private, 0700)
            staging.mkdir()
        except FileExistsError:
            continue
        return staging


@contextlib.contextmanager
def atomic_directory(target: Path):
    """Yield a staging directory that replaces `target` when the block succeeds.

    Raises OutputError before the block runs (and again before replacing, in case the target
    changed meanwhile) if replacing `target` could destroy something abm did not write."""
    target = Path(target)
    check_target(target)
    check_writable(target)
    staging = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _clean_stale_staging(target)
        staging = _make_staging(target)
        yield staging
        check_target(target)
        _replace(staging, target)
    except BaseException as err:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        if isinstance(err, OSError):
            raise _unwritable(target, err) from None
        raise


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells that a spreadsheet would run as a formula are prefixed with a
    quote (OWASP's advice on CSV injection); numbers are untouched."""
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
            continue
        risky = values.map(lambda v: isinstance(v, str) and v.startswith(_FORMULA_START))
        if risky.any():
            out[column] = values.astype(object).where(~risky, "'" + values.astype(str))
    return out


def _csv(frame: pd.DataFrame, path: Path) -> None:
    tables.to_csv(neutralise_formulas(frame), path)


def series_files(result) -> dict[str, pd.DataFrame]:
    """The CSV tables of a run, by file name (the chip tables only with a chip market)."""
    files = {"weekly.csv": result.weekly, "weekly_prices.csv": result.prices,
             "weekly_production.csv": result.production,
             "weekly_licences.csv": result.licences,
             "customs_monthly.csv": result.customs_monthly}
    if result.model.chip_market.enabled:
        files["weekly_chip_sales.csv"] = result.chip_sales
        files["weekly_chip_access.csv"] = result.chip_access
    files["weekly_pain.csv"] = result.pain
    return files


def _finite_json(value):
    """`value` with NaN and infinities as null: strict JSON, which every reader accepts."""
    if isinstance(value, dict):
        return {k: _finite_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite_json(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_run(result, directory: Path, extra_manifest: dict | None = None) -> list[Path]:
    """Write the weekly tables, the customs table, the ledger, figures and manifest.

    A figure that cannot be drawn does not lose the run: it is left out, named in the
    manifest (`figures_not_drawn`) and reported as a `plots.FigureWarning`."""
    good_units = {g.name: g.unit for g in result.config.goods
                  if g.name in set(plots.material_goods(result.config))}
    with atomic_directory(Path(directory)) as staging:
        units = []
        for name, frame in series_files(result).items():
            table = tables.typed(frame)
            _csv(table, staging / name)
            log.debug("wrote %s (%d rows)", name, len(table))
            units += tables.units_rows(name, table, good_units)
        shipments = tables.typed(result.shipments)
        rows = tables.units_rows("shipments.parquet", shipments, good_units)
        tables.to_parquet(shipments, staging / "shipments.parquet",
                          {row["column"]: row["unit"] for row in rows})
        units += rows
        pd.DataFrame(units, columns=["file", "column", "unit", "type"]).to_csv(
            staging / tables.UNITS_FILE, index=False)
        log.info("drawing the figures")
        _, not_drawn = plots.standard_figures(result, staging)
        info = manifest(result, extra_manifest)
        # Goods nobody makes or buys (the chip good, sold by the chip market) have no balance.
        traded = set(plots.material_goods(result.config))
        info["units"] = {g.name: g.unit for g in result.config.goods if g.name in traded}
        info["balance_t"] = {good: parts for good, parts in result.material_balance().items()
                             if good in traded}
        if not_drawn:
            info["figures_not_drawn"] = not_drawn
        info["files"] = sorted([p.name for p in staging.iterdir()] + [MANIFEST])
        (staging / MANIFEST).write_text(json.dumps(_finite_json(info), indent=2,
                                                   allow_nan=False) + "\n")
        names = sorted(p.name for p in staging.iterdir())
    for problem in not_drawn:
        warnings.warn(f"{Path(directory) / problem}", plots.FigureWarning, stacklevel=2)
    return [Path(directory) / name for name in names]


def _replace(staging: Path, target: Path) -> None:
    """Move the complete `staging` folder to `target`, replacing abm's folder there; if the
    move fails, the old folder is put back."""
    old = None
    if target.exists():
        old = staging.with_name(staging.name + "-old")
        target.rename(old)
    try:
        staging.rename(target)
    except OSError:
        if old is not None:
            old.rename(target)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _unwritable(target: Path, err: OSError) -> OutputError:
    # The OS error names the hidden staging folder; the user named the target.
    return OutputError(f"{target}: expected a folder abm can write in, but writing there failed "
                       f"({err.strerror or type(err).__name__}); choose another output folder")


def check_writable(target: Path) -> None:
    """Raise OutputError unless the user can create `target` (or replace it, when it exists),
    before any work is done."""
    target = Path(target)
    ancestor = target if target.exists() else target.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    needed = [target.parent if target.exists() else ancestor]
    if target.exists():
        needed.append(target)  # its files are removed once the new run replaces it
    for folder in needed:
        if not os.access(folder, os.W_OK | os.X_OK):
            where = "" if folder == target else f" ({folder} is read-only)"
            raise OutputError(f"{target}: expected a folder abm can write in, but it is "
                              f"read-only{where}; choose another output folder")


@contextlib.contextmanager
def writer_lock(target: Path):
    """Hold the lock of output folder `target` (the hidden file `.NAME.abm-lock` beside it)
    for the block: a second writer into the same folder stops at once with OutputError
    naming the holder. The lock file is removed when the block ends, however it ends (a
    killed process's lock is released by the operating system)."""
    target = Path(target)
    created = [folder for folder in target.parents if not folder.exists()]
    target.parent.mkdir(parents=True, exist_ok=True)
    path = target.parent / f".{target.name}.abm-lock"
    lock = filelock.FileLock(path, timeout=0)
    try:
        lock.acquire()
    except filelock.Timeout:
        try:
            holder = json.loads(path.read_text())
            who = (f"process {holder['pid']} on {holder['host']}, started "
                   f"{holder['started']}")
        except (OSError, ValueError, KeyError, TypeError):
            who = "another process"
        raise OutputError(f"{target}: another abm run is writing into this folder ({who}); "
                          "wait for it to finish or choose another --out folder") from None
    try:
        path.write_text(json.dumps({
            "pid": os.getpid(), "host": socket.gethostname(),
            "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}) + "\n")
        yield
    finally:
        path.unlink(missing_ok=True)
        lock.release()
        if not target.exists():
            for folder in created:  # the folders made for a run that wrote nothing
                with contextlib.suppress(OSError):
                    folder.rmdir()
