"""Outcomes: named numbers (metrics) and time series computed from a finished run, written as a
small typed language and checked against the scenario before any run.

An outcome is `kind:part:part...`. Metrics (one number a run):

- `exports_t:GOOD:ORIGIN[:DESTINATION]:PERIOD`  tonnes exported (customs), e.g.
  `exports_t:magnet:CHN:2025-05`, `exports_t:magnet:CHN:USA:2025`;
- `export_share:GOOD:ORIGIN:DESTINATION:PERIOD`  the destination's share of those exports;
- `min_monthly_exports_t:GOOD:ORIGIN[:DESTINATION]:PERIOD`  the lowest month's exports;
- `buyer_weeks_halted[:COUNTRY[:SECTOR]][:PERIOD]`  buyer-weeks in which a buyer was halted;
- `capacity_weeks_halted[:COUNTRY[:SECTOR]][:PERIOD]`  weeks of capacity halted (halts as
  shares of capacity, not counts of buyers);
- `output_lost_usd[:COUNTRY[:SECTOR]][:PERIOD]`  value of output lost for want of goods;
- `shortfall_t:GOOD[:COUNTRY[:SECTOR]][:PERIOD]`  cumulative unmet demand, tonnes;
- `peak_price_ratio:GOOD:REGION`  the highest weekly price over its reference price;
- `price_ratio_at:GOOD:REGION:DATE`  the price in the week containing DATE over its reference.

Series (one value a month or a week):

- `exports_t:GOOD:ORIGIN[:DESTINATION]`  monthly exports, tonnes (without a destination: the
  total `ALL` and each destination);
- `price_usd_per_kg:GOOD:REGION`  weekly price;
- `buyers_halted[:COUNTRY[:SECTOR]]`  weekly number of halted buyers;
- `shortfall_t:GOOD[:COUNTRY[:SECTOR]]`  weekly unmet demand, tonnes.

A PERIOD is a month `2025-05`, a year `2025` or a range `2025-04..2025-07`, and must lie in the
whole months the run covers. `*` or an empty part (`buyer_weeks_halted::automotive`) means all
countries, destinations, origins or sectors. Every part is checked against the scenario (and
the run's last date): an unknown good, country, sector, region, month or kind raises
`OutcomeError`, one line naming the outcome, the bad part, the valid choices and a close match,
so a sweep never runs on an outcome that can only be zero. `abm outcomes SCENARIO` lists what
can be asked for, with units.

Halt and loss metrics take an optional PERIOD as their last part
(`output_lost_usd:USA:2025-04..2025-12` is output lost April-December 2025; a week across a
month's edge counts pro rata to its days); without one they cover the whole run, and their
`description` and `period_label` say which.

    parse("exports_t:magnet:CHN:2025-05", scenario)      # -> Outcome, or OutcomeError
    evaluate(result, ["buyer_weeks_halted:USA"])          # -> {"buyer_weeks_halted:USA": 12.0}
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from abm.scenario.config import CHINA_REGION, REST_OF_WORLD_REGION, Scenario

REGIONS = (CHINA_REGION, REST_OF_WORLD_REGION)
ALL = "*"


class OutcomeError(ValueError):
    """An outcome name that cannot be computed on this scenario (one line, shown as it is)."""


@dataclass(frozen=True)
class Kind:
    """The grammar of one kind of outcome: its parts (a trailing `?` marks an optional part),
    its unit and what it measures."""

    name: str
    parts: tuple[str, ...]
    unit: str
    description: str
    series: bool = False


METRICS = {kind.name: kind for kind in (
    Kind("exports_t", ("good", "origin", "destination?", "period"), "t",
         "tonnes of GOOD exported from ORIGIN (to DESTINATION) over PERIOD, customs"),
    Kind("export_share", ("good", "origin", "destination", "period"), "share (0-1)",
         "DESTINATION's share of ORIGIN's exports of GOOD over PERIOD"),
    Kind("min_monthly_exports_t", ("good", "origin", "destination?", "period"), "t",
         "the lowest month's exports of GOOD from ORIGIN (to DESTINATION) in PERIOD"),
    Kind("buyer_weeks_halted", ("country?", "sector?", "period?"), "buyer-weeks",
         "weeks in which a buyer (in COUNTRY, SECTOR) covered less than halt_threshold of "
         "its demand, summed over buyers"),
    Kind("capacity_weeks_halted", ("country?", "sector?", "period?"), "capacity-weeks",
         "weeks of the capacity (demand) of buyers (in COUNTRY, SECTOR) that was halted: "
         "halted buyers' demand summed over weeks, over the usual weekly demand"),
    Kind("output_lost_usd", ("country?", "sector?", "period?"), "USD",
         "value of the output buyers (in COUNTRY, SECTOR) lost for want of goods"),
    Kind("shortfall_t", ("good", "country?", "sector?", "period?"), "t",
         "unmet demand for GOOD (in COUNTRY, SECTOR)"),
    Kind("peak_price_ratio", ("good", "region"), "ratio",
         "highest weekly price of GOOD in REGION over its reference price"),
    Kind("price_ratio_at", ("good", "region", "date"), "ratio",
         "price of GOOD in REGION in the week containing DATE over its reference price"),
)}
SERIES = {kind.name: kind for kind in (
    Kind("exports_t", ("good", "origin", "destination?"), "t per month",
         "monthly exports of GOOD from ORIGIN to DESTINATION (key: each destination and ALL)",
         series=True),
    Kind("price_usd_per_kg", ("good", "region"), "USD/kg",
         "weekly price of GOOD in REGION", series=True),
    Kind("buyers_halted", ("country?", "sector?"), "buyers",
         "weekly number of halted buyers (in COUNTRY, SECTOR)", series=True),
    Kind("shortfall_t", ("good", "country?", "sector?"), "t per week",
         "weekly unmet demand for GOOD (in COUNTRY, SECTOR)", series=True),
)}


@dataclass(frozen=True)
class Outcome:
    """A checked outcome. `None` in a filter part means all."""

    name: str
    kind: Kind
    good: str | None = None
    origin: str | None = None
    destination: str | None = None
    country: str | None = None
    sector: str | None = None
    region: str | None = None
    first_month: str | None = None
    last_month: str | None = None
    date: dt.date | None = None

    @property
    def unit(self) -> str:
        return self.kind.unit

    @property
    def description(self) -> str:
        """What this outcome measures, with its parts filled in."""
        text = self.kind.description
        fill = {"GOOD": self.good, "ORIGIN": self.origin or "all origins",
                "REGION": self.region, "DATE": self.date and self.date.isoformat()}
        if self.first_month is not None:
            fill["PERIOD"] = (self.first_month if self.first_month == self.last_month
                              else f"{self.first_month}..{self.last_month}")
        for word, value in fill.items():
            if value is not None:
                text = text.replace(word, value)
        if "period?" in self.kind.parts:
            text += f", {self.period_label}"
        for word, value in (("DESTINATION", self.destination), ("COUNTRY", self.country),
                            ("SECTOR", self.sector)):
            text = text.replace(word, value or f"all {word.lower()}s".replace("ys", "ies"))
        return text

    @property
    def period_label(self) -> str:
        """The period a halt or loss metric covers, in words: `April-December 2025`,
        `May 2025`, or `over the whole run` when it names none."""
        if self.first_month is None:
            return "over the whole run"
        first, last = (pd.Period(m, freq="M") for m in (self.first_month, self.last_month))
        if first == last:
            return f"{first:%B %Y}"
        if first.year == last.year:
            whole_year = first.month == 1 and last.month == 12
            return f"{first:%Y}" if whole_year else f"{first:%B}-{last:%B %Y}"
        return f"{first:%B %Y}-{last:%B %Y}"

    # --- computing -------------------------------------------------------------------------

    def value(self, result) -> float:
        """This metric on a finished run."""
        return _METRIC_FUNCTIONS[self.kind.name](result, self)

    def series_rows(self, result) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(period, key, value) arrays of this series: `period` is a month `YYYY-MM` or the
        first day of a week, `key` the destination of monthly exports (empty otherwise)."""
        return _SERIES_FUNCTIONS[self.kind.name](result, self)

    def series_values(self, result) -> np.ndarray:
        """This series as one value per period of the run (exports without a destination:
        the total over destinations), aligned with `periods(result.config, last date)`."""
        period, key, value = self.series_rows(result)
        if self.kind.name == "exports_t":
            wanted = self.destination or "ALL"
            frame = pd.Series(value[key == wanted], index=period[key == wanted])
            months = whole_months(result.config, _last_day(result))
            return frame.reindex(months, fill_value=0.0).to_numpy(dtype=float)
        return np.asarray(value, dtype=float)


def periods(kind: Kind, scenario: Scenario, until: dt.date | None = None) -> list[str]:
    """The periods of a series kind in a run of `scenario` to `until`: whole months for
    monthly exports, the first day of every week otherwise."""
    last = scenario.end if until is None else min(until, scenario.end)
    if kind.name == "exports_t":
        return whole_months(scenario, _run_last_day(scenario, last))
    weeks = (last - scenario.start).days // 7 + 1
    return [(scenario.start + dt.timedelta(weeks=w)).isoformat() for w in range(weeks)]


# --- parsing -------------------------------------------------------------------------------------

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR = re.compile(r"^\d{4}$")
_PERIOD_FORM = re.compile(r"^\d{4}(-\d{2})?(\.\.\d{4}-\d{2})?$")


def parse(name: str, scenario: Scenario, until: dt.date | None = None, series: bool = False
          ) -> Outcome:
    """Check `name` against `scenario` run to `until` (default: its end) and return it typed.
    Raises OutcomeError naming the outcome, the bad part and the valid choices."""
    kinds, other = (SERIES, METRICS) if series else (METRICS, SERIES)
    what = "series" if series else "metric"
    if not isinstance(name, str) or not name:
        raise OutcomeError(f"outcome {name!r}: expected a name like {next(iter(kinds))}:...")
    head, *parts = name.split(":")
    if head in other and head not in kinds:
        raise OutcomeError(f"outcome {name!r}: {head!r} is a {'metric' if series else 'series'}"
                           f" kind, not a {what}; expected one of {sorted(kinds)}")
    if head not in kinds:
        raise OutcomeError(f"outcome {name!r}: unknown {what} kind {head!r}; expected one of "
                           f"{sorted(kinds)}{_suggest(head, kinds)}")
    kind = kinds[head]
    required = [p for p in kind.parts if not p.endswith("?")]
    # An optional period is the last part, told by its form (2025-04, 2025, 2025-04..2025-12).
    period_text = None
    named = kind.parts
    if "period?" in kind.parts:
        named = tuple(p for p in kind.parts if p != "period?")
        if len(parts) > len(required) and _PERIOD_FORM.match(parts[-1].strip()):
            *parts, period_text = parts
    if not len(required) <= len(parts) <= len(named):
        count = len(parts) + (period_text is not None)
        raise OutcomeError(f"outcome {name!r}: expected {_usage(kind)} ({len(required)} to "
                           f"{len(kind.parts)} parts after {head!r}, a PERIOD last), got "
                           f"{count}" if "period?" in kind.parts else
                           f"outcome {name!r}: expected {_usage(kind)} ({len(required)} to "
                           f"{len(kind.parts)} parts after {head!r}), got {len(parts)}")
    # Optional parts are filled from the left: exports_t:GOOD:ORIGIN:PERIOD has no destination.
    spare = len(parts) - len(required)
    roles = []
    for part in named:
        if part.endswith("?"):
            if spare:
                roles.append(part[:-1])
                spare -= 1
        else:
            roles.append(part)
    last = scenario.end if until is None else min(until, scenario.end)
    checker = _Checker(name, scenario, _run_last_day(scenario, last))
    fields: dict = {}
    for role, text in zip(roles, parts, strict=True):
        fields.update(checker.check(role, text.strip(), fields))
    if period_text is not None:
        fields.update(checker.check("period", period_text.strip(), fields))
    checker.check_selection(kind, fields)
    return Outcome(name=name, kind=kind, **fields)


def parse_all(names: Iterable[str], scenario: Scenario, until: dt.date | None = None,
              series: bool = False) -> tuple[Outcome, ...]:
    return tuple(parse(name, scenario, until, series) for name in names)


def _usage(kind: Kind) -> str:
    text = kind.name
    for part in kind.parts:
        text += f"[:{part[:-1].upper()}]" if part.endswith("?") else f":{part.upper()}"
    return text


def _suggest(text: str, choices: Iterable[str]) -> str:
    choices = list(choices)
    by_upper = {c.upper(): c for c in choices}
    close = difflib.get_close_matches(text.upper(), list(by_upper), n=1, cutoff=0.5)
    return f" (did you mean {by_upper[close[0]]!r}?)" if close else ""


class _Checker:
    """Checks the parts of one outcome against the scenario, one role at a time."""

    def __init__(self, name: str, scenario: Scenario, last_day: dt.date):
        self.name = name
        self.scenario = scenario
        self.last_day = last_day
        self.months = whole_months(scenario, last_day)

    def fail(self, role: str, text: str, expected: str, choices: Iterable[str] = ()) -> None:
        choices = sorted(set(choices))
        shown = f" (one of {choices})" if choices else ""
        raise OutcomeError(f"outcome {self.name!r}: {role} {text!r} is not {expected} in "
                           f"scenario {self.scenario.name!r}{shown}{_suggest(text, choices)}")

    def check(self, role: str, text: str, fields: dict) -> dict:
        s = self.scenario
        good = fields.get("good")
        if role == "good":
            if text not in s.good_names():
                self.fail("good", text, "a good", s.good_names())
            return {"good": text}
        if role in ("origin", "destination", "country", "sector") and text in ("", ALL):
            return {role: None}
        if role == "origin":
            origins = {e.country for e in s.exporters if e.good == good}
            if text not in origins:
                self.fail("origin", text, f"a country with an exporter of {good}", origins)
            return {"origin": text}
        if role == "destination":
            destinations = {b.country for b in s.buyers if b.good == good}
            destinations.discard(fields.get("origin"))
            if text not in destinations:
                self.fail("destination", text, f"a country with buyers of {good} (other than "
                          "the origin)", destinations)
            return {"destination": text}
        if role == "country":
            countries = {b.country for b in s.buyers if good in (None, b.good)}
            if text not in countries:
                self.fail("country", text, "a country with buyers" + (f" of {good}" if good
                                                                         else ""), countries)
            return {"country": text}
        if role == "sector":
            sectors = {b.sector for b in s.buyers if good in (None, b.good)}
            if text not in sectors:
                self.fail("sector", text, "a sector of buyers" + (f" of {good}" if good else ""),
                          sectors)
            return {"sector": text}
        if role == "region":
            priced = [g.reference_price_usd_per_kg for g in s.goods if g.name == good][0]
            regions = [r for r in REGIONS if r in priced]
            if text not in regions:
                self.fail("region", text, f"a price region of {good}", regions)
            return {"region": text}
        if role == "period":
            first, last = self.period(text)
            return {"first_month": first, "last_month": last}
        if role == "date":
            try:
                when = dt.date.fromisoformat(text)
            except ValueError:
                self.fail("date", text, "a date YYYY-MM-DD")
            if not self.scenario.start <= when <= self.last_day:
                self.fail("date", text, f"a date in the run ({self.scenario.start} to "
                          f"{self.last_day})")
            return {"date": when}
        raise AssertionError(role)

    def period(self, text: str) -> tuple[str, str]:
        span = f"a month in the run's whole months ({self.months[0]}..{self.months[-1]})" \
            if self.months else "a month (the run covers no whole month)"
        if ".." in text:
            first, _, last = text.partition("..")
            first, last = self.month(first, text, span), self.month(last, text, span)
            if first > last:
                self.fail("period", text, "a range FIRST..LAST with FIRST not after LAST")
            return first, last
        if _YEAR.match(text):
            first, last = f"{text}-01", f"{text}-12"
            if not (self.months and self.months[0] <= first and last <= self.months[-1]):
                self.fail("period", text, f"a year whose 12 months are all in the run ({span})")
            return first, last
        month = self.month(text, text, span)
        return month, month

    def month(self, text: str, whole: str, span: str) -> str:
        match = _MONTH.match(text)
        if not match or not 1 <= int(match.group(2)) <= 12:
            self.fail("period", whole, "a month YYYY-MM, a year YYYY or a range "
                      "YYYY-MM..YYYY-MM")
        if text not in self.months:
            self.fail("period", whole, span)
        return text

    def check_selection(self, kind: Kind, fields: dict) -> None:
        """Refuse a combination of valid parts that selects nothing (USA has no wind buyers)."""
        if not {"country", "sector"} & set(fields):
            return
        good, country, sector = fields.get("good"), fields.get("country"), fields.get("sector")
        if not any(good in (None, b.good) and country in (None, b.country)
                   and sector in (None, b.sector) for b in self.scenario.buyers):
            have = sorted({b.sector for b in self.scenario.buyers
                           if good in (None, b.good) and country in (None, b.country)})
            raise OutcomeError(f"outcome {self.name!r}: no buyers of sector {sector!r} in "
                               f"{country or 'any country'} in scenario "
                               f"{self.scenario.name!r} (sectors there: {have})")


def _run_last_day(scenario: Scenario, last: dt.date) -> dt.date:
    """The last day a run to `last` covers: the end of the week containing it (the week is
    the model's step), but not past the scenario's end."""
    weeks = (last - scenario.start).days // 7 + 1
    return min(scenario.start + dt.timedelta(days=7 * weeks - 1), scenario.end)


def _last_day(result) -> dt.date:
    return min(result.config.start + dt.timedelta(days=7 * result.weeks - 1), result.config.end)


def whole_months(scenario: Scenario, last_day: dt.date) -> list[str]:
    """The months `YYYY-MM` from the scenario's start to `last_day` that the customs table
    reports: a month the run did not finish is left out (as `customs_monthly` does)."""
    months = pd.period_range(scenario.start, last_day, freq="M").strftime("%Y-%m").tolist()
    if (last_day + dt.timedelta(days=1)).month == last_day.month:
        months = months[:-1]
    return months


# --- computing metrics -------------------------------------------------------------------------

def _flows(result, outcome: Outcome) -> pd.DataFrame:
    customs = result.customs_monthly
    keep = customs["good"] == outcome.good
    if outcome.origin:
        keep &= customs["origin"] == outcome.origin
    keep &= (customs["month"] >= outcome.first_month) & (customs["month"] <= outcome.last_month)
    return customs[keep]


def _exports_t(result, outcome: Outcome) -> float:
    flows = _flows(result, outcome)
    if outcome.destination:
        flows = flows[flows["destination"] == outcome.destination]
    return float(flows["quantity_t"].sum())


def _export_share(result, outcome: Outcome) -> float:
    flows = _flows(result, outcome)
    total = flows["quantity_t"].sum()
    mine = flows.loc[flows["destination"] == outcome.destination, "quantity_t"].sum()
    return float(mine / total) if total > 0 else float("nan")


def _min_monthly_exports_t(result, outcome: Outcome) -> float:
    flows = _flows(result, outcome)
    if outcome.destination:
        flows = flows[flows["destination"] == outcome.destination]
    months = pd.period_range(outcome.first_month, outcome.last_month, freq="M").strftime("%Y-%m")
    # A month with no shipment at all is a month of zero exports, not a missing month.
    monthly = flows.groupby("month")["quantity_t"].sum().reindex(months, fill_value=0.0)
    return float(monthly.min())


def _group_mask(result, outcome: Outcome) -> np.ndarray:
    return np.array([outcome.good in (None, g) and outcome.country in (None, c)
                     and outcome.sector in (None, s) for g, c, s in result.model.buyer_groups],
                    dtype=bool)


def period_weights(result, first_month: str | None, last_month: str | None) -> np.ndarray:
    """Each week's share of its days inside the months `first_month`..`last_month` (`YYYY-MM`;
    None: the whole run, every week 1), so that a week across a month's edge counts pro rata."""
    if first_month is None:
        return np.ones(result.weeks)
    day = np.timedelta64(1, "D")
    lo = np.datetime64(pd.Period(first_month, freq="M").start_time.date(), "D")
    hi = np.datetime64(pd.Period(last_month, freq="M").end_time.date(), "D") + day
    end = np.datetime64(result.config.end, "D") + day
    starts = np.datetime64(result.config.start, "D") + np.arange(result.weeks) * 7 * day
    ends = np.minimum(starts + 7 * day, end)
    inside = (np.minimum(ends, hi) - np.maximum(starts, lo)).astype(int).clip(min=0)
    return inside / (ends - starts).astype(int)


def _weights(result, outcome: Outcome) -> np.ndarray:
    return period_weights(result, outcome.first_month, outcome.last_month)[:, None]


def _buyer_weeks_halted(result, outcome: Outcome) -> float:
    # Counts of halted buyers are whole numbers, so summing the recorder's weekly group totals
    # gives exactly the weekly table's sum without building the table (a sweep's hot path).
    halted = result.model.recorder.buyer["buyers_halted"][: result.weeks]
    return float((np.round(halted[:, _group_mask(result, outcome)]) * _weights(result, outcome)
                  ).sum())


def _capacity_weeks_halted(result, outcome: Outcome) -> float:
    buyer = result.model.recorder.buyer
    mask = _group_mask(result, outcome)
    halted = (buyer["halted_demand_t"][: result.weeks, mask] * _weights(result, outcome)).sum()
    usual = buyer["demand_t"][: result.weeks, mask].sum() / max(result.weeks, 1)
    return float(halted / usual) if usual > 0 else 0.0


def _output_lost_usd(result, outcome: Outcome) -> float:
    lost = result.model.recorder.buyer["output_lost_usd"][: result.weeks]
    return float((lost[:, _group_mask(result, outcome)] * _weights(result, outcome)).sum())


def _shortfall_t(result, outcome: Outcome) -> float:
    shortfall = result.model.recorder.buyer["shortfall_t"][: result.weeks]
    return float((shortfall[:, _group_mask(result, outcome)] * _weights(result, outcome)).sum())


def _reference(result, outcome: Outcome) -> float:
    good = next(g for g in result.config.goods if g.name == outcome.good)
    return good.reference_price_usd_per_kg[outcome.region]


def _weekly_price(result, outcome: Outcome) -> np.ndarray:
    model = result.model
    return model.recorder.price[: result.weeks, model.goods.index(outcome.good),
                                REGIONS.index(outcome.region)]


def _peak_price_ratio(result, outcome: Outcome) -> float:
    return float(_weekly_price(result, outcome).max() / _reference(result, outcome))


def _price_ratio_at(result, outcome: Outcome) -> float:
    week = (outcome.date - result.config.start).days // 7
    return float(_weekly_price(result, outcome)[week] / _reference(result, outcome))


_METRIC_FUNCTIONS = {
    "exports_t": _exports_t,
    "export_share": _export_share,
    "min_monthly_exports_t": _min_monthly_exports_t,
    "buyer_weeks_halted": _buyer_weeks_halted,
    "capacity_weeks_halted": _capacity_weeks_halted,
    "output_lost_usd": _output_lost_usd,
    "shortfall_t": _shortfall_t,
    "peak_price_ratio": _peak_price_ratio,
    "price_ratio_at": _price_ratio_at,
}


# --- computing series --------------------------------------------------------------------------

def _week_dates(result) -> np.ndarray:
    start = np.datetime64(result.config.start)
    return (start + np.arange(result.weeks) * 7).astype(str)


def _weekly_rows(result, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    dates = _week_dates(result)
    return dates.astype(object), np.full(dates.size, "", dtype=object), np.asarray(values, float)


def _exports_series(result, outcome: Outcome):
    frame = monthly_exports(result, outcome.good, outcome.origin)
    if outcome.destination:
        frame = frame[frame["destination"] == outcome.destination]
    return (frame["month"].to_numpy(dtype=object), frame["destination"].to_numpy(dtype=object),
            frame["quantity_t"].to_numpy(dtype=float))


def _buyer_field_series(field: str):
    def rows(result, outcome: Outcome):
        weekly = result.model.recorder.buyer[field][: result.weeks]
        return _weekly_rows(result, weekly[:, _group_mask(result, outcome)].sum(axis=1))
    return rows


_SERIES_FUNCTIONS = {
    "exports_t": _exports_series,
    "price_usd_per_kg": lambda result, outcome: _weekly_rows(result,
                                                             _weekly_price(result, outcome)),
    "buyers_halted": _buyer_field_series("buyers_halted"),
    "shortfall_t": _buyer_field_series("shortfall_t"),
}


# --- the older entry points ----------------------------------------------------------------------

def evaluate(result, names: Iterable[str]) -> dict[str, float]:
    """Each named metric of a finished run (checked against the run's scenario and length;
    OutcomeError on a bad name)."""
    outcomes = parse_all(names, result.config, _last_day(result))
    return {outcome.name: outcome.value(result) for outcome in outcomes}


def monthly_exports(result, good: str, origin: str | None) -> pd.DataFrame:
    """Monthly exports of `good` from `origin` (None: every origin), tidy: `month`,
    `destination` (each destination, and `ALL` for the total), `quantity_t` (rounded to kg)."""
    customs = result.customs_monthly
    flows = customs[customs["good"] == good]
    if origin:
        flows = flows[flows["origin"] == origin]
    by_destination = flows.groupby(["month", "destination"], as_index=False)["quantity_t"].sum()
    total = flows.groupby("month", as_index=False)["quantity_t"].sum()
    total["destination"] = "ALL"
    out = pd.concat([total, by_destination], ignore_index=True)
    out["quantity_t"] = np.round(out["quantity_t"], 3)
    return out.sort_values(["month", "destination"], ignore_index=True)


def granted_share(result, state: str, good: str, destination: str | None, since: str, at: str,
                  unit: str = "n", grade: str | None = "listed") -> float:
    """Share of the licence applications of `state` on `good` to `destination` (None: all)
    filed from `since` to `at` (ISO dates) that were approved by `at`: counted in
    applications (`unit="n"`, a refused application filed again counts again, as an
    applicant's tally does) or in their tonnes (`unit="t"`); `grade` `listed`, `unlisted` or
    None (both). NaN when none was filed."""
    table = result.licences
    if table.empty:
        return float("nan")
    rows = table[(table["state"] == state) & (table["good"] == good)
                 & (table["date"] >= since) & (table["date"] < at)]
    if destination is not None:
        rows = rows[rows["destination"] == destination]
    if grade is not None:
        rows = rows[rows["grade"] == grade]
    filed = float(rows[f"filed_{unit}"].sum())
    return float(rows[f"approved_{unit}"].sum()) / filed if filed > 0 else float("nan")


def catalogue(scenario: Scenario, until: dt.date | None = None) -> str:
    """What can be asked of `scenario`: every kind with its parts, unit and meaning, and the
    valid goods, origins, countries, sectors, regions and months (the text of `abm outcomes`)."""
    last = _run_last_day(scenario, scenario.end if until is None else min(until, scenario.end))
    months = whole_months(scenario, last)
    lines = [f"Outcomes of scenario {scenario.name!r} (`*` or an empty part means all)", "",
             "metrics (one number a run):"]
    for kind in METRICS.values():
        lines.append(f"  {_usage(kind):<58} [{kind.unit}]  {kind.description}")
    lines += ["", "series (one value a month or week):"]
    for kind in SERIES.values():
        lines.append(f"  {_usage(kind):<58} [{kind.unit}]  {kind.description}")
    lines += ["", "parts:"]
    for good in scenario.goods:
        origins = sorted({e.country for e in scenario.exporters if e.good == good.name})
        buyers = sorted({b.country for b in scenario.buyers if b.good == good.name})
        regions = [r for r in REGIONS if r in good.reference_price_usd_per_kg]
        lines.append(f"  GOOD {good.name} ({good.unit}): ORIGIN {origins}, DESTINATION/COUNTRY "
                     f"{buyers}, REGION {regions}")
    lines.append(f"  SECTOR {sorted({b.sector for b in scenario.buyers})}")
    span = f"{months[0]}..{months[-1]}" if months else "none"
    lines.append(f"  PERIOD a month, a year or FIRST..LAST within {span}; DATE {scenario.start} "
                 f"to {last}")
    return "\n".join(lines)
