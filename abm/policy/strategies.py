"""State strategies: how a State changes its instruments from week to week.

A strategy is an object with `decide(state, model)`, called once a week for each State, after
the dated events of that week and before buyers order. Its parameters come from the scenario's
`[strategies.CODE]` table (`model.config.strategy_config(code)`). `STRATEGIES` holds the
built-in ones (read-only); a new one is added to a run's behaviour registry
(`abm.agents.behaviours.Behaviours.add("strategy", name, cls)`, or a `--plugin`), which makes it
available to that run's scenario files (`[[countries]] strategy = "name"`); see
`docs/extending.md` for a worked example.

- `scripted`: the dated events and nothing else.
- `tit_for_tat`: matches its partner's tariff on it and answers its partner's controls in kind
  at its next decision; when the partner eases, it eases too.
- `bargaining`: measures its pain (`abm.policy.pain`); when its own and its partner's pain pass
  their thresholds it strikes its deal template; while a deal is in force it may renege, and
  it notices the partner's reneging after a lag (`abm.policy.deals`).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from abm.policy import deals
from abm.scenario.config import ExportControl


class Scripted:
    """Follows the scenario's dated events and nothing else."""

    name = "scripted"

    def decide(self, state, model) -> None:
        return None


class TitForTat:
    """Answers the partner in kind at the next weekly decision, and reciprocates easing.

    Tariffs: its tariff on the partner (all goods) is the larger of its own tariff when the
    strategy began and the partner's current tariff on it. Controls: its approval rate for the
    partner on `retaliate_on` is the lower of its regime's usual rate and one minus the
    partner's pressure on it (`State.pressure_on`), so a partner that blocks half of what it
    sells it is answered by refusing half, and a partner that lifts its controls sees them
    lifted in turn."""

    name = "tit_for_tat"

    def __init__(self):
        self.own_tariff: float | None = None
        self.created_control = False

    def decide(self, state, model) -> None:
        params = model.config.strategy_config(state.code)
        partner = model.states[params.partner]
        if params.tit_for_tat.match_tariffs:
            self._match_tariff(state, partner)
        if params.tit_for_tat.retaliate_on:
            self._answer_controls(state, partner, params.tit_for_tat)

    def _match_tariff(self, state, partner) -> None:
        if self.own_tariff is None:
            self.own_tariff = state.tariff_on(partner.code, "*")
        target = max(self.own_tariff, partner.tariff_on(state.code, "*"))
        if abs(state.tariff_on(partner.code, "*") - target) > 1e-12:
            state.set_tariff(partner.code, "*", target)

    def _answer_controls(self, state, partner, params) -> None:
        good = params.retaliate_on
        control = state.controls.get(good)
        usual = 1.0 if control is None or control.regime != "licence" else control.approval
        target = min(usual, 1.0 - partner.pressure_on(state.code))
        current = state.approval_for(good, partner.code)
        if abs(current - target) < 1e-12:
            return
        if control is None:
            state.set_control(good, ExportControl(
                regime="licence", review_weeks=params.review_weeks, approval=1.0,
                approval_by_destination={partner.code: target},
            ))
            self.created_control = True
        elif self.created_control and target >= 1.0:
            state.set_control(good, ExportControl(regime="none"))
            self.created_control = False
        elif control.regime == "licence":
            state.change_control(good, {f"approval_by_destination.{partner.code}": target})


class Bargaining:
    """Strikes a deal when both sides hurt enough; may renege; notices reneging after a lag.

    Pain is the State's payoff lost (`abm.policy.pain`, valued by its `[payoffs.CODE]`
    weights) as a share of its stake. Each week the State smooths it (`pain_memory_weeks`).
    With no deal in force with its partner, past the cooldown of the last one, it strikes its
    `deal` template when its own
    smoothed pain and the partner's reach their thresholds (the partner's as last computed by
    the partner's strategy). With a deal in force it reneges with `renege_probability` (drawn
    from the model's generator), and if the partner has reneged it notices
    `notice_lag_weeks` later, undoes its own terms and the deal ends."""

    name = "bargaining"

    def __init__(self):
        self.pain = 0.0
        self.cooldown_until = -float("inf")

    def decide(self, state, model) -> None:
        params = model.config.strategy_config(state.code)
        rules = params.bargaining
        measured = model.pain.latest(state.code)
        self.pain += (measured - self.pain) / rules.pain_memory_weeks
        deal = deals.active_deal(model, state.code, params.partner)
        if deal is not None:
            self._keep_or_break(state, model, deal, rules)
            return
        self._after_last_deal(state, model, params.partner, rules)
        if model.time < self.cooldown_until:
            return
        partner = model.states[params.partner]
        partner_rules = model.config.strategy_config(partner.code).bargaining
        partner_pain = getattr(partner.strategy, "pain", 0.0)
        if self.pain >= rules.pain_threshold and partner_pain >= partner_rules.pain_threshold:
            deals.strike(model, rules.deal, origin="bargaining")

    def _keep_or_break(self, state, model, deal, rules) -> None:
        partner = deal.other(state.code)
        if not deal.complied(partner):
            if model.time >= deal.reneged_week[partner] + rules.notice_lag_weeks:
                deals.notice(model, deal, state.code)
                self.cooldown_until = model.time + rules.cooldown_weeks
            return
        if (deal.complied(state.code) and rules.renege_probability > 0
                and model.rng.random() < rules.renege_probability):
            deals.renege(model, deal, state.code)

    def _after_last_deal(self, state, model, partner, rules) -> None:
        """Start the cooldown when the last deal with the partner ended since last week."""
        past = [d for d in model.deals if set(d.parties) == {state.code, partner}]
        if past and past[-1].end_week is not None:
            self.cooldown_until = max(self.cooldown_until,
                                      past[-1].end_week + rules.cooldown_weeks)


STRATEGIES: Mapping[str, type] = MappingProxyType({
    strategy.name: strategy for strategy in (Scripted, TitForTat, Bargaining)
})
