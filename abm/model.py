"""The Mesa model: a weekly market for export-controlled goods.

`ExportControlModel(config, rng=seed)` builds States, Exporters and buyers from a scenario and
schedules its dated policy events; each `step()` is one calendar week, in the order written in
`step()`. The state of buyers and exporters lives in arrays (`BuyerBook`, `ExporterBook`,
`PairBook` for buyer-origin links), so a week costs a handful of NumPy operations whatever the
number of agents; the agents are handles with the decision rules (see `abm.agents`).

Model time is in weeks since the start date: step k (k = 1, 2, ...) runs at time k and covers
the seven days from `start + 7 (k - 1)`. A policy event dated inside that week runs at time
(days since start) / 7, before the step.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import mesa
import numpy as np
from mesa.time import Priority

from abm.agents.buyer import MagnetBuyer
from abm.agents.exporter import Exporter
from abm.agents.state import State
from abm.market.chips import ChipMarket
from abm.market.ledger import Ledger
from abm.market.prices import update_prices
from abm.market.recorder import Recorder
from abm.policy.events import EVENT_KINDS
from abm.policy.pain import PainMeter
from abm.policy.strategies import make_strategy
from abm.scenario.config import CHINA_REGION, Event, Scenario

REGIONS = (CHINA_REGION, "ROW")
# Quantities below this (tonnes: a milligram) are treated as nothing when dividing by them.
TINY_T = 1e-9
NONE, LICENCE, QUOTA, BAN = 0, 1, 2, 3
_REGIME_CODE = {"none": NONE, "licence": LICENCE, "quota": QUOTA, "ban": BAN}


@dataclass
class BuyerBook:
    """Per-buyer state (arrays of length n_buyers). Quantities in tonnes, covers in weeks."""

    good: np.ndarray
    country: np.ndarray
    sector: np.ndarray
    region: np.ndarray
    group: np.ndarray
    mean_demand_t: np.ndarray
    base_cover_weeks: np.ndarray
    inventory_t: np.ndarray
    transit_t: np.ndarray  # ring buffer [slots, n_buyers] of arrivals by week
    demand_factor: np.ndarray = field(init=False)
    alert: np.ndarray = field(init=False)
    cover_weeks: np.ndarray = field(init=False)
    queued_t: np.ndarray = field(init=False)
    demand_t: np.ndarray = field(init=False)
    used_t: np.ndarray = field(init=False)
    arrived_t: np.ndarray = field(init=False)
    halted: np.ndarray = field(init=False)
    halted_weeks: np.ndarray = field(init=False)

    def __post_init__(self):
        n = self.good.size
        self.demand_factor = np.ones(n)
        self.alert = np.zeros(n)
        self.cover_weeks = self.base_cover_weeks.copy()
        self.queued_t = np.zeros(n)
        self.demand_t = self.mean_demand_t.copy()
        self.used_t = self.mean_demand_t.copy()
        self.arrived_t = self.mean_demand_t.copy()
        self.halted = np.zeros(n, dtype=bool)
        self.halted_weeks = np.zeros(n, dtype=np.int64)


@dataclass
class ExporterBook:
    """Per-exporter state (arrays of length n_exporters)."""

    good: np.ndarray
    country: np.ndarray
    region: np.ndarray
    capacity_t: np.ndarray
    inventory_weeks: np.ndarray
    expansion_price_ratio: np.ndarray
    expansion_per_year: np.ndarray
    expansion_lead_weeks: np.ndarray
    expected_orders_t: np.ndarray
    inventory_t: np.ndarray = field(init=False)
    produced_t: np.ndarray = field(init=False)
    capacity_pipeline: dict[int, np.ndarray] = field(default_factory=dict)

    def __post_init__(self):
        self.inventory_t = self.inventory_weeks * self.expected_orders_t
        self.produced_t = np.zeros(self.good.size)


@dataclass
class PairBook:
    """Buyer-origin links (arrays of length n_pairs): each buyer buys from one exporter in
    each origin country it sources from."""

    buyer: np.ndarray
    origin: np.ndarray
    exporter: np.ndarray
    lag_weeks: np.ndarray
    foreign: np.ndarray
    base_share: np.ndarray
    share: np.ndarray = field(init=False)
    backlog_t: np.ndarray = field(init=False)
    ordered_t: np.ndarray = field(init=False)  # smoothed weekly orders
    shipped_t: np.ndarray = field(init=False)  # smoothed weekly shipments
    base_landed_usd_per_kg: np.ndarray = field(init=False)

    def __post_init__(self):
        self.share = self.base_share.copy()
        self.backlog_t = np.zeros(self.buyer.size)


class ExportControlModel(mesa.Model):
    """Weekly model of export controls on a supply chain of declared goods.

    Args:
        config: the scenario (default: the built-in `baseline-2024`).
        rng: seed or generator; all randomness of the run comes from it.
    """

    def __init__(self, config: Scenario | None = None, *, rng=None):
        super().__init__(rng=rng)
        if config is None:
            from abm.scenario.load import load

            config = load("baseline-2024")
        self.config = config
        self.goods = config.good_names()
        self.countries = config.country_codes()
        self.sectors = sorted({g.sector for g in config.buyers})
        self.good_index = {g: i for i, g in enumerate(self.goods)}
        self.country_index = {c: i for i, c in enumerate(self.countries)}
        self.sector_index = {s: i for i, s in enumerate(self.sectors)}
        self.country_region = np.array(
            [REGIONS.index(c.price_region) for c in config.countries], dtype=np.int64
        )
        self.reference_price = np.array(
            [[g.reference_price_usd_per_kg[r] for r in REGIONS] for g in config.goods]
        )
        self.price_usd_per_kg = self.reference_price.copy()
        self._policy_dirty = True

        self.states: dict[str, State] = {}
        for country in config.countries:
            self.states[country.code] = State(self, country, make_strategy(country.strategy))
        self._build_exporters()
        self._build_buyers()
        self._apply_growth_to_start()
        self._build_pairs()
        self._initial_fill()

        self.ledger = Ledger()
        self.recorder = Recorder(self)
        self.chip_market = ChipMarket(self)
        self.pain = PainMeter(self)
        self.deals: list = []  # abm.policy.deals.Deal
        self._shipped_this_week = np.zeros(self.pairs.buyer.size)
        self._new_orders_t = np.zeros(self.pairs.buyer.size)
        self._always = np.ones(self.pairs.buyer.size)
        self.orders_t = self.buyers.mean_demand_t.copy()
        self.quota_used_t: dict[tuple[str, str, int], float] = {}
        self.produced_total_t = np.zeros(len(self.goods))
        self.consumed_total_t = np.zeros(len(self.goods))
        for state_code, by_good in config.controls.items():
            for good, control in by_good.items():
                self.states[state_code].set_control(good, control)
        for state_code, rates in config.tariffs.items():
            for key, rate in rates.items():
                partner, _, good = key.partition(".")
                self.states[state_code].set_tariff(partner, good or "*", rate)
        self._rebuild_policy()
        self.pairs.base_landed_usd_per_kg = self._landed_price()

        self.events_applied: list[Event] = []
        self._event_handles = []
        for event in config.events:
            self._schedule(event)

    # --- construction --------------------------------------------------------------------------

    def _build_exporters(self) -> None:
        cfg = self.config.exporters
        self.exporter_agents = [
            Exporter(self, i, e.name, e.country, e.good) for i, e in enumerate(cfg)
        ]
        self.exporter_index = {e.name: i for i, e in enumerate(cfg)}
        country = np.array([self.country_index[e.country] for e in cfg], dtype=np.int64)
        self._exporter_args = dict(
            good=np.array([self.good_index[e.good] for e in cfg], dtype=np.int64),
            country=country,
            region=self.country_region[country] if cfg else np.empty(0, dtype=np.int64),
            capacity_t=np.array([e.capacity_t_per_week for e in cfg], dtype=float),
            inventory_weeks=np.array([e.inventory_weeks for e in cfg], dtype=float),
            expansion_price_ratio=np.array([e.expansion_price_ratio for e in cfg], dtype=float),
            expansion_per_year=np.array([e.expansion_per_year for e in cfg], dtype=float),
            expansion_lead_weeks=np.array([e.expansion_lead_weeks for e in cfg], dtype=np.int64),
        )

    def _build_buyers(self) -> None:
        goods, countries, sectors, groups, demand, cover = [], [], [], [], [], []
        self.buyer_agents: list[MagnetBuyer] = []
        self.buyer_groups = []
        for gi, group in enumerate(self.config.buyers):
            sizes = self.rng.lognormal(0.0, group.size_sigma, group.count)
            weekly = group.demand_t_per_year / 52.0
            demand.append(weekly * sizes / sizes.sum())
            cover.append(self.rng.uniform(*group.cover_weeks, size=group.count))
            goods += [self.good_index[group.good]] * group.count
            countries += [self.country_index[group.country]] * group.count
            sectors += [self.sector_index[group.sector]] * group.count
            groups += [gi] * group.count
            self.buyer_groups.append((group.good, group.country, group.sector))
            for _ in range(group.count):
                index = len(self.buyer_agents)
                self.buyer_agents.append(
                    MagnetBuyer(self, index, group.country, group.sector, group.good)
                )
        country = np.array(countries, dtype=np.int64)
        demand_t = np.concatenate(demand) if demand else np.empty(0)
        cover_weeks = np.concatenate(cover) if cover else np.empty(0)
        self._max_lag = max(
            [self.config.market.domestic_transit_weeks, *self.config.market.transit_weeks.values()]
        )
        self.buyers = BuyerBook(
            good=np.array(goods, dtype=np.int64),
            country=country,
            sector=np.array(sectors, dtype=np.int64),
            region=self.country_region[country] if country.size else country,
            group=np.array(groups, dtype=np.int64),
            mean_demand_t=demand_t,
            base_cover_weeks=cover_weeks,
            inventory_t=demand_t * cover_weeks,
            transit_t=np.zeros((self._max_lag + 1, demand_t.size)),
        )
        # Buyers of each class get that class's rules (a subclass overrides a behaviour).
        classes: dict[type, list[int]] = {}
        for agent in self.buyer_agents:
            classes.setdefault(type(agent), []).append(agent.index)
        self.buyer_classes = [(cls, np.array(idx)) for cls, idx in classes.items()]

    def _apply_growth_to_start(self) -> None:
        """Scale demands and capacities from their reference date back (or on) to the start."""
        market = self.config.market
        if not market.demand_growth_per_year or market.growth_reference is None:
            return
        years = (self.config.start - market.growth_reference).days / 365.25
        factor = (1.0 + market.demand_growth_per_year) ** years
        self.buyers.mean_demand_t *= factor
        self.buyers.inventory_t *= factor
        self._exporter_args["capacity_t"] = self._exporter_args["capacity_t"] * factor

    def _transit_weeks(self, origin: str, destination: str) -> int:
        market = self.config.market
        if origin == destination:
            return market.domestic_transit_weeks
        return market.transit_weeks.get(f"{origin}-{destination}", market.transit_weeks["default"])

    def _build_pairs(self) -> None:
        """Link each buyer to one exporter per origin, balancing load on capacity."""
        cfg = self.config
        exporters_of: dict[tuple[str, str], list[int]] = {}
        for i, e in enumerate(cfg.exporters):
            exporters_of.setdefault((e.good, e.country), []).append(i)
        load = np.zeros(len(cfg.exporters))
        capacity = self._exporter_args["capacity_t"]
        rows = []
        for agent in self.buyer_agents:
            group = cfg.buyers[self.buyers.group[agent.index]]
            for origin, share in group.sourcing.items():
                if share <= 0:
                    continue
                rows.append((agent.index, origin, share))
        # Largest flows first, each to the exporter with the most room left.
        rows.sort(key=lambda r: -self.buyers.mean_demand_t[r[0]] * r[2])
        buyer, origin, exporter, lag, foreign, share = [], [], [], [], [], []
        for b, o, s in rows:
            candidates = exporters_of[(self.buyer_agents[b].good, o)]
            flow = self.buyers.mean_demand_t[b] * s
            fill = [(load[c] + flow) / max(capacity[c], 1e-12) for c in candidates]
            chosen = candidates[int(np.argmin(fill))]
            load[chosen] += flow
            destination = self.buyer_agents[b].country
            buyer.append(b)
            origin.append(self.country_index[o])
            exporter.append(chosen)
            lag.append(self._transit_weeks(o, destination))
            foreign.append(o != destination)
            share.append(s)
        self.pairs = PairBook(
            buyer=np.array(buyer, dtype=np.int64),
            origin=np.array(origin, dtype=np.int64),
            exporter=np.array(exporter, dtype=np.int64),
            lag_weeks=np.array(lag, dtype=np.int64),
            foreign=np.array(foreign, dtype=bool),
            base_share=np.array(share, dtype=float),
        )
        self.exporters = ExporterBook(expected_orders_t=load, **self._exporter_args)
        del self._exporter_args

    def _initial_fill(self) -> None:
        """Start in the steady state: stocks at target, transit pipelines full."""
        p = self.pairs
        flow = self.buyers.mean_demand_t[p.buyer] * p.share
        p.ordered_t = flow.copy()
        p.shipped_t = flow.copy()
        slots = self._max_lag + 1
        for k in range(1, self._max_lag + 1):
            arriving = p.lag_weeks >= k
            np.add.at(self.buyers.transit_t[k % slots], p.buyer[arriving], flow[arriving])
        self.initial_stock_t = self._stock_by_good()

    # --- dated events --------------------------------------------------------------------------

    def _schedule(self, event: Event) -> None:
        kind = EVENT_KINDS[event.kind]

        def apply_event(event=event, kind=kind):
            kind.apply(self, event)
            self.events_applied.append(event)

        # The model keeps the callable alive: Mesa holds events by weak reference.
        self._event_handles.append(apply_event)
        self.schedule_event(
            apply_event, at=self.config.week_of(event.date), priority=Priority.LOW
        )

    def policy_changed(self) -> None:
        self._policy_dirty = True

    def raise_alert(self, good: str, destinations: tuple[str, ...], level: float) -> None:
        """Buyers of `good` ("*": all) in `destinations` fear controls: alert rises to `level`."""
        mask = np.ones(self.buyers.good.size, dtype=bool)
        if good != "*":
            mask &= self.buyers.good == self.good_index[good]
        if "*" not in destinations:
            codes = [self.country_index[c] for c in destinations]
            mask &= np.isin(self.buyers.country, codes)
        self.buyers.alert[mask] = np.maximum(self.buyers.alert[mask], level)

    # --- calendar ------------------------------------------------------------------------------

    def date_of_week(self, week: int) -> dt.date:
        """First day of step `week` (1-based)."""
        return self.config.start + dt.timedelta(days=7 * (week - 1))

    @property
    def date(self) -> dt.date:
        """First day of the week the model is in (the last completed step)."""
        return self.date_of_week(max(self.steps, 1))

    # --- policy arrays -------------------------------------------------------------------------

    def _rebuild_policy(self) -> None:
        """Derive per-pair regime, approval probability, expected wait and tariff from the
        States' instruments (only when one of them changed)."""
        p, b = self.pairs, self.buyers
        n = p.buyer.size
        self.pair_regime = np.zeros(n, dtype=np.int64)
        self.pair_approval = np.ones(n)
        self.pair_wait_weeks = np.zeros(n)
        self.pair_controlled_share = np.ones(n)
        self.pair_hold_weeks = np.zeros(n)
        self.pair_general = np.zeros(n, dtype=bool)
        self.pair_tariff = np.zeros(n)
        pair_good = b.good[p.buyer]
        pair_dest = b.country[p.buyer]
        pair_sector = b.sector[p.buyer]
        for state in self.states.values():
            origin_mask = (p.origin == self.country_index[state.code]) & p.foreign
            for good, control in state.controls.items():
                mask = origin_mask & (pair_good == self.good_index[good])
                if not mask.any():
                    continue
                self.pair_regime[mask] = _REGIME_CODE[control.regime]
                if control.regime == "licence":
                    share = control.controlled_share
                    self.pair_controlled_share[mask] = share
                    self.pair_hold_weeks[mask] = control.customs_hold_weeks
                    self.pair_wait_weeks[mask] = (
                        share * control.review_weeks + (1 - share) * control.customs_hold_weeks
                    )
                    table = np.full((len(self.countries), len(self.sectors)), control.approval)
                    for dest, prob in control.approval_by_destination.items():
                        table[self.country_index[dest], :] = prob
                    for sector, prob in control.approval_by_sector.items():
                        if sector in self.sector_index:
                            column = self.sector_index[sector]
                            table[:, column] = np.minimum(table[:, column], prob)
                    self.pair_approval[mask] = table[pair_dest[mask], pair_sector[mask]]
                    for licence in state.general_licences:
                        if licence.good != good or licence.until_week <= self.time:
                            continue
                        match = mask.copy()
                        if licence.destination != "*":
                            match &= pair_dest == self.country_index[licence.destination]
                        if licence.sector != "*":
                            match &= pair_sector == self.sector_index.get(licence.sector, -1)
                        if licence.exporter != "*":
                            match &= p.exporter == self.exporter_index[licence.exporter]
                        if licence.buyers is not None:
                            match &= np.isin(p.buyer, list(licence.buyers))
                        self.pair_general |= match
            dest_mask = pair_dest == self.country_index[state.code]
            if state.tariffs and dest_mask.any():
                for i in np.flatnonzero(dest_mask):
                    origin = self.countries[p.origin[i]]
                    if origin != state.code:
                        self.pair_tariff[i] = state.tariff_on(origin, self.goods[pair_good[i]])
        self.pair_wait_weeks[self.pair_general] = 0.0
        self._general_expiry = min(
            (
                lic.until_week
                for s in self.states.values()
                for lic in s.general_licences
                if lic.until_week > self.time
            ),
            default=np.inf,
        )
        self._policy_dirty = False

    def _landed_price(self) -> np.ndarray:
        """Price at which each pair's goods reach the buyer: origin price plus tariff (USD/kg)."""
        p = self.pairs
        good = self.buyers.good[p.buyer]
        return self.price_usd_per_kg[good, self.country_region[p.origin]] * (1.0 + self.pair_tariff)

    # --- the week ------------------------------------------------------------------------------

    def step(self) -> None:
        """One week: events have run; states decide; buyers order; exporters produce and
        allocate; licence offices review; shipments leave and arrive; buyers produce; prices
        move; slow adjustments (sourcing, stockpiling, demand, capacity); aggregates recorded."""
        self.agents_by_type[State].do("step")
        if self._policy_dirty or self.time >= self._general_expiry:
            self._rebuild_policy()
        self._draw_demand()
        self._place_orders()
        self._produce_and_allocate()
        self._review_licences()
        self._arrive_and_use()
        update_prices(self)
        self.chip_market.step()
        self.pain.record()
        self._adjust()
        self.recorder.record(self)

    def _draw_demand(self) -> None:
        b = self.buyers
        cv = self.config.market.demand_cv
        noise = self.rng.lognormal(-0.5 * cv**2, cv, b.good.size) if cv > 0 else 1.0
        b.demand_t = b.mean_demand_t * b.demand_factor * noise

    def _position_t(self) -> np.ndarray:
        b, p = self.buyers, self.pairs
        on_order = np.bincount(p.buyer, weights=p.backlog_t, minlength=b.good.size)
        return b.inventory_t + b.transit_t.sum(axis=0) + on_order + b.queued_t

    def _place_orders(self) -> None:
        b, p = self.buyers, self.pairs
        market = self.config.market
        expected_lead = p.lag_weeks + self.pair_wait_weeks
        lead = np.bincount(p.buyer, weights=p.share * expected_lead, minlength=b.good.size)
        position = self._position_t()
        orders = np.zeros(b.good.size)
        for cls, idx in self.buyer_classes:
            b.cover_weeks[idx] = cls.target_cover_weeks(
                b.base_cover_weeks[idx], b.alert[idx], market.stockpile_cover_gain
            )
            orders[idx] = cls.order_t(
                b.mean_demand_t[idx] * b.demand_factor[idx],
                b.cover_weeks[idx],
                lead[idx],
                position[idx],
                market.order_adjust_weeks,
            )
        self.orders_t = orders
        new = orders[p.buyer] * p.share
        p.backlog_t += new
        self._new_orders_t = new

    def _produce_and_allocate(self) -> None:
        p, e = self.pairs, self.exporters
        n_e = e.good.size
        shippable = self._shippable_t()
        open_orders = np.bincount(p.exporter, weights=p.backlog_t, minlength=n_e)
        target_stock = e.inventory_weeks * e.expected_orders_t
        production = np.zeros(n_e)
        for cls, idx in self._exporter_classes():
            production[idx] = cls.production_t(
                e.capacity_t[idx], open_orders[idx], e.inventory_t[idx], target_stock[idx]
            )
        e.inventory_t += production
        e.produced_t = production
        np.add.at(self.produced_total_t, e.good, production)
        wanted = np.bincount(p.exporter, weights=shippable, minlength=n_e)
        fill = np.divide(e.inventory_t, wanted, out=np.ones(n_e), where=wanted > TINY_T)
        shipped = shippable * np.minimum(fill, 1.0)[p.exporter]
        e.inventory_t -= np.bincount(p.exporter, weights=shipped, minlength=n_e)
        e.inventory_t = np.maximum(e.inventory_t, 0.0)
        p.backlog_t -= shipped
        self._count_quota_use(shipped)
        # Under a licence regime the controlled share of a shipment waits for a licence; the
        # rest leaves at once, or waits in customs while customs holds the whole tariff code.
        licensed = (self.pair_regime == LICENCE) & ~self.pair_general & (shipped > 0)
        controlled = np.where(licensed, shipped * self.pair_controlled_share, 0.0)
        free = shipped - controlled
        held = licensed & (self.pair_hold_weeks > 0) & (free > 0)
        leaving = (free > 0) & ~held
        self._dispatch(np.flatnonzero(leaving), free[leaving])
        self._file(np.flatnonzero(held), free[held], customs=True)
        to_office = controlled > 0
        self._file(np.flatnonzero(to_office), controlled[to_office], customs=False)
        smoothing = 1.0 / self.config.market.exporter_forecast_weeks
        e.expected_orders_t += smoothing * (
            np.bincount(p.exporter, weights=self._new_orders_t, minlength=n_e) - e.expected_orders_t
        )

    def _pairs_of(self, cls: type, buyers: np.ndarray) -> np.ndarray:
        """Mask of the buyer-origin pairs whose buyer is one of `buyers` (cached by class)."""
        cache = self.__dict__.setdefault("_pair_masks", {})
        if cls not in cache or cache[cls][0] is not buyers:
            cache[cls] = (buyers, np.isin(self.pairs.buyer, buyers))
        return cache[cls][1]

    def _exporter_classes(self):
        if not hasattr(self, "_exporter_class_index"):
            classes: dict[type, list[int]] = {}
            for agent in self.exporter_agents:
                classes.setdefault(type(agent), []).append(agent.index)
            self._exporter_class_index = [(c, np.array(i)) for c, i in classes.items()]
        return self._exporter_class_index

    def _shippable_t(self) -> np.ndarray:
        """Backlog that may leave this week: all of it, except to foreign buyers under a ban,
        or beyond what is left of a quota."""
        p = self.pairs
        shippable = p.backlog_t.copy()
        shippable[self.pair_regime == BAN] = 0.0
        quota_pairs = self.pair_regime == QUOTA
        if quota_pairs.any():
            first = self.date_of_week(self.steps)
            weeks_left = max(1, (dt.date(first.year, 12, 31) - first).days // 7 + 1)
            for key, control, mask in self._quotas(quota_pairs):
                used = self.quota_used_t.get(key, 0.0)
                allowance = max(0.0, control.quota_t_per_year - used) / weeks_left
                wanted = shippable[mask].sum()
                if wanted > allowance:
                    shippable[mask] *= allowance / wanted
        return shippable

    def _quotas(self, candidates: np.ndarray):
        """For each quota in force: its (State, good, year) key, its control, and the pairs
        among `candidates` that it covers."""
        p = self.pairs
        year = self.date_of_week(self.steps).year
        pair_good = self.buyers.good[p.buyer]
        for state in self.states.values():
            for good, control in state.controls.items():
                if control.regime == "quota":
                    mask = candidates & (p.origin == self.country_index[state.code]) & (
                        pair_good == self.good_index[good]
                    )
                    yield (state.code, good, year), control, mask

    def _count_quota_use(self, shipped: np.ndarray) -> None:
        """Add this week's shipments under a quota to the year's use of that quota."""
        quota_pairs = (self.pair_regime == QUOTA) & (shipped > 0)
        if quota_pairs.any():
            for key, _, mask in self._quotas(quota_pairs):
                self.quota_used_t[key] = self.quota_used_t.get(key, 0.0) + shipped[mask].sum()

    def _file(self, pair: np.ndarray, quantity_t: np.ndarray, customs: bool) -> None:
        """Put shipments in the origin State's licence queue (or customs hold) for the good."""
        if pair.size == 0:
            return
        p = self.pairs
        np.add.at(self.buyers.queued_t, p.buyer[pair], quantity_t)
        pair_good = self.buyers.good[p.buyer[pair]]
        for state in self.states.values():
            queues = state.customs_holds if customs else state.offices
            for good, office in queues.items():
                mask = (p.origin[pair] == self.country_index[state.code]) & (
                    pair_good == self.good_index[good]
                )
                if mask.any():
                    office.file(self.time, pair[mask], quantity_t[mask], self.rng)
                    kind = "held" if customs else "filed"
                    self.recorder.add_licence_flow(state.code, good, kind, quantity_t[mask].sum())

    def _review_licences(self) -> None:
        record = self.recorder.add_licence_flow
        for state in self.states.values():
            for good, office in state.offices.items():
                decided = office.review(self.time, self.pair_approval, self.rng)
                self.release_applications(decided.approved_pair, decided.approved_t)
                self.return_applications(decided.refused_pair, decided.refused_t)
                record(state.code, good, "approved", decided.approved_t.sum())
                record(state.code, good, "refused", decided.refused_t.sum())
            for good, hold in state.customs_holds.items():
                cleared = hold.review(self.time, self._always, self.rng)
                self.release_applications(cleared.approved_pair, cleared.approved_t)
                record(state.code, good, "cleared", cleared.approved_t.sum())

    def release_applications(self, pair: np.ndarray, quantity_t: np.ndarray) -> None:
        """Approved (or no longer controlled) applications leave the queue and ship."""
        if pair.size == 0:
            return
        np.subtract.at(self.buyers.queued_t, self.pairs.buyer[pair], quantity_t)
        self._dispatch(pair, quantity_t)

    def return_applications(self, pair: np.ndarray, quantity_t: np.ndarray) -> None:
        """Refused applications: the goods go back to the exporter's stock, and the buyer's
        order lapses (it will order again)."""
        if pair.size == 0:
            return
        np.subtract.at(self.buyers.queued_t, self.pairs.buyer[pair], quantity_t)
        np.add.at(self.exporters.inventory_t, self.pairs.exporter[pair], quantity_t)

    def _dispatch(self, pair: np.ndarray, quantity_t: np.ndarray) -> None:
        """Shipments leave: recorded in the ledger at the origin price, enter transit."""
        if pair.size == 0:
            return
        p = self.pairs
        slots = self._max_lag + 1
        slot = (self.steps + p.lag_weeks[pair]) % slots
        np.add.at(self.buyers.transit_t, (slot, p.buyer[pair]), quantity_t)
        good = self.buyers.good[p.buyer[pair]]
        price = self.price_usd_per_kg[good, self.country_region[p.origin[pair]]]
        self.ledger.record(self.steps, pair, quantity_t, quantity_t * price * 1000.0)
        np.add.at(self._shipped_this_week, pair, quantity_t)

    def _arrive_and_use(self) -> None:
        b = self.buyers
        slots = self._max_lag + 1
        slot = self.steps % slots
        b.arrived_t = b.transit_t[slot].copy()
        b.transit_t[slot] = 0.0
        b.inventory_t += b.arrived_t
        b.used_t = np.minimum(b.demand_t, b.inventory_t)
        b.inventory_t -= b.used_t
        np.add.at(self.consumed_total_t, b.good, b.used_t)
        halted = np.zeros(b.good.size, dtype=bool)
        for cls, idx in self.buyer_classes:
            halted[idx] = cls.is_halted(
                b.used_t[idx], b.demand_t[idx], self.config.market.halt_threshold
            )
        b.halted = halted
        b.halted_weeks += halted

    def _adjust(self) -> None:
        """Slow adjustments: supplier reliability and sourcing shares, alerts and restocking,
        demand response to prices, and capacity expansion outside the controlling region."""
        b, p, e = self.buyers, self.pairs, self.exporters
        market = self.config.market
        memory = 1.0 / market.reliability_memory_weeks
        p.ordered_t += memory * (self._new_orders_t - p.ordered_t)
        p.shipped_t += memory * (self._shipped_this_week - p.shipped_t)
        self._shipped_this_week = np.zeros(p.buyer.size)
        reliability = np.clip(
            np.divide(p.shipped_t, p.ordered_t, out=np.ones_like(p.shipped_t),
                      where=p.ordered_t > TINY_T),
            0.0,
            1.0,
        )
        landed = self._landed_price()
        ratio = landed / p.base_landed_usd_per_kg
        attractiveness = np.zeros(p.buyer.size)
        for cls, idx in self.buyer_classes:
            mask = self._pairs_of(cls, idx)
            attractiveness[mask] = cls.target_shares(
                p.base_share[mask],
                reliability[mask],
                ratio[mask],
                market.sourcing_price_elasticity,
                market.sourcing_reliability_weight,
            )
        total = np.bincount(p.buyer, weights=attractiveness, minlength=b.good.size)
        target = np.divide(
            attractiveness, total[p.buyer], out=p.base_share.copy(), where=total[p.buyer] > 1e-12
        )
        p.share += market.sourcing_adjust_per_week * (target - p.share)

        decay = 0.5 ** (1.0 / market.alert_half_life_weeks)
        b.alert *= decay
        if market.restock_after_shortage > 0:
            b.alert[b.halted] = np.maximum(b.alert[b.halted], market.restock_after_shortage)

        elasticity = np.array([g.demand_elasticity for g in self.config.goods])[b.good]
        if elasticity.any():
            landed_buyer = np.bincount(p.buyer, weights=p.share * ratio, minlength=b.good.size)
            response = np.array([g.demand_response_weeks for g in self.config.goods])[b.good]
            target_factor = np.maximum(landed_buyer, 1e-6) ** -elasticity
            b.demand_factor += (target_factor - b.demand_factor) / response

        if e.expansion_per_year.any():
            ratio_e = self.price_usd_per_kg[e.good, e.region] / self.reference_price[e.good, e.region]
            added = np.zeros(e.good.size)
            for cls, idx in self._exporter_classes():
                added[idx] = cls.capacity_investment_t(
                    e.capacity_t[idx], ratio_e[idx], e.expansion_price_ratio[idx],
                    e.expansion_per_year[idx],
                )
            for i in np.flatnonzero(added):
                online = self.steps + int(e.expansion_lead_weeks[i])
                e.capacity_pipeline.setdefault(online, np.zeros(e.good.size))[i] += added[i]
        growth = self.config.market.demand_growth_per_year
        if growth:
            weekly = (1.0 + growth) ** (1.0 / 52.0)
            b.mean_demand_t *= weekly
            e.capacity_t *= weekly
        arriving = e.capacity_pipeline.pop(self.steps, None)
        if arriving is not None:
            e.capacity_t += arriving

    # --- accounting ----------------------------------------------------------------------------

    def _stock_by_good(self) -> np.ndarray:
        b, e = self.buyers, self.exporters
        n = len(self.goods)
        return (
            np.bincount(b.good, weights=b.inventory_t + b.transit_t.sum(axis=0) + b.queued_t,
                        minlength=n)
            + np.bincount(e.good, weights=e.inventory_t, minlength=n)
        )

    def material_balance(self) -> dict[str, dict[str, float]]:
        """By good: initial stock + produced, against consumed + inventories + in transit +
        queued for licences (tonnes). The two sides are equal up to rounding."""
        b, e = self.buyers, self.exporters
        n = len(self.goods)
        parts = {
            "initial_stock_t": self.initial_stock_t,
            "produced_t": self.produced_total_t,
            "consumed_t": self.consumed_total_t,
            "buyer_inventory_t": np.bincount(b.good, weights=b.inventory_t, minlength=n),
            "exporter_inventory_t": np.bincount(e.good, weights=e.inventory_t, minlength=n),
            "in_transit_t": np.bincount(b.good, weights=b.transit_t.sum(axis=0), minlength=n),
            "queued_t": np.bincount(b.good, weights=b.queued_t, minlength=n),
        }
        return {
            good: {name: float(values[i]) for name, values in parts.items()}
            for i, good in enumerate(self.goods)
        }
