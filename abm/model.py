"""The Mesa model: a weekly supply chain of export-controlled goods.

`ExportControlModel(config, rng=seed)` compiles a scenario into States, producers (`Exporter`),
buyers and their arrays (`abm.build`, the one module of construction) and schedules its dated
policy events; each `step()` is one calendar week, in the
order written in `step()`, each line a stage module of `abm.market` that owns its part of the
work. The state of buyers, producers and their links lives in arrays (`abm.market.books`), so a
week costs a handful of NumPy operations whatever the number of agents; the agents are handles
with the decision rules (`abm.agents`), applied per agent class. Which class (behaviour) each
scenario entry gets is looked up in the run's registry (`abm.agents.behaviours.Behaviours`).

Goods form a chain: a producer may use inputs (`Exporter.inputs`), held by a buyer group that
`feeds` it, so a control on an input (Dy/Tb oxide) cuts the output of its users (magnet makers
outside China) once their input stocks run down.

Model time is in weeks since the start date: step k (k = 1, 2, ...) runs at time k and covers
the seven days from `start + 7 (k - 1)`. A policy event takes effect before the week whose
first day is nearest its date (`Scenario.effect_time`): Monday to Thursday, its own week;
Friday to Sunday, the next.
"""

from __future__ import annotations

import datetime as dt

import mesa
import numpy as np
from mesa.time import Priority

from abm import reporters
from abm.agents.behaviours import Behaviours
from abm.agents.state import State
from abm.build import build
from abm.market import accounting, adaptation, production, trade, use
from abm.market.clearing import update_prices
from abm.market.trade import BAN, LICENCE, QUOTA, REGIME_CODE
from abm.policy import deals
from abm.policy.events import EVENT_KINDS
from abm.scenario.config import Event, Scenario

# Buyers plan for at most this many review rounds of a licence application (a probability of
# approval near 0 would otherwise make the expected wait, and their orders, unbounded).
MAX_EXPECTED_ROUNDS = 4.0
# Buyers learn how long licences take over about a quarter (weeks).
WAIT_LEARNING_WEEKS = 13.0


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
        build(self)
        # Mesa's own tools (mesa.batch_run) read these (abm.reporters).
        self.datacollector = reporters.collector(self)
        self.running = True

        self.announced: list[tuple[int, int, float, float]] = []  # good, origin, when, weeks
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

    # --- dated events --------------------------------------------------------------------------

    def _schedule(self, event: Event) -> None:
        kind = EVENT_KINDS[event.kind]

        def apply_event(event=event, kind=kind):
            kind.apply(self, event)
            self.events_applied.append(event)

        # The model keeps the callable alive: Mesa holds events by weak reference.
        self._event_handles.append(apply_event)
        self.schedule_event(
            apply_event, at=self.config.effect_time(event.date), priority=Priority.LOW
        )

    def announce_control(self, event: Event) -> None:
        """A control announced now takes effect at `event.effective`: buyers abroad of the
        good from that State plan to bridge the disruption (`trade.front_run_cover_weeks`),
        and the control is scheduled for its date."""
        effective = self.config.effect_time(event.effective)
        control = event.control
        if control.regime == "licence":
            rounds = 1.0 / max(control.approval, 1.0 / MAX_EXPECTED_ROUNDS)
            disruption = control.review_weeks + (rounds - 1.0) * (control.refile_weeks
                                                                 + control.review_weeks)
        else:
            disruption = np.inf
        self.announced.append((self.good_index[event.good], self.country_index[event.state],
                               effective, disruption))

        def take_effect(event=event):
            self.announced = [a for a in self.announced if a[2] != effective
                              or a[0] != self.good_index[event.good]]
            self.states[event.state].set_control(event.good, event.control)

        self._event_handles.append(take_effect)
        self.schedule_event(take_effect, at=effective, priority=Priority.LOW)

    def strike_deal(self, name: str, duration_weeks: float | None = None) -> None:
        """A `deal` event: the deal template `name` is struck as scripted (`abm.policy.deals`)."""
        deals.strike(self, name, origin="scripted", duration_weeks=duration_weeks)

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
        self.pair_unlisted_approval = np.ones(n)
        self.pair_listed_share = np.ones(n)
        self.pair_files_unlisted = np.zeros(n, dtype=bool)
        self.pair_general = np.zeros(n, dtype=bool)
        self.pair_tariff = np.zeros(n)
        pair_good, pair_dest, pair_sector = p.good, p.destination, p.sector
        self._office_links = []  # (licence office, its links)
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
                    self._licence_arrays(control, mask)
                    self._office_links.append((state.offices[good], mask))
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
        # Licences in hand are only read on licensed links. A link that comes under a general
        # licence ships its new orders freely; orders already filed wait for their decision.
        self.pairs.permitted_t[~self.pair_licensed] = 0.0
        self.any_ban = bool(self.pair_banned.any())
        self.any_quota = bool(self.pair_quota.any())
        self.any_licensed = bool(self.pair_licensed.any())
        self.pair_filed_share = np.where(self.pair_files_unlisted, 1.0, self.pair_listed_share)
        self.pair_expected_lead = self.pairs.lag_weeks + self.pair_wait_weeks
        self.pair_tariff_factor = 1.0 + self.pair_tariff
        self._policy_dirty = False

    def _licence_arrays(self, control, mask: np.ndarray) -> None:
        """Per link under `control` (a licence regime): the probability that an application of
        a listed grade is approved (destination, then sector, then exporter), that of another
        grade, the share of the link's tonnes in listed grades, whether the other grades are
        filed too, and the expected wait until approval (review, and refiling after each
        refusal: a geometric number of rounds)."""
        p = self.pairs
        table = np.full((len(self.countries), len(self.sectors)), control.approval)
        for dest, prob in control.approval_by_destination.items():
            table[self.country_index[dest], :] = prob
        for sector, prob in control.approval_by_sector.items():
            if sector in self.sector_index:
                column = self.sector_index[sector]
                table[:, column] = np.minimum(table[:, column], prob)
        approval = table[p.destination[mask], p.sector[mask]]
        if control.approval_by_exporter:
            factor = np.ones(len(self.exporter_index))
            for name, f in control.approval_by_exporter.items():
                factor[self.exporter_index[name]] = f
            approval = np.minimum(approval * factor[p.exporter[mask]], 1.0)
        self.pair_approval[mask] = approval
        self.pair_unlisted_approval[mask] = control.unlisted_approval
        listed = (self.pair_sector_listed_share[mask] if control.scope == "listed_grades"
                  else np.ones(int(mask.sum())))
        self.pair_listed_share[mask] = listed
        self.pair_files_unlisted[mask] = not control.grades_told_apart

        def wait(prob):
            rounds = np.divide(1.0, prob, out=np.full(prob.shape, MAX_EXPECTED_ROUNDS),
                               where=prob > 1.0 / MAX_EXPECTED_ROUNDS)
            return control.review_weeks + (rounds - 1.0) * (control.refile_weeks
                                                             + control.review_weeks)

        unlisted_wait = wait(np.full(listed.shape, control.unlisted_approval)) \
            if not control.grades_told_apart else 0.0
        self.pair_wait_weeks[mask] = listed * wait(approval) + (1.0 - listed) * unlisted_wait

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
        self._learn_licence_waits()
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

    def _learn_licence_waits(self) -> None:
        """Buyers plan at first with the review time the regime announces, and learn, over
        `WAIT_LEARNING_WEEKS`, the wait it really implies: the review, refiling after each
        refusal (`_licence_arrays`) and the office's congestion (tonnes due but undecided, in
        weeks of its capacity). The wait they learn depends on the regime, not on how much
        they order, so ordering more does not make them expect to wait longer (which would
        feed on itself)."""
        for office, mask in self._office_links:
            links = mask & self.pair_licensed
            if not links.any():
                continue
            if office.planned_wait is None:
                office.planned_wait = np.full(links.size, np.nan)
            new = links & np.isnan(office.planned_wait)
            office.planned_wait[new] = office.control.review_weeks
            implied = self.pair_wait_weeks + office.congestion_weeks
            office.planned_wait[links] += (implied[links] - office.planned_wait[links]) / WAIT_LEARNING_WEEKS
            self.pair_expected_lead[links] = (self.pairs.lag_weeks[links]
                                              + self.pair_filed_share[links]
                                              * office.planned_wait[links])

    def _new_week_buffers(self) -> None:
        """Zero this week's flows in the arrays sized at construction (allocating them anew
        every week costs more than the work on them at large populations)."""
        for array in (self.shipped_this_week, self.value_this_week, self.rent_this_week):
            array.fill(0.0)

    def arrival_slot_by_lag(self) -> np.ndarray:
        """Goods shipped now with a lag of k weeks land in slot (steps + k) mod slots of the
        buyers' transit ring (`BuyerBook.transit_t`): the table by k (made once a week)."""
        if self._arrival_slot_steps != self.steps:
            slots = self.max_lag + 1
            self._arrival_slot = (self.steps + np.arange(slots)) % slots
            self._arrival_slot_steps = self.steps
        return self._arrival_slot

    def release_applications(self, pair: np.ndarray, quantity_t: np.ndarray) -> None:
        """Applications no longer controlled leave the queue: their orders may ship."""
        trade.release(self, pair, quantity_t)

    def return_applications(self, pair: np.ndarray, quantity_t: np.ndarray) -> None:
        """Applications withdrawn under a ban or quota: their orders lapse."""
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
