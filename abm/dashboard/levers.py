"""The levers a dashboard offers for a scenario, and a scenario with the levers set.

A lever is one control on the page: a policy value of the scenario (a regime, an approval rate,
a review time, an office's capacity, a tariff, buyers' cover and stockpiling, a deal's term, a
State's strategy) with the scenario paths it sets through `abm.override` (in the grammar of
`abm.paths`). Levers are read from the scenario itself, so a new scenario file gets its own
controls without code.

Values arrive from the page as typed text or a choice (from Python, as numbers too); `apply`
parses and checks them and raises `LeverError` with a message meant for the page.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Literal

from abm.paths import key_text
from abm.policy.strategies import STRATEGIES
from abm.scenario import Scenario, ScenarioError, override
from abm.scenario.config import ExportControl

REGIMES = ("none", "licence", "quota", "ban")


class LeverError(ValueError):
    """A value set on the page cannot be used; the message names the control and what was
    expected, and is shown on the page as it is."""


@dataclass(frozen=True)
class Lever:
    """One control: `what` it sets (with the unit) `where` (an event, a table, a deal). `paths`
    are the scenario fields it sets; with `scale` it multiplies each path's value in `base`
    (numbers or lists of numbers) instead of replacing it. A number must lie in [low, high]
    (None: open)."""

    name: str
    what: str
    where: str
    kind: Literal["number", "choice"]
    value: Any
    paths: tuple[str, ...]
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    scale: bool = False
    base: tuple[Any, ...] = ()

    @property
    def label(self) -> str:
        """The control's name on the page: what it sets, then where."""
        return f"{self.what} · {self.where}"

    def parse(self, value: Any) -> Any:
        """The lever's value from what the page sent; LeverError if it is not usable."""
        if self.kind == "choice":
            if value not in self.choices:
                raise LeverError(f"{self.label}: expected one of {', '.join(self.choices)}, "
                                 f"got {value!r}")
            return value
        try:
            number = float(value.strip()) if isinstance(value, str) else float(value)
        except (TypeError, ValueError):
            number = math.nan
        if not math.isfinite(number):
            raise LeverError(f"{self.label}: expected a number, got {value!r}")
        if (self.low is not None and number < self.low) or (
                self.high is not None and number > self.high):
            raise LeverError(f"{self.label}: expected {self.bounds_text()}, got {value!r}")
        return number

    def text(self) -> str:
        """The scenario's value as the page first shows it."""
        if self.kind == "choice":
            return str(self.value)
        return str(int(self.value)) if float(self.value).is_integer() else repr(self.value)

    def bounds_text(self) -> str:
        if self.low is not None and self.high is not None:
            return f"a number from {self.low:g} to {self.high:g}"
        return f"a number >= {self.low:g}" if self.low is not None else "a number"

    def changes(self, value: Any) -> dict[str, Any]:
        """The scenario paths and values this lever sets at `value` (already parsed)."""
        if not self.scale:
            return {path: value for path in self.paths}
        return {path: ([v * value for v in base] if isinstance(base, list | tuple)
                       else base * value)
                for path, base in zip(self.paths, self.base, strict=True)}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


_FIELDS = {
    # field: (what it is, with its unit; lowest and highest value, None: open)
    "approval": ("approval rate (0-1)", 0.0, 1.0),
    "review_weeks": ("review time (weeks)", 0.0, None),
    "review_capacity_t_per_week": ("office capacity (t/week)", 0.0, None),
    "refile_weeks": ("refiling wait after a refusal (weeks)", 0.0, None),
    "unlisted_approval": ("approval rate of unlisted grades (0-1)", 0.0, 1.0),
    "quota_t_per_year": ("quota (t/year)", 0.0, None),
    "revenue_share": ("revenue share to the State (0-1)", 0.0, 1.0),
    "rate": ("tariff (1 = 100%)", 0.0, None),
    "level": ("level (0-1)", 0.0, 1.0),
}


def _number(name: str, where: str, field: str, value: float, path: str) -> Lever:
    if field.startswith("approval_by_"):
        what, low, high = _FIELDS["approval"]
        what = f"{what} for {field.split('.', 1)[1]}"
    else:
        what, low, high = _FIELDS[field]
    return Lever(name=name, what=what, where=where, kind="number", value=float(value),
                 paths=(path,), low=low, high=high)


def _control_levers(prefix: str, label: str, control: ExportControl, path: str) -> list[Lever]:
    out = [Lever(name=f"{prefix}_regime", what="regime", where=label, kind="choice",
                 value=control.regime, paths=(f"{path}.regime",), choices=REGIMES)]
    if control.regime == "licence":
        fields = ["approval", "review_weeks", "review_capacity_t_per_week"]
        fields += [f for f in ("revenue_share",) if getattr(control, f)]
        for field in fields:
            out.append(_number(f"{prefix}_{field}", label, field, getattr(control, field),
                               f"{path}.{field}"))
        for destination, approval in control.approval_by_destination.items():
            out.append(_number(f"{prefix}_approval_{_slug(destination)}", label,
                               f"approval_by_destination.{destination}", approval,
                               f"{path}.approval_by_destination.{destination}"))
    elif control.regime == "quota":
        out.append(_number(f"{prefix}_quota", label, "quota_t_per_year", control.quota_t_per_year,
                           f"{path}.quota_t_per_year"))
    return out


def _changes_levers(prefix: str, label: str, changes: dict[str, float], path: str) -> list[Lever]:
    out = []
    for key, value in changes.items():
        head = key.split(".")[0]
        if head in _FIELDS or head.startswith("approval_by_destination"):
            out.append(_number(f"{prefix}_{_slug(key)}", label, key, value,
                               f"{path}{key_text(key)}"))
    return out


def _event_levers(config: Scenario) -> list[Lever]:
    out = []
    for i, event in enumerate(config.events):
        what = event.label or f"{event.state} {event.kind.replace('_', ' ')} {event.good}".strip()
        label = f"{event.date:%Y-%m-%d} {what}"
        prefix = f"e{i}"
        path = f"events[{i}]"
        if event.kind == "export_control" and event.control is not None:
            out += _control_levers(prefix, label, event.control, f"{path}.control")
        elif event.kind == "licence_policy":
            out += _changes_levers(prefix, label, event.changes, f"{path}.changes")
        elif event.kind == "tariff":
            out.append(_number(f"{prefix}_rate", f"{label} ({event.state} on {event.partner})",
                               "rate", event.rate, f"{path}.rate"))
    return out


def _standing_levers(config: Scenario) -> list[Lever]:
    out = []
    for state, by_good in config.controls.items():
        for good, control in by_good.items():
            out += _control_levers(f"c_{_slug(state)}_{_slug(good)}", f"{state} control on {good}",
                                   control, f"controls.{state}.{good}")
    for state, by_partner in config.tariffs.items():
        for key, rate in by_partner.items():
            out.append(_number(f"t_{_slug(state)}_{_slug(key)}", f"{state} tariff on {key}",
                               "rate", rate, f"tariffs.{state}{key_text(key)}"))
    return out


def _deals_in_use(config: Scenario) -> list[str]:
    used = [e.deal for e in config.events if e.kind == "deal"]
    used += [config.strategy_config(c.code).bargaining.deal for c in config.countries
             if c.strategy == "bargaining"]
    return list(dict.fromkeys(d for d in used if d in config.deals))


def _deal_levers(config: Scenario) -> list[Lever]:
    out = []
    for deal in _deals_in_use(config):
        template = config.deals[deal]
        path = f"deals.{deal}"
        out.append(Lever(name=f"d_{_slug(deal)}_duration", what="lasts (weeks)",
                         where=f"deal {deal}",
                         kind="number", value=template.duration_weeks,
                         paths=(f"{path}.duration_weeks",), low=0.0))
        for j, term in enumerate(template.terms):
            label = f"deal {deal}, {term.state} {term.kind.replace('_', ' ')} {term.good}".strip()
            prefix = f"d_{_slug(deal)}_{j}"
            term_path = f"{path}.terms[{j}]"
            if term.kind in ("tariff",):
                out.append(_number(f"{prefix}_rate", label, "rate", term.rate, f"{term_path}.rate"))
            elif term.kind in ("tech_control", "discourage_imports"):
                out.append(_number(f"{prefix}_level", label, "level", term.level,
                                   f"{term_path}.level"))
            elif term.kind == "licence_policy":
                out += _changes_levers(prefix, label, term.changes, f"{term_path}.changes")
            elif term.kind == "export_control" and term.control is not None:
                out += _control_levers(prefix, label, term.control, f"{term_path}.control")
    return out


def _strategy_levers(config: Scenario) -> list[Lever]:
    acting = {e.state for e in config.events if e.state} | set(config.strategies)
    out = []
    for i, country in enumerate(config.countries):
        if country.code not in acting and country.strategy == "scripted":
            continue
        out.append(Lever(name=f"s_{_slug(country.code)}", what="strategy", where=country.code,
                         kind="choice", value=country.strategy,
                         paths=(f"countries[{i}].strategy",), choices=tuple(sorted(STRATEGIES))))
        if country.strategy == "bargaining":
            params = config.strategy_config(country.code).bargaining
            path = f"strategies.{country.code}.bargaining"
            out.append(Lever(name=f"s_{_slug(country.code)}_renege",
                             what="chance of reneging a week", where=f"{country.code} bargaining",
                             kind="number", value=params.renege_probability,
                             paths=(f"{path}.renege_probability",), low=0.0, high=1.0))
            out.append(Lever(name=f"s_{_slug(country.code)}_threshold",
                             what="pain threshold (share)", where=f"{country.code} bargaining",
                             kind="number", value=params.pain_threshold,
                             paths=(f"{path}.pain_threshold",), low=0.0))
    return out


def _buyer_levers(config: Scenario) -> list[Lever]:
    if not config.buyers:
        return []
    covers = tuple(list(g.cover_weeks) for g in config.buyers)
    return [
        Lever(name="buyers_cover_scale", what="stock cover (x the scenario's)", where="buyers",
              kind="number", value=1.0, low=0.0, scale=True,
              paths=tuple(f"buyers[{i}].cover_weeks" for i in range(len(covers))), base=covers),
        Lever(name="stockpile_cover_gain", what="stockpiling: extra cover when alerted (share)",
              where="buyers",
              kind="number", value=config.market.stockpile_cover_gain, low=0.0,
              paths=("market.stockpile_cover_gain",)),
    ]


def levers(config: Scenario) -> list[Lever]:
    """Every lever of `config`, in the order shown: controls and their changes by date,
    tariffs, standing controls, buyers, deals, strategies. Names are unique."""
    out = (_event_levers(config) + _standing_levers(config) + _buyer_levers(config)
           + _deal_levers(config) + _strategy_levers(config))
    names = [lever.name for lever in out]
    assert len(names) == len(set(names)), "lever names must be unique"
    return out


def moved(config: Scenario, values: dict[str, Any]) -> list[tuple[Lever, Any]]:
    """The levers whose value in `values` differs from the scenario's, with the parsed value.
    Raises LeverError naming the first control whose value is unusable."""
    by_name = {lever.name: lever for lever in levers(config)}
    out = []
    for name, raw in values.items():
        lever = by_name.get(name)
        if lever is None:
            raise LeverError(f"{name}: not a lever of scenario {config.name!r}")
        value = lever.parse(raw)
        if value != lever.value:
            out.append((lever, value))
    return out


def apply(config: Scenario, values: dict[str, Any], source: str = "dashboard") -> Scenario:
    """`config` with the levers named in `values` set; levers left at the scenario's value
    change nothing. Raises LeverError naming the first control whose value is unusable."""
    changes: dict[str, Any] = {}
    labels: dict[str, str] = {}
    for lever, value in moved(config, values):
        for path, new in lever.changes(value).items():
            changes[path] = new
            labels[path] = lever.label
    if not changes:
        return config
    try:
        return override(config, changes, source=source)
    except ScenarioError as err:
        label = labels.get(err.path)
        raise LeverError(f"{label}: {err.expected}" if label else str(err)) from None
