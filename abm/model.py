"""The Mesa model: a weekly supply chain of export-controlled goods.

`ExportControlModel(config, rng=seed)` builds States, producers (`Exporter`) and buyers from a
scenario and schedules its dated policy events; each `step()` is one calendar week, in the
order written in `step()`, each line a stage module of `abm.market` that owns its part of the
work. The state of buyers, producers and their links lives in arrays (`abm.market.books`), so a
week costs a handful of NumPy operations whatever the number of agents; the agents are handles
with the decision rules (`abm.agents`), applied per agent class. Which class (behaviour) each
scenario entry gets is looked up in the run's registry (`abm.agents.behaviours.Behaviours`).

Goods form a chain: a producer may use inputs (`Exporter.inputs`), held by a buyer group that
`feeds` it, so a control on an input (Dy/Tb oxide) cuts the output of its users (magnet makers
outside China) once their input stocks run down.

Model time is in weeks since the start date: step k (k = 1, 2, ...) runs at time k and covers
the seven days from `start + 7 (k - 1)`. A policy event dated inside that week runs at time
(days since start) / 7, before the step.
"""

from __future__ import annotations

import datetime as dt

import mesa
import numpy as np
from mesa.time import Priority

from abm import reporters
from abm.agents.behaviours import Behaviours
from abm.agents.buyer import Buyer
from abm.agents.state import State
from abm.market import accounting, adaptation, production, trade, use
from abm.market.books import BuyerBook, ExporterBook, PairBook
from abm.market.chips import ChipMarket
from abm.market.clearing import update_prices
from abm.market.ledger import Ledger
from abm.market.recorder import Recorder
from abm.market.trade import BAN, LICENCE, QUOTA, REGIME_CODE
from abm.policy.events import EVENT_KINDS
from abm.policy.pain import PainMeter
from abm.scenario.config import CHINA_REGION, Event, Scenario

REGIONS = (CHINA_REGION, "ROW")


def rule_selections(classes: list[tuple[type, np.ndarray]], size: int) -> list:
    """`(class, agents)` for the week's rules: the class's agent numbers, or `slice(None)` when
    one class holds all `size` agents (the usual case), so that its rules read and write the
    whole arrays, with no copy in and out."""
    if len(classes) == 1 and classes[0][1].size == size:
        return [(classes[0][0], slice(None))]
    return classes


def as_slice(indices: np.ndarray) -> np.ndarray | slice:
    """`indices` as a slice when they are one ascending run of numbers (the same entries,
    read as a view), else themselves."""
    if indices.size and (np.diff(indices) == 1).all():
        return slice(int(indices[0]), int(indices[-1]) + 1)
    return indices


class ExportControlModel(mesa.Model):
    """Weekly model of export controls on a supply chain of declared goods.

    Args:
        config: the scenario (default: the built-in `baseline-2024`).
        rng: seed or generator; all randomness of the run comes from it.
        behaviours: the registry the scenario's behaviour and strategy names are looked up in
            (`abm.agents.behaviours.Behaviours`; default: the built-in behaviours).
    """

    def __init__(self, config: Scenario | None = None, *, rng=None,
                 behaviours: Behaviours | None = None):
        super().__init__(rng=rng)
        if config is None:
            from abm.scenario.load import load

            config = load("baseline-2024")
        self.config = config
        self.behaviours = Behaviours() if behaviours is None else behaviours
        self._check_behaviours()
        self.goods = config.good_names()
        self.countries = config.country_codes()
        self.sectors = sorted({g.sector for g in config.buyers})
        self.good_index = {g: i for i, g in enumerate(self.goods)}
        self.country_index = {c: i for i, c in enumerate(self.countries)}
        self.sector_index = {s: i for i, s in enumerate(self.sectors)}
        self.country_region = np.array(
            [REGIONS.index(c.price_region) for c in config.countries], dtype=np.int64
        )
        # Each country's rival region: China's for the others, the rest of the world's for
        # China (`abm.market.accounting`).
        china = REGIONS.index(CHINA_REGION)
        self.partner_region = np.where(self.country_region == china, 1 - china, china)
        goods = config.goods
        self.reference_price = np.array(
            [[g.reference_price_usd_per_kg[r] for r in REGIONS] for g in goods]
        )
        self.price_usd_per_kg = self.reference_price.copy()
        self.price_demand_sensitivity = np.array([g.demand_sensitivity for g in goods])[:, None]
        self.price_inventory_sensitivity = np.array([g.inventory_sensitivity for g in goods])[:, None]
        self.demand_elasticity = np.array([g.demand_elasticity for g in goods])
        self.demand_response_weeks = np.array([g.demand_response_weeks for g in goods])
        self.good_priority = np.array([g.allocation == "priority" for g in goods])
        self._policy_dirty = True
        self.policy_version = 0  # counts changes of any State's instruments

        self.states: dict[str, State] = {}
        for country in config.countries:
            strategy = self.behaviours.get("strategy", country.strategy)()
            self.states[country.code] = State(self, country, strategy)
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
        n_pairs = self.pairs.buyer.size
        self.shipped_this_week = np.zeros(n_pairs)
        self.value_this_week = np.zeros(n_pairs)
        self.rent_this_week = np.zeros(n_pairs)
        self.new_orders_t = np.zeros(n_pairs)
        self.pair_spot_share = np.zeros(n_pairs)
        self.always_approve = np.ones(n_pairs)
        self.orders_t = self.buyers.mean_demand_t.copy()
        self.refused_t = np.zeros(self.buyers.good.size)
        self.refused_last_week_t = np.zeros(self.buyers.good.size)
        self.quota_used_t: dict[tuple[str, str, int], float] = {}
        self.produced_total_t = np.zeros(len(self.goods))
        self.consumed_total_t = np.zeros(len(self.goods))
        # Mesa's own tools (mesa.batch_run) read these (abm.reporters).
        self.datacollector = reporters.collector(self)
        self.running = True
        for state_code, by_good in config.controls.items():
            for good, control in by_good.items():
                self.states[state_code].set_control(good, control)
        for state_code, rates in config.tariffs.items():
            for key, rate in rates.items():
                partner, _, good = key.partition(".")
                self.states[state_code].set_tariff(partner, good or "*", rate)
        self._rebuild_policy()
        trade.export_prices(self)
        self.pairs.base_landed_usd_per_kg = adaptation.landed_price_usd_per_kg(self)

        self.events_applied: list[Event] = []
        self._event_handles = []
        for event in config.events:
            self._schedule(event)

    # --- construction --------------------------------------------------------------------------

    def _check_behaviours(self) -> None:
        from abm.scenario.config import ConfigError
        from abm.scenario.load import ScenarioError

        try:
            self.behaviours.check(self.config)
        except ConfigError as err:
            raise ScenarioError(f"scenario {self.config.name!r}", err.path,
                                str(err).split(": ", 1)[1]) from None

    def _build_exporters(self) -> None:
        cfg = self.config.exporters
        self.exporter_agents = [
            self.behaviours.get("exporter", e.behaviour)(self, i, e.name, e.country, e.good)
            for i, e in enumerate(cfg)
        ]
        self.exporter_index = {e.name: i for i, e in enumerate(cfg)}
        country = np.array([self.country_index[e.country] for e in cfg], dtype=np.int64)
        good = np.array([self.good_index[e.good] for e in cfg], dtype=np.int64)
        self._exporter_args = dict(
            good=good,
            country=country,
            region=self.country_region[country] if cfg else np.empty(0, dtype=np.int64),
            capacity_t=np.array([e.capacity_t_per_week for e in cfg], dtype=float),
            inventory_weeks=np.array([e.inventory_weeks for e in cfg], dtype=float),
            expansion_price_ratio=np.array([e.expansion_price_ratio for e in cfg], dtype=float),
            expansion_per_year=np.array([e.expansion_per_year for e in cfg], dtype=float),
            expansion_lead_weeks=np.array([e.expansion_lead_weeks for e in cfg], dtype=np.int64),
        )
        # Spot pools: all producers of one good in one origin country.
        pool_key = good * max(len(self.countries), 1) + country
        _, self.exporter_pool = np.unique(pool_key, return_inverse=True)
        self.exporter_pool = self.exporter_pool.astype(np.int64)
        self.n_pools = int(self.exporter_pool.max()) + 1 if cfg else 0
        classes: dict[type, list[int]] = {}
        for agent in self.exporter_agents:
            classes.setdefault(type(agent), []).append(agent.index)
        self.exporter_classes = [(c, np.array(i, dtype=np.int64)) for c, i in classes.items()]
        self.exporter_rules = rule_selections(self.exporter_classes, len(cfg))

    def _build_buyers(self) -> None:
        """Final buyers: `count` per group with lognormal sizes. Input buyers: one per
        producer of the good the group feeds, with that producer's input content."""
        cfg = self.config
        columns = {k: [] for k in ("good", "country", "sector", "group", "demand", "cover",
                                   "feeds", "content")}
        self.buyer_agents: list[Buyer] = []
        self.buyer_groups = []
        for gi, group in enumerate(cfg.buyers):
            if group.feeds:
                makers = [i for i, e in enumerate(cfg.exporters)
                          if e.good == group.feeds and e.country == group.country]
                count = len(makers)
                demand = np.zeros(count)
                content = [cfg.exporters[i].inputs.get(group.good, 0.0) for i in makers]
            else:
                count = group.count
                sizes = self.rng.lognormal(0.0, group.size_sigma, count)
                demand = group.demand_t_per_year / 52.0 * sizes / sizes.sum()
                makers, content = [-1] * count, [0.0] * count
            columns["demand"].append(demand)
            columns["cover"].append(self.rng.uniform(*group.cover_weeks, size=count))
            columns["feeds"] += makers
            columns["content"] += content
            columns["good"] += [self.good_index[group.good]] * count
            columns["country"] += [self.country_index[group.country]] * count
            columns["sector"] += [self.sector_index[group.sector]] * count
            columns["group"] += [gi] * count
            self.buyer_groups.append((group.good, group.country, group.sector))
            behaviour = self.behaviours.get("buyer", group.behaviour)
            for _ in range(count):
                index = len(self.buyer_agents)
                self.buyer_agents.append(
                    behaviour(self, index, group.country, group.sector, group.good)
                )
        country = np.array(columns["country"], dtype=np.int64)
        sector = np.array(columns["sector"], dtype=np.int64)
        demand_t = np.concatenate(columns["demand"]) if columns["demand"] else np.empty(0)
        cover_weeks = np.concatenate(columns["cover"]) if columns["cover"] else np.empty(0)
        self.max_lag = max(
            [cfg.market.domestic_transit_weeks, *cfg.market.transit_weeks.values()]
        )
        self._arrival_slot_steps = -1
        sectors = [cfg.sector(name) for name in self.sectors]

        def by_sector(field: str) -> np.ndarray:
            return np.array([getattr(s, field) for s in sectors], dtype=float)[sector] \
                if sector.size else np.empty(0)

        self.buyers = BuyerBook(
            good=np.array(columns["good"], dtype=np.int64),
            country=country,
            sector=sector,
            region=self.country_region[country] if country.size else country,
            group=np.array(columns["group"], dtype=np.int64),
            mean_demand_t=demand_t,
            base_cover_weeks=cover_weeks,
            inventory_t=demand_t * cover_weeks,
            transit_t=np.zeros((self.max_lag + 1, demand_t.size)),
            feeds=np.array(columns["feeds"], dtype=np.int64),
            content_t_per_t=np.array(columns["content"], dtype=float),
            value_usd_per_t=by_sector("value_usd_per_t"),
            contract_share=by_sector("contract_share"),
            substitution_ceiling=by_sector("substitution_ceiling"),
            substitution_lead_weeks=by_sector("substitution_lead_weeks"),
            substitution_cost_usd_per_t=by_sector("substitution_cost_usd_per_t"),
            substitution_reversal_weeks=by_sector("substitution_reversal_weeks"),
        )
        self.input_buyers = np.flatnonzero(self.buyers.feeds >= 0)
        self.inputs_per_maker = np.bincount(self.buyers.feeds[self.input_buyers],
                                            minlength=len(cfg.exporters)).astype(float)
        self.final_buyers = np.flatnonzero(self.buyers.feeds < 0)
        # Fixed gathers the week reads (taken once here, not every week): each input stock's
        # producer, content, good and its producer's number of inputs; the final buyers'
        # goods (and, once the producers' book exists, the producers' price keys).
        b, inputs = self.buyers, self.input_buyers
        self.input_maker = b.feeds[inputs]
        self.input_content_t_per_t = b.content_t_per_t[inputs]
        self.input_good = b.good[inputs]
        self.input_maker_inputs = self.inputs_per_maker[self.input_maker]
        self.final_good = b.good[self.final_buyers]
        # The week reads and writes the final buyers' and the input stocks' entries through
        # these: a slice (a view, no copy) when they are stored in one run, as they are when
        # built here (final buyers first), else their indices.
        self.final_at = as_slice(self.final_buyers)
        self.inputs_at = as_slice(self.input_buyers)
        self.n_inputs = int(self.input_buyers.size)
        self.substitutes = bool(self.buyers.substitution_ceiling.any())
        # Each buyer's good's demand response, fixed with the goods.
        self.any_demand_elasticity = bool(self.demand_elasticity.any())
        self.buyer_demand_elasticity = self.demand_elasticity[b.good]
        self.buyer_demand_response_weeks = self.demand_response_weeks[b.good]
        # Buyers of each class get that class's rules (a subclass overrides a behaviour).
        classes: dict[type, list[int]] = {}
        for agent in self.buyer_agents:
            classes.setdefault(type(agent), []).append(agent.index)
        self.buyer_classes = [(cls, np.array(idx, dtype=np.int64)) for cls, idx in classes.items()]
        self.buyer_rules = rule_selections(self.buyer_classes, self.buyers.good.size)

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
        """Link each buyer to one exporter per origin, balancing load on capacity. Final
        buyers first; then, stage by stage up the chain, input buyers, whose demand is their
        producer's load times its input content.

        Within a stage the links are made largest flow first (ties by buyer, then origin), each
        to the producer of its good in its origin with the most room left. Producers of one
        (good, origin) compete only with each other, so a (good, origin) with one producer
        takes its links at once; the others are chosen one link at a time."""
        cfg = self.config
        b = self.buyers
        n_buyers = b.good.size
        exporters_of: dict[tuple[int, int], list[int]] = {}
        for i, e in enumerate(cfg.exporters):
            key = (self.good_index[e.good], self.country_index[e.country])
            exporters_of.setdefault(key, []).append(i)
        exporter_good = np.array([self.good_index[e.good] for e in cfg.exporters],
                                 dtype=np.int64)
        load = np.zeros(len(cfg.exporters))
        capacity = self._exporter_args["capacity_t"]
        n_c = len(self.countries)
        lag_of = np.array([[self._transit_weeks(o, d) for d in self.countries]
                           for o in self.countries], dtype=np.int64).reshape(n_c, n_c)
        origin_rank = {c: r for r, c in enumerate(sorted(self.countries))}
        # Each group's sourcing entries (origin index, origin's rank by name, share), shares > 0.
        sourcing = []
        for group in cfg.buyers:
            entries = [(self.country_index[o], origin_rank[o], s)
                       for o, s in group.sourcing.items() if s > 0]
            sourcing.append(np.array(entries, dtype=float).reshape(-1, 3))
        stages = []
        pending = np.ones(n_buyers, dtype=bool)
        while pending.any():
            goods_pending = np.zeros(len(self.goods), dtype=bool)
            goods_pending[b.good[pending]] = True
            feeds = b.feeds
            is_final = feeds < 0
            waiting = np.zeros(n_buyers, dtype=bool)
            waiting[~is_final] = goods_pending[exporter_good[feeds[~is_final]]]
            ready = np.flatnonzero(pending & (is_final | ~waiting))
            if ready.size == 0:
                raise RuntimeError("the scenario's inputs form a loop")
            inputs = ready[feeds[ready] >= 0]
            b.mean_demand_t[inputs] = b.content_t_per_t[inputs] * load[feeds[inputs]]
            b.inventory_t[inputs] = b.mean_demand_t[inputs] * b.base_cover_weeks[inputs]
            # One row per (ready buyer, origin with a positive share).
            per_buyer = [sourcing[g] for g in b.group[ready]]
            counts = np.array([len(x) for x in per_buyer], dtype=np.int64)
            table = np.concatenate(per_buyer) if per_buyer else np.empty((0, 3))
            row_buyer = np.repeat(ready, counts)
            row_origin = table[:, 0].astype(np.int64)
            row_share = table[:, 2]
            flow = b.mean_demand_t[row_buyer] * row_share
            # Largest flows first, ties by buyer then by origin's name.
            order = np.lexsort((table[:, 1], row_buyer, -b.mean_demand_t[row_buyer] * row_share))
            row_buyer, row_origin, row_share, flow = (
                row_buyer[order], row_origin[order], row_share[order], flow[order])
            row_good = b.good[row_buyer]
            chosen = np.empty(row_buyer.size, dtype=np.int64)
            for (good, origin), candidates in exporters_of.items():
                rows = np.flatnonzero((row_good == good) & (row_origin == origin))
                if rows.size == 0:
                    continue
                if len(candidates) == 1:
                    chosen[rows] = candidates[0]
                    np.add.at(load, chosen[rows], flow[rows])  # in row order, as one by one
                    continue
                # Each link to the candidate with the lowest fill after it (the first on ties).
                loads = [float(load[c]) for c in candidates]
                caps = [max(float(capacity[c]), 1e-12) for c in candidates]
                out = []
                for f in flow[rows].tolist():
                    best, best_fill = 0, (loads[0] + f) / caps[0]
                    for k in range(1, len(candidates)):
                        fill = (loads[k] + f) / caps[k]
                        if fill < best_fill:
                            best, best_fill = k, fill
                    loads[best] += f
                    out.append(candidates[best])
                chosen[rows] = out
                load[candidates] = loads
            missing = np.ones(row_buyer.size, dtype=bool)
            for good, origin in exporters_of:
                missing &= ~((row_good == good) & (row_origin == origin))
            if missing.any():
                i = int(np.flatnonzero(missing)[0])
                raise KeyError((self.goods[row_good[i]], self.countries[row_origin[i]]))
            destination = b.country[row_buyer]
            stages.append((row_buyer, row_origin, chosen, lag_of[row_origin, destination],
                           row_origin != destination, row_share))
            pending[ready] = False
        if not stages:  # no buyers: no links
            empty = np.empty(0, dtype=np.int64)
            stages.append((empty, empty, empty, empty, empty.astype(bool), empty.astype(float)))
        columns = [np.concatenate(parts) for parts in zip(*stages, strict=True)]
        order = np.argsort(columns[0], kind="stable")
        buyer, origin, exporter, lag, foreign, share = (c[order] for c in columns)
        self.pairs = PairBook(
            buyer=buyer.astype(np.int64),
            origin=origin.astype(np.int64),
            exporter=exporter.astype(np.int64),
            lag_weeks=lag.astype(np.int64),
            foreign=foreign.astype(bool),
            base_share=share.astype(float),
        )
        self.pairs.index(b, self.country_region, len(self.countries))
        self.exporters = ExporterBook(expected_orders_t=load, **self._exporter_args)
        self.input_maker_price_key = self.exporters.price_key[self.input_maker]
        del self._exporter_args

    def _initial_fill(self) -> None:
        """Start in the steady state: stocks at target, transit pipelines full."""
        p = self.pairs
        flow = self.buyers.mean_demand_t[p.buyer] * p.share
        p.ordered_t = flow.copy()
        p.shipped_t = flow.copy()
        slots = self.max_lag + 1
        for k in range(1, self.max_lag + 1):
            arriving = p.lag_weeks >= k
            np.add.at(self.buyers.transit_t[k % slots], p.buyer[arriving], flow[arriving])
        self.initial_stock_t = accounting.stock_by_good(self)

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
        self.policy_version = getattr(self, "policy_version", 0) + 1

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
        p = self.pairs
        n = p.buyer.size
        self.pair_regime = np.zeros(n, dtype=np.int64)
        self.pair_approval = np.ones(n)
        self.pair_wait_weeks = np.zeros(n)
        self.pair_controlled_share = np.ones(n)
        self.pair_hold_weeks = np.zeros(n)
        self.pair_general = np.zeros(n, dtype=bool)
        self.pair_tariff = np.zeros(n)
        pair_good, pair_dest, pair_sector = p.good, p.destination, p.sector
        for state in self.states.values():
            origin_mask = (p.origin == self.country_index[state.code]) & p.foreign
            for good, control in state.controls.items():
                mask = origin_mask & (pair_good == self.good_index[good])
                if not mask.any():
                    continue
                self.pair_regime[mask] = REGIME_CODE[control.regime]
                for destination in control.blocked_destinations:
                    self.pair_regime[mask & (pair_dest == self.country_index[destination])] = BAN
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
                # The rate by (origin, good), none on the State's own goods.
                rates = np.array([[0.0 if origin == state.code else state.tariff_on(origin, good)
                                   for good in self.goods] for origin in self.countries])
                rates = rates.reshape(len(self.countries), len(self.goods))
                self.pair_tariff[dest_mask] = rates[p.origin[dest_mask], pair_good[dest_mask]]
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
        # Masks the week reads, derived once per change of policy rather than every week.
        self.pair_banned = self.pair_regime == BAN
        self.pair_quota = self.pair_regime == QUOTA
        self.pair_licence = self.pair_regime == LICENCE
        self.pair_licensed = self.pair_licence & ~self.pair_general  # not under a general licence
        self.pair_held = self.pair_licensed & (self.pair_hold_weeks > 0)
        self.any_ban = bool(self.pair_banned.any())
        self.any_quota = bool(self.pair_quota.any())
        self.any_licensed = bool(self.pair_licensed.any())
        self.pair_expected_lead = self.pairs.lag_weeks + self.pair_wait_weeks
        self.pair_tariff_factor = 1.0 + self.pair_tariff
        self._policy_dirty = False

    # --- the week ------------------------------------------------------------------------------

    def step(self) -> None:
        """One week (dated events have run before it). Who decides what, in order; each agent
        kind's rules are applied, class by class, to the arrays of all its agents (a
        behaviour is a subclass that overrides some of them, `abm.agents`)."""
        # States decide (their strategies may change instruments).
        self.agents_by_type[State].do("step")
        if self._policy_dirty or self.time >= self._general_expiry:
            self._rebuild_policy()
        self._new_week_buffers()
        # Buyers' demand this week; producers' input buyers plan from their producers' plans.
        use.draw_demand(self)
        production.plan_inputs(self)
        # Buyers choose their cover and order (Buyer.target_cover_weeks, Buyer.order_t).
        trade.place_orders(self)
        shippable = trade.shippable_t(self)
        # Producers produce (Exporter.production_t) and allocate their stock
        # (Exporter.contract_claim_t, then spot by bid); shipments leave or wait for licences.
        production.produce(self, shippable)
        shipped, spot = trade.allocate(self, shippable)
        trade.send(self, shipped, spot)
        production.forecast_orders(self)
        # Licence offices review; arrivals land; buyers use their stock (Buyer.is_halted).
        trade.review_licences(self)
        use.arrive(self)
        use.use(self)
        # Prices clear; chipmakers make and sell (Chipmaker rules); payoffs are measured.
        update_prices(self)
        self.chip_market.step()
        self.pain.record()
        # Slow adjustments: sourcing (Buyer.target_shares), substitution
        # (Buyer.substituted_share), capacity (Exporter.capacity_investment_t); aggregates.
        adaptation.adjust(self)
        self.recorder.record(self)
        self.datacollector.collect(self)
        self.running = self.steps < reporters.weeks_in(self.config)

    def _new_week_buffers(self) -> None:
        """Zero this week's flows in the arrays sized at construction (allocating them anew
        every week costs more than the work on them at large populations); last week's
        refusals become `refused_last_week_t`."""
        for array in (self.shipped_this_week, self.value_this_week, self.rent_this_week):
            array.fill(0.0)
        self.refused_last_week_t, self.refused_t = self.refused_t, self.refused_last_week_t
        self.refused_t.fill(0.0)

    def arrival_slot_by_lag(self) -> np.ndarray:
        """Goods shipped now with a lag of k weeks land in slot (steps + k) mod slots of the
        buyers' transit ring (`BuyerBook.transit_t`): the table by k (made once a week)."""
        if self._arrival_slot_steps != self.steps:
            slots = self.max_lag + 1
            self._arrival_slot = (self.steps + np.arange(slots)) % slots
            self._arrival_slot_steps = self.steps
        return self._arrival_slot

    def release_applications(self, pair: np.ndarray, quantity_t: np.ndarray) -> None:
        """Applications no longer controlled leave the queue and ship."""
        trade.release(self, pair, quantity_t)

    def return_applications(self, pair: np.ndarray, quantity_t: np.ndarray) -> None:
        """Applications refused or banned go back to the producers' stocks."""
        trade.give_back(self, pair, quantity_t)

    def pairs_of(self, cls: type, buyers: np.ndarray | slice) -> np.ndarray | slice:
        """Mask of the buyer-origin pairs whose buyer is one of `buyers` (cached by class);
        every pair (`slice(None)`) for every buyer."""
        if isinstance(buyers, slice):
            return buyers
        cache = self.__dict__.setdefault("_pair_masks", {})
        if cls not in cache or cache[cls][0] is not buyers:
            cache[cls] = (buyers, np.isin(self.pairs.buyer, buyers))
        return cache[cls][1]

    def pairs_sold_by(self, cls: type, exporters: np.ndarray | slice) -> np.ndarray | slice:
        """Mask of the buyer-origin pairs whose exporter is one of `exporters` (cached by
        class); every pair (`slice(None)`) for every exporter."""
        if isinstance(exporters, slice):
            return exporters
        cache = self.__dict__.setdefault("_pair_masks", {})
        key = ("exporter", cls)
        if key not in cache or cache[key][0] is not exporters:
            cache[key] = (exporters, np.isin(self.pairs.exporter, exporters))
        return cache[key][1]

    # --- accounting ----------------------------------------------------------------------------

    def material_balance(self) -> dict[str, dict[str, float]]:
        """By good: initial stock + produced, against use + stocks + in transit + queued
        (tonnes); the two sides are equal up to rounding (`abm.market.accounting`)."""
        return accounting.material_balance(self)
