"""The output folder of a sweep, written so that a kill at any moment corrupts nothing.

    DIR/sweep.json      what was run: the spec's fingerprint, parameters, outcomes, design kind
    DIR/spec.toml       a copy of the spec
    DIR/design.parquet  the design points (design_id and parameter values)
    DIR/runs.parquet    one row per finished run (after the sweep has ended)
    DIR/runs.parts/     batches of rows of the sweep in progress, merged into runs.parquet
    DIR/series/         the optional series, a Parquet dataset (one file per batch)

Every file appears by `os.replace` of a finished temporary file, so a reader never sees a half
file. A batch writes its series file, then its runs file: a series file without its runs file
(a kill in between) is removed on the next start. Every row of runs carries its batch number
(`part`), so the merge into `runs.parquet` can be redone after a kill and still keep each run
exactly once. The parent holds at most one batch of rows at a time.

The folder is abm's: a sweep writes only into a new or empty folder or one holding
`sweep.json`, and holds `DIR/sweep.lock` while it writes, so two sweeps never write into one
folder at once (`DIR/sweep.holder.json` says which process holds it). On every start each file
is read back whole; one that a crash or a full disk left truncated or corrupt is dropped
(with the batch it belongs to) and its runs are run again.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import socket
from pathlib import Path
from typing import Any

import filelock
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from abm.output import OutputError, check_path

KEYS = ("design_id", "replication_id")
# Runs sorted at once while merging: bounds the parent's memory (a row is a few hundred bytes).
MERGE_WINDOW_RUNS = 65_536
PART = re.compile(r"part-(\d{6})\.parquet$")
LOCK = "sweep.lock"
HOLDER = "sweep.holder.json"
# The temporary files this module writes (and only those are cleared on a start).
TMP = re.compile(r"(part-\d{6}\.parquet|runs\.parquet|design\.parquet|sweep\.json|spec\.toml"
                 r")\.tmp")
# What reading a damaged Parquet or JSON file raises.
UNREADABLE = (pa.ArrowException, OSError, ValueError)


class SweepDirError(ValueError):
    """The output folder holds a different sweep, is in use, or cannot be used."""


def check_sweep_folder(root: Path) -> None:
    """Raise SweepDirError unless `root` is new, empty, or a sweep folder (has sweep.json)."""
    root = Path(root)
    try:
        check_path(root)
    except OutputError as err:
        raise SweepDirError(str(err)) from None
    if not root.exists() or (root / "sweep.json").is_file():
        return
    entries = sorted(entry.name for entry in root.iterdir() if entry.name not in (LOCK, HOLDER))
    if entries:
        shown = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
        raise SweepDirError(f"{root}: expected a new or empty folder, or a sweep folder (it "
                            f"holds {shown} and no sweep.json); choose another --out folder")


def runs_schema(parameter_types: dict[str, pa.DataType], metrics: list[str]) -> pa.Schema:
    fields = [
        pa.field("design_id", pa.int64()),
        pa.field("replication_id", pa.int64()),
        pa.field("seed", pa.int64()),
        pa.field("status", pa.string()),
        pa.field("error", pa.string()),
        pa.field("elapsed_s", pa.float64()),
        pa.field("part", pa.int64()),
    ]
    fields += [pa.field(name, kind) for name, kind in parameter_types.items()]
    fields += [pa.field(name, pa.float64()) for name in metrics]
    return pa.schema(fields)


def described(schema: pa.Schema, fields: dict[str, dict[str, Any]], table: dict[str, Any]
              ) -> pa.Schema:
    """`schema` with each field's `fields[name]` (unit, description, ...) and the whole
    `table` dict as JSON metadata, so a Parquet reader sees what every column means."""
    out = []
    for field in schema:
        extra = fields.get(field.name)
        out.append(field.with_metadata({k: json.dumps(v) if not isinstance(v, str) else v
                                        for k, v in extra.items()}) if extra else field)
    return pa.schema(out, metadata={"abm": json.dumps(table, default=str)})


SERIES_SCHEMA = pa.schema([
    pa.field("design_id", pa.int64()),
    pa.field("replication_id", pa.int64()),
    pa.field("series", pa.string()),
    pa.field("period", pa.string()),
    pa.field("key", pa.string()),
    pa.field("value", pa.float64()),
])


def write_atomic(table: pa.Table, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp, compression="zstd")
    _fsync(tmp)
    os.replace(tmp, path)


def write_text_atomic(text: str, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    _fsync(tmp)
    os.replace(tmp, path)


def read_whole(path: Path) -> pa.Table:
    """Read a Parquet file completely (every page decoded), so damage anywhere shows."""
    return pq.read_table(path)


def _fsync(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


class RunStore:
    """Reads what a sweep folder already holds and adds batches of finished runs."""

    def __init__(self, root: Path, schema: pa.Schema, n_designs: int, replications: int):
        self.root = Path(root)
        self.schema = schema
        self.shape = (n_designs, replications)
        self.runs_path = self.root / "runs.parquet"
        self.parts_dir = self.root / "runs.parts"
        self.series_dir = self.root / "series"
        self._lock: filelock.BaseFileLock | None = None

    # --- opening ---------------------------------------------------------------------------------

    def open(self, meta: dict[str, Any]) -> list[str]:
        """Create the folder, or check it holds the same sweep; lock it; clear what a kill
        left and drop damaged files. Returns one line per file dropped."""
        check_sweep_folder(self.root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock_folder()
        try:
            return self._open_locked(meta)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Release the folder (the lock); safe to call twice."""
        if self._lock is not None:
            (self.root / HOLDER).unlink(missing_ok=True)
            self._lock.release()
            self._lock = None

    def _lock_folder(self) -> None:
        lock = filelock.FileLock(self.root / LOCK, timeout=0)
        try:
            lock.acquire()
        except filelock.Timeout:
            try:
                holder = json.loads((self.root / HOLDER).read_text())
                who = (f"process {holder['pid']} on {holder['host']}, started "
                       f"{holder['started']}")
            except (OSError, ValueError, KeyError, TypeError):
                who = "another process"
            raise SweepDirError(f"{self.root}: another sweep is writing into this folder "
                                f"({who}); wait for it to finish or choose another --out "
                                "folder") from None
        self._lock = lock
        write_text_atomic(json.dumps({
            "pid": os.getpid(), "host": socket.gethostname(),
            "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }) + "\n", self.root / HOLDER)

    def _open_locked(self, meta: dict[str, Any]) -> list[str]:
        meta_path = self.root / "sweep.json"
        if meta_path.exists():
            try:
                old = json.loads(meta_path.read_text())
                fingerprint = old["fingerprint"]
            except (OSError, ValueError, KeyError, TypeError) as err:
                raise SweepDirError(
                    f"{meta_path}: unreadable ({type(err).__name__}), so the sweep in this "
                    "folder cannot be identified; choose another --out folder") from None
            if fingerprint != meta["fingerprint"]:
                raise SweepDirError(
                    f"{self.root}: holds a different sweep ({old.get('name')!r}, fingerprint "
                    f"{fingerprint}, this spec {meta['fingerprint']}); choose another "
                    "--out folder or remove it")
        else:
            write_text_atomic(json.dumps(meta, indent=2, default=str) + "\n", meta_path)
        self.parts_dir.mkdir(exist_ok=True)
        self.series_dir.mkdir(exist_ok=True)
        for folder in (self.root, self.parts_dir, self.series_dir):
            for tmp in folder.glob("*.tmp"):
                if TMP.fullmatch(tmp.name):
                    tmp.unlink()
        dropped = self._drop_damaged()
        committed = set(self._part_ids(self.parts_dir)) | self._merged_parts()
        for part_id, path in self._part_ids(self.series_dir).items():
            if part_id not in committed:
                path.unlink()
        return dropped

    def _drop_damaged(self) -> list[str]:
        """Remove every file that cannot be read back whole, and the batch it belongs to (a
        runs batch and its series go together), so that those runs are run again."""
        dropped = []
        bad_parts = set()
        if self.runs_path.exists():
            try:
                read_whole(self.runs_path)
            except UNREADABLE as err:
                self.runs_path.unlink()
                dropped.append(f"{self.runs_path}: damaged ({type(err).__name__}), dropped; "
                               "its runs will be run again")
        for folder in (self.parts_dir, self.series_dir):
            for part_id, path in self._part_ids(folder).items():
                try:
                    read_whole(path)
                except UNREADABLE as err:
                    bad_parts.add(part_id)
                    dropped.append(f"{path}: damaged ({type(err).__name__}), dropped with its "
                                   "batch; its runs will be run again")
        for part_id in bad_parts:
            for folder in (self.parts_dir, self.series_dir):
                (folder / f"part-{part_id:06d}.parquet").unlink(missing_ok=True)
        merged_bad = bad_parts & self._merged_parts()
        if merged_bad:
            runs = read_whole(self.runs_path)
            keep = ~np.isin(runs.column("part").to_numpy(), sorted(merged_bad))
            write_atomic(runs.filter(pa.array(keep)), self.runs_path)
        return dropped

    def _part_ids(self, folder: Path) -> dict[int, Path]:
        out = {}
        for path in folder.glob("part-*.parquet"):
            match = PART.search(path.name)
            if match:
                out[int(match.group(1))] = path
        return out

    def _merged_parts(self) -> set[int]:
        if not self.runs_path.exists():
            return set()
        parts = pq.read_table(self.runs_path, columns=["part"]).column("part")
        return set(np.unique(parts.to_numpy()).tolist())

    def _sources(self) -> list[Path]:
        """Files holding rows, oldest first: the merged file, then the batches."""
        sources = [self.runs_path] if self.runs_path.exists() else []
        return sources + [p for _, p in sorted(self._part_ids(self.parts_dir).items())]

    def done_mask(self) -> np.ndarray:
        """Boolean (design, replication) array: True where a run is already recorded."""
        done = np.zeros(self.shape, dtype=bool)
        for path in self._sources():
            for batch in pq.ParquetFile(path).iter_batches(columns=list(KEYS)):
                d = batch.column(0).to_numpy()
                r = batch.column(1).to_numpy()
                inside = (d < self.shape[0]) & (r < self.shape[1])
                done[d[inside], r[inside]] = True
        return done

    def next_part_id(self) -> int:
        ids = set(self._part_ids(self.parts_dir)) | set(self._part_ids(self.series_dir))
        ids |= self._merged_parts()
        return max(ids, default=0) + 1

    # --- writing ---------------------------------------------------------------------------------

    def write_batch(self, part_id: int, rows: list[dict[str, Any]], series: list[pa.Table]
                    ) -> None:
        name = f"part-{part_id:06d}.parquet"
        if series:
            write_atomic(pa.concat_tables(series), self.series_dir / name)
        for row in rows:
            row["part"] = part_id
        write_atomic(pa.Table.from_pylist(rows, schema=self.schema), self.parts_dir / name)

    def merge(self) -> int:
        """Fold the batches into runs.parquet in design order (sorted by design_id, then
        replication_id), each run once (the first recorded), a window of design points at a
        time so that memory stays bounded. Returns the number of runs in runs.parquet."""
        parts = self._part_ids(self.parts_dir)
        if not parts and self.runs_path.exists():
            return pq.ParquetFile(self.runs_path).metadata.num_rows
        sources = self._sources()
        n_designs, reps = self.shape
        window = max(1, MERGE_WINDOW_RUNS // reps)
        tmp = self.runs_path.with_name(self.runs_path.name + ".tmp")
        count = 0
        with pq.ParquetWriter(tmp, self.schema, compression="zstd") as writer:
            for low in range(0, n_designs, window):
                inside = [("design_id", ">=", low), ("design_id", "<", low + window)]
                table = pa.concat_tables([pq.read_table(path, filters=inside).cast(self.schema)
                                          for path in sources])
                if not table.num_rows:
                    continue
                key = (table.column("design_id").to_numpy() * reps
                       + table.column("replication_id").to_numpy())
                # np.unique gives each key's first occurrence (oldest file first) in key order
                _, first = np.unique(key, return_index=True)
                writer.write_table(table.take(pa.array(first)))
                count += len(first)
        _fsync(tmp)
        os.replace(tmp, self.runs_path)
        for path in parts.values():
            path.unlink()
        return count
