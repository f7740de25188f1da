"""The sweep folder: runs merged in design order, each run once."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from abm.sweep import store as store_module
from abm.sweep.store import RunStore, runs_schema


def test_merge_writes_runs_in_design_order_each_once(tmp_path, monkeypatch):
    # a window of 4 runs (2 design points) makes the merge take several passes
    monkeypatch.setattr(store_module, "MERGE_WINDOW_RUNS", 4)
    schema = runs_schema({"x": pa.float64()}, ["y"])
    store = RunStore(tmp_path, schema, n_designs=5, replications=2)
    store.open({"fingerprint": "f", "name": "t"})

    def row(d, r, y):
        return {"design_id": d, "replication_id": r, "seed": r, "status": "ok", "error": None,
                "elapsed_s": 0.0, "x": float(d), "y": y}

    # batches as workers finish: out of order, and run (3, 1) recorded twice
    store.write_batch(1, [row(4, 1, 1.0), row(3, 1, 2.0), row(0, 0, 3.0)], [])
    store.write_batch(2, [row(2, 0, 4.0), row(3, 1, 99.0), row(1, 1, 5.0), row(4, 0, 6.0)], [])
    store.write_batch(3, [row(0, 1, 7.0), row(1, 0, 8.0), row(2, 1, 9.0), row(3, 0, 10.0)], [])
    assert store.merge() == 10
    runs = pd.read_parquet(tmp_path / "runs.parquet")  # plain pandas, no sorting
    assert list(zip(runs["design_id"], runs["replication_id"], strict=True)) == [
        (d, r) for d in range(5) for r in range(2)]
    assert runs.loc[(runs["design_id"] == 3) & (runs["replication_id"] == 1), "y"].item() == 2.0
    assert not list((tmp_path / "runs.parts").iterdir())
