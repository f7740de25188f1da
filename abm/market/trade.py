"""Trade: buyers' orders, producers' allocation of scarce stock, licence queues and shipments.

Allocation (`allocate`) is by a rule the good declares (`Good.allocation`):

- `priority` (default): each producer first serves the contract volumes of its own customers
  (a sector's `contract_share` of the buyer's usual flow on that link), pro rata if even those
  exceed its stock; what is left of all producers of one origin is a spot pool, sold to the
  remaining orders in the order of the buyers' bids (the value of the output a tonne short
  costs them, `Sector.value_usd_per_t`, raised by how far below target cover the buyer is).
- `pro_rata`: every order gets the same share of the producer's stock.

Prices: a shipment sells at the price its buyer pays in its region (contract and spot,
`abm.market.clearing`) net of the usual margin between the regions; the gap between that and
the home price on licensed tonnes is the licence rent (`abm.market.accounting`).
"""

from __future__ import annotations

import datetime as dt

import numpy as np

TINY_T = 1e-9  # tonnes (a milligram): treated as nothing when dividing by it
MAX_APPLICATIONS_PER_FILING = 1000
NONE, LICENCE, QUOTA, BAN = 0, 1, 2, 3
REGIME_CODE = {"none": NONE, "licence": LICENCE, "quota": QUOTA, "ban": BAN}


# --- orders -------------------------------------------------------------------------------------

def inventory_position_t(model) -> np.ndarray:
    b, p = model.buyers, model.pairs
    on_order = np.bincount(p.buyer, weights=p.backlog_t, minlength=b.good.size)
    return b.inventory_t + b.transit_t.sum(axis=0) + on_order


def place_orders(model) -> None:
    """Each buyer class's order rule, then orders split across origins by sourcing shares."""
    b, p = model.buyers, model.pairs
    market = model.config.market
    lead = np.bincount(p.buyer, weights=p.share * model.pair_expected_lead, minlength=b.good.size)
    position = inventory_position_t(model)
    orders = np.zeros(b.good.size)
    cancel = np.zeros(b.good.size) if model.any_licensed else None
    usual = b.mean_demand_t * b.demand_factor * (1.0 - b.substituted)
    model.usual_demand_t = usual  # unchanged until the week's adjustments (read by prices)
    front_run = front_run_cover_weeks(model) if model.announced else 0.0
    for cls, idx in model.buyer_rules:
        b.cover_weeks[idx] = cls.target_cover_weeks(
            b.base_cover_weeks[idx], b.alert[idx], market.stockpile_cover_gain
        )
        if model.announced:
            b.cover_weeks[idx] += front_run[idx]
        orders[idx] = cls.order_t(
            usual[idx], b.cover_weeks[idx], lead[idx], position[idx], market.order_adjust_weeks
        )
        if cancel is not None:
            cancel[idx] = cls.cancel_t(usual[idx], b.cover_weeks[idx], lead[idx], position[idx],
                                       market.order_adjust_weeks)
    if cancel is not None and cancel.any():
        cancel_pending(model, cancel)
    model.orders_t = orders
    new = orders[p.buyer] * p.share
    p.backlog_t += new
    model.new_orders_t = new
    if model.any_licensed:
        file_orders(model)


def cancel_pending(model, cancel_t: np.ndarray) -> None:
    """Buyers cancel `cancel_t` (t, by buyer) of their orders waiting for a licence, spread
    over their links in proportion to what waits on each; the applications are withdrawn,
    newest first."""
    b, p = model.buyers, model.pairs
    waiting = np.bincount(p.buyer, weights=p.pending_t, minlength=b.good.size)
    share = np.divide(np.minimum(cancel_t, waiting), waiting, out=np.zeros(b.good.size),
                      where=waiting > TINY_T)
    by_pair = p.pending_t * share[p.buyer]
    if not (by_pair > TINY_T).any():
        return
    for office, _ in model._office_links:
        office.cancel(by_pair)
    p.pending_t -= by_pair
    p.backlog_t -= by_pair
    np.maximum(p.pending_t, 0.0, out=p.pending_t)
    np.maximum(p.backlog_t, 0.0, out=p.backlog_t)
    b.queued_t -= np.bincount(p.buyer, weights=by_pair, minlength=b.good.size)
    np.maximum(b.queued_t, 0.0, out=b.queued_t)


def front_run_cover_weeks(model) -> np.ndarray:
    """Extra cover (weeks) each buyer aims at ahead of a control announced for a later date
    (`ExportControlModel.announce_control`): the disruption it expects (the regime's expected
    wait for a licence; for a ban or quota, `market.front_run_max_weeks`), capped at that
    maximum, times its share of supply from the controlling State. Holding stock costs, so
    buyers time the extra orders to ship just before the date: the extra cover ramps up over
    the last `market.order_adjust_weeks` before it."""
    b, p = model.buyers, model.pairs
    market = model.config.market
    extra = np.zeros(b.good.size)
    for good, origin, effective, disruption in model.announced:
        weeks_left = effective - model.time
        ramp = min(max(1.0 - (weeks_left - 1.0) / market.order_adjust_weeks, 0.0), 1.0)
        if ramp == 0.0:
            continue
        weeks = min(disruption, market.front_run_max_weeks) * ramp
        exposed = (p.good == good) & (p.origin == origin) & p.foreign
        extra += np.bincount(p.buyer, weights=np.where(exposed, p.share, 0.0) * weeks,
                             minlength=b.good.size)
    return extra


def file_orders(model) -> None:
    """Orders on links under a licence regime that are neither licensed nor waiting for a
    licence are filed: the listed grades' part as one application, the rest as another while
    customs cannot tell the grades apart (else it may ship at once). Exporters apply before
    they make and ship the goods, so an application holds an order, not goods."""
    p = model.pairs
    licensed = model.pair_licensed
    unfiled = np.where(licensed, p.backlog_t - p.permitted_t - p.pending_t, 0.0)
    np.maximum(unfiled, 0.0, out=unfiled)
    listed = unfiled * model.pair_listed_share
    unlisted = unfiled - listed
    files_unlisted = model.pair_files_unlisted
    p.permitted_t += np.where(files_unlisted, 0.0, unlisted)
    to_office = (listed > TINY_T).nonzero()[0]
    file(model, to_office, listed[to_office], listed=True)
    unlisted_filed = (files_unlisted & (unlisted > TINY_T)).nonzero()[0]
    file(model, unlisted_filed, unlisted[unlisted_filed], listed=False)


# --- allocation ---------------------------------------------------------------------------------

def shippable_t(model) -> np.ndarray:
    """Backlog that may leave this week: all of it, except orders waiting for a licence
    decision, on links under a licence regime all but what is licensed, to foreign buyers
    under a ban nothing, and under a quota no more than is left of it."""
    p = model.pairs
    shippable = p.backlog_t - p.pending_t
    np.maximum(shippable, 0.0, out=shippable)
    if model.any_licensed:
        licensed = model.pair_licensed
        shippable[licensed] = np.minimum(shippable[licensed], p.permitted_t[licensed])
    if model.any_ban:
        shippable[model.pair_banned] = 0.0
    if model.any_quota:
        quota_pairs = model.pair_quota
        first = model.date_of_week(model.steps)
        weeks_left = max(1, (dt.date(first.year, 12, 31) - first).days // 7 + 1)
        for key, control, mask in quotas(model, quota_pairs):
            used = model.quota_used_t.get(key, 0.0)
            allowance = max(0.0, control.quota_t_per_year - used) / weeks_left
            wanted = shippable[mask].sum()
            if wanted > allowance:
                shippable[mask] *= allowance / wanted
    return shippable


def allocate(model, shippable: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Share producers' stock among the shippable orders. Returns tonnes shipped per pair and
    the spot part of them; takes the tonnes out of the producers' stocks."""
    p, e, b = model.pairs, model.exporters, model.buyers
    n_e = e.good.size
    stock = e.inventory_t
    shipped = np.zeros(p.buyer.size)
    spot = np.zeros(p.buyer.size)
    priority = model.good_priority[p.good]

    # Pro rata goods (and contracts of priority goods): one fill rate per producer.
    usual_flow = b.mean_demand_t[p.buyer] * p.base_share
    first = np.where(priority, contract_claims_t(model, shippable, usual_flow), shippable)
    wanted = np.bincount(p.exporter, weights=first, minlength=n_e)
    fill = np.divide(stock, wanted, out=np.ones(n_e), where=wanted > TINY_T)
    shipped += first * np.minimum(fill, 1.0)[p.exporter]
    stock -= np.bincount(p.exporter, weights=shipped, minlength=n_e)
    np.maximum(stock, 0.0, out=stock)

    rest = np.where(priority, shippable - shipped, 0.0)
    if rest.any():
        pool = model.exporter_pool[p.exporter]
        n_pool = model.n_pools
        pool_stock = np.bincount(model.exporter_pool, weights=stock, minlength=n_pool)
        pool_wanted = np.bincount(pool, weights=rest, minlength=n_pool)
        got = rest.copy()
        scarce = pool_wanted > pool_stock + TINY_T
        if scarce.any():
            in_scarce = scarce[pool] & (rest > 0)
            idx = in_scarce.nonzero()[0]
            cover_gap = np.minimum(np.maximum(
                1.0 - b.inventory_t / np.maximum(b.cover_weeks * b.mean_demand_t, TINY_T), 0.0),
                1.0)
            bid = b.value_usd_per_t[p.buyer[idx]] * (1.0 + cover_gap[p.buyer[idx]])
            order = idx[np.lexsort((-bid, pool[idx]))]
            wanted_in_order = rest[order]
            cum = np.cumsum(wanted_in_order)
            group = pool[order]
            # (np.concatenate, not np.r_: the same arrays without np.r_'s Python overhead)
            starts = np.concatenate(([True], group[1:] != group[:-1])).nonzero()[0]
            before = np.repeat(cum[starts] - wanted_in_order[starts],
                               np.diff(np.concatenate((starts, [order.size]))))
            room = pool_stock[group] - (cum - before - wanted_in_order)
            got[order] = np.minimum(np.maximum(room, 0.0), wanted_in_order)
        taken = np.bincount(pool, weights=got, minlength=n_pool)
        share_of_pool = np.divide(stock, pool_stock[model.exporter_pool], out=np.zeros(n_e),
                                  where=pool_stock[model.exporter_pool] > TINY_T)
        stock -= np.minimum(taken[model.exporter_pool] * share_of_pool, stock)
        shipped += got
        spot = got
    e.inventory_t = stock
    p.backlog_t -= shipped
    np.maximum(p.backlog_t, 0.0, out=p.backlog_t)
    return shipped, spot


def contract_claims_t(model, shippable: np.ndarray, usual_flow: np.ndarray) -> np.ndarray:
    """Per pair, what its exporter serves first: each exporter class's `contract_claim_t`."""
    contract_share = model.buyers.contract_share[model.pairs.buyer]
    if len(model.exporter_classes) == 1:
        return model.exporter_classes[0][0].contract_claim_t(shippable, usual_flow,
                                                              contract_share)
    claims = np.zeros_like(shippable)
    for cls, idx in model.exporter_rules:
        mask = model.pairs_sold_by(cls, idx)
        claims[mask] = cls.contract_claim_t(shippable[mask], usual_flow[mask],
                                            contract_share[mask])
    return claims


def send(model, shipped: np.ndarray, spot: np.ndarray) -> None:
    """Shipments leave; on licensed links they use up the licences."""
    count_quota_use(model, shipped)
    spot_share = np.divide(spot, shipped, out=np.zeros(shipped.size), where=shipped > TINY_T)
    model.pair_spot_share = spot_share
    leaving = (shipped > 0).nonzero()[0]
    if not model.any_licensed:
        dispatch(model, leaving, shipped[leaving])
        return
    p = model.pairs
    p.permitted_t -= np.where(model.pair_licensed, shipped, 0.0)
    np.maximum(p.permitted_t, 0.0, out=p.permitted_t)
    licensed = model.pair_licensed[leaving]
    dispatch(model, leaving[~licensed], shipped[leaving[~licensed]])
    dispatch(model, leaving[licensed], shipped[leaving[licensed]], licensed=True)


# --- quotas -------------------------------------------------------------------------------------

def quotas(model, candidates: np.ndarray):
    """For each quota in force: its (State, good, year) key, its control, and the pairs among
    `candidates` that it covers."""
    p = model.pairs
    year = model.date_of_week(model.steps).year
    pair_good = p.good
    for state in model.states.values():
        for good, control in state.controls.items():
            if control.regime == "quota":
                mask = candidates & (p.origin == model.country_index[state.code]) & (
                    pair_good == model.good_index[good]
                )
                yield (state.code, good, year), control, mask


def count_quota_use(model, shipped: np.ndarray) -> None:
    """Add this week's shipments under a quota to the year's use of that quota."""
    if not model.any_quota:
        return
    quota_pairs = model.pair_quota & (shipped > 0)
    if quota_pairs.any():
        for key, _, mask in quotas(model, quota_pairs):
            model.quota_used_t[key] = model.quota_used_t.get(key, 0.0) + shipped[mask].sum()


# --- licences and shipments ---------------------------------------------------------------------

def file(model, pair: np.ndarray, quantity_t: np.ndarray, listed: bool) -> None:
    """Applications in the origin State's licence office for the good: each link's tonnes as
    batches of at most its good's `shipment_batch_t` (one application each), or one
    application per link where the good has no batch size."""
    if pair.size == 0:
        return
    p = model.pairs
    batch = model.shipment_batch_t[p.good[pair]]
    if batch.any():
        # (at most MAX_APPLICATIONS_PER_FILING a link and week: a larger order is filed in
        # larger batches)
        count = np.where(batch > 0, np.ceil(quantity_t / np.where(batch > 0, batch, 1.0) - 1e-9),
                         1.0)
        count = np.clip(count, 1, MAX_APPLICATIONS_PER_FILING).astype(np.int64)
        if (count > 1).any():
            quantity_t = np.repeat(quantity_t / count, count)
            pair = np.repeat(pair, count)
    np.add.at(p.pending_t, pair, quantity_t)
    np.add.at(model.buyers.queued_t, p.buyer[pair], quantity_t)
    pair_good, pair_origin = p.good[pair], p.origin[pair]
    for state in model.states.values():
        for good, office in state.offices.items():
            mask = (pair_origin == model.country_index[state.code]) & (
                pair_good == model.good_index[good]
            )
            if mask.any():
                office.file(model.time, pair[mask], quantity_t[mask], listed, model.rng)
                model.recorder.add_applications(state.code, good, "filed", p.destination[pair[mask]],
                                                quantity_t[mask], listed)


def review_licences(model) -> None:
    """Each office decides its due applications: approved orders may ship (their exporter makes
    and sends them), refused ones are filed again (the orders wait)."""
    record = model.recorder.add_applications
    destination = model.pairs.destination
    for state in model.states.values():
        for good, office in state.offices.items():
            decided = office.review(model.time, model.pair_approval,
                                    model.pair_unlisted_approval, model.rng)
            if decided.approved_pair.size:
                release(model, decided.approved_pair, decided.approved_t)
                record(state.code, good, "approved", destination[decided.approved_pair],
                       decided.approved_t, decided.approved_listed)
            if decided.refused_pair.size:
                record(state.code, good, "refused", destination[decided.refused_pair],
                       decided.refused_t, decided.refused_listed)


def release(model, pair: np.ndarray, quantity_t: np.ndarray) -> None:
    """Approved (or no longer controlled) applications: their orders may ship."""
    if pair.size == 0:
        return
    p = model.pairs
    np.subtract.at(p.pending_t, pair, quantity_t)
    np.maximum(p.pending_t, 0.0, out=p.pending_t)
    np.subtract.at(model.buyers.queued_t, p.buyer[pair], quantity_t)
    np.add.at(p.permitted_t, pair, quantity_t)


def give_back(model, pair: np.ndarray, quantity_t: np.ndarray) -> None:
    """Applications withdrawn under a ban or quota: their orders lapse (the buyer will order
    again)."""
    if pair.size == 0:
        return
    p = model.pairs
    np.subtract.at(p.pending_t, pair, quantity_t)
    np.maximum(p.pending_t, 0.0, out=p.pending_t)
    np.subtract.at(model.buyers.queued_t, p.buyer[pair], quantity_t)
    np.subtract.at(p.backlog_t, pair, quantity_t)
    np.maximum(p.backlog_t, 0.0, out=p.backlog_t)


def dispatch(model, pair: np.ndarray, quantity_t: np.ndarray, licensed: bool = False) -> None:
    """Shipments leave: recorded in the ledger at their export price (the spot share of the
    link's shipment this week at spot, the rest at the contract price), counted in this week's
    flows, and put in transit; `licensed` shipments earn the licence rent."""
    if pair.size == 0:
        return
    p, b = model.pairs, model.buyers
    # Arrival slot by lag: a small table, not a division per link.
    slot = model.arrival_slot_by_lag()[p.lag_weeks[pair]]
    if b.transit_t.flags.c_contiguous:  # one flat index: the same sums, in the same order
        np.add.at(b.transit_t.reshape(-1), slot * b.good.size + p.buyer[pair], quantity_t)
    else:
        np.add.at(b.transit_t, (slot, p.buyer[pair]), quantity_t)
    # Tonnes sold spot this week (beyond contract claims) at the spot price, the rest at the
    # contract price (a licensed shipment is a contract order that waited).
    spot = model.pair_spot_share[pair]
    price = (1.0 - spot) * model.pair_contract_price[pair] + spot * model.pair_spot_price[pair]
    value = quantity_t * price * 1000.0
    model.ledger.record(model.steps, pair, quantity_t, value)
    n = p.buyer.size
    if pair.size < 2 or (pair[1:] > pair[:-1]).all():
        # Each link once (shipments leaving at once): added in place, the same sums.
        model.shipped_this_week[pair] += quantity_t
        model.value_this_week[pair] += value
    else:  # a link may have several applications approved in one week
        model.shipped_this_week += np.bincount(pair, weights=quantity_t, minlength=n)
        model.value_this_week += np.bincount(pair, weights=value, minlength=n)
    if licensed:
        rent = quantity_t * np.maximum(0.0, price - model.pair_home_price[pair]) * 1000.0
        model.rent_this_week += np.bincount(pair, weights=rent, minlength=n)
