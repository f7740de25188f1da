"""What Mesa's own tools read from a run: the model reporters of the model's `DataCollector`
(one value a week) and when a run is over (`model.running`), so `mesa.batch_run` works on the
bare model class, constructed by keyword:

    import mesa
    import abm
    from abm.model import ExportControlModel

    rows = mesa.batch_run(ExportControlModel,
                          parameters={"config": [abm.load("april-2025-controls")]},
                          rng=[1, 2], max_steps=10_000, data_collection_period=1,
                          number_processes=1, display_progress=False)
    # one dict a week and seed: RunId, iteration, Step, config, rng, and the reporters below

A run stops at its scenario's last week (`running` turns False), as `abm.run` does. The
reporters, by good of the scenario (`GOOD`) and price region (`REGION`, `CHN` or `ROW`):

- `date`: the first day of the week (datetime.date);
- `shortfall_t:GOOD`: buyers' demand not met this week, tonnes (demand less use);
- `halted_share:GOOD`: share of buyers' capacity (mean weekly demand) halted this week, 0-1;
- `price_usd_per_kg:GOOD:REGION`: the week's price.

They read the model's arrays and change nothing, so a run's numbers are the same with or
without them; `ExportControlModel.datacollector.get_model_vars_dataframe()` gives them as a
table.
"""

from __future__ import annotations

import datetime as dt
from functools import partial

import mesa
import numpy as np

from abm.scenario.config import CHINA_REGION, REST_OF_WORLD_REGION

# the order of the model's price arrays (abm.model.REGIONS)
REGIONS = (CHINA_REGION, REST_OF_WORLD_REGION)


def weeks_in(config) -> int:
    """The number of weekly steps of a run of `config` from its start to its end."""
    return (config.end - config.start).days // 7 + 1


def _date(model) -> dt.date:
    return model.date


def _shortfall_t(good: int, model) -> float:
    b = model.buyers
    mine = b.good == good
    return float(np.maximum(b.demand_t[mine] - b.used_t[mine], 0.0).sum())


def _halted_share(good: int, model) -> float:
    b = model.buyers
    mine = b.good == good
    capacity = b.mean_demand_t[mine]
    total = capacity.sum()
    return float(capacity[b.halted[mine]].sum() / total) if total > 0 else 0.0


def _price(good: int, region: int, model) -> float:
    return float(model.price_usd_per_kg[good, region])


def model_reporters(model) -> dict:
    """The reporters of `model`'s scenario, by name (picklable functions of the model)."""
    out: dict = {"date": _date}
    for i, good in enumerate(model.goods):
        out[f"shortfall_t:{good}"] = partial(_shortfall_t, i)
        out[f"halted_share:{good}"] = partial(_halted_share, i)
        for r, region in enumerate(REGIONS):
            out[f"price_usd_per_kg:{good}:{region}"] = partial(_price, i, r)
    return out


def collector(model) -> mesa.DataCollector:
    """The model's DataCollector (it collects at the end of every step)."""
    return mesa.DataCollector(model_reporters=model_reporters(model))
