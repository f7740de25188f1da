"""Runs of one scenario over many seeds, summarised as bands (median, 5th and 95th percentiles).

Seeds are independent streams spawned from one `numpy.random.SeedSequence`, so an ensemble is
reproducible from (scenario, root seed, size) alone, in any process.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd

import abm


def seeds(root: int, size: int) -> list[int]:
    """`size` independent 63-bit seeds spawned from `root`."""
    children = np.random.SeedSequence(root).spawn(size)
    return [int(child.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for child in children]


def _run_one(args):
    config, seed, summarise = args
    return summarise(abm.run(config, seed=seed))


def run_ensemble(
    config,
    seed_list: list[int],
    summarise: Callable,
    workers: int = 1,
) -> list:
    """`summarise(result)` for each seed (in seed order), with `workers` processes.
    `summarise` must be a module-level function so that it can be sent to a worker."""
    jobs = [(config, seed, summarise) for seed in seed_list]
    if workers <= 1:
        return [_run_one(job) for job in jobs]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_run_one, jobs))


def bands(frames: list[pd.DataFrame], keys: list[str], value: str) -> pd.DataFrame:
    """Median and 5th/95th percentiles of `value` across runs, by `keys` (tidy)."""
    stacked = pd.concat(frames, keys=range(len(frames)), names=["run"]).reset_index(level=0)
    grouped = stacked.groupby(keys)[value]
    out = pd.DataFrame({
        "model_median": grouped.median(),
        "model_p05": grouped.quantile(0.05),
        "model_p95": grouped.quantile(0.95),
    }).reset_index()
    return out
