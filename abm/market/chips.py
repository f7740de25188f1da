"""The AI-chip market: regional demand, chipmakers under export controls, substitution.

One week, after the magnet market's prices have moved (step 9 of the week):

1. Demand in each price region (units/week) grows from its start level.
2. Each seller's usual share of a region's demand is cut by its home State's controls on
   sales into the other region (a licence covers `approval` of it, a ban none) and by the
   buyers' State steering them away from imports (`discourage_imports`). What is cut is
   displaced toward the region's domestic (`integrated`) makers, up to their capacity.
3. Sellers forecast orders and plan production to restore stock; designers' plans are made by
   their foundry, which, like integrated makers, is limited by capacity and by its stock of the
   controlled input (a State's licence on `input_good` delivers only the approved share of the
   usual flow, after the review time, so stocks run down; they refill once deliveries are
   unrestricted).
4. Sales come out of stock; revenue is recorded at the seller's price, and under a licence
   with a revenue share that share of the value is paid to the home State.
5. Capacity grows; domestic makers grow faster while imports are displaced, slower under
   foreign technology controls.

Units are conserved by construction: for each maker, produced = sold + change in stock.
Tables: `sales_table()` (maker x region), `maker_table()` (capacity, input stock, foundry
output) and `access_table()` (share of each region's demand served).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from abm.scenario.config import CHINA_REGION, REST_OF_WORLD_REGION

REGIONS = (CHINA_REGION, REST_OF_WORLD_REGION)
SALES_FIELDS = (
    "want_units", "orders_units", "produced_units", "sold_units", "inventory_units",
    "revenue_usd", "revenue_share_paid_usd", "blocked_usd", "discouraged_usd",
)
MAKER_FIELDS = ("capacity_units", "input_stock_weeks", "input_supply_share", "made_units",
                "fee_revenue_usd")


class ChipMarket:
    """Arrays of every chipmaker by region of sale, and the weekly step above."""

    def __init__(self, model):
        self.model = model
        cfg = model.config
        chips = cfg.chips
        self.good = chips.good
        makers = cfg.chipmakers if self.good else ()
        self.enabled = bool(makers)
        self.agents = [model.behaviours.get("chipmaker", m.behaviour)(model, i, m.name, m.country,
                                                                       m.kind)
                       for i, m in enumerate(makers)]
        n, r = len(makers), len(REGIONS)
        region_of = {c.code: REGIONS.index(c.price_region) for c in cfg.countries}
        self.names = [m.name for m in makers]
        self.country = [m.country for m in makers]
        self.country_index = np.array([model.country_index[c] for c in self.country],
                                      dtype=np.int64)
        self.kind = np.array([m.kind for m in makers], dtype=object)
        self.home_region = np.array([region_of[m.country] for m in makers], dtype=np.int64)
        self.share = np.array([[m.market_share.get(x, 0.0) for x in REGIONS] for m in makers])
        self.price_usd = np.array([[m.price_usd_per_unit.get(x, 0.0) for x in REGIONS]
                                   for m in makers])
        self.share = self.share.reshape(n, r)
        self.price_usd = self.price_usd.reshape(n, r)
        self.fee_usd = np.array([m.fee_usd_per_unit for m in makers])
        self.capacity_units = np.array([m.capacity_units_per_week for m in makers])
        index = {m.name: i for i, m in enumerate(makers)}
        self.foundry = np.array([index.get(m.foundry, -1) for m in makers], dtype=np.int64)
        self.growth = np.array([m.capacity_growth_per_year for m in makers])
        self.substitution = np.array([m.substitution_growth_per_year for m in makers])
        self.drag = np.array([m.technology_drag for m in makers])
        self.dependence = np.array([m.input_dependence for m in makers])
        self.input_target_weeks = np.array([m.input_stock_weeks for m in makers])
        self.input_stock_weeks = self.input_target_weeks.copy()
        self.demand0 = np.array([chips.demand_units_per_week.get(x, 0.0) for x in REGIONS])
        self.demand_growth = np.array([chips.demand_growth_per_year.get(x, 0.0) for x in REGIONS])
        self.domestic = (self.kind == "integrated")[:, None] & (
            self.home_region[:, None] == np.arange(r)[None, :]
        )
        self.expected_units = self.demand0[None, :] * self.share
        self.inventory_units = chips.inventory_weeks * self.expected_units
        self.initial_inventory_units = self.inventory_units.copy()
        self._licence_since = np.full(n, np.nan)
        self._policy_seen = -1
        self._abroad = np.arange(len(REGIONS))[None, :] != self.home_region[:, None]
        self._china = next((c.code for c in cfg.countries if c.price_region == CHINA_REGION), "")
        classes: dict[type, list[int]] = {}
        for agent in self.agents:
            classes.setdefault(type(agent), []).append(agent.index)
        self.classes = [(cls, np.array(idx)) for cls, idx in classes.items()]
        # Fixed masks the week reads: integrated makers, designers, sales abroad not domestic.
        self._own = self.kind == "integrated"
        self._designer = self.foundry >= 0
        self._foreign = ~self.domestic & (self.home_region[:, None] != np.arange(r))
        # Fixed for the run, so computed once: the growth factor of demand, each domestic
        # maker's weight in taking up displaced demand, the foreign mask as floats
        # (multiplying by it is cheaper than by booleans), the designers and their foundries.
        self._demand_base = 1.0 + self.demand_growth
        weight = self.share * self.domestic
        total_weight = weight.sum(axis=0)
        self._weight = np.divide(weight, total_weight, out=np.zeros_like(weight),
                                 where=total_weight > 0)
        self._foreign_float = self._foreign.astype(float)
        self._designers = np.flatnonzero(self._designer)
        self._foundry_of_designers = self.foundry[self._designers]
        # Capacity pools: each integrated maker's own capacity serves its plan, each foundry's
        # the plans of its designers (in the order of the makers); other makers are in none.
        own_pools = [m for m in range(n) if self._own[m] and not self._designer[m]]
        foundries = sorted(set(self._foundry_of_designers.tolist()))
        pool_of_maker = np.full(n, len(own_pools) + len(foundries), dtype=np.int64)
        for m in range(n):
            if self._designer[m]:
                pool_of_maker[m] = len(own_pools) + foundries.index(self.foundry[m])
            elif self._own[m]:
                pool_of_maker[m] = own_pools.index(m)
        self._pool_of_maker = pool_of_maker[:, None]  # a column, to scale each maker's row
        self._members = np.flatnonzero(pool_of_maker < len(own_pools) + len(foundries))
        self._member_pool = pool_of_maker[self._members]
        # The maker whose capacity each pool uses, then a last, empty pool (scale 1) for the rest
        self._pool_capacity = np.array(own_pools + foundries + [0], dtype=np.int64)
        self._ones_pools = np.ones(len(own_pools) + len(foundries) + 1)
        self._zeros_n, self._zeros_r, self._zeros_nr = np.zeros(n), np.zeros(r), np.zeros((n, r))
        # Demand (over the run), shares and prices are finite and >= +0, as a validated
        # scenario's are. Then, where nothing is refused, orders are exactly the usual demand,
        # and where nothing is blocked or discouraged, the sales lost to it are exactly +0.
        self._plain = all(np.isfinite(a).all() and not np.signbit(a).any()
                          for a in (self.share, self.demand0, self.price_usd)) and bool(
            (self._demand_base > 0).all()
            and np.isfinite(self.demand0 * self._demand_base ** (cfg.weeks / 52.0)).all())
        # The usual case, one behaviour class for every maker: its rules take whole arrays.
        self._one_class = self.classes[0][0] if len(self.classes) == 1 else None
        self._plan, self._factor, self._growth_week = np.zeros((n, r)), np.zeros(n), np.zeros(n)

        weeks = cfg.weeks
        # Each table's fields side by side in one array, so that a week is written with one
        # copy; `sales` and `maker` hold a view of each field.
        sales = np.zeros((weeks, len(SALES_FIELDS), n, r))
        maker = np.zeros((weeks, len(MAKER_FIELDS), n))
        self.sales = {name: sales[:, i] for i, name in enumerate(SALES_FIELDS)}
        self.maker = {name: maker[:, i] for i, name in enumerate(MAKER_FIELDS)}
        self._sales_rows = sales.reshape(weeks, len(SALES_FIELDS) * n, r)
        self._maker_rows = maker.reshape(weeks, len(MAKER_FIELDS) * n)
        self.demand_units = np.zeros((weeks, r))
        self.produced_total_units = np.zeros(n)
        self.sold_total_units = np.zeros(n)

    # --- policy read from the States ----------------------------------------------------------

    def _licences(self) -> tuple[np.ndarray, np.ndarray]:
        """Share of each maker's usual demand in each region its home State licenses, and the
        revenue share it pays on those sales. Controls bind on sales into the other region."""
        n, r = self.share.shape
        permitted = np.ones((n, r))
        revenue_share = np.zeros((n, r))
        for m in range(n):
            state = self.model.states[self.country[m]]
            control = state.controls.get(self.good)
            if control is None:
                continue
            for region in range(r):
                if region == self.home_region[m]:
                    continue
                destination = self._china if REGIONS[region] == CHINA_REGION else "*"
                permitted[m, region] = state.approval_for(self.good, destination)
                if control.regime == "licence":
                    revenue_share[m, region] = control.revenue_share
        return permitted, revenue_share

    def _discouraged(self) -> np.ndarray:
        """Share of each maker's demand in China that China's State steers away (imports)."""
        out = np.zeros(self.share.shape)
        if self._china:
            level = self.model.states[self._china].import_discouragement.get(self.good, 0.0)
            out[:, REGIONS.index(CHINA_REGION)] = np.where(
                self.home_region != REGIONS.index(CHINA_REGION), level, 0.0
            )
        return out

    def _input_policy(self) -> tuple[np.ndarray, np.ndarray]:
        """Share of each maker's usual input deliveries that foreign States let through (the
        lowest approval among those controlling the input), and the longest licence review
        time it waits for (0 without a licence). Changes only with policy."""
        n = len(self.names)
        shares, waits = np.ones(n), np.zeros(n)
        good = self.model.config.chips.input_good
        if not good:
            return shares, waits
        controlling = [s for s in self.model.states.values() if good in s.controls]
        for m, country in enumerate(self.country):
            share, wait = 1.0, 0.0
            for state in controlling:
                control = state.controls[good]
                if state.code == country:
                    continue
                share = min(share, state.approval_for(good, country))
                if control.regime == "licence":
                    wait = max(wait, control.review_weeks)
            shares[m], waits[m] = share, wait
        return shares, waits

    def _input_supply(self, shares: np.ndarray, waits: np.ndarray) -> np.ndarray:
        """Share of each maker's usual input deliveries that arrive this week, given
        `_input_policy`: nothing until a licence's review time has passed since the control
        began."""
        supply = shares.copy()
        now = self.model.time
        for m in np.flatnonzero(waits > 0):
            if np.isnan(self._licence_since[m]):
                self._licence_since[m] = now
            if now - self._licence_since[m] < waits[m]:
                supply[m] = 0.0
        return supply

    def _technology_level(self) -> np.ndarray:
        """Level of foreign technology controls on each maker's country (0 to 1)."""
        level = np.zeros(len(self.country))
        for state in self.model.states.values():
            for destination, value in state.technology_controls.items():
                targets = [c == destination and c != state.code for c in self.country]
                level = np.where(targets, np.maximum(level, value), level)
        return level

    # --- the week ----------------------------------------------------------------------------

    def _refresh_policy(self) -> None:
        """Everything the week reads that changes only when a State's instruments change."""
        self._policy_seen = self.model.policy_version
        permitted, revenue_share = self._licences()
        discouraged = self._discouraged()
        self._policy = (permitted, revenue_share, discouraged, self._technology_level())
        accepted = np.ones_like(permitted)
        for cls, idx in self.classes:
            accepted[idx] = cls.accepted_share(permitted[idx], discouraged[idx])
        self._accepted = accepted
        self._not_permitted = 1.0 - permitted
        # Nothing refused: orders are the usual demand and no imports are displaced, so
        # capacity grows at a rate fixed until policy changes (computed in `step`).
        self._open = self._plain and bool((accepted == 1.0).all())
        self._growth_factor = None
        self._no_losses = self._plain and bool((permitted == 1.0).all() and
                                               (discouraged == 0.0).all())
        shares, waits = self._input_policy()
        self._licence_since[waits <= 0] = np.nan
        self._input = (shares, waits)
        # Without a licence to wait on, this week's input supply is the policy's shares.
        self._supply = None if (waits > 0).any() else shares
        self._full_supply = self._supply if (shares >= 1.0).all() else None

    def step(self) -> None:
        if not self.enabled:
            return
        model = self.model
        chips = model.config.chips
        week = model.steps - 1
        demand = self.demand0 * self._demand_base ** (week / 52.0)
        if self._policy_seen != model.policy_version:  # instruments changed since last week
            self._refresh_policy()
        permitted, revenue_share, discouraged, technology = self._policy
        want = self.share * demand
        if self._open:  # allowed = want, and nothing is displaced to domestic makers
            orders = want
        else:
            allowed = want * self._accepted
            lost = want - allowed
            displaced = lost.sum(axis=0)
            orders = allowed + displaced * self._weight

        expected = self.expected_units
        expected += (orders - expected) / chips.order_memory_weeks
        supply = self._supply
        if supply is None:
            supply = self._input_supply(*self._input)
        plan, factor = self._plan, self._factor  # every maker's entry is written below
        one = self._one_class
        if one is not None:  # rules read the market's arrays; they must not change them
            plan[...] = one.planned_units(expected, self.inventory_units, chips.inventory_weeks,
                                          chips.production_adjust_weeks)
            factor[...] = one.input_factor(self.input_stock_weeks, supply, self.dependence)
        else:
            for cls, idx in self.classes:
                plan[idx] = cls.planned_units(expected[idx], self.inventory_units[idx],
                                              chips.inventory_weeks,
                                              chips.production_adjust_weeks)
                factor[idx] = cls.input_factor(self.input_stock_weeks[idx], supply[idx],
                                               self.dependence[idx])
        # Integrated makers are limited by their own usable capacity, designers by their
        # foundry's, shared in proportion to what they order; foundries' plans are not cut.
        # One division serves every capacity pool (see __init__).
        usable = self.capacity_units * factor
        by_maker = np.add.reduce(plan, 1)  # plan.sum(axis=1) without the Python wrapper
        pool_plan = np.bincount(self._member_pool, weights=by_maker[self._members],
                                minlength=len(self._ones_pools))
        pool_scale = np.minimum(1.0, np.divide(usable[self._pool_capacity], pool_plan,
                                               out=self._ones_pools.copy(),
                                               where=pool_plan > 0.0))
        produced = plan * pool_scale[self._pool_of_maker]
        designers, foundry = self._designers, self._foundry_of_designers
        produced_by_maker = np.add.reduce(produced, 1)
        made = np.bincount(foundry, weights=produced_by_maker[designers],
                           minlength=len(self._zeros_n))

        inventory = self.inventory_units
        inventory += produced
        sold = np.minimum(orders, inventory)
        inventory -= sold
        self.produced_total_units += produced_by_maker
        self.sold_total_units += np.add.reduce(sold, 1)
        revenue = sold * self.price_usd

        produced_by_maker[designers] = 0.0  # their output is counted at their foundry
        used = np.divide(produced_by_maker + made,
                         self.capacity_units, out=self._zeros_n.copy(),
                         where=self.capacity_units > 0.0)
        refill = np.maximum(0.0, self.input_target_weeks - self.input_stock_weeks)
        # Stocks are rebuilt only while deliveries are unrestricted: under a licence the
        # approved share of the usual flow is all that arrives.
        if supply is self._full_supply:  # every share is 1: the line below without its no-ops
            delivered = used + refill / chips.input_refill_weeks
        else:
            delivered = supply * used + np.where(supply >= 1.0,
                                                 refill / chips.input_refill_weeks, 0.0)
        self.input_stock_weeks = np.maximum(0.0, self.input_stock_weeks + delivered - used)

        growth_factor = self._growth_factor
        if growth_factor is None:
            if self._open:  # no displaced imports: the same rate every week until policy moves
                displaced_share = self._zeros_r
            else:
                import_want = (want * self._foreign_float).sum(axis=0)
                displaced_share = np.divide((lost * self._foreign_float).sum(axis=0),
                                            import_want, out=self._zeros_r.copy(),
                                            where=import_want > 0)
            growth = self._growth_week
            if one is not None:
                growth[...] = one.capacity_growth_per_week(
                    self.growth, self.substitution, displaced_share[self.home_region],
                    self.drag, technology,
                )
            else:
                for cls, idx in self.classes:
                    growth[idx] = cls.capacity_growth_per_week(
                        self.growth[idx], self.substitution[idx],
                        displaced_share[self.home_region[idx]], self.drag[idx],
                        technology[idx],
                    )
            growth_factor = 1.0 + growth
            if self._open:
                self._growth_factor = growth_factor
        self.capacity_units *= growth_factor

        if week < self.demand_units.shape[0]:
            if self._no_losses:  # nothing blocked or discouraged: both are exactly +0
                blocked = discouraged_usd = self._zeros_nr
            else:
                blocked = want * self._not_permitted * self.price_usd
                discouraged_usd = want * permitted * discouraged * self.price_usd
            # in the order of SALES_FIELDS and MAKER_FIELDS
            np.concatenate((want, orders, produced, sold, inventory, revenue,
                            revenue * revenue_share, blocked, discouraged_usd),
                           out=self._sales_rows[week])
            np.concatenate((self.capacity_units, self.input_stock_weeks, supply, made,
                            made * self.fee_usd), out=self._maker_rows[week])
            self.demand_units[week] = demand

    # --- measures read by States and tables ---------------------------------------------------

    def _last(self) -> int:
        return min(self.model.steps, self.demand_units.shape[0]) - 1

    def shortfall_shares(self) -> np.ndarray:
        """Share of each region's chip demand (in the order of `REGIONS`) not served in the
        last week."""
        week = self._last()
        if not self.enabled or week < 0:
            return np.zeros(len(REGIONS))
        demand = self.demand_units[week]
        sold = self.sales["sold_units"][week].sum(axis=0)
        return np.maximum(0.0, 1.0 - np.divide(sold, demand, out=np.ones(len(REGIONS)),
                                               where=demand > 0))

    def export_loss_usd(self) -> tuple[np.ndarray, np.ndarray]:
        """Last week's chip sales lost to controls and discouragement (USD), and the value of
        the usual demand (USD), by the makers' country (arrays over `model.countries`)."""
        n = len(self.model.countries)
        week = self._last()
        if not self.enabled or week < 0:
            return np.zeros(n), np.zeros(n)
        lost = (self.sales["blocked_usd"][week] + self.sales["discouraged_usd"][week]).sum(axis=1)
        usual = (self.sales["want_units"][week] * self.price_usd).sum(axis=1)
        return (np.bincount(self.country_index, weights=lost, minlength=n),
                np.bincount(self.country_index, weights=usual, minlength=n))

    def revenue_abroad_usd(self) -> np.ndarray:
        """Last week's chip revenue earned outside the makers' home regions, by the makers'
        country (array over `model.countries`)."""
        n = len(self.model.countries)
        week = self._last()
        if not self.enabled or week < 0:
            return np.zeros(n)
        revenue = (self.sales["revenue_usd"][week] * self._abroad).sum(axis=1)
        return np.bincount(self.country_index, weights=revenue, minlength=n)

    def usual_revenue_abroad_usd(self) -> np.ndarray:
        """Last week's chip revenue abroad had every maker sold its usual share of demand, by
        the makers' country (array over `model.countries`)."""
        n = len(self.model.countries)
        week = self._last()
        if not self.enabled or week < 0:
            return np.zeros(n)
        usual = (self.sales["want_units"][week] * self.price_usd * self._abroad).sum(axis=1)
        return np.bincount(self.country_index, weights=usual, minlength=n)

    def demand_of_regions_units(self) -> np.ndarray:
        """Last week's AI-chip demand of each region (in the order of `REGIONS`)."""
        week = self._last()
        if not self.enabled or week < 0:
            return np.zeros(len(REGIONS))
        return self.demand_units[week].copy()

    def served_units(self) -> np.ndarray:
        """Last week's AI chips sold into each region (in the order of `REGIONS`)."""
        week = self._last()
        if not self.enabled or week < 0:
            return np.zeros(len(REGIONS))
        return self.sales["sold_units"][week].sum(axis=0)

    def _dates(self) -> tuple[int, np.ndarray]:
        weeks = min(self.model.steps, self.demand_units.shape[0])
        return weeks, (np.datetime64(self.model.config.start) + np.arange(weeks) * 7).astype(str)

    def sales_table(self) -> pd.DataFrame:
        """One row per (week, chipmaker, region): units wanted (usual demand), ordered,
        produced, sold and in stock; revenue, revenue share paid to the home State, and sales
        lost to the home State's controls (`blocked_usd`) or the buyers' State (`discouraged_usd`)."""
        weeks, dates = self._dates()
        n, r = self.share.shape
        frame = pd.DataFrame({
            "week": np.repeat(np.arange(1, weeks + 1), n * r),
            "date": np.repeat(dates, n * r),
            "chipmaker": np.tile(np.repeat(np.array(self.names, dtype=object), r), weeks),
            "country": np.tile(np.repeat(np.array(self.country, dtype=object), r), weeks),
            "region": np.tile(np.array(REGIONS, dtype=object), n * weeks),
        })
        for name in SALES_FIELDS:
            frame[name] = self.sales[name][:weeks].reshape(-1)
        return frame

    def maker_table(self) -> pd.DataFrame:
        """One row per (week, chipmaker): capacity (units/week), input stock (weeks of use),
        share of usual input deliveries arriving, units made for designers, foundry fees."""
        weeks, dates = self._dates()
        n = len(self.names)
        frame = pd.DataFrame({
            "week": np.repeat(np.arange(1, weeks + 1), n),
            "date": np.repeat(dates, n),
            "chipmaker": np.tile(np.array(self.names, dtype=object), weeks),
            "country": np.tile(np.array(self.country, dtype=object), weeks),
            "kind": np.tile(self.kind, weeks),
        })
        for name in MAKER_FIELDS:
            frame[name] = self.maker[name][:weeks].reshape(-1)
        return frame

    def access_table(self) -> pd.DataFrame:
        """One row per (week, region): chip demand and sales (units/week), the share served
        (`access`) and the share bought from domestic makers (`self_sufficiency`)."""
        weeks, dates = self._dates()
        rows = []
        for r, region in enumerate(REGIONS):
            demand = self.demand_units[:weeks, r]
            sold = self.sales["sold_units"][:weeks, :, r]
            domestic = (sold * self.domestic[:, r][None, :]).sum(axis=1)
            total = sold.sum(axis=1)
            rows.append(pd.DataFrame({
                "week": np.arange(1, weeks + 1), "date": dates, "region": region,
                "demand_units": demand, "sold_units": total,
                "access": np.divide(total, demand, out=np.ones(weeks), where=demand > 0),
                "self_sufficiency": np.divide(domestic, total, out=np.zeros(weeks),
                                              where=total > 0),
            }))
        return pd.concat(rows, ignore_index=True)
