"""States: the holders of policy instruments (export controls, tariffs, general licences) and
of a strategy that decides how to change them.

A State decides once a week, after that week's dated events and before buyers order: its
`step` asks its strategy (`abm.policy.strategies`, chosen by `[[countries]] strategy` in the
run's behaviour registry, `abm.agents.behaviours`) to change its instruments through the
methods below (`set_control`, `change_control`, `set_tariff`, ...)."""

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
    buyers: frozenset[int] | None = None


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
        under a licence regime keep waiting under a new licence regime, may ship at once when
        the control is lifted, and lapse under a ban or quota (the buyers order again)."""
        office = self.offices.get(good)
        if control.regime == "licence":
            if office is None:
                self.offices[good] = LicenceOffice(control, self.code, good)
            else:
                office.control = control
        elif office is not None:
            pair, quantity_t = office.withdraw_all()
            del self.offices[good]
            if control.regime == "none":
                self.model.release_applications(pair, quantity_t)
            else:
                self.model.return_applications(pair, quantity_t)
        if control.regime == "none":
            self.controls.pop(good, None)
        else:
            self.controls[good] = control
        self.model.policy_changed()

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
        buyers = None
        if event.share < 1.0:
            candidates = [
                a.index for a in self.model.buyer_agents
                if a.good == event.good
                and event.destination in ("*", a.country)
                and event.sector in ("*", a.sector)
            ]
            chosen = self.model.rng.choice(
                candidates, size=round(event.share * len(candidates)), replace=False
            )
            buyers = frozenset(int(i) for i in chosen)
        self.general_licences.append(
            GeneralLicence(
                good=event.good,
                destination=event.destination,
                sector=event.sector,
                exporter=event.exporter,
                until_week=now + event.duration_weeks,
                buyers=buyers,
            )
        )
        self.model.policy_changed()

    # --- chip-side instruments and pain (used by abm.market.chips and abm.policy) --------------

    @property
    def technology_controls(self) -> dict[str, float]:
        """Level (0 to 1) of technology controls this State puts on each destination."""
        return self.__dict__.setdefault("_technology_controls", {})

    @property
    def import_discouragement(self) -> dict[str, float]:
        """Share (0 to 1) of domestic demand for each imported good steered to domestic
        suppliers (China's steering of buyers away from the H20 in 2025)."""
        return self.__dict__.setdefault("_import_discouragement", {})

    def set_technology_control(self, destination: str, level: float) -> None:
        if level > 0:
            self.technology_controls[destination] = level
        else:
            self.technology_controls.pop(destination, None)
        self.model.policy_changed()

    def discourage_imports(self, good: str, level: float) -> None:
        if level > 0:
            self.import_discouragement[good] = level
        else:
            self.import_discouragement.pop(good, None)
        self.model.policy_changed()

    def approval_for(self, good: str, destination: str) -> float:
        """Share of exports of `good` to `destination` this State lets through: 1 without a
        control, 0 under a ban, the licence approval rate otherwise (quotas count as 1)."""
        control = self.controls.get(good)
        if control is None or control.regime in ("none", "quota"):
            return 1.0
        if control.regime == "ban":
            return 0.0
        return control.approval_by_destination.get(destination, control.approval)

    def pressure_on(self, destination: str) -> float:
        """How hard this State's controls bite `destination`: the largest share refused on any
        controlled good, or the level of its technology controls there (0 to 1)."""
        refused = [1.0 - self.approval_for(good, destination) for good in self.controls]
        return max([0.0, self.technology_controls.get(destination, 0.0), *refused])
