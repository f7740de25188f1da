"""Construction: a scenario compiled into the model's agents and arrays, in one place.

`build(model)` is called once by `abm.model.ExportControlModel.__init__`: it reads the frozen
scenario (`model.config`), makes the States, producers and buyers (Mesa agents, with the rules of
the behaviour each scenario entry names), fills the books of arrays the week's stages work on
(`abm.market.books`), links each buyer to one producer per origin, starts the run in the steady
state (stocks at target, transit pipelines full), applies the scenario's standing controls and
tariffs, and makes the price book (`abm.market.clearing.PriceBook`). Nothing after it reads the
scenario's lists of goods, countries, producers or buyers again.
"""

from __future__ import annotations

import numpy as np

from abm.agents.buyer import Buyer
from abm.agents.state import State
from abm.market import accounting, adaptation
from abm.market.books import BuyerBook, ExporterBook, PairBook
from abm.market.chips import ChipMarket
from abm.market.clearing import PriceBook, export_prices
from abm.market.ledger import Ledger
from abm.market.recorder import Recorder
from abm.policy.pain import PainMeter
from abm.scenario.config import CHINA_REGION

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


def build(model) -> None:
    """Compile `model.config` into the model: indices of goods, countries and sectors, regions
    and reference prices, States (with their strategies), producers and buyers (agents and their
    books), the links between them, the steady state the run starts from, the week's buffers,
    the scenario's standing controls and tariffs, the policy arrays and the price book."""
    config = model.config
    model.goods = config.good_names()
    model.countries = config.country_codes()
    model.sectors = sorted({g.sector for g in config.buyers})
    model.good_index = {g: i for i, g in enumerate(model.goods)}
    model.country_index = {c: i for i, c in enumerate(model.countries)}
    model.sector_index = {s: i for i, s in enumerate(model.sectors)}
    model.country_region = np.array(
        [REGIONS.index(c.price_region) for c in config.countries], dtype=np.int64
    )
    # Each country's rival region: China's for the others, the rest of the world's for
    # China (`abm.market.accounting`).
    china = REGIONS.index(CHINA_REGION)
    model.partner_region = np.where(model.country_region == china, 1 - china, china)
    goods = config.goods
    model.reference_price = np.array(
        [[g.reference_price_usd_per_kg[r] for r in REGIONS] for g in goods]
    )
    model.price_usd_per_kg = model.reference_price.copy()
    model.demand_response_weeks = np.array([g.demand_response_weeks for g in goods])
    model.shipment_batch_t = np.array([g.shipment_batch_t for g in goods])
    model.good_priority = np.array([g.allocation == "priority" for g in goods])
    model._policy_dirty = True
    model.policy_version = 0  # counts changes of any State's instruments

    model.states: dict[str, State] = {}
    for country in config.countries:
        strategy = model.behaviours.get("strategy", country.strategy)()
        model.states[country.code] = State(model, country, strategy)
    build_exporters(model)
    build_buyers(model)
    apply_growth_to_start(model)
    build_pairs(model)
    initial_fill(model)

    model.ledger = Ledger()
    model.recorder = Recorder(model)
    model.chip_market = ChipMarket(model)
    model.pain = PainMeter(model)
    model.deals: list = []  # abm.policy.deals.Deal
    n_pairs = model.pairs.buyer.size
    model.shipped_this_week = np.zeros(n_pairs)
    model.value_this_week = np.zeros(n_pairs)
    model.rent_this_week = np.zeros(n_pairs)
    model.new_orders_t = np.zeros(n_pairs)
    model.pair_spot_share = np.zeros(n_pairs)
    model.always_approve = np.ones(n_pairs)
    model.orders_t = model.buyers.mean_demand_t.copy()
    model.quota_used_t: dict[tuple[str, str, int], float] = {}
    model.produced_total_t = np.zeros(len(model.goods))
    model.consumed_total_t = np.zeros(len(model.goods))
    for state_code, by_good in config.controls.items():
        for good, control in by_good.items():
            model.states[state_code].set_control(good, control)
    for state_code, rates in config.tariffs.items():
        for key, rate in rates.items():
            partner, _, good = key.partition(".")
            model.states[state_code].set_tariff(partner, good or "*", rate)
    model._rebuild_policy()
    model.prices = PriceBook(model)
    model.price_usd_per_kg = model.prices.spot
    export_prices(model)
    model.pairs.base_landed_usd_per_kg = adaptation.landed_price_usd_per_kg(model)
    model.buyer_base_price_usd_per_t = 1000.0 * np.bincount(
        model.pairs.buyer, weights=model.pairs.share * model.pairs.base_landed_usd_per_kg,
        minlength=model.buyers.good.size)


def build_exporters(model) -> None:
    cfg = model.config.exporters
    model.exporter_agents = [
        model.behaviours.get("exporter", e.behaviour)(model, i, e.name, e.country, e.good)
        for i, e in enumerate(cfg)
    ]
    model.exporter_index = {e.name: i for i, e in enumerate(cfg)}
    country = np.array([model.country_index[e.country] for e in cfg], dtype=np.int64)
    good = np.array([model.good_index[e.good] for e in cfg], dtype=np.int64)
    model._exporter_args = dict(
        good=good,
        country=country,
        region=model.country_region[country] if cfg else np.empty(0, dtype=np.int64),
        capacity_t=np.array([e.capacity_t_per_week for e in cfg], dtype=float),
        inventory_weeks=np.array([e.inventory_weeks for e in cfg], dtype=float),
        expansion_price_ratio=np.array([e.expansion_price_ratio for e in cfg], dtype=float),
        expansion_per_year=np.array([e.expansion_per_year for e in cfg], dtype=float),
        expansion_lead_weeks=np.array([e.expansion_lead_weeks for e in cfg], dtype=np.int64),
    )
    # Spot pools: all producers of one good in one origin country.
    pool_key = good * max(len(model.countries), 1) + country
    _, model.exporter_pool = np.unique(pool_key, return_inverse=True)
    model.exporter_pool = model.exporter_pool.astype(np.int64)
    model.n_pools = int(model.exporter_pool.max()) + 1 if cfg else 0
    classes: dict[type, list[int]] = {}
    for agent in model.exporter_agents:
        classes.setdefault(type(agent), []).append(agent.index)
    model.exporter_classes = [(c, np.array(i, dtype=np.int64)) for c, i in classes.items()]
    model.exporter_rules = rule_selections(model.exporter_classes, len(cfg))

def build_buyers(model) -> None:
    """Final buyers: `count` per group with lognormal sizes. Input buyers: one per
    producer of the good the group feeds, with that producer's input content."""
    cfg = model.config
    columns = {k: [] for k in ("good", "country", "sector", "group", "demand", "cover",
                               "feeds", "content")}
    model.buyer_agents: list[Buyer] = []
    model.buyer_groups = []
    for gi, group in enumerate(cfg.buyers):
        if group.feeds:
            makers = [i for i, e in enumerate(cfg.exporters)
                      if e.good == group.feeds and e.country == group.country]
            count = len(makers)
            demand = np.zeros(count)
            content = [cfg.exporters[i].inputs.get(group.good, 0.0) for i in makers]
        else:
            count = group.count
            sizes = model.rng.lognormal(0.0, group.size_sigma, count)
            demand = group.demand_t_per_year / 52.0 * sizes / sizes.sum()
            makers, content = [-1] * count, [0.0] * count
        columns["demand"].append(demand)
        columns["cover"].append(model.rng.uniform(*group.cover_weeks, size=count))
        columns["feeds"] += makers
        columns["content"] += content
        columns["good"] += [model.good_index[group.good]] * count
        columns["country"] += [model.country_index[group.country]] * count
        columns["sector"] += [model.sector_index[group.sector]] * count
        columns["group"] += [gi] * count
        model.buyer_groups.append((group.good, group.country, group.sector))
        behaviour = model.behaviours.get("buyer", group.behaviour)
        for _ in range(count):
            index = len(model.buyer_agents)
            model.buyer_agents.append(
                behaviour(model, index, group.country, group.sector, group.good)
            )
    country = np.array(columns["country"], dtype=np.int64)
    sector = np.array(columns["sector"], dtype=np.int64)
    demand_t = np.concatenate(columns["demand"]) if columns["demand"] else np.empty(0)
    cover_weeks = np.concatenate(columns["cover"]) if columns["cover"] else np.empty(0)
    model.max_lag = max(
        [cfg.market.domestic_transit_weeks, *cfg.market.transit_weeks.values()]
    )
    model._arrival_slot_steps = -1
    sectors = [cfg.sector(name) for name in model.sectors]

    def by_sector(field: str) -> np.ndarray:
        return np.array([getattr(s, field) for s in sectors], dtype=float)[sector] \
            if sector.size else np.empty(0)

    model.buyers = BuyerBook(
        good=np.array(columns["good"], dtype=np.int64),
        country=country,
        sector=sector,
        region=model.country_region[country] if country.size else country,
        group=np.array(columns["group"], dtype=np.int64),
        mean_demand_t=demand_t,
        base_cover_weeks=cover_weeks,
        inventory_t=demand_t * cover_weeks,
        transit_t=np.zeros((model.max_lag + 1, demand_t.size)),
        feeds=np.array(columns["feeds"], dtype=np.int64),
        content_t_per_t=np.array(columns["content"], dtype=float),
        value_usd_per_t=by_sector("value_usd_per_t"),
        contract_share=by_sector("contract_share"),
        substitution_ceiling=by_sector("substitution_ceiling"),
        substitution_lead_weeks=by_sector("substitution_lead_weeks"),
        substitution_cost_usd_per_t=by_sector("substitution_cost_usd_per_t"),
        substitution_reversal_weeks=by_sector("substitution_reversal_weeks"),
        value_added_share=by_sector("value_added_share"),
        input_cost_share=by_sector("input_cost_share"),
        final_demand_elasticity=by_sector("final_demand_elasticity"),
    )
    model.input_buyers = np.flatnonzero(model.buyers.feeds >= 0)
    model.inputs_per_maker = np.bincount(model.buyers.feeds[model.input_buyers],
                                        minlength=len(cfg.exporters)).astype(float)
    model.final_buyers = np.flatnonzero(model.buyers.feeds < 0)
    # Fixed gathers the week reads (taken once here, not every week): each input stock's
    # producer, content, good and its producer's number of inputs; the final buyers'
    # goods (and, once the producers' book exists, the producers' price keys).
    b, inputs = model.buyers, model.input_buyers
    model.input_maker = b.feeds[inputs]
    model.input_content_t_per_t = b.content_t_per_t[inputs]
    model.input_good = b.good[inputs]
    model.input_maker_inputs = model.inputs_per_maker[model.input_maker]
    model.final_good = b.good[model.final_buyers]
    # The week reads and writes the final buyers' and the input stocks' entries through
    # these: a slice (a view, no copy) when they are stored in one run, as they are when
    # built here (final buyers first), else their indices.
    model.final_at = as_slice(model.final_buyers)
    model.inputs_at = as_slice(model.input_buyers)
    model.n_inputs = int(model.input_buyers.size)
    model.substitutes = bool(model.buyers.substitution_ceiling.any())
    # Final demand answers the product's price (the good's cost share times its landed
    # price's rise), at the speed of the good's demand response.
    model.any_demand_elasticity = bool((b.final_demand_elasticity * b.input_cost_share).any())
    model.buyer_demand_response_weeks = model.demand_response_weeks[b.good]
    # Buyers of each class get that class's rules (a subclass overrides a behaviour).
    classes: dict[type, list[int]] = {}
    for agent in model.buyer_agents:
        classes.setdefault(type(agent), []).append(agent.index)
    model.buyer_classes = [(cls, np.array(idx, dtype=np.int64)) for cls, idx in classes.items()]
    model.buyer_rules = rule_selections(model.buyer_classes, model.buyers.good.size)

def apply_growth_to_start(model) -> None:
    """Scale demands and capacities from their reference date back (or on) to the start."""
    market = model.config.market
    if not market.demand_growth_per_year or market.growth_reference is None:
        return
    years = (model.config.start - market.growth_reference).days / 365.25
    factor = (1.0 + market.demand_growth_per_year) ** years
    model.buyers.mean_demand_t *= factor
    model.buyers.inventory_t *= factor
    model._exporter_args["capacity_t"] = model._exporter_args["capacity_t"] * factor

def transit_weeks(model, origin: str, destination: str) -> int:
    market = model.config.market
    if origin == destination:
        return market.domestic_transit_weeks
    return market.transit_weeks.get(f"{origin}-{destination}", market.transit_weeks["default"])

def build_pairs(model) -> None:
    """Link each buyer to one exporter per origin, balancing load on capacity. Final
    buyers first; then, stage by stage up the chain, input buyers, whose demand is their
    producer's load times its input content.

    Within a stage the links are made largest flow first (ties by buyer, then origin), each
    to the producer of its good in its origin with the most room left. Producers of one
    (good, origin) compete only with each other, so a (good, origin) with one producer
    takes its links at once; the others are chosen one link at a time."""
    cfg = model.config
    b = model.buyers
    n_buyers = b.good.size
    exporters_of: dict[tuple[int, int], list[int]] = {}
    for i, e in enumerate(cfg.exporters):
        key = (model.good_index[e.good], model.country_index[e.country])
        exporters_of.setdefault(key, []).append(i)
    exporter_good = np.array([model.good_index[e.good] for e in cfg.exporters],
                             dtype=np.int64)
    load = np.zeros(len(cfg.exporters))
    capacity = model._exporter_args["capacity_t"]
    n_c = len(model.countries)
    lag_of = np.array([[transit_weeks(model, o, d) for d in model.countries]
                       for o in model.countries], dtype=np.int64).reshape(n_c, n_c)
    origin_rank = {c: r for r, c in enumerate(sorted(model.countries))}
    # Each group's sourcing entries (origin index, origin's rank by name, share), shares > 0.
    sourcing = []
    for group in cfg.buyers:
        entries = [(model.country_index[o], origin_rank[o], s)
                   for o, s in group.sourcing.items() if s > 0]
        sourcing.append(np.array(entries, dtype=float).reshape(-1, 3))
    stages = []
    pending = np.ones(n_buyers, dtype=bool)
    while pending.any():
        goods_pending = np.zeros(len(model.goods), dtype=bool)
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
            raise KeyError((model.goods[row_good[i]], model.countries[row_origin[i]]))
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
    model.pairs = PairBook(
        buyer=buyer.astype(np.int64),
        origin=origin.astype(np.int64),
        exporter=exporter.astype(np.int64),
        lag_weeks=lag.astype(np.int64),
        foreign=foreign.astype(bool),
        base_share=share.astype(float),
    )
    model.pairs.index(b, model.country_region, len(model.countries))
    listed = np.array([cfg.sector(name).listed_grade_share for name in model.sectors])
    model.pair_sector_listed_share = listed[model.pairs.sector] if listed.size else \
        np.ones(model.pairs.buyer.size)
    model.exporters = ExporterBook(expected_orders_t=load, **model._exporter_args)
    model.input_maker_price_key = model.exporters.price_key[model.input_maker]
    del model._exporter_args

def initial_fill(model) -> None:
    """Start in the steady state: stocks at target, transit pipelines full."""
    p = model.pairs
    flow = model.buyers.mean_demand_t[p.buyer] * p.share
    p.ordered_t = flow.copy()
    p.shipped_t = flow.copy()
    slots = model.max_lag + 1
    for k in range(1, model.max_lag + 1):
        arriving = p.lag_weeks >= k
        np.add.at(model.buyers.transit_t[k % slots], p.buyer[arriving], flow[arriving])
    model.initial_stock_t = accounting.stock_by_good(model)
