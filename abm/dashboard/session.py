"""The Mesa model the dashboard drives: one run of a scenario, a week per step.

`DashboardModel(source, seed, run_to, **levers)` is what Mesa's SolaraViz builds from the page's
controls (and builds again on Reset). It loads the scenario, sets the levers
(`abm.dashboard.levers`), and steps an `abm.ExportControlModel` week by week until the run-to
date, exactly as `abm.run` does, so its tables are those of an `abm.Result`. Beside it, in step,
runs the scenario unchanged (same seed, no lever moved): the comparison on every chart and
outcome, over the same weeks.

A value the run cannot use (a scenario file that does not load, a seed or date that does not
parse, a lever out of range) never raises: the model keeps the message in `problem`, does not
run, and the page shows the message.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

import mesa
import pandas as pd

import abm
from abm import outcomes
from abm.dashboard.access import check_source
from abm.dashboard.levers import Lever, LeverError, apply, moved
from abm.scenario import Scenario, ScenarioError, builtin_names

DEFAULT_SCENARIO = "history-2025"


def load_scenario(source: str) -> Scenario:
    """A scenario by built-in name or file path. Built-ins are cached (the page builds many
    runs of one); files are read again each time, so an edited file is picked up on Reset.
    Only the files `abm.dashboard.access` allows are opened."""
    if source in builtin_names():
        return _load_builtin(source)
    check_source(source)
    return abm.load(source)


@functools.lru_cache(maxsize=16)
def _load_builtin(name: str) -> Scenario:
    return abm.load(name)


def parse_seed(value: Any) -> int:
    text = str(value).strip()
    try:
        seed = int(text)
    except ValueError:
        raise LeverError(f"seed: expected a whole number >= 0, got {value!r}") from None
    if seed < 0:
        raise LeverError(f"seed: expected a whole number >= 0, got {value!r}")
    return seed


def parse_run_to(value: Any, config: Scenario) -> dt.date:
    """The run-to date: empty means the scenario's end."""
    text = str(value or "").strip()
    if not text:
        return config.end
    try:
        date = dt.date.fromisoformat(text)
    except ValueError:
        raise LeverError(f"run to: expected a date YYYY-MM-DD, got {value!r}") from None
    if not config.start <= date <= config.end:
        raise LeverError(f"run to: expected a date from {config.start} to {config.end}, "
                         f"got {value!r}")
    return date


def weeks_until(config: Scenario, date: dt.date) -> int:
    """Steps that `abm.run(config, until=date)` takes: through the week containing `date`."""
    return (min(date, config.end) - config.start).days // 7 + 1


class DashboardModel(mesa.Model):
    """One run of a scenario as the page steps it (see the module docstring).

    Args:
        source: a built-in scenario name or a scenario file.
        seed: the run's seed (a whole number; text from the page is parsed).
        run_to: the date to run to, YYYY-MM-DD (empty: the scenario's end).
        **levers: lever values by name (`abm.dashboard.levers.levers`).
    """

    def __init__(self, source: str = DEFAULT_SCENARIO, seed: Any = 0, run_to: Any = "",
                 **levers: Any):
        # Mesa's visualisation passes its own experiment `scenario` to every model that takes
        # keyword arguments; this model's scenario is `source`.
        levers.pop("scenario", None)
        self.source = source
        self.problem: str | None = None
        self.config: Scenario | None = None
        self.base: Scenario | None = None
        self.economy: abm.ExportControlModel | None = None
        self.reference: abm.ExportControlModel | None = None
        self.until: dt.date | None = None
        self.seed = 0
        self.moved: list[tuple[Lever, Any]] = []
        try:
            self.base = load_scenario(source)
            self.seed = parse_seed(seed)
            self.until = parse_run_to(run_to, self.base)
            self.moved = moved(self.base, levers)
            self.config = apply(self.base, levers)
        except (ScenarioError, LeverError) as err:
            self.problem = str(err)
        super().__init__(rng=self.seed)
        if self.problem is None:
            self.economy = abm.ExportControlModel(self.config, rng=self.seed)
            self.reference = (self.economy if self.config == self.base
                              else abm.ExportControlModel(self.base, rng=self.seed))
        self.running = self.problem is None and self.weeks_left > 0
        self._results: dict[str, abm.Result] = {}

    @property
    def weeks_left(self) -> int:
        if self.economy is None:
            return 0
        return max(0, weeks_until(self.config, self.until) - self.economy.steps)

    @property
    def date(self) -> dt.date | None:
        """First day of the last week run (None before the first week or without a run)."""
        if self.economy is None or self.economy.steps == 0:
            return None
        return self.economy.date

    def step(self) -> None:
        """One week of the economy; stops at the run-to date."""
        if self.weeks_left > 0:
            self.economy.run_for(1)
            if self.reference is not self.economy:
                self.reference.run_for(1)
        self.running = self.weeks_left > 0

    def run_to_date(self) -> None:
        """Run the remaining weeks to the run-to date at once."""
        while self.weeks_left > 0:
            self.step()
        self.running = False

    def _as_result(self, key: str, config: Scenario, economy) -> abm.Result | None:
        # A Result caches its tables, so keep one per week reached.
        if economy is None:
            return None
        cached = self._results.get(key)
        if cached is None or cached.weeks != economy.steps:
            cached = self._results[key] = abm.Result(config=config, seed=self.seed, model=economy)
        return cached

    @property
    def result(self) -> abm.Result | None:
        """This run so far as an `abm.Result` (the tables of `abm run`); None without a run."""
        return self._as_result("run", self.config, self.economy)

    @property
    def unchanged(self) -> abm.Result | None:
        """The unchanged scenario over the same weeks, as an `abm.Result` (this run's own
        when no lever moved)."""
        if self.reference is self.economy:
            return self.result
        return self._as_result("unchanged", self.base, self.reference)

    @property
    def changed(self) -> bool:
        """Whether any lever differs from the scenario's value."""
        return self.config is not None and self.config != self.base


def last_whole_month(result: abm.Result) -> str | None:
    """The last calendar month the run has covered entirely (YYYY-MM), if any."""
    if result is None or result.weeks == 0:
        return None
    end = result.config.start + dt.timedelta(days=7 * result.weeks - 1)
    first_of_next = (end + dt.timedelta(days=1)).replace(day=1)
    last = first_of_next - dt.timedelta(days=1)
    month = last.replace(day=1)
    if month < result.config.start.replace(day=1) or (
            month == result.config.start.replace(day=1) and result.config.start.day > 1):
        return None
    return f"{month:%Y-%m}"


def first_whole_month(config: Scenario) -> str:
    start = config.start
    if start.day > 1:
        start = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return f"{start:%Y-%m}"


def outcome_names(config: Scenario, good: str, month: str | None) -> list[str]:
    """The outcomes the page shows (`abm.outcomes` names), for `good` and the last whole
    month run (exports need whole months)."""
    names = []
    if month:
        names += [f"exports_t:{good}:CHN:{month}",
                  f"exports_t:{good}:CHN:{first_whole_month(config)}..{month}"]
    names += ["buyer_weeks_halted", "capacity_weeks_halted", "output_lost_usd",
              f"shortfall_t:{good}", f"peak_price_ratio:{good}:ROW"]
    return names


def outcome_table(model: DashboardModel, good: str) -> pd.DataFrame:
    """This run's outcomes so far beside the unchanged run's over the same weeks
    (`abm.outcomes.evaluate` on both). An outcome `abm.outcomes` does not accept (a kind
    renamed, a month outside the run) is left out rather than stop the page."""
    run, unchanged = model.result, model.unchanged
    rows = []
    if run is not None and run.weeks > 0:
        for name in outcome_names(model.config, good, last_whole_month(run)):
            try:
                rows.append({"outcome": name,
                             "this_run": outcomes.evaluate(run, [name])[name],
                             "unchanged": outcomes.evaluate(unchanged, [name])[name]})
            except ValueError:
                continue
    return pd.DataFrame(rows, columns=["outcome", "this_run", "unchanged"])
