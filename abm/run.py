"""One entry point for every caller: `run(config, seed) -> Result`.

The command line, the experiments and the sweep engine all call `run`, so a run means the same
thing everywhere; a sweep worker needs nothing but this function and a (picklable) config.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field, replace
from functools import cached_property

import pandas as pd

from abm.market.ledger import customs_monthly, shipments_frame
from abm.model import ExportControlModel
from abm.scenario.config import Scenario

log = logging.getLogger(__name__)


@dataclass
class Result:
    """A finished run: the model (for inspection) and its tables, derived on demand."""

    config: Scenario
    seed: int
    model: ExportControlModel = field(repr=False)

    @property
    def weeks(self) -> int:
        return self.model.steps

    @cached_property
    def weekly(self) -> pd.DataFrame:
        """Buyers by (week, good, country, sector): demand, use, shortfall, stocks, halts."""
        return self.model.recorder.weekly_buyers(self.model)

    @cached_property
    def prices(self) -> pd.DataFrame:
        return self.model.recorder.weekly_prices(self.model)

    @cached_property
    def production(self) -> pd.DataFrame:
        return self.model.recorder.weekly_production(self.model)

    @cached_property
    def licences(self) -> pd.DataFrame:
        return self.model.recorder.weekly_licences(self.model)

    @cached_property
    def halt_spells(self) -> pd.DataFrame:
        """Every spell of consecutive halted weeks of every buyer (start date, weeks)."""
        return self.model.recorder.halt_spells(self.model)

    @cached_property
    def chip_sales(self) -> pd.DataFrame:
        """AI-chip sales by (week, chipmaker, region): units, revenue, revenue share paid,
        sales blocked by controls and steered away by import discouragement (USD)."""
        return self.model.chip_market.sales_table()

    @cached_property
    def chip_access(self) -> pd.DataFrame:
        """By (week, region): chip demand, units sold, access (sold / demand), and the share
        bought from domestic makers."""
        return self.model.chip_market.access_table()

    @cached_property
    def pain(self) -> pd.DataFrame:
        """Each State's weekly pain and its four components (shares, 0-1)."""
        from abm.policy.pain import weekly_pain

        return weekly_pain(self.model)

    @cached_property
    def shipments(self) -> pd.DataFrame:
        """The ledger: every shipment."""
        return shipments_frame(self.model)

    @cached_property
    def customs_monthly(self) -> pd.DataFrame:
        return customs_monthly(self.model)

    def material_balance(self) -> dict[str, dict[str, float]]:
        return self.model.material_balance()


def run(
    config: Scenario,
    seed: int = 0,
    until: dt.date | None = None,
    progress=None,
    behaviours=None,
) -> Result:
    """Run `config` with `seed` until its end date (or `until`), one week per step.

    Events dated after the run's last week cannot act in it and are dropped (the result's
    `config` is the scenario as run), so that they cost nothing, in the model or in figures.

    `progress`, if given, is called with the number of weeks done after each week.
    `behaviours` is the registry the scenario's behaviour and strategy names are looked up in
    (`abm.agents.behaviours.Behaviours`; default: the built-in ones)."""
    last = config.end if until is None else min(until, config.end)
    weeks = (last - config.start).days // 7 + 1
    config = within_run(config, weeks)
    log.debug("building the model of %s (%d buyer groups, %d events)", config.name,
              len(config.buyers), len(config.events))
    model = ExportControlModel(config, rng=seed, behaviours=behaviours)
    for _ in range(weeks):
        model.run_for(1)
        if progress is not None:
            progress(model.steps)
    return Result(config=config, seed=seed, model=model)


def within_run(config: Scenario, weeks: int) -> Scenario:
    """`config` without the events after its first `weeks` weeks."""
    kept = tuple(event for event in config.events if config.week_of(event.date) <= weeks)
    return config if len(kept) == len(config.events) else replace(config, events=kept)
