"""Dated policy events: what each kind of event does to the model, and what it needs.

Each kind is a small class with `check` (called when the scenario is loaded, to reject an event
that lacks what it needs) and `apply` (called by the model's event list at the event's date).
A new kind is a new class registered in `EVENT_KINDS`; scenario files can use it at once.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np

from abm.scenario.config import ConfigError, Event, ExportControl


def _need(path: str, event: Event, name: str, allowed: set[str], what: str, wildcard=False):
    value = getattr(event, name)
    if wildcard and value == "*":
        return
    if not value:
        raise ConfigError(f"{path}.{name}", f"a {what} (required for kind {event.kind!r})")
    if value not in allowed:
        raise ConfigError(f"{path}.{name}", f"a declared {what} (one of {sorted(allowed)})", value)


class EventKind:
    name: ClassVar[str]

    @staticmethod
    def check(path: str, event: Event, codes: set, goods: set, exporters: set) -> None:
        """Raise ConfigError if `event` lacks what this kind needs."""

    @staticmethod
    def apply(model, event: Event) -> None:
        """Do what the event does to `model` (an `abm.model.ExportControlModel`)."""
        raise NotImplementedError


class ExportControlEvent(EventKind):
    """A State puts a good under a regime (licence, quota, ban) or lifts it (`none`); with an
    `effective` date, it announces the regime, which takes effect on that date."""

    name = "export_control"

    @staticmethod
    def check(path, event, codes, goods, exporters):
        _need(path, event, "state", codes, "country")
        _need(path, event, "good", goods, "good")
        if event.control is None:
            raise ConfigError(f"{path}.control", "a [events.control] table with the regime")

    @staticmethod
    def apply(model, event):
        if event.effective is not None and model.config.effect_time(event.effective) > model.time:
            model.announce_control(event)
            return
        model.states[event.state].set_control(event.good, event.control)


class LicencePolicyEvent(EventKind):
    """A State changes some parameters of its regime on a good (a deal's faster approvals)."""

    name = "licence_policy"
    FIELDS: ClassVar[set[str]] = {
        f.name for f in dataclasses.fields(ExportControl) if f.type in ("float", "bool")
    } | {"approval_by_destination", "approval_by_sector"}

    @staticmethod
    def check(path, event, codes, goods, exporters):
        _need(path, event, "state", codes, "country")
        _need(path, event, "good", goods, "good")
        if not event.changes:
            raise ConfigError(f"{path}.changes", "a table of regime fields to change")
        for key in event.changes:
            head = key.split(".")[0]
            if head not in LicencePolicyEvent.FIELDS:
                raise ConfigError(
                    f"{path}.changes.{key}",
                    f"a licence regime field (one of {sorted(LicencePolicyEvent.FIELDS)})",
                )
            if head == "approval_by_destination" and key.split(".")[-1] not in codes:
                raise ConfigError(f"{path}.changes.{key}", "approval_by_destination.<country>")
            value = event.changes[key]
            if head.startswith("approval_by") and not 0.0 <= value <= 1.0:
                raise ConfigError(f"{path}.changes.{key}", "a probability in [0, 1]", value)
            if not head.startswith("approval_by"):
                # Check the value as the regime itself would.
                dataclasses.replace(ExportControl(), **{key: value}).check(f"{path}.changes")

    @staticmethod
    def apply(model, event):
        model.states[event.state].change_control(event.good, event.changes)


class TariffEvent(EventKind):
    """A State sets an ad-valorem tariff on imports from a partner (all goods or one)."""

    name = "tariff"

    @staticmethod
    def check(path, event, codes, goods, exporters):
        _need(path, event, "state", codes, "country")
        _need(path, event, "partner", codes, "country", wildcard=True)
        if event.good:
            _need(path, event, "good", goods, "good", wildcard=True)

    @staticmethod
    def apply(model, event):
        model.states[event.state].set_tariff(event.partner, event.good or "*", event.rate)


class GeneralLicenceEvent(EventKind):
    """Shipments matching destination/sector/exporter pass without per-shipment applications
    until `duration_weeks` after the date."""

    name = "general_licence"

    @staticmethod
    def check(path, event, codes, goods, exporters):
        _need(path, event, "state", codes, "country")
        _need(path, event, "good", goods, "good")
        _need(path, event, "destination", codes, "country", wildcard=True)
        _need(path, event, "exporter", exporters, "exporter name", wildcard=True)
        if event.duration_weeks <= 0:
            raise ConfigError(f"{path}.duration_weeks", "a number of weeks > 0")

    @staticmethod
    def apply(model, event):
        model.states[event.state].grant_general_licence(event, model.time)


class AlertEvent(EventKind):
    """Buyers fear or learn of a control and raise their target cover (stockpiling)."""

    name = "alert"

    @staticmethod
    def check(path, event, codes, goods, exporters):
        _need(path, event, "good", goods, "good", wildcard=True)
        for i, destination in enumerate(event.destinations):
            if destination != "*" and destination not in codes:
                raise ConfigError(
                    f"{path}.destinations[{i}]", "a declared country or '*'", destination
                )

    @staticmethod
    def apply(model, event):
        model.raise_alert(event.good or "*", event.destinations, event.level)


class CapacityEvent(EventKind):
    """A dated capacity project: producer `exporter` reaches the nameplate capacity
    `changes.capacity_t_per_week` (a mine restarted, a separation plant commissioned)."""

    name = "capacity"

    @staticmethod
    def check(path, event, codes, goods, exporters):
        _need(path, event, "exporter", exporters, "exporter name")
        if set(event.changes) != {"capacity_t_per_week"}:
            raise ConfigError(f"{path}.changes", "a table with capacity_t_per_week only",
                              dict(event.changes))
        value = event.changes["capacity_t_per_week"]
        if not (isinstance(value, int | float) and 0.0 <= value < float("inf")):
            raise ConfigError(f"{path}.changes.capacity_t_per_week", "a number >= 0", value)

    @staticmethod
    def apply(model, event):
        index = model.exporter_index[event.exporter]
        model.exporters.capacity_t[index] = event.changes["capacity_t_per_week"]


class SourcingEvent(EventKind):
    """Long-term supply agreements (offtakes) re-weight buyers' usual sourcing: buyers of `good`
    in `destinations` ("*" for all) take `changes[ORIGIN]` of their usual flow from each named
    origin they source from; their other origins share the rest in their old proportions.
    Sourcing shares then move toward the new usual shares as they do toward the old ones."""

    name = "sourcing"

    @staticmethod
    def check(path, event, codes, goods, exporters):
        _need(path, event, "good", goods, "good")
        AlertEvent.check(path, event, codes, goods, exporters)
        if not event.changes:
            raise ConfigError(f"{path}.changes", "a table of origin = usual share")
        for origin, share in event.changes.items():
            if origin not in codes:
                raise ConfigError(f"{path}.changes.{origin}", f"a declared country (one of "
                                  f"{sorted(codes)})", origin)
            if not (isinstance(share, int | float) and 0.0 <= share <= 1.0):
                raise ConfigError(f"{path}.changes.{origin}", "a share in [0, 1]", share)
        if sum(event.changes.values()) > 1.0 + 1e-9:
            raise ConfigError(f"{path}.changes", "shares that sum to at most 1",
                              round(sum(event.changes.values()), 6))

    @staticmethod
    def apply(model, event):
        b, p = model.buyers, model.pairs
        mask = b.good[p.buyer] == model.good_index[event.good]
        if "*" not in event.destinations:
            codes = [model.country_index[c] for c in event.destinations]
            mask &= np.isin(b.country[p.buyer], codes)
        named = np.zeros(p.buyer.size)
        is_named = np.zeros(p.buyer.size, dtype=bool)
        for origin, share in event.changes.items():
            match = mask & (p.origin == model.country_index[origin])
            named[match] = share
            is_named |= match
        n = b.good.size
        named_total = np.bincount(p.buyer, weights=np.where(is_named, named, 0.0), minlength=n)
        rest = mask & ~is_named
        rest_total = np.bincount(p.buyer, weights=np.where(rest, p.base_share, 0.0), minlength=n)
        scale = np.divide(1.0 - named_total, rest_total, out=np.zeros(n), where=rest_total > 0)
        p.base_share = np.where(is_named, named, np.where(rest, p.base_share * scale[p.buyer],
                                                           p.base_share))


class NoteEvent(EventKind):
    """A dated marker for figures; changes nothing in the model."""

    name = "note"

    @staticmethod
    def apply(model, event):
        return None


EVENT_KINDS: dict[str, type[EventKind]] = {
    kind.name: kind
    for kind in (
        ExportControlEvent,
        LicencePolicyEvent,
        TariffEvent,
        GeneralLicenceEvent,
        AlertEvent,
        CapacityEvent,
        SourcingEvent,
        NoteEvent,
    )
}


class TechControlEvent(EventKind):
    """A State puts technology controls (chip-design software, tools) on a destination at
    `level` (0 lifts them); they slow the destination's chipmakers' capacity growth."""

    name = "tech_control"

    @staticmethod
    def check(path, event, codes, goods, exporters):
        _need(path, event, "state", codes, "country")
        _need(path, event, "destination", codes, "country")
        if not 0.0 <= event.level <= 1.0:
            raise ConfigError(f"{path}.level", "a level in [0, 1]", event.level)

    @staticmethod
    def apply(model, event):
        model.states[event.state].set_technology_control(event.destination, event.level)


class DiscourageImportsEvent(EventKind):
    """A State steers its buyers of a good away from imports toward domestic suppliers:
    `level` is the share of import demand turned away (0 lifts it). Read by the chip market."""

    name = "discourage_imports"

    @staticmethod
    def check(path, event, codes, goods, exporters):
        _need(path, event, "state", codes, "country")
        _need(path, event, "good", goods, "good")

    @staticmethod
    def apply(model, event):
        model.states[event.state].discourage_imports(event.good, event.level)


class DealEvent(EventKind):
    """The deal template `deal` is struck on the date: each party's terms apply (some after a
    delay) and are undone when the deal ends (see `abm.policy.deals`)."""

    name = "deal"

    @staticmethod
    def check(path, event, codes, goods, exporters):
        if not event.deal:
            raise ConfigError(f"{path}.deal", "the name of a deal template ([deals.NAME])")
        if event.duration_weeks < 0:
            raise ConfigError(f"{path}.duration_weeks", "a number of weeks >= 0")

    @staticmethod
    def apply(model, event):
        model.strike_deal(event.deal, duration_weeks=event.duration_weeks or None)


EVENT_KINDS.update(
    {kind.name: kind for kind in (TechControlEvent, DiscourageImportsEvent, DealEvent)}
)
