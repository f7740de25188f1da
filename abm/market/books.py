"""The state of buyers, producers and buyer-origin links, held as arrays.

Each stage of the week (`abm.market.production`, `.trade`, `.use`, `.clearing`,
`.accounting`) reads and writes these books; the agents (`abm.agents`) are handles whose rules
act on slices of them. Quantities in tonnes a week, covers in weeks, values in USD.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

N_REGIONS = 2  # price regions: inside China, the rest of the world


@dataclass
class BuyerBook:
    """Per-buyer state (arrays of length n_buyers).

    A buyer whose `feeds` is >= 0 holds the input stock of that producer (index into the
    `ProducerBook`): its demand is the producer's planned output times `content_t_per_t`, and
    it uses its stock when the producer produces, not in the buyers' use stage.
    """

    good: np.ndarray
    country: np.ndarray
    sector: np.ndarray
    region: np.ndarray
    group: np.ndarray
    mean_demand_t: np.ndarray
    base_cover_weeks: np.ndarray
    inventory_t: np.ndarray
    transit_t: np.ndarray  # ring buffer [slots, n_buyers] of arrivals by week
    feeds: np.ndarray
    content_t_per_t: np.ndarray
    value_usd_per_t: np.ndarray
    contract_share: np.ndarray
    substitution_ceiling: np.ndarray
    substitution_lead_weeks: np.ndarray
    substitution_cost_usd_per_t: np.ndarray
    substitution_reversal_weeks: np.ndarray
    value_added_share: np.ndarray
    input_cost_share: np.ndarray
    final_demand_elasticity: np.ndarray
    demand_factor: np.ndarray = field(init=False)
    alert: np.ndarray = field(init=False)
    cover_weeks: np.ndarray = field(init=False)
    queued_t: np.ndarray = field(init=False)  # of its orders, tonnes waiting for a licence
    demand_t: np.ndarray = field(init=False)
    need_t: np.ndarray = field(init=False)
    used_t: np.ndarray = field(init=False)
    arrived_t: np.ndarray = field(init=False)
    halted: np.ndarray = field(init=False)
    halted_weeks: np.ndarray = field(init=False)
    substituted: np.ndarray = field(init=False)
    pressure: np.ndarray = field(init=False)
    output_lost_usd: np.ndarray = field(init=False)  # gross output lost this week
    value_added_lost_usd: np.ndarray = field(init=False)
    substitution_cost_usd: np.ndarray = field(init=False)
    price_key: np.ndarray = field(init=False)  # good * N_REGIONS + region, fixed

    def __post_init__(self):
        n = self.good.size
        self.price_key = self.good * N_REGIONS + self.region
        self.demand_factor = np.ones(n)
        self.alert = np.zeros(n)
        self.cover_weeks = self.base_cover_weeks.copy()
        self.queued_t = np.zeros(n)
        self.demand_t = self.mean_demand_t.copy()
        self.need_t = self.mean_demand_t.copy()
        self.used_t = self.mean_demand_t.copy()
        self.arrived_t = self.mean_demand_t.copy()
        self.halted = np.zeros(n, dtype=bool)
        self.halted_weeks = np.zeros(n, dtype=np.int64)
        self.substituted = np.zeros(n)
        self.pressure = np.zeros(n)
        self.output_lost_usd = np.zeros(n)
        self.value_added_lost_usd = np.zeros(n)
        self.substitution_cost_usd = np.zeros(n)

    @property
    def is_input(self) -> np.ndarray:
        return self.feeds >= 0


@dataclass
class ExporterBook:
    """Per-producer state (arrays of length n_exporters)."""

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
    planned_t: np.ndarray = field(init=False)
    capacity_pipeline: dict[int, np.ndarray] = field(default_factory=dict)
    price_key: np.ndarray = field(init=False)  # good * N_REGIONS + region, fixed

    def __post_init__(self):
        self.price_key = self.good * N_REGIONS + self.region
        self.inventory_t = self.inventory_weeks * self.expected_orders_t
        self.produced_t = self.expected_orders_t.copy()
        self.planned_t = self.expected_orders_t.copy()


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
    backlog_t: np.ndarray = field(init=False)  # orders not yet shipped
    permitted_t: np.ndarray = field(init=False)  # of which licensed (or free) to ship
    pending_t: np.ndarray = field(init=False)  # of which waiting for a licence decision
    ordered_t: np.ndarray = field(init=False)  # smoothed weekly orders
    shipped_t: np.ndarray = field(init=False)  # smoothed weekly shipments
    base_landed_usd_per_kg: np.ndarray = field(init=False)
    # Fixed once the links are made (`index`): what the weekly stages would otherwise gather
    # from the buyers' arrays every week.
    good: np.ndarray = field(init=False)  # the buyer's good
    destination: np.ndarray = field(init=False)  # the buyer's country
    sector: np.ndarray = field(init=False)  # the buyer's sector
    contract_share: np.ndarray = field(init=False)  # the buyer's sector's contract share
    price_key: np.ndarray = field(init=False)  # good * N_REGIONS + the buyer's region
    origin_price_key: np.ndarray = field(init=False)  # good * N_REGIONS + the origin's region
    route_key: np.ndarray = field(init=False)  # origin_price_key * N_REGIONS + buyer's region
    foreign_origin: np.ndarray = field(init=False)  # origin, or n_countries if domestic

    def __post_init__(self):
        self.share = self.base_share.copy()
        self.backlog_t = np.zeros(self.buyer.size)
        self.permitted_t = np.zeros(self.buyer.size)
        self.pending_t = np.zeros(self.buyer.size)

    def index(self, buyers: BuyerBook, country_region: np.ndarray, n_countries: int) -> None:
        """Fix each link's good, destination, sector and price keys from its buyer."""
        self.good = buyers.good[self.buyer]
        self.destination = buyers.country[self.buyer]
        self.sector = buyers.sector[self.buyer]
        self.contract_share = buyers.contract_share[self.buyer]
        self.price_key = buyers.price_key[self.buyer]
        self.origin_price_key = self.good * N_REGIONS + country_region[self.origin]
        self.route_key = self.origin_price_key * N_REGIONS + buyers.region[self.buyer]
        self.foreign_origin = np.where(self.foreign, self.origin, n_countries)
