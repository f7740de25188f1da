"""Typed, frozen configuration of a scenario.

Everything the model needs is here and nothing else: the loader (`abm.scenario.load`) turns a
TOML file into these objects and validates them once; the model trusts them. Units are in the
field names (`_t` tonnes, `_weeks`, `_usd_per_kg`, `_per_week`).

Field-level checks live in each class's `check()` (what one object can know); cross-references
(a buyer's country must be declared, an event must fall inside the run) are checked in
`Scenario.check()`. Both raise `ConfigError` with the path of the offending field, and the loader
adds the file name.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

CHINA_REGION = "CHN"
REST_OF_WORLD_REGION = "ROW"


class ConfigError(ValueError):
    """A scenario value is missing, malformed or out of range.

    `path` is the dotted path of the field (for example `buyers[3].cover_weeks`), `expected`
    says what would have been accepted.
    """

    def __init__(self, path: str, expected: str, got: object = dataclasses.MISSING):
        self.path = path
        self.expected = expected
        self.got = got
        shown = "" if got is dataclasses.MISSING else f", got {got!r}"
        super().__init__(f"{path}: expected {expected}{shown}")


def _probability(path: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ConfigError(path, "a probability in [0, 1]", value)


def _non_negative(path: str, value: float) -> None:
    if value < 0:
        raise ConfigError(path, "a number >= 0", value)


def _positive(path: str, value: float) -> None:
    if value <= 0:
        raise ConfigError(path, "a number > 0", value)


@dataclass(frozen=True)
class Good:
    """A traded good, declared by the scenario (goods are data, not code).

    Prices are per region (`CHN` inside China, `ROW` outside) in USD per kg. The price rule is
    the GCMat one: the weekly log change is `demand_sensitivity` times excess demand (share of
    demand not delivered) plus `inventory_sensitivity` times the inventory gap (share of target
    stock missing), less `reversion_per_week` times the log distance to the reference price.
    """

    name: str
    unit: str = "t"
    description: str = ""
    hs_code: str = ""
    reference_price_usd_per_kg: dict[str, float] = field(default_factory=dict)
    demand_sensitivity: float = 0.1
    inventory_sensitivity: float = 0.05
    reversion_per_week: float = 0.05
    demand_elasticity: float = 0.0
    demand_response_weeks: float = 26.0

    def check(self, path: str) -> None:
        if not self.name:
            raise ConfigError(f"{path}.name", "a non-empty name")
        for region, price in self.reference_price_usd_per_kg.items():
            _positive(f"{path}.reference_price_usd_per_kg.{region}", price)
        for region in (CHINA_REGION, REST_OF_WORLD_REGION):
            if region not in self.reference_price_usd_per_kg:
                raise ConfigError(
                    f"{path}.reference_price_usd_per_kg",
                    f"a price for region {region!r} (regions: CHN, ROW)",
                    self.reference_price_usd_per_kg,
                )
        _non_negative(f"{path}.demand_sensitivity", self.demand_sensitivity)
        _non_negative(f"{path}.inventory_sensitivity", self.inventory_sensitivity)
        _probability(f"{path}.reversion_per_week", self.reversion_per_week)
        _non_negative(f"{path}.demand_elasticity", self.demand_elasticity)
        _positive(f"{path}.demand_response_weeks", self.demand_response_weeks)


@dataclass(frozen=True)
class Country:
    """A State and the market it governs. `price_region` is CHN for China, ROW otherwise."""

    code: str
    name: str = ""
    price_region: str = REST_OF_WORLD_REGION
    strategy: str = "scripted"

    def check(self, path: str) -> None:
        if not (self.code.isupper() and 2 <= len(self.code) <= 3):
            raise ConfigError(f"{path}.code", "an ISO3 code such as 'USA' (or 'EU')", self.code)
        if self.price_region not in (CHINA_REGION, REST_OF_WORLD_REGION):
            raise ConfigError(f"{path}.price_region", "'CHN' or 'ROW'", self.price_region)


@dataclass(frozen=True)
class Exporter:
    """A producer of one good (magnet maker, separator) in one country.

    `capacity_t_per_week` is nameplate output. Production follows orders and restores
    `inventory_weeks` of stock. Outside the controlling country, capacity expands when the price
    of its region stays above `expansion_price_ratio` times the reference: each year of such
    prices adds `expansion_per_year` of capacity, online `expansion_lead_weeks` later.
    """

    name: str
    country: str
    good: str
    capacity_t_per_week: float
    inventory_weeks: float = 2.0
    expansion_price_ratio: float = 1.5
    expansion_per_year: float = 0.0
    expansion_lead_weeks: int = 104

    def check(self, path: str) -> None:
        if not self.name:
            raise ConfigError(f"{path}.name", "a non-empty name")
        _non_negative(f"{path}.capacity_t_per_week", self.capacity_t_per_week)
        _non_negative(f"{path}.inventory_weeks", self.inventory_weeks)
        _positive(f"{path}.expansion_price_ratio", self.expansion_price_ratio)
        _non_negative(f"{path}.expansion_per_year", self.expansion_per_year)
        _non_negative(f"{path}.expansion_lead_weeks", self.expansion_lead_weeks)


@dataclass(frozen=True)
class BuyerGroup:
    """`count` buyers of one good in one country and sector.

    The group's demand (`demand_t_per_year`) is split among its buyers with lognormal sizes
    (`size_sigma`). Each buyer holds a target inventory of `cover_weeks` (drawn uniformly from
    the two-number range) and sources from origin countries by `sourcing` shares.
    """

    country: str
    sector: str
    good: str
    demand_t_per_year: float
    count: int = 1
    cover_weeks: tuple[float, float] = (2.0, 4.0)
    sourcing: dict[str, float] = field(default_factory=dict)
    size_sigma: float = 0.5

    def check(self, path: str) -> None:
        _non_negative(f"{path}.demand_t_per_year", self.demand_t_per_year)
        if self.count < 1:
            raise ConfigError(f"{path}.count", "an integer >= 1", self.count)
        low, high = self.cover_weeks
        if low < 0 or high < low:
            raise ConfigError(
                f"{path}.cover_weeks", "[low, high] with 0 <= low <= high", list(self.cover_weeks)
            )
        if not self.sourcing:
            raise ConfigError(f"{path}.sourcing", "at least one origin country with a share")
        for origin, share in self.sourcing.items():
            _probability(f"{path}.sourcing.{origin}", share)
        total = sum(self.sourcing.values())
        if abs(total - 1.0) > 1e-6:
            raise ConfigError(f"{path}.sourcing", "shares that sum to 1", round(total, 6))
        _non_negative(f"{path}.size_sigma", self.size_sigma)


@dataclass(frozen=True)
class Market:
    """Market-wide behavioural parameters (buyers, transit, halts).

    A buyer orders to restore its inventory position over `order_adjust_weeks`; it is halted in
    a week in which it can cover less than `halt_threshold` of its demand. Sourcing shares move
    toward reliable, cheap suppliers at `sourcing_adjust_per_week`, with price weight
    `sourcing_price_elasticity` and reliability weight `sourcing_reliability_weight`.
    Stockpiling: when an alert is raised (a control announced or feared), buyers' target cover
    rises by `stockpile_cover_gain` times the alert level; alerts decay with
    `alert_half_life_weeks`; a buyer that halts raises its own alert to
    `restock_after_shortage` (it restocks above its usual cover after a shortage).
    `demand_cv` is the week-to-week noise of each buyer's demand. Producers forecast orders by
    smoothing them over `exporter_forecast_weeks`.
    """

    transit_weeks: dict[str, int] = field(default_factory=lambda: {"default": 3})
    domestic_transit_weeks: int = 1
    order_adjust_weeks: float = 2.0
    halt_threshold: float = 0.5
    demand_cv: float = 0.05
    sourcing_adjust_per_week: float = 0.02
    sourcing_price_elasticity: float = 1.0
    sourcing_reliability_weight: float = 1.0
    reliability_memory_weeks: float = 8.0
    stockpile_cover_gain: float = 1.0
    alert_half_life_weeks: float = 13.0
    restock_after_shortage: float = 0.0
    exporter_forecast_weeks: float = 10.0

    def check(self, path: str) -> None:
        for route, weeks in self.transit_weeks.items():
            if weeks < 0:
                raise ConfigError(f"{path}.transit_weeks.{route}", "an integer >= 0", weeks)
        if "default" not in self.transit_weeks:
            raise ConfigError(f"{path}.transit_weeks", "a 'default' entry")
        _non_negative(f"{path}.domestic_transit_weeks", self.domestic_transit_weeks)
        _positive(f"{path}.order_adjust_weeks", self.order_adjust_weeks)
        _probability(f"{path}.halt_threshold", self.halt_threshold)
        _non_negative(f"{path}.demand_cv", self.demand_cv)
        _probability(f"{path}.sourcing_adjust_per_week", self.sourcing_adjust_per_week)
        _non_negative(f"{path}.sourcing_price_elasticity", self.sourcing_price_elasticity)
        _non_negative(f"{path}.sourcing_reliability_weight", self.sourcing_reliability_weight)
        _positive(f"{path}.reliability_memory_weeks", self.reliability_memory_weeks)
        _non_negative(f"{path}.stockpile_cover_gain", self.stockpile_cover_gain)
        _positive(f"{path}.alert_half_life_weeks", self.alert_half_life_weeks)
        _non_negative(f"{path}.restock_after_shortage", self.restock_after_shortage)
        _positive(f"{path}.exporter_forecast_weeks", self.exporter_forecast_weeks)


Regime = Literal["none", "licence", "quota", "ban"]


@dataclass(frozen=True)
class ExportControl:
    """An export-control regime of one State on one good, to all destinations but its own.

    `licence`: each shipment batch is an application that waits `review_weeks` (gamma spread
    with coefficient of variation `review_cv`), is reviewed by an office that clears at most
    `review_capacity_t_per_week` a week, and is approved with a probability: `approval` by
    default, overridden by `approval_by_destination` and then `approval_by_sector` (the lower
    of the two when both apply). `quota`: shipments abroad are capped at `quota_t_per_year`.
    `ban`: nothing ships abroad. `none`: the control is lifted.

    A licence may cover only part of a good: `controlled_share` of each shipment needs a licence
    (for magnets, the Dy/Tb-bearing grades); the rest shares the tariff code and, while
    `customs_hold_weeks` > 0, customs holds it that long (mean; same spread) before it leaves.
    """

    regime: Regime = "licence"
    review_weeks: float = 9.0
    review_cv: float = 0.3
    review_capacity_t_per_week: float = 1.0e9
    approval: float = 1.0
    approval_by_destination: dict[str, float] = field(default_factory=dict)
    approval_by_sector: dict[str, float] = field(default_factory=dict)
    quota_t_per_year: float = 0.0
    controlled_share: float = 1.0
    customs_hold_weeks: float = 0.0

    def check(self, path: str) -> None:
        _non_negative(f"{path}.review_weeks", self.review_weeks)
        _non_negative(f"{path}.review_cv", self.review_cv)
        _positive(f"{path}.review_capacity_t_per_week", self.review_capacity_t_per_week)
        _probability(f"{path}.approval", self.approval)
        for key, p in self.approval_by_destination.items():
            _probability(f"{path}.approval_by_destination.{key}", p)
        for key, p in self.approval_by_sector.items():
            _probability(f"{path}.approval_by_sector.{key}", p)
        _non_negative(f"{path}.quota_t_per_year", self.quota_t_per_year)
        _probability(f"{path}.controlled_share", self.controlled_share)
        _non_negative(f"{path}.customs_hold_weeks", self.customs_hold_weeks)


@dataclass(frozen=True)
class Event:
    """A dated policy event. `kind` selects what it does (see `abm.policy.events`).

    Only the fields a kind uses are read; the loader checks that the kind is known and that the
    fields it needs are present.

    - `export_control`: `state` sets `control` on `good` (all fields of the regime).
    - `licence_policy`: `state` changes some fields of its regime on `good` (`changes`).
    - `tariff`: `state` sets an ad-valorem `rate` on imports of `good` ("*" for all) from
      `partner` ("*" for all).
    - `general_licence`: `state` lets shipments of `good` to `destination` (and `sector`,
      `exporter`, when given) pass without applications for `duration_weeks`.
    - `alert`: buyers of `good` in `destinations` ("*" for all) raise their target cover by the
      stockpiling rule at `level` (0 to 1).
    - `note`: marks a date on the figures and does nothing else (e.g. chip events before
      chipmakers exist).
    """

    date: dt.date
    kind: str
    label: str = ""
    state: str = ""
    good: str = ""
    control: ExportControl | None = None
    changes: dict[str, float] = field(default_factory=dict)
    partner: str = "*"
    rate: float = 0.0
    destination: str = "*"
    sector: str = "*"
    exporter: str = "*"
    duration_weeks: float = 0.0
    destinations: tuple[str, ...] = ("*",)
    level: float = 1.0

    def check(self, path: str) -> None:
        if self.control is not None:
            self.control.check(f"{path}.control")
        _non_negative(f"{path}.rate", self.rate)
        _non_negative(f"{path}.duration_weeks", self.duration_weeks)
        _probability(f"{path}.level", self.level)


@dataclass(frozen=True)
class Scenario:
    """A whole scenario: calendar, goods, countries, agents, market parameters, events."""

    name: str
    start: dt.date
    end: dt.date
    description: str = ""
    goods: tuple[Good, ...] = ()
    countries: tuple[Country, ...] = ()
    exporters: tuple[Exporter, ...] = ()
    buyers: tuple[BuyerGroup, ...] = ()
    market: Market = field(default_factory=Market)
    controls: dict[str, dict[str, ExportControl]] = field(default_factory=dict)
    tariffs: dict[str, dict[str, float]] = field(default_factory=dict)
    events: tuple[Event, ...] = ()

    @property
    def weeks(self) -> int:
        """Number of weekly steps from `start` to `end` inclusive (partial last week counts)."""
        return (self.end - self.start).days // 7 + 1

    def week_of(self, date: dt.date) -> float:
        """Model time (weeks since start, fractional) at which `date` begins."""
        return (date - self.start).days / 7.0

    def good_names(self) -> list[str]:
        return [g.name for g in self.goods]

    def country_codes(self) -> list[str]:
        return [c.code for c in self.countries]

    def check(self) -> None:
        """Validate every object and every cross-reference; raises ConfigError."""
        if self.end <= self.start:
            raise ConfigError("scenario.end", f"a date after start {self.start}", str(self.end))
        if not self.goods:
            raise ConfigError("goods", "at least one [[goods]] table")
        if not self.countries:
            raise ConfigError("countries", "at least one [[countries]] table")
        goods = set()
        for i, good in enumerate(self.goods):
            good.check(f"goods[{i}]")
            if good.name in goods:
                raise ConfigError(f"goods[{i}].name", "a name not used by another good", good.name)
            goods.add(good.name)
        codes = set()
        for i, country in enumerate(self.countries):
            country.check(f"countries[{i}]")
            if country.code in codes:
                raise ConfigError(f"countries[{i}].code", "a code not already declared", country.code)
            codes.add(country.code)
        self.market.check("market")

        def known(path: str, value: str, allowed: set[str], what: str, wildcard=False) -> None:
            if wildcard and value == "*":
                return
            if value not in allowed:
                raise ConfigError(path, f"a declared {what} (one of {sorted(allowed)})", value)

        names = set()
        for i, exporter in enumerate(self.exporters):
            exporter.check(f"exporters[{i}]")
            known(f"exporters[{i}].country", exporter.country, codes, "country")
            known(f"exporters[{i}].good", exporter.good, goods, "good")
            if exporter.name in names:
                raise ConfigError(f"exporters[{i}].name", "a unique exporter name", exporter.name)
            names.add(exporter.name)
        origins = {(e.good, e.country) for e in self.exporters}
        for i, group in enumerate(self.buyers):
            group.check(f"buyers[{i}]")
            known(f"buyers[{i}].country", group.country, codes, "country")
            known(f"buyers[{i}].good", group.good, goods, "good")
            for origin in group.sourcing:
                known(f"buyers[{i}].sourcing.{origin}", origin, codes, "country")
                if (group.good, origin) not in origins:
                    raise ConfigError(
                        f"buyers[{i}].sourcing.{origin}",
                        f"an origin with an exporter of {group.good!r}",
                        origin,
                    )
        for route in self.market.transit_weeks:
            if route != "default":
                for code in route.split("-"):
                    known(f"market.transit_weeks.{route}", code, codes, "country (ORIGIN-DEST)")
        for state, by_good in self.controls.items():
            known(f"controls.{state}", state, codes, "country")
            for good, control in by_good.items():
                known(f"controls.{state}.{good}", good, goods, "good")
                control.check(f"controls.{state}.{good}")
                self._check_control_keys(f"controls.{state}.{good}", control, codes)
        for state, by_partner in self.tariffs.items():
            known(f"tariffs.{state}", state, codes, "country")
            for key, rate in by_partner.items():
                partner, _, good = key.partition(".")
                known(f"tariffs.{state}.{key}", partner, codes, "country", wildcard=True)
                if good:
                    known(f"tariffs.{state}.{key}", good, goods, "good", wildcard=True)
                _non_negative(f"tariffs.{state}.{key}", rate)
        for i, event in enumerate(self.events):
            self._check_event(f"events[{i}]", event, codes, goods, names)

    def _check_control_keys(self, path: str, control: ExportControl, codes: set[str]) -> None:
        for destination in control.approval_by_destination:
            if destination not in codes:
                raise ConfigError(
                    f"{path}.approval_by_destination.{destination}",
                    f"a declared country (one of {sorted(codes)})",
                    destination,
                )

    def _check_event(self, path, event: Event, codes, goods, exporters) -> None:
        from abm.policy.events import EVENT_KINDS

        if event.kind not in EVENT_KINDS:
            raise ConfigError(f"{path}.kind", f"one of {sorted(EVENT_KINDS)}", event.kind)
        if event.date < self.start:
            raise ConfigError(
                f"{path}.date", f"a date on or after the start {self.start}", str(event.date)
            )
        if event.date > self.end:
            raise ConfigError(
                f"{path}.date", f"a date on or before the end {self.end}", str(event.date)
            )
        event.check(path)
        EVENT_KINDS[event.kind].check(path, event, codes, goods, exporters)
        if event.control is not None:
            self._check_control_keys(f"{path}.control", event.control, codes)
