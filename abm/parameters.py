"""Varied inputs of the model: a named parameter setting one or more scenario fields (paths in
the grammar of `abm.paths`), and the check that a later event does not set a varied field
again inside the run. Shared by `abm.model_function`, sweep specs (`abm.sweep.spec`) and the
EMA adapter (`abm.ema`), so none of them imports another for it.
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from abm import paths
from abm.scenario import Scenario
from abm.scenario.load import to_dict

_PACKAGE = str(Path(__file__).resolve().parent)


class OverriddenPathWarning(UserWarning):
    """A varied field is set again by a later event inside the run, so after that date the
    varied value has no effect."""


def warn(message: str, category: type[Warning]) -> None:
    """Issue a warning reported at the first caller outside the `abm` package (the user's
    line, however deep inside abm it was raised)."""
    warnings.warn(message, category, skip_file_prefixes=(_PACKAGE,))


@dataclass(frozen=True)
class Parameter:
    """One varied input. `targets` are the scenario paths it sets (`[*]` and selectors
    expanded, in canonical form) with their values in the base scenario; with `scale`, the
    design value multiplies them."""

    name: str
    targets: tuple[tuple[str, Any], ...]
    values: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None
    steps: int | None = None
    scale: bool = False
    integer: bool = False

    @property
    def bounds(self) -> tuple[float, float]:
        if self.values is not None:
            return (min(self.values), max(self.values))
        return (self.low, self.high)

    def grid_values(self) -> tuple[Any, ...]:
        if self.values is not None:
            return self.values
        step = (self.high - self.low) / (self.steps - 1)
        # rounded so that 0.3 + 0.15 reads (and compares) as 0.45
        return tuple(self.cast(round(self.low + i * step, 12)) for i in range(self.steps))

    def cast(self, value: Any) -> Any:
        """A design value as this parameter's column holds it (rounded if `integer`)."""
        if self.integer:
            return int(round(float(value)))
        if isinstance(value, bool | str):
            return value
        return float(value)

    def changes(self, value: Any) -> dict[str, Any]:
        """The `abm.override` changes that put `value` into the scenario."""
        if not self.scale:
            return {path: value for path, _ in self.targets}
        return {path: _scaled(base, value) for path, base in self.targets}


def resolve_targets(base: Scenario, given: list[str], scale: bool) -> tuple[tuple[str, Any], ...]:
    """The concrete scenario paths that the paths `given` name, with their values in `base`.
    PathError (its `path` the one at fault) if one names nothing or, with `scale`, names a
    field that is not a number or a list of numbers."""
    raw = to_dict(base)
    targets = []
    for path in given:
        for keys in paths.resolve(raw, path):
            targets.append((paths.text(keys), paths.get(raw, keys)))
    if scale:
        for path, value in targets:
            if not _scalable(value):
                raise paths.PathError(path, f"a numeric field to scale, not {value!r}")
    return tuple(targets)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _scalable(value: Any) -> bool:
    if isinstance(value, list | tuple):
        return bool(value) and all(_is_number(v) for v in value)
    return _is_number(value)


def _scaled(base: Any, factor: float) -> Any:
    if isinstance(base, list | tuple):
        return [_scaled(v, factor) for v in base]
    if isinstance(base, int):
        return max(1, int(round(base * factor))) if base > 0 else base
    return base * factor


# --- varied fields that a later event sets again ------------------------------------------------


def overridden(parameters, base: Scenario, until: dt.date | None = None) -> list[str]:
    """One line for each varied licence-regime field that a later event (an `export_control`
    or `licence_policy` event, or a dated deal's term) on the same State and good sets again
    before the run ends: after that date the varied value does nothing."""
    last = base.end if until is None else min(until, base.end)
    setters = _regime_setters(base)
    lines = []
    for parameter in parameters:
        for path, _ in parameter.targets:
            target = _regime_field(base, path)
            if target is None:
                continue
            state, good, field, when = target
            for later, label, fields in setters.get((state, good), ()):
                if when < later and later[0] <= last and (
                        fields is None or any(_overlaps(field, f) for f in fields)):
                    lines.append(f"parameter {parameter.name!r} sets {path}, but {label} sets "
                                 f"{field} again on {later[0]}, inside the run: the varied value "
                                 "has no effect after that date")
                    break
    return lines


def warn_overridden(parameters, base: Scenario, until: dt.date | None = None) -> list[str]:
    lines = overridden(parameters, base, until)
    for line in lines:
        warn(line, OverriddenPathWarning)
    return lines


def _overlaps(field: str, other: str) -> bool:
    # approval_by_destination and approval_by_destination.USA set the same table
    return field == other or field.startswith(other + ".") or other.startswith(field + ".")


def _regime_field(base: Scenario, path: str):
    """(state, good, field, (date, order)) of a licence-regime field path, else None."""
    keys = [t.key if isinstance(t, paths.Name) else getattr(t, "index", None)
            for t in paths.parse(path)]
    if len(keys) >= 4 and keys[0] == "controls":
        return keys[1], keys[2], ".".join(map(str, keys[3:])), (base.start, -1)
    if (len(keys) >= 4 and keys[0] == "events" and isinstance(keys[1], int)
            and keys[2] in ("control", "changes")):
        event = base.events[keys[1]]
        if event.kind in ("export_control", "licence_policy"):
            return event.state, event.good, ".".join(map(str, keys[3:])), (event.date, keys[1])
    return None


def _regime_setters(base: Scenario) -> dict:
    """(state, good) -> [((date, order), label, fields or None for all fields)]."""
    setters: dict = {}
    for index, event in enumerate(base.events):
        label = f"event {index} ({event.kind}{', ' + repr(event.label) if event.label else ''})"
        if event.kind == "export_control":
            setters.setdefault((event.state, event.good), []).append(
                ((event.date, index), label, None))
        elif event.kind == "licence_policy":
            setters.setdefault((event.state, event.good), []).append(
                ((event.date, index), label, tuple(event.changes)))
        elif event.kind == "deal" and event.deal in base.deals:
            for term in base.deals[event.deal].terms:
                if term.kind not in ("export_control", "licence_policy"):
                    continue
                when = event.date + dt.timedelta(weeks=term.after_weeks)
                fields = None if term.kind == "export_control" else tuple(term.changes)
                setters.setdefault((term.state, term.good), []).append(
                    ((when, index), f"{label}'s term {term.kind}", fields))
    return setters
