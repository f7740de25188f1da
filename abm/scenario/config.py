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
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

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


# Sane bounds, checked at load time so that a typo cannot start a run that never ends or
# exhausts memory: the calendar, transit lags (each week of lag is a slot of every buyer's
# pipeline), buyers per group and growth rates (compounded over the run).
FIRST_DATE = dt.date(1900, 1, 1)
LAST_DATE = dt.date(2200, 12, 31)
MAX_LAG_WEEKS = 520
MAX_BUYERS_PER_GROUP = 1_000_000
MAX_GROWTH_PER_YEAR = 10.0
MIN_POSITIVE = 1e-6


def _finite(path: str, value: float) -> None:
    if not math.isfinite(value):
        raise ConfigError(path, "a finite number (not nan or inf)", value)


def _probability(path: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ConfigError(path, "a probability in [0, 1]", value)


def _non_negative(path: str, value: float) -> None:
    _finite(path, value)
    if value < 0:
        raise ConfigError(path, "a number >= 0", value)


def _positive(path: str, value: float) -> None:
    _finite(path, value)
    # positive fields divide (a smoothing period, a reference price): 1e-300 would overflow
    if not value >= MIN_POSITIVE:
        raise ConfigError(path, f"a number > 0 (at least {MIN_POSITIVE:g})", value)


def _lag_weeks(path: str, value: float) -> None:
    if not 0 <= value <= MAX_LAG_WEEKS:
        raise ConfigError(path, f"a whole number of weeks in [0, {MAX_LAG_WEEKS}]", value)


def _growth(path: str, value: float) -> None:
    if not -1.0 < value <= MAX_GROWTH_PER_YEAR:
        raise ConfigError(path, f"a rate in (-1, {MAX_GROWTH_PER_YEAR:g}] a year", value)


def _calendar(path: str, value: dt.date) -> None:
    if not FIRST_DATE <= value <= LAST_DATE:
        raise ConfigError(path, f"a date between {FIRST_DATE} and {LAST_DATE}", str(value))


# A shipment batch (one licence application) smaller than a kilogram is a mistake: it would
# split a week's orders into millions of applications.
MIN_BATCH_T = 0.001


@dataclass(frozen=True)
class Good:
    """A traded good, declared by the scenario (goods are data, not code).

    Prices are per region (`CHN` inside China, `ROW` outside) in USD per kg, starting at
    `reference_price_usd_per_kg` (the 2024 levels; their ratio is the usual trade margin, freight
    and duties between the regions). The price rule (`abm.market.clearing`) anchors each
    region's spot price on supply and demand schedules, never on an old price:

    - supply: producers' marginal cost rises with their capacity use, with constant supply
      elasticity `supply_elasticity`; the long-run price is marginal cost plus `margin`;
    - arbitrage: a region's price is at most the other region's price times the usual margin,
      plus the wedge a control creates (expected licence wait times `carrying_cost_per_year`,
      and the refused share);
    - demand: a shortage of the region's stocks (buyers' and producers' stocks and goods in
      transit, against their targets) raises the price along a demand schedule of short-run
      price elasticity `price_elasticity_of_demand`; an overhang lowers it; the value added a
      buyer loses when it halts caps it.

    The spot price moves toward that level with time constant `price_adjust_weeks`; contract
    prices follow spot with time constant `contract_lag_weeks`; a buyer pays its sector's
    `contract_share` at the contract price and the rest at spot. `demand_response_weeks` is
    how fast final demand answers the product price (`Sector.final_demand_elasticity`).

    `shipment_batch_t`: the usual size of one shipment batch, which under a licence regime is
    one application (a link's orders of a week are filed as batches of at most this size;
    0: one application per link and week).

    `allocation` is how a producer shares scarce stock: `priority` (default) serves contract
    volumes first, then spot orders by the buyer's bid (the value its output loses per tonne
    short), pooling all producers of the origin; `pro_rata` shares in proportion to orders.
    """

    name: str
    unit: str = "t"
    description: str = ""
    hs_code: str = ""
    reference_price_usd_per_kg: dict[str, float] = field(default_factory=dict)
    margin: float = 0.15
    supply_elasticity: float = 2.0
    price_elasticity_of_demand: float = 0.5
    price_adjust_weeks: float = 4.0
    contract_lag_weeks: float = 13.0
    carrying_cost_per_year: float = 0.1
    demand_response_weeks: float = 26.0
    shipment_batch_t: float = 0.0
    allocation: Literal["priority", "pro_rata"] = "priority"

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
        _non_negative(f"{path}.margin", self.margin)
        _positive(f"{path}.supply_elasticity", self.supply_elasticity)
        _positive(f"{path}.price_elasticity_of_demand", self.price_elasticity_of_demand)
        for name in ("price_adjust_weeks", "contract_lag_weeks"):
            value = getattr(self, name)
            if not value >= 1.0:
                raise ConfigError(f"{path}.{name}", "a number of weeks >= 1", value)
        _non_negative(f"{path}.carrying_cost_per_year", self.carrying_cost_per_year)
        _non_negative(f"{path}.shipment_batch_t", self.shipment_batch_t)
        if 0 < self.shipment_batch_t < MIN_BATCH_T:
            raise ConfigError(f"{path}.shipment_batch_t", f"0 or at least {MIN_BATCH_T:g} t",
                              self.shipment_batch_t)
        if self.allocation not in ("priority", "pro_rata"):
            raise ConfigError(f"{path}.allocation", "'priority' or 'pro_rata'", self.allocation)
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

    `inputs` is the bill of materials: tonnes of each input good per tonne of output (for a
    magnet maker, Dy/Tb oxide by its grade mix). Production is limited by the input stocks its
    buyers of inputs hold (a `[[buyers]]` group with `feeds` = this good in this country).

    `behaviour` names the producer's decision rules in the run's behaviour registry
    (`abm.agents.behaviours`): `default`, `rationing` (serves its long-term customers' usual
    volumes before any spot order) or one registered by a plugin.
    """

    name: str
    country: str
    good: str
    capacity_t_per_week: float
    inventory_weeks: float = 2.0
    expansion_price_ratio: float = 1.5
    expansion_per_year: float = 0.0
    expansion_lead_weeks: int = 104
    inputs: dict[str, float] = field(default_factory=dict)
    behaviour: str = "default"

    def check(self, path: str) -> None:
        if not self.name:
            raise ConfigError(f"{path}.name", "a non-empty name")
        _non_negative(f"{path}.capacity_t_per_week", self.capacity_t_per_week)
        _non_negative(f"{path}.inventory_weeks", self.inventory_weeks)
        _positive(f"{path}.expansion_price_ratio", self.expansion_price_ratio)
        _non_negative(f"{path}.expansion_per_year", self.expansion_per_year)
        _growth(f"{path}.expansion_per_year", self.expansion_per_year)
        _lag_weeks(f"{path}.expansion_lead_weeks", self.expansion_lead_weeks)
        for good, content in self.inputs.items():
            _positive(f"{path}.inputs.{good}", content)


@dataclass(frozen=True)
class BuyerGroup:
    """`count` buyers of one good in one country and sector.

    The group's demand (`demand_t_per_year`) is split among its buyers with lognormal sizes
    (`size_sigma`). Each buyer holds a target inventory of `cover_weeks` (drawn uniformly from
    the two-number range) and sources from origin countries by `sourcing` shares.

    A group with `feeds` set is the input stage of a chain: its good is an input of the
    producers of `feeds` in its country, one buyer per producer, whose demand is the producer's
    output times its `inputs` content (`demand_t_per_year` and `count` are then not given).

    `behaviour` names the buyers' decision rules in the run's behaviour registry
    (`abm.agents.behaviours`): `default`, `dual_sourcing` (keeps a strategic stock and a
    second source) or one registered by a plugin. Under `extends` a group is known by its
    `(good, country, sector)`.
    """

    country: str
    sector: str
    good: str
    demand_t_per_year: float = 0.0
    count: int = 1
    cover_weeks: tuple[float, float] = (2.0, 4.0)
    sourcing: dict[str, float] = field(default_factory=dict)
    size_sigma: float = 0.5
    feeds: str = ""
    behaviour: str = "default"

    def check(self, path: str) -> None:
        _non_negative(f"{path}.demand_t_per_year", self.demand_t_per_year)
        if self.feeds and (self.demand_t_per_year or self.count != 1):
            raise ConfigError(f"{path}.demand_t_per_year", "no demand or count in a group that "
                              "feeds producers (its demand is their input use)",
                              self.demand_t_per_year)
        if not 1 <= self.count <= MAX_BUYERS_PER_GROUP:
            raise ConfigError(f"{path}.count", f"an integer in [1, {MAX_BUYERS_PER_GROUP:,}]",
                              self.count)
        low, high = self.cover_weeks
        if not (math.isfinite(low) and math.isfinite(high)) or low < 0 or high < low:
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
    `demand_cv` is the week-to-week noise of each buyer's demand. Buyers remember shortfalls
    and price rises (the pressure that drives substitution) over `pressure_memory_weeks`.
    Producers forecast orders by smoothing them over `exporter_forecast_weeks`. Ahead of a
    control announced for a later date, buyers aim at up to `front_run_max_weeks` of extra
    cover (`abm.market.trade.front_run_cover_weeks`). The whole
    market (every buyer's demand and
    every producer's capacity) grows at `demand_growth_per_year`; the scenario's demands and
    capacities are the levels at `growth_reference` (default: the start date), so a year of
    data can be stated as its average with the reference in the middle of that year.
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
    demand_growth_per_year: float = 0.0
    growth_reference: dt.date | None = None
    pressure_memory_weeks: float = 8.0
    front_run_max_weeks: float = 13.0

    def check(self, path: str) -> None:
        for route, weeks in self.transit_weeks.items():
            _lag_weeks(f"{path}.transit_weeks.{route}", weeks)
        if "default" not in self.transit_weeks:
            raise ConfigError(f"{path}.transit_weeks", "a 'default' entry")
        _lag_weeks(f"{path}.domestic_transit_weeks", self.domestic_transit_weeks)
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
        _positive(f"{path}.pressure_memory_weeks", self.pressure_memory_weeks)
        _non_negative(f"{path}.front_run_max_weeks", self.front_run_max_weeks)
        _growth(f"{path}.demand_growth_per_year", self.demand_growth_per_year)
        if self.growth_reference is not None:
            _calendar(f"{path}.growth_reference", self.growth_reference)


@dataclass(frozen=True)
class Sector:
    """What a buyer sector loses when short and how it adapts (`[[sectors]]`, by name).

    `value_usd_per_t`: value of the sector's output per tonne of the good it uses (output lost
    is valued at this). `contract_share`: share of its usual orders held under contract, served
    before spot orders when supply is scarce. Substitution and thrifting (Dy-free grades,
    ferrite, other designs): under pressure (remembered shortfall share, or the landed price's
    rise above its start, whichever is larger, capped at 1) a buyer moves its substituted share
    of use toward `substitution_ceiling` times the pressure, taking `substitution_lead_weeks`
    (time constant) to get there, at `substitution_cost_usd_per_t` extra per tonne replaced; a
    redesign is sticky: the share falls back only over `substitution_reversal_weeks`. This is
    the one adaptation channel that removes tonnes of the good (grade switching, thrifting,
    redesign); it is never free.

    `value_added_share`: value added per unit of gross output (output lost is reported in both;
    payoffs use value added). `listed_grade_share`: share of the sector's tonnage in grades that
    contain a control's listed elements (for magnets, the Dy/Tb-bearing grades), read by controls
    with `scope = "listed_grades"`. `input_cost_share` and `final_demand_elasticity`: the good's
    share of the cost of the sector's product and the price elasticity of final demand for that
    product; a rise of the good's landed price passes into the product's price in proportion
    to its cost share, and final demand answers that (not the good's own price).
    """

    name: str
    value_usd_per_t: float = 0.0
    value_added_share: float = 1.0
    contract_share: float = 0.5
    listed_grade_share: float = 1.0
    input_cost_share: float = 0.0
    final_demand_elasticity: float = 0.0
    substitution_ceiling: float = 0.0
    substitution_lead_weeks: float = 26.0
    substitution_cost_usd_per_t: float = 0.0
    substitution_reversal_weeks: float = 260.0

    def check(self, path: str) -> None:
        if not self.name:
            raise ConfigError(f"{path}.name", "a non-empty name")
        _non_negative(f"{path}.value_usd_per_t", self.value_usd_per_t)
        _probability(f"{path}.value_added_share", self.value_added_share)
        _probability(f"{path}.contract_share", self.contract_share)
        _probability(f"{path}.listed_grade_share", self.listed_grade_share)
        _probability(f"{path}.input_cost_share", self.input_cost_share)
        _non_negative(f"{path}.final_demand_elasticity", self.final_demand_elasticity)
        _probability(f"{path}.substitution_ceiling", self.substitution_ceiling)
        _positive(f"{path}.substitution_lead_weeks", self.substitution_lead_weeks)
        _non_negative(f"{path}.substitution_cost_usd_per_t", self.substitution_cost_usd_per_t)
        _positive(f"{path}.substitution_reversal_weeks", self.substitution_reversal_weeks)


# Parts of a State's weekly payoff (abm.policy.pain), each with its sign in the payoff.
PAYOFF_COMPONENTS = {
    "output_lost_usd": -1.0,
    "substitution_cost_usd": -1.0,
    "export_revenue_usd": 1.0,
    "licence_rent_usd": 1.0,
    "chip_revenue_usd": 1.0,
    "compute_units": 1.0,
    "partner_compute_units": -1.0,
    "partner_output_lost_usd": 1.0,
}


@dataclass(frozen=True)
class Payoff:
    """How a State values what the model measures (`[payoffs.CODE]`), in USD a week.

    payoff = - output_lost * (its buyers' value added lost + substitution costs)
             + export_revenue * (its producers' exports at usual margins + its chipmakers'
               sales abroad) + licence_rent * (the gap between the price abroad and at home on
               what it licenses)
             + compute_value_usd_per_unit * (AI chips served in its own price region)
             - partner_compute_cost_usd_per_unit * (AI chips served in the partner's region)
             + leverage * (the partner's output lost)

    The last three are the strategic stakes: for the US, a cost of China's AI-compute access;
    for China, the value of its own chip access and of the leverage its controls give (the pain
    they inflict). They make a concession cost its giver something.
    """

    partner: str = ""
    output_lost: float = 1.0
    export_revenue: float = 1.0
    licence_rent: float = 1.0
    compute_value_usd_per_unit: float = 0.0
    partner_compute_cost_usd_per_unit: float = 0.0
    leverage: float = 0.0

    def weights(self) -> dict[str, float]:
        """Weight of each of `PAYOFF_COMPONENTS` (signs not included)."""
        return {
            "output_lost_usd": self.output_lost,
            "substitution_cost_usd": self.output_lost,
            "export_revenue_usd": self.export_revenue,
            "licence_rent_usd": self.licence_rent,
            "chip_revenue_usd": self.export_revenue,
            "compute_units": self.compute_value_usd_per_unit,
            "partner_compute_units": self.partner_compute_cost_usd_per_unit,
            "partner_output_lost_usd": self.leverage,
        }

    def check(self, path: str) -> None:
        for name in ("output_lost", "export_revenue", "licence_rent", "compute_value_usd_per_unit",
                     "partner_compute_cost_usd_per_unit", "leverage"):
            _non_negative(f"{path}.{name}", getattr(self, name))


Regime = Literal["none", "licence", "quota", "ban"]


@dataclass(frozen=True)
class ExportControl:
    """An export-control regime of one State on one good, to all destinations but its own.

    `licence`: each shipment batch to one buyer is an application (`abm.market.licensing`)
    that waits `review_weeks` (gamma spread with coefficient of variation `review_cv`), is
    decided by an office that decides due applications, in order, until it has decided
    `review_capacity_t_per_week` tonnes in the week (a capacity that grows with the market and,
    with `review_learning` > 0, with the office's experience: learning by doing,
    `abm.market.licensing.LicenceOffice.capacity_t_per_week`),
    and is approved with a probability: `approval` by default, overridden by
    `approval_by_destination`, then capped by `approval_by_sector` (the lower of the two),
    then scaled by `approval_by_exporter` (a factor per named exporter, capped at 1), and by
    `large_application_factor` for applications above `large_application_t` tonnes (0: no
    size rule). A refused application is filed again `refile_weeks` later. `quota`: shipments
    abroad are capped at `quota_t_per_year`. `ban`: nothing ships abroad. `none`: the control
    is lifted. Under any regime, `blocked_destinations` receive nothing (an embargo on named
    countries, such as China's informal halt of shipments to Japan in September 2010); their
    orders wait.

    Grades: with `scope = "listed_grades"` a licence is needed only for the grades that contain
    the listed elements, the share of each buyer sector's tonnage given by
    `Sector.listed_grade_share` (for magnets, the Dy/Tb-bearing grades); `scope = "all"` covers
    the whole good. While `grades_told_apart` is false (customs cannot tell the grades apart,
    as in April-May 2025), exporters file for every shipment of the good; an application for an
    unlisted grade is approved with `unlisted_approval`.

    Chip goods (`abm.market.chips`): the regime applies to sales into the other price region
    (for the US, China); under a licence, `approval` (or the destination's) is the share of
    that demand the licences cover, and `revenue_share` of the licensed sales' value is paid to
    the State (15% for H20 in August 2025).
    """

    regime: Regime = "licence"
    review_weeks: float = 9.0
    review_cv: float = 0.3
    review_capacity_t_per_week: float = 1.0e9
    review_learning: float = 0.0
    approval: float = 1.0
    approval_by_destination: dict[str, float] = field(default_factory=dict)
    approval_by_sector: dict[str, float] = field(default_factory=dict)
    approval_by_exporter: dict[str, float] = field(default_factory=dict)
    large_application_t: float = 0.0
    large_application_factor: float = 1.0
    refile_weeks: float = 2.0
    scope: Literal["all", "listed_grades"] = "all"
    grades_told_apart: bool = True
    unlisted_approval: float = 1.0
    quota_t_per_year: float = 0.0
    revenue_share: float = 0.0
    blocked_destinations: tuple[str, ...] = ()

    def check(self, path: str) -> None:
        _non_negative(f"{path}.review_weeks", self.review_weeks)
        _non_negative(f"{path}.review_cv", self.review_cv)
        # review times are gamma with shape 1 / cv**2, which a tiny cv would make infinite
        if 0 < self.review_cv < MIN_POSITIVE:
            raise ConfigError(f"{path}.review_cv", f"0 or a number >= {MIN_POSITIVE:g}",
                              self.review_cv)
        _positive(f"{path}.review_capacity_t_per_week", self.review_capacity_t_per_week)
        if not 0.0 <= self.review_learning <= 2.0:
            raise ConfigError(f"{path}.review_learning", "a number in [0, 2]", self.review_learning)
        _probability(f"{path}.approval", self.approval)
        for key, p in self.approval_by_destination.items():
            _probability(f"{path}.approval_by_destination.{key}", p)
        for key, p in self.approval_by_sector.items():
            _probability(f"{path}.approval_by_sector.{key}", p)
        for key, factor in self.approval_by_exporter.items():
            _non_negative(f"{path}.approval_by_exporter.{key}", factor)
        _non_negative(f"{path}.large_application_t", self.large_application_t)
        _probability(f"{path}.large_application_factor", self.large_application_factor)
        _non_negative(f"{path}.refile_weeks", self.refile_weeks)
        if self.scope not in ("all", "listed_grades"):
            raise ConfigError(f"{path}.scope", "'all' or 'listed_grades'", self.scope)
        _probability(f"{path}.unlisted_approval", self.unlisted_approval)
        _non_negative(f"{path}.quota_t_per_year", self.quota_t_per_year)
        _probability(f"{path}.revenue_share", self.revenue_share)


ChipKind = Literal["designer", "foundry", "integrated"]


@dataclass(frozen=True)
class ChipMarket:
    """The AI-chip market (`abm.market.chips`); absent when `good` is empty.

    Demand for `good` (units a week) by price region (`CHN`, `ROW`) at the start of the run,
    growing at `demand_growth_per_year`. Sellers forecast their orders by smoothing them over
    `order_memory_weeks`, keep `inventory_weeks` of forecast orders in stock and close the gap
    over `production_adjust_weeks`. `input_good` is a material that chip production needs and
    that a State may control (for example scandium and yttrium); a chipmaker short of it loses
    the dependent share of its output. Input stocks refill over `input_refill_weeks`.
    """

    good: str = ""
    input_good: str = ""
    demand_units_per_week: dict[str, float] = field(default_factory=dict)
    demand_growth_per_year: dict[str, float] = field(default_factory=dict)
    order_memory_weeks: float = 4.0
    inventory_weeks: float = 2.0
    production_adjust_weeks: float = 4.0
    input_refill_weeks: float = 8.0

    def check(self, path: str) -> None:
        for table in ("demand_units_per_week", "demand_growth_per_year"):
            for region, value in getattr(self, table).items():
                if region not in (CHINA_REGION, REST_OF_WORLD_REGION):
                    raise ConfigError(f"{path}.{table}.{region}", "a region 'CHN' or 'ROW'", region)
                if table == "demand_units_per_week":
                    _non_negative(f"{path}.{table}.{region}", value)
                else:
                    _growth(f"{path}.{table}.{region}", value)
        _positive(f"{path}.order_memory_weeks", self.order_memory_weeks)
        _non_negative(f"{path}.inventory_weeks", self.inventory_weeks)
        _positive(f"{path}.production_adjust_weeks", self.production_adjust_weeks)
        _positive(f"{path}.input_refill_weeks", self.input_refill_weeks)


@dataclass(frozen=True)
class Chipmaker:
    """A maker of AI chips (see `abm.agents.chipmaker`).

    `designer` (a US firm like Nvidia): sells `market_share` of each region's demand at
    `price_usd_per_unit` (by region); its chips are made by its `foundry`. `foundry` (an allied
    foundry like TSMC): makes designers' chips up to `capacity_units_per_week` for
    `fee_usd_per_unit`. `integrated` (Chinese chipmakers): designs and makes its own chips up to
    `capacity_units_per_week`. Capacity grows at `capacity_growth_per_year`, plus
    `substitution_growth_per_year` times the share of imports into its home region that are
    blocked or discouraged, the whole slowed by `technology_drag` times the level of foreign
    technology controls (chip-design software, tools) on its country. `input_dependence` is the
    share of output that needs the market's `input_good`; the maker holds `input_stock_weeks`
    of it. `behaviour` names its decision rules in the run's behaviour registry
    (`abm.agents.behaviours`).
    """

    name: str
    country: str
    kind: ChipKind = "integrated"
    market_share: dict[str, float] = field(default_factory=dict)
    price_usd_per_unit: dict[str, float] = field(default_factory=dict)
    capacity_units_per_week: float = 0.0
    foundry: str = ""
    fee_usd_per_unit: float = 0.0
    capacity_growth_per_year: float = 0.0
    substitution_growth_per_year: float = 0.0
    technology_drag: float = 0.0
    input_dependence: float = 0.0
    input_stock_weeks: float = 0.0
    behaviour: str = "default"

    def check(self, path: str) -> None:
        if not self.name:
            raise ConfigError(f"{path}.name", "a non-empty name")
        for region, share in self.market_share.items():
            if region not in (CHINA_REGION, REST_OF_WORLD_REGION):
                raise ConfigError(f"{path}.market_share.{region}", "a region 'CHN' or 'ROW'")
            _probability(f"{path}.market_share.{region}", share)
            if share > 0 and self.price_usd_per_unit.get(region, 0.0) <= 0:
                raise ConfigError(
                    f"{path}.price_usd_per_unit.{region}", "a price > 0 where the maker sells"
                )
        if self.kind == "foundry" and self.market_share:
            raise ConfigError(f"{path}.market_share", "no market share for a foundry")
        if self.kind == "designer" and not self.foundry:
            raise ConfigError(f"{path}.foundry", "the name of the foundry making its chips")
        if self.kind != "designer" and self.foundry:
            raise ConfigError(f"{path}.foundry", "no foundry (only designers have one)")
        _non_negative(f"{path}.capacity_units_per_week", self.capacity_units_per_week)
        _non_negative(f"{path}.fee_usd_per_unit", self.fee_usd_per_unit)
        _growth(f"{path}.capacity_growth_per_year", self.capacity_growth_per_year)
        _non_negative(f"{path}.substitution_growth_per_year", self.substitution_growth_per_year)
        _growth(f"{path}.substitution_growth_per_year", self.substitution_growth_per_year)
        _probability(f"{path}.technology_drag", self.technology_drag)
        _probability(f"{path}.input_dependence", self.input_dependence)
        _non_negative(f"{path}.input_stock_weeks", self.input_stock_weeks)


@dataclass(frozen=True)
class TitForTatConfig:
    """Parameters of the `tit_for_tat` strategy: the State matches its partner's tariff on it
    (if `match_tariffs`), and answers the partner's export and technology controls on it by
    lowering its own approval rate for the partner on `retaliate_on` to one minus the
    partner's pressure (creating a licence regime with `review_weeks` if there is none)."""

    retaliate_on: str = ""
    review_weeks: float = 9.0
    match_tariffs: bool = True

    def check(self, path: str) -> None:
        _non_negative(f"{path}.review_weeks", self.review_weeks)


@dataclass(frozen=True)
class BargainingConfig:
    """Parameters of the `bargaining` strategy.

    Pain is the State's payoff loss (`[payoffs.CODE]`, `abm.policy.pain`) against its first
    week, as a share of the value at stake in its first week, smoothed over
    `pain_memory_weeks`. When both the State's and its
    partner's pain reach their `pain_threshold` and no deal is in force, the deal template
    `deal` is struck (not within `cooldown_weeks` of the end of the last one). While a deal is
    in force the State reneges with `renege_probability` a week (it undoes its own terms); it
    notices the partner's reneging `notice_lag_weeks` later and then undoes its own terms.
    """

    deal: str = ""
    pain_threshold: float = 0.3
    pain_memory_weeks: float = 4.0
    renege_probability: float = 0.0
    notice_lag_weeks: float = 4.0
    cooldown_weeks: float = 8.0

    def check(self, path: str) -> None:
        _non_negative(f"{path}.pain_threshold", self.pain_threshold)
        _positive(f"{path}.pain_memory_weeks", self.pain_memory_weeks)
        _probability(f"{path}.renege_probability", self.renege_probability)
        _non_negative(f"{path}.notice_lag_weeks", self.notice_lag_weeks)
        _non_negative(f"{path}.cooldown_weeks", self.cooldown_weeks)


@dataclass(frozen=True)
class StrategyConfig:
    """Parameters of a State's strategy (`[strategies.CODE]`); the strategy itself is named by
    `countries[].strategy`. `partner` is the State it answers or bargains with."""

    partner: str = ""
    tit_for_tat: TitForTatConfig = field(default_factory=TitForTatConfig)
    bargaining: BargainingConfig = field(default_factory=BargainingConfig)

    def check(self, path: str) -> None:
        self.tit_for_tat.check(f"{path}.tit_for_tat")
        self.bargaining.check(f"{path}.bargaining")


DEAL_TERM_KINDS = (
    "export_control", "licence_policy", "tariff", "general_licence", "tech_control",
    "discourage_imports",
)


@dataclass(frozen=True)
class DealTerm:
    """One term of a deal: what one party (`state`) does, as an event of `kind` (one of
    `DEAL_TERM_KINDS`, with the fields that kind reads, see `Event`), `after_weeks` after the
    deal is struck. The term is undone when its State reneges or when the deal ends."""

    state: str
    kind: str
    after_weeks: float = 0.0
    good: str = ""
    control: ExportControl | None = None
    changes: dict[str, float] = field(default_factory=dict)
    partner: str = "*"
    rate: float = 0.0
    destination: str = "*"
    sector: str = "*"
    exporter: str = "*"
    duration_weeks: float = 0.0
    level: float = 1.0

    def as_event(self, date: dt.date, label: str = "") -> Event:
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        del fields["after_weeks"]
        return Event(date=date, label=label, **fields)


@dataclass(frozen=True)
class DealConfig:
    """A deal template (`[deals.NAME]`): two `parties`, the `terms` each of them carries out,
    and the `duration_weeks` it lasts (its terms are undone at the end)."""

    parties: tuple[str, str]
    terms: tuple[DealTerm, ...] = ()
    duration_weeks: float = 52.0
    description: str = ""

    def check(self, path: str) -> None:
        _positive(f"{path}.duration_weeks", self.duration_weeks)
        if self.parties[0] == self.parties[1]:
            raise ConfigError(f"{path}.parties", "two different States", list(self.parties))
        for i, term in enumerate(self.terms):
            if term.kind not in DEAL_TERM_KINDS:
                raise ConfigError(f"{path}.terms[{i}].kind", f"one of {list(DEAL_TERM_KINDS)}",
                                  term.kind)
            if term.state not in self.parties:
                raise ConfigError(f"{path}.terms[{i}].state", f"one of the parties "
                                  f"{list(self.parties)}", term.state)
            _non_negative(f"{path}.terms[{i}].after_weeks", term.after_weeks)


@dataclass(frozen=True)
class Event:
    """A dated policy event. `kind` selects what it does (see `abm.policy.events`).

    Only the fields a kind uses are read; the loader checks that the kind is known and that the
    fields it needs are present.

    - `export_control`: `state` sets `control` on `good` (all fields of the regime); with an
      `effective` date after `date`, the control is announced on `date` and takes effect on
      `effective` (buyers abroad front-run it, `abm.market.trade`).
    - `licence_policy`: `state` changes some fields of its regime on `good` (`changes`).
    - `tariff`: `state` sets an ad-valorem `rate` on imports of `good` ("*" for all) from
      `partner` ("*" for all).
    - `general_licence`: `state` lets shipments of `good` to `destination` (and `sector`,
      `exporter`, when given) pass without applications for `duration_weeks`; with `share` < 1
      only that share of the matching buyers, drawn at random, is covered.
    - `alert`: buyers of `good` in `destinations` ("*" for all) raise their target cover by the
      stockpiling rule at `level` (0 to 1).
    - `capacity`: the producer `exporter` reaches the nameplate capacity
      `changes.capacity_t_per_week` (a dated project: a mine restarted, a plant commissioned).
    - `sourcing`: buyers of `good` in `destinations` take `changes[ORIGIN]` of their usual
      flow from each named origin (an offtake agreement); other origins share the rest.
    - `note`: marks a date on the figures and does nothing else (e.g. chip events before
      chipmakers exist).
    - `tech_control`: `state` puts technology controls (chip-design software, tools) at `level`
      (0 lifts them) on `destination`; they slow that country's chipmakers' capacity growth.
    - `discourage_imports`: `state` (China) steers its buyers of the chip `good` away from
      imports: `level` is the share of import demand turned to domestic chips (0 lifts it).
    - `deal`: the deal template `deal` (`[deals.NAME]`) is struck; its terms apply.

    Every event of a scenario has a `label`, unique in the scenario (after `extends`), by
    which paths select it (`events[label="London framework"]`). Figures mark and number an
    event on their time axes unless `mark` is false (a companion of an event already marked,
    such as the second general licence of the same day).
    """

    date: dt.date
    kind: str
    label: str = ""
    mark: bool = True
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
    share: float = 1.0
    deal: str = ""
    effective: dt.date | None = None

    def check(self, path: str) -> None:
        if self.control is not None:
            self.control.check(f"{path}.control")
        if self.effective is not None:
            _calendar(f"{path}.effective", self.effective)
            if self.kind != "export_control":
                raise ConfigError(f"{path}.effective", "only on an export_control event",
                                  str(self.effective))
            if self.effective <= self.date:
                raise ConfigError(f"{path}.effective", f"a date after the event's date {self.date}",
                                  str(self.effective))
        _non_negative(f"{path}.rate", self.rate)
        _non_negative(f"{path}.duration_weeks", self.duration_weeks)
        _probability(f"{path}.level", self.level)
        _probability(f"{path}.share", self.share)


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
    sectors: tuple[Sector, ...] = ()
    market: Market = field(default_factory=Market)
    controls: dict[str, dict[str, ExportControl]] = field(default_factory=dict)
    tariffs: dict[str, dict[str, float]] = field(default_factory=dict)
    events: tuple[Event, ...] = ()
    chips: ChipMarket = field(default_factory=ChipMarket)
    chipmakers: tuple[Chipmaker, ...] = ()
    strategies: dict[str, StrategyConfig] = field(default_factory=dict)
    deals: dict[str, DealConfig] = field(default_factory=dict)
    payoffs: dict[str, Payoff] = field(default_factory=dict)

    def sector(self, name: str) -> Sector:
        """The declared sector `name`, or one with the defaults."""
        return next((s for s in self.sectors if s.name == name), Sector(name))

    def payoff(self, code: str) -> Payoff:
        """How State `code` values outcomes (defaults when not given)."""
        return self.payoffs.get(code, Payoff())

    @property
    def weeks(self) -> int:
        """Number of weekly steps from `start` to `end` inclusive (partial last week counts)."""
        return (self.end - self.start).days // 7 + 1

    def week_of(self, date: dt.date) -> float:
        """Model time (weeks since start, fractional) at which `date` begins."""
        return (date - self.start).days / 7.0

    def effect_time(self, date: dt.date) -> float:
        """Model time at which an event dated `date` takes effect: before the week whose first
        day is nearest the date (an event from Monday to Thursday applies to its own week, one
        on Friday to Sunday from the next Monday), so that a week's discreteness shifts
        events by at most three and a half days either way, not up to six days earlier."""
        return round(self.week_of(date)) + 0.5

    def good_names(self) -> list[str]:
        return [g.name for g in self.goods]

    def country_codes(self) -> list[str]:
        return [c.code for c in self.countries]

    def check(self, event_kinds: Mapping[str, Any]) -> None:
        """Validate every object and every cross-reference against the registry of event kinds
        (`abm.policy.events.EVENT_KINDS`: each kind's `check`, passed in by the loader so that
        this module needs none of the policy code); raises ConfigError."""
        _calendar("scenario.start", self.start)
        _calendar("scenario.end", self.end)
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
        fed = set()
        for i, group in enumerate(self.buyers):
            group.check(f"buyers[{i}]")
            known(f"buyers[{i}].country", group.country, codes, "country")
            known(f"buyers[{i}].good", group.good, goods, "good")
            if group.feeds:
                known(f"buyers[{i}].feeds", group.feeds, goods, "good")
                makers = [e for e in self.exporters
                          if e.good == group.feeds and e.country == group.country]
                if not makers:
                    raise ConfigError(f"buyers[{i}].feeds", f"a good made in {group.country}",
                                      group.feeds)
                if (group.feeds, group.country, group.good) in fed:
                    raise ConfigError(f"buyers[{i}].feeds", "one group per (input, producers)",
                                      group.feeds)
                fed.add((group.feeds, group.country, group.good))
            for origin in group.sourcing:
                known(f"buyers[{i}].sourcing.{origin}", origin, codes, "country")
                if (group.good, origin) not in origins:
                    raise ConfigError(
                        f"buyers[{i}].sourcing.{origin}",
                        f"an origin with an exporter of {group.good!r}",
                        origin,
                    )
        for i, exporter in enumerate(self.exporters):
            for good in exporter.inputs:
                known(f"exporters[{i}].inputs.{good}", good, goods, "good")
                if (exporter.good, exporter.country, good) not in fed:
                    raise ConfigError(f"exporters[{i}].inputs.{good}", "a [[buyers]] group with "
                                      f"good = {good!r}, feeds = {exporter.good!r} in "
                                      f"{exporter.country} (the producers' input stocks)", good)
        if self._feeds_cycle():
            raise ConfigError("exporters[].inputs", "inputs that do not loop back to the good")
        sector_names = {g.sector for g in self.buyers}
        seen_sectors = set()
        for i, sector in enumerate(self.sectors):
            sector.check(f"sectors[{i}]")
            known(f"sectors[{i}].name", sector.name, sector_names, "buyer sector")
            if sector.name in seen_sectors:
                raise ConfigError(f"sectors[{i}].name", "a sector not declared twice", sector.name)
            seen_sectors.add(sector.name)
        for code, payoff in self.payoffs.items():
            known(f"payoffs.{code}", code, codes, "country")
            payoff.check(f"payoffs.{code}")
            if payoff.partner:
                known(f"payoffs.{code}.partner", payoff.partner, codes - {code}, "other country")
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
        labels: dict[str, int] = {}
        for i, event in enumerate(self.events):
            if not event.label.strip():
                raise ConfigError(f"events[{i}].label", "a label naming the event, unique in "
                                  "the scenario")
            if event.label in labels:
                raise ConfigError(f"events[{i}].label", f"a label not used by another event "
                                  f"(events[{labels[event.label]}] has it)", event.label)
            labels[event.label] = i
            self._check_event(f"events[{i}]", event, codes, goods, names, event_kinds)
        self._check_chips(codes, goods)
        self._check_policy(codes, goods, names, event_kinds)

    def _feeds_cycle(self) -> bool:
        inputs_of: dict[str, set[str]] = {}
        for exporter in self.exporters:
            inputs_of.setdefault(exporter.good, set()).update(exporter.inputs)

        def reaches(good: str, target: str, seen: frozenset) -> bool:
            return any(i == target or (i not in seen and reaches(i, target, seen | {i}))
                       for i in inputs_of.get(good, ()))

        return any(reaches(g, g, frozenset()) for g in inputs_of)

    def _check_chips(self, codes: set[str], goods: set[str]) -> None:
        chips = self.chips
        chips.check("chips")
        if not chips.good:
            if self.chipmakers:
                raise ConfigError("chips.good", "the chip good (chipmakers are declared)")
            return
        for name in ("good", "input_good"):
            value = getattr(chips, name)
            if value and value not in goods:
                raise ConfigError(f"chips.{name}", f"a declared good (one of {sorted(goods)})",
                                  value)
        makers: dict[str, Chipmaker] = {}
        for i, maker in enumerate(self.chipmakers):
            path = f"chipmakers[{i}]"
            maker.check(path)
            if maker.country not in codes:
                raise ConfigError(f"{path}.country", f"a declared country (one of "
                                  f"{sorted(codes)})", maker.country)
            if maker.name in makers:
                raise ConfigError(f"{path}.name", "a unique chipmaker name", maker.name)
            makers[maker.name] = maker
        for i, maker in enumerate(self.chipmakers):
            if maker.foundry and makers.get(maker.foundry, maker).kind != "foundry":
                raise ConfigError(f"chipmakers[{i}].foundry", "the name of a chipmaker of kind "
                                  "'foundry'", maker.foundry)
        for region, demand in chips.demand_units_per_week.items():
            total = sum(m.market_share.get(region, 0.0) for m in self.chipmakers)
            if demand > 0 and abs(total - 1.0) > 1e-6:
                raise ConfigError(f"chipmakers[].market_share.{region}",
                                  "shares of the region's demand that sum to 1", round(total, 6))

    def strategy_config(self, code: str) -> StrategyConfig:
        """The parameters of State `code`'s strategy (defaults when not given)."""
        return self.strategies.get(code, StrategyConfig())

    def _check_policy(self, codes: set[str], goods: set[str], exporters: set[str],
                      event_kinds: Mapping[str, Any]) -> None:
        # Strategy names are checked against the run's behaviour registry by the loader.
        strategy_of = {c.code: c.strategy for c in self.countries}
        for name, deal in self.deals.items():
            path = f"deals.{name}"
            deal.check(path)
            for j, party in enumerate(deal.parties):
                if party not in codes:
                    raise ConfigError(f"{path}.parties[{j}]", f"a declared country (one of "
                                      f"{sorted(codes)})", party)
            for j, term in enumerate(deal.terms):
                event = term.as_event(self.start)
                event.check(f"{path}.terms[{j}]")
                event_kinds[term.kind].check(f"{path}.terms[{j}]", event, codes, goods, exporters)
                if event.control is not None:
                    self._check_control_keys(f"{path}.terms[{j}].control", event.control, codes)
                if term.kind == "discourage_imports":
                    self._check_discouragement(f"{path}.terms[{j}]", event)
        for code, params in self.strategies.items():
            path = f"strategies.{code}"
            if code not in codes:
                raise ConfigError(path, f"a declared country (one of {sorted(codes)})", code)
            params.check(path)
            strategy = strategy_of[code]
            needs_partner = strategy in ("tit_for_tat", "bargaining") or params.partner
            if needs_partner and (params.partner not in codes or params.partner == code):
                raise ConfigError(f"{path}.partner", "another declared country "
                                  f"(one of {sorted(codes - {code})})", params.partner)
            retaliate_on = params.tit_for_tat.retaliate_on
            if retaliate_on and retaliate_on not in goods:
                raise ConfigError(f"{path}.tit_for_tat.retaliate_on",
                                  f"a declared good (one of {sorted(goods)})", retaliate_on)
            if strategy == "bargaining":
                deal = params.bargaining.deal
                if deal not in self.deals:
                    raise ConfigError(f"{path}.bargaining.deal",
                                      f"a deal template (one of {sorted(self.deals)})", deal)
                if set(self.deals[deal].parties) != {code, params.partner}:
                    raise ConfigError(f"{path}.bargaining.deal", f"a deal between {code} and "
                                      f"{params.partner}", deal)
                if strategy_of.get(params.partner) != "bargaining":
                    raise ConfigError(f"{path}.partner", "a country whose strategy is also "
                                      "'bargaining'", params.partner)
        for code, strategy in strategy_of.items():
            if strategy in ("tit_for_tat", "bargaining") and code not in self.strategies:
                index = list(strategy_of).index(code)
                raise ConfigError(f"strategies.{code}", f"a [strategies.{code}] table with the "
                                  f"partner (countries[{index}] uses {strategy!r})")
        for i, event in enumerate(self.events):
            if event.kind == "deal" and event.deal not in self.deals:
                raise ConfigError(f"events[{i}].deal", f"a deal template (one of "
                                  f"{sorted(self.deals)})", event.deal)
            if event.kind == "discourage_imports":
                self._check_discouragement(f"events[{i}]", event)

    def _check_discouragement(self, path: str, event: Event) -> None:
        if event.good != self.chips.good or not self.chips.good:
            raise ConfigError(f"{path}.good", "the chip good (the chip market reads import "
                              "discouragement)", event.good)
        regions = {c.code: c.price_region for c in self.countries}
        if regions.get(event.state) != CHINA_REGION:
            raise ConfigError(f"{path}.state", "the State of the CHN price region", event.state)

    def _check_control_keys(self, path: str, control: ExportControl, codes: set[str]) -> None:
        for i, destination in enumerate(control.blocked_destinations):
            if destination not in codes:
                raise ConfigError(f"{path}.blocked_destinations[{i}]",
                                  f"a declared country (one of {sorted(codes)})", destination)
        for destination in control.approval_by_destination:
            if destination not in codes:
                raise ConfigError(
                    f"{path}.approval_by_destination.{destination}",
                    f"a declared country (one of {sorted(codes)})",
                    destination,
                )
        exporters = sorted(e.name for e in self.exporters)
        for name in control.approval_by_exporter:
            if name not in exporters:
                raise ConfigError(f"{path}.approval_by_exporter.{name}",
                                  f"a declared exporter (one of {exporters})", name)

    def _check_event(self, path, event: Event, codes, goods, exporters,
                     event_kinds: Mapping[str, Any]) -> None:
        if event.kind not in event_kinds:
            raise ConfigError(f"{path}.kind", f"one of {sorted(event_kinds)}", event.kind)
        if event.date < self.start:
            raise ConfigError(
                f"{path}.date", f"a date on or after the start {self.start}", str(event.date)
            )
        if event.date > self.end:
            raise ConfigError(
                f"{path}.date", f"a date on or before the end {self.end}", str(event.date)
            )
        event.check(path)
        event_kinds[event.kind].check(path, event, codes, goods, exporters)
        if event.control is not None:
            self._check_control_keys(f"{path}.control", event.control, codes)
