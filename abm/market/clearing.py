"""Regional prices anchored by cost, arbitrage and a demand schedule.

Each good has a spot price inside China (`CHN`) and one outside (`ROW`), and a contract price
in each that follows spot with a lag. Every week, for each good and region r:

1. **Supply (cost).** The region's producers' marginal cost rises with their capacity use u
   (output over capacity) with constant supply elasticity eta; the long-run price is marginal
   cost plus the margin, which at the start's capacity use u0 is the reference price:

       cost_anchor_r = reference_r * (u_r / u0_r) ** (1 / eta)

2. **Arbitrage.** Goods flow from the cheaper region until the gap is the usual trade margin
   (the ratio of reference prices) plus the wedge a licence creates: the expected wait for a
   licence (review and refiling after refusals, weeks) times the carrying cost of the goods:

       parity_r = spot_other * (reference_r / reference_other) * (1 + carrying_cost * wait_r / 52)

   The anchor is the lower of the two (a region with no producers takes parity; one that
   imports nothing takes its cost).

3. **Scarcity.** The region's buyers' stocks and goods in transit to them, with what its
   producers hold above their target stock, against the buyers' targets (target cover and
   usual transit) give a shortage s (negative for an overhang). Goods waiting for an export
   licence are sold goods awaiting a permit: counted once, as queued (`queued_t`), and in
   neither region's free stocks. A shortage is rationed along the buyers' demand schedule of
   short-run elasticity epsilon; an overhang is cleared along the producers' supply schedule
   (they cut output rather than give goods away):

       target_r = anchor_r * (1 - s_r) ** (-1 / epsilon)   (s > 0), capped at the value added a
                                                            buyer loses per kg when it halts
       target_r = anchor_r * (1 - s_r) ** (-1 / eta)       (s < 0)

   While a licence limits quantity, the gap between the regions' prices is this rationing
   rent, not a carrying cost; it is bounded by what buyers lose by halting, and, as buyers
   adapt away from the good (`Sector.substitution_*`), the shortage itself shrinks.

The spot price moves a 1/`price_adjust_weeks` share of the way (in logs) toward the target
each week, and the contract price a 1/`contract_lag_weeks` share toward spot. Nothing pulls a
price toward an old level: under constant policy the stocks, capacity use and waits settle, and
so do prices; when a control is lifted the wait and the shortage vanish and the gap closes.
"""

from __future__ import annotations

import numpy as np

from abm.market.books import N_REGIONS

TINY_T = 1e-9  # tonnes: capacities below it are none
MAX_SHORTAGE = 0.95
MIN_USE_RATIO = 0.5  # a region short of 95% of its target stock: the schedule's far end
CHN, ROW = 0, 1


class PriceBook:
    """Prices and the fixed quantities the price rule reads (built once per model)."""

    def __init__(self, model):
        goods = model.config.goods
        n = len(goods)
        self.reference = model.reference_price
        self.spot = self.reference.copy()
        self.contract = self.reference.copy()
        self.supply_elasticity = np.array([g.supply_elasticity for g in goods])[:, None]
        self.demand_elasticity = np.array([g.price_elasticity_of_demand for g in goods])[:, None]
        self.adjust = 1.0 / np.array([g.price_adjust_weeks for g in goods])[:, None]
        self.contract_adjust = 1.0 / np.array([g.contract_lag_weeks for g in goods])[:, None]
        self.carrying_per_week = np.array([g.carrying_cost_per_year for g in goods])[:, None] / 52.0
        self.margin = np.array([g.margin for g in goods])
        e, b, p = model.exporters, model.buyers, model.pairs
        size = n * N_REGIONS
        capacity = np.bincount(e.price_key, weights=e.capacity_t, minlength=size)
        use = np.bincount(e.price_key, weights=e.expected_orders_t, minlength=size)
        self.base_use = np.divide(use, capacity, out=np.zeros(size),
                                  where=capacity > TINY_T).reshape(n, N_REGIONS)
        self.has_producers = self.base_use > 1e-6
        # Which regions import each good from the other (arbitrage applies only there).
        imports = np.zeros(size, dtype=bool)
        cross = p.origin_price_key != p.price_key
        imports[p.price_key[cross]] = True
        self.imports = imports.reshape(n, N_REGIONS)
        # The demand side's cap: value added lost per kg a buyer lacks (final buyers), or the
        # value of the output an input buyer's producer loses per kg of the input, weighted by
        # usual demand.
        value = b.value_usd_per_t * b.value_added_share / 1000.0
        if model.n_inputs:
            maker_price = np.take(self.reference.reshape(-1), model.input_maker_price_key)
            value[model.inputs_at] = np.divide(
                maker_price, model.input_content_t_per_t,
                out=np.full(model.n_inputs, np.inf), where=model.input_content_t_per_t > 0)
        weight = b.mean_demand_t
        total = np.bincount(b.price_key, weights=weight, minlength=size)
        capped = np.bincount(b.price_key, weights=weight * np.minimum(value, 1e12), minlength=size)
        cap = np.divide(capped, total, out=np.full(size, np.inf), where=total > 0)
        cap = np.where(cap > 0, cap, np.inf)
        self.cap = np.maximum(cap.reshape(n, N_REGIONS), self.reference)
        self.shortage = np.zeros((n, N_REGIONS))
        self.target_price = self.reference.copy()

    def transaction(self, contract_share: np.ndarray, price_key: np.ndarray) -> np.ndarray:
        """Price paid on each entry (USD/kg): `contract_share` at the contract price of the
        region `price_key` names, the rest at spot."""
        spot = np.take(self.spot.reshape(-1), price_key)
        contract = np.take(self.contract.reshape(-1), price_key)
        return contract_share * contract + (1.0 - contract_share) * spot


def shortage(model) -> np.ndarray:
    """Shortage of each (good, region)'s buyers' stocks (and goods in transit to them) against
    their targets, less what producers there hold above their own target stock (share;
    negative: an overhang), as an array [n_goods, 2]. A producer short of its own target stock
    runs harder instead: that shows in its cost, not here."""
    b, p, e = model.buyers, model.pairs, model.exporters
    n = len(model.goods)
    size = n * N_REGIONS
    usual = model.usual_demand_t
    lead = np.bincount(p.buyer, weights=p.share * p.lag_weeks, minlength=b.good.size)
    # (bincount of empty weights is integer: made float)
    target = np.bincount(b.price_key, weights=usual * (b.cover_weeks + lead),
                         minlength=size).astype(float, copy=False)
    held = np.bincount(b.price_key, weights=b.inventory_t + b.transit_t.sum(axis=0),
                       minlength=size).astype(float, copy=False)
    surplus = np.maximum(e.inventory_t - e.inventory_weeks * e.expected_orders_t, 0.0)
    held += np.bincount(e.price_key, weights=surplus, minlength=size)
    s = np.divide(target - held, target, out=np.zeros(size), where=target > 1e-9)
    return np.minimum(s, MAX_SHORTAGE).reshape(n, N_REGIONS)


def licence_wait_weeks(model) -> np.ndarray:
    """Expected licence wait on the goods each (good, region) imports (weeks), weighted by the
    links' usual flows; 0 where nothing is licensed."""
    p, b = model.pairs, model.buyers
    n = len(model.goods)
    size = n * N_REGIONS
    if not model.any_licensed:
        return np.zeros((n, N_REGIONS))
    flow = b.mean_demand_t[p.buyer] * p.share * (p.origin_price_key != p.price_key)
    total = np.bincount(p.price_key, weights=flow, minlength=size)
    waited = np.bincount(p.price_key, weights=flow * model.pair_wait_weeks, minlength=size)
    return np.divide(waited, total, out=np.zeros(size), where=total > 1e-12).reshape(n, N_REGIONS)


def update_prices(model) -> None:
    book: PriceBook = model.prices
    e = model.exporters
    n = len(model.goods)
    size = n * N_REGIONS
    capacity = np.bincount(e.price_key, weights=e.capacity_t, minlength=size)
    produced = np.bincount(e.price_key, weights=e.produced_t, minlength=size)
    use = np.divide(produced, capacity, out=np.zeros(size), where=capacity > TINY_T).reshape(n, -1)
    ratio = np.divide(use, book.base_use, out=np.ones_like(use), where=book.has_producers)
    # Below MIN_USE_RATIO of its usual capacity use, a producer's marginal cost stops falling:
    # it is then its variable cost, not a falling price that clears the market.
    cost_anchor = np.where(book.has_producers,
                           book.reference * np.maximum(ratio, MIN_USE_RATIO)
                           ** (1.0 / book.supply_elasticity), np.inf)
    other = book.spot[:, ::-1] * book.reference / book.reference[:, ::-1]
    parity = other * (1.0 + book.carrying_per_week * licence_wait_weeks(model))
    parity = np.where(book.imports, parity, np.inf)
    anchor = np.minimum(cost_anchor, parity)
    anchor = np.where(np.isfinite(anchor), anchor, book.spot)
    s = shortage(model)
    book.shortage = s
    # A shortage is rationed along the buyers' demand schedule; an overhang is cleared along
    # the producers' supply schedule (they cut output rather than give goods away).
    elasticity = np.where(s > 0, book.demand_elasticity, book.supply_elasticity)
    target = np.minimum(anchor * (1.0 - s) ** (-1.0 / elasticity), book.cap)
    book.target_price = target
    log_spot = np.log(book.spot)
    book.spot = np.exp(log_spot + book.adjust * (np.log(target) - log_spot))
    book.contract = book.contract + book.contract_adjust * (book.spot - book.contract)
    model.price_usd_per_kg = book.spot
    export_prices(model)


def export_prices(model) -> None:
    """Each link's prices this week (USD/kg), net of the usual margin between the origin's
    region and the buyer's (the ratio of reference prices): the exporter's price on tonnes sold
    under contract (the buyer's region's contract price) and on tonnes sold spot (its spot
    price), and what the buyer pays on average (its sector's contract share at the contract
    price, the rest at spot). And the origin's home price (its spot price)."""
    p, book = model.pairs, model.prices
    reference = book.reference.reshape(-1)
    margin = np.take(reference, p.origin_price_key) / np.take(reference, p.price_key)
    model.pair_contract_price = np.take(book.contract.reshape(-1), p.price_key) * margin
    model.pair_spot_price = np.take(book.spot.reshape(-1), p.price_key) * margin
    model.pair_export_price = (p.contract_share * model.pair_contract_price
                               + (1.0 - p.contract_share) * model.pair_spot_price)
    model.pair_home_price = np.take(book.spot.reshape(-1), p.origin_price_key)
