"""How much work a command may start before it must be asked for explicitly.

The cost of a run grows with buyers x weeks (2 to 7 microseconds of one core a buyer-week,
docs/performance.md, and about 800 bytes of peak memory a buyer-week when the run's shipment
table is built: 2 GB for 100 times the built-in buyers over three years), so work is measured
in buyer-weeks. A run or a sweep above its limit is refused before it starts, unless
the caller passes `allow_large` (`--allow-large` on the command line).
"""

from __future__ import annotations

import datetime as dt

from abm.scenario import Scenario

# One run: 200 times the built-in population (163 buyers) over three years, about 4 GB.
MAX_RUN_BUYER_WEEKS = 5_000_000
# A sweep, all runs together: a few hours of one core (80,000 built-in runs of three years).
MAX_SWEEP_BUYER_WEEKS = 2_000_000_000


class TooMuchWork(ValueError):
    """The work asked for is above the limit; the message says how much and how to go on."""


def run_weeks(config: Scenario, until: dt.date | None = None) -> int:
    last = config.end if until is None else min(until, config.end)
    return (last - config.start).days // 7 + 1


def buyer_weeks(config: Scenario, until: dt.date | None = None) -> int:
    """The size of one run of `config`: its buyers times its weeks."""
    buyers = sum(group.count for group in config.buyers)
    return max(1, buyers) * run_weeks(config, until)


def check_run(config: Scenario, until: dt.date | None = None, allow_large: bool = False,
              source: str | None = None) -> None:
    """Refuse a run of `config` above the limit; `source` (the scenario's file or name) is
    named in the message."""
    size = buyer_weeks(config, until)
    if size > MAX_RUN_BUYER_WEEKS and not allow_large:
        where = source or f"scenario {config.name!r}"
        raise TooMuchWork(
            f"{where}: buyers.count x weeks: expected at most {MAX_RUN_BUYER_WEEKS:,} "
            f"buyer-weeks in one run, got {size:,} ({size // run_weeks(config, until):,} buyers x "
            f"{run_weeks(config, until):,} weeks); pass --allow-large to run it anyway")


def check_sweep(runs: int, config: Scenario, until: dt.date | None = None,
                allow_large: bool = False) -> None:
    if allow_large:
        return
    check_run(config, until)
    size = runs * buyer_weeks(config, until)
    if size > MAX_SWEEP_BUYER_WEEKS:
        raise TooMuchWork(
            f"sweep: expected at most {MAX_SWEEP_BUYER_WEEKS:,} buyer-weeks in all, got "
            f"{size:,} ({runs:,} runs of {buyer_weeks(config, until):,}); reduce the design or "
            "the replications, or pass --allow-large to run it anyway")
