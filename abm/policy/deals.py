"""Deals: bundles of terms two States carry out, with a start, a duration and a record of
compliance.

A deal is struck from a template (`[deals.NAME]` in the scenario), either by a dated `deal`
event (Geneva, London and Busan as they happened) or by two `bargaining` States whose pain has
passed their thresholds. Striking applies each party's terms (a term may wait `after_weeks`);
each applied term remembers how to undo itself. A party that reneges undoes its own terms; the
other notices later (its strategy decides when) and undoes its own; at the end of its duration
the deal lapses and every term still in force is undone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from abm.policy.events import EVENT_KINDS
from abm.scenario.config import DealTerm, ExportControl

LIFTED = ExportControl(regime="none")


@dataclass
class Compliance:
    """One entry of a deal's record: in `week`, `state` did `action` (`struck`, `reneged`,
    `noticed`, `expired`)."""

    week: int
    state: str
    action: str


@dataclass
class Deal:
    """A deal in force or past. Times are model weeks (`model.time`)."""

    name: str
    parties: tuple[str, str]
    terms: tuple[DealTerm, ...]
    start_week: float
    duration_weeks: float
    origin: str
    record: list[Compliance] = field(default_factory=list)
    reneged_week: dict[str, float] = field(default_factory=dict)
    end_week: float | None = None
    _undo: dict[int, Callable[[], None]] = field(default_factory=dict, repr=False)
    _handles: list = field(default_factory=list, repr=False)

    @property
    def active(self) -> bool:
        return self.end_week is None

    def complied(self, state: str) -> bool:
        return state not in self.reneged_week

    def other(self, state: str) -> str:
        return self.parties[1] if self.parties[0] == state else self.parties[0]


def active_deal(model, state: str, partner: str) -> Deal | None:
    """The deal in force between two States, if any."""
    for deal in model.deals:
        if deal.active and set(deal.parties) == {state, partner}:
            return deal
    return None


def strike(model, name: str, origin: str, duration_weeks: float | None = None) -> Deal:
    """Strike the template `name` now: record it in `model.deals` and apply its terms."""
    template = model.config.deals[name]
    deal = Deal(
        name=name,
        parties=tuple(template.parties),
        terms=template.terms,
        start_week=model.time,
        duration_weeks=duration_weeks or template.duration_weeks,
        origin=origin,
    )
    model.deals.append(deal)
    deal.record.append(Compliance(model.steps, "+".join(deal.parties), "struck"))
    for index, term in enumerate(deal.terms):
        if term.after_weeks <= 0:
            _apply_term(model, deal, index)
        else:
            _later(model, deal, model.time + term.after_weeks,
                   lambda index=index: _apply_term(model, deal, index))
    _later(model, deal, model.time + deal.duration_weeks, lambda: expire(model, deal))
    return deal


def renege(model, deal: Deal, state: str) -> None:
    """`state` stops carrying out its terms (the partner does not know yet)."""
    if not deal.active or not deal.complied(state):
        return
    deal.reneged_week[state] = model.time
    deal.record.append(Compliance(model.steps, state, "reneged"))
    _undo_terms(deal, state)


def notice(model, deal: Deal, state: str) -> None:
    """`state` has noticed its partner reneged: it undoes its own terms and the deal ends."""
    if not deal.active:
        return
    deal.record.append(Compliance(model.steps, state, "noticed"))
    _undo_terms(deal, state)
    deal.end_week = model.time


def expire(model, deal: Deal) -> None:
    """The deal's duration is over: every term still in force is undone."""
    if not deal.active:
        return
    deal.record.append(Compliance(model.steps, "+".join(deal.parties), "expired"))
    for state in deal.parties:
        _undo_terms(deal, state)
    deal.end_week = model.time


def _later(model, deal: Deal, at: float, action: Callable[[], None]) -> None:
    def run_later():
        action()

    # Mesa holds scheduled callables by weak reference: the deal keeps them alive.
    deal._handles.append(run_later)
    model.schedule_event(run_later, at=max(at, model.time))


def _undo_terms(deal: Deal, state: str) -> None:
    for index, term in enumerate(deal.terms):
        if term.state == state and index in deal._undo:
            deal._undo.pop(index)()


def _apply_term(model, deal: Deal, index: int) -> None:
    """Apply one term, remembering how to undo it. A term of a party that has reneged, or of
    a deal that has ended, is not applied."""
    term = deal.terms[index]
    if not deal.active or not deal.complied(term.state):
        return
    state = model.states[term.state]
    undo = _undo_for(model, state, term)
    EVENT_KINDS[term.kind].apply(model, term.as_event(model.date, label=deal.name))
    if term.kind == "general_licence":
        undo = _revoke(model, state, state.general_licences[-1])
    deal._undo[index] = undo


def _undo_for(model, state, term: DealTerm) -> Callable[[], None]:
    """A callable that restores what `term` is about to change."""
    if term.kind == "licence_policy":
        control = state.controls.get(term.good)
        if control is None:
            return lambda: None
        before = {}
        for key in term.changes:
            head, _, sub = key.partition(".")
            value = getattr(control, head)
            before[key] = value.get(sub, control.approval) if sub else value
        return lambda: state.change_control(term.good, before)
    if term.kind == "export_control":
        before = state.controls.get(term.good, LIFTED)
        return lambda: state.set_control(term.good, before)
    if term.kind == "tariff":
        key = (term.partner, term.good or "*")
        had, rate = key in state.tariffs, state.tariffs.get(key)

        def restore_tariff():
            if had:
                state.tariffs[key] = rate
            else:
                state.tariffs.pop(key, None)
            model.policy_changed()

        return restore_tariff
    if term.kind == "general_licence":
        return lambda: None  # replaced by `_revoke` once the licence exists
    if term.kind == "tech_control":
        level = state.technology_controls.get(term.destination, 0.0)
        return lambda: state.set_technology_control(term.destination, level)
    if term.kind == "discourage_imports":
        level = state.import_discouragement.get(term.good, 0.0)
        return lambda: state.discourage_imports(term.good, level)
    raise ValueError(f"deal term kind {term.kind!r} cannot be undone")


def _revoke(model, state, licence) -> Callable[[], None]:
    def revoke():
        if licence in state.general_licences:
            state.general_licences.remove(licence)
            model.policy_changed()

    return revoke
