"""States: the holders of policy instruments (export controls, tariffs, general licences) and
of a strategy that decides how to change them."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import mesa

from abm.market.licensing import LicenceOffice
from abm.scenario.config import Country, ExportControl


@dataclass(frozen=True)
class GeneralLicence:
    """Shipments of `good` matching destination/sector/exporter ("*" for any) pass without
    per-shipment applications until model time `until_week`."""

    good: str
    destination: str
    sector: str
    exporter: str
    until_week: float


class State(mesa.Agent):
    """A country's government: tariffs by (partner, good), export controls by good with a
    licence office each, general licences, and a strategy (`abm.policy.strategies`)."""

    def __init__(self, model, country: Country, strategy):
        super().__init__(model)
        self.code = country.code
        self.price_region = country.price_region
        self.strategy = strategy
        self.controls: dict[str, ExportControl] = {}
        self.offices: dict[str, LicenceOffice] = {}
        self.customs_holds: dict[str, LicenceOffice] = {}
        self.tariffs: dict[tuple[str, str], float] = {}
        self.general_licences: list[GeneralLicence] = []

    def step(self) -> None:
        """Let the strategy decide this week's changes to the instruments."""
        self.strategy.decide(self, self.model)

    def tariff_on(self, partner: str, good: str) -> float:
        """Ad-valorem tariff on imports of `good` from `partner` (most specific rule wins)."""
        for key in ((partner, good), (partner, "*"), ("*", good), ("*", "*")):
            if key in self.tariffs:
                return self.tariffs[key]
        return 0.0

    def set_tariff(self, partner: str, good: str, rate: float) -> None:
        if partner == "*" and good == "*":
            self.tariffs.clear()
        self.tariffs[(partner, good)] = rate
        self.model.policy_changed()

    def set_control(self, good: str, control: ExportControl) -> None:
        """Put `good` under `control` (or lift it with regime `none`). Applications pending
        under a licence regime keep waiting under a new licence regime, ship at once when the
        control is lifted, and go back to the exporters under a ban or quota."""
        office = self.offices.get(good)
        if control.regime == "licence":
            if office is None:
                self.offices[good] = LicenceOffice(control)
            else:
                office.control = control
        elif office is not None:
            pair, quantity_t = office.withdraw_all()
            del self.offices[good]
            if control.regime == "none":
                self.model.release_applications(pair, quantity_t)
            else:
                self.model.return_applications(pair, quantity_t)
        self._set_customs_hold(good, control)
        if control.regime == "none":
            self.controls.pop(good, None)
        else:
            self.controls[good] = control
        self.model.policy_changed()

    def _set_customs_hold(self, good: str, control: ExportControl) -> None:
        """Customs holds the uncontrolled part of a licensed good while the regime says so;
        when the hold ends, held goods clear (or go back to the exporters under a ban)."""
        hold = self.customs_holds.get(good)
        holding = control.regime == "licence" and control.customs_hold_weeks > 0
        if holding:
            rules = ExportControl(review_weeks=control.customs_hold_weeks,
                                  review_cv=control.review_cv)
            if hold is None:
                self.customs_holds[good] = LicenceOffice(rules)
            else:
                hold.control = rules
        elif hold is not None:
            pair, quantity_t = hold.withdraw_all()
            del self.customs_holds[good]
            if control.regime == "ban":
                self.model.return_applications(pair, quantity_t)
            else:
                self.model.release_applications(pair, quantity_t)

    def change_control(self, good: str, changes: dict[str, float]) -> None:
        """Change some fields of the regime on `good` (e.g. `approval_by_destination.USA`)."""
        control = self.controls.get(good)
        if control is None:
            return
        updates: dict = {}
        for key, value in changes.items():
            head, _, sub = key.partition(".")
            if sub:
                table = dict(updates.get(head, getattr(control, head)))
                table[sub] = value
                updates[head] = table
            else:
                updates[head] = value
        self.set_control(good, dataclasses.replace(control, **updates))

    def grant_general_licence(self, event, now: float) -> None:
        self.general_licences.append(
            GeneralLicence(
                good=event.good,
                destination=event.destination,
                sector=event.sector,
                exporter=event.exporter,
                until_week=now + event.duration_weeks,
            )
        )
        self.model.policy_changed()
