"""Load scenario files (TOML) into the frozen configuration, with one clear error per problem.

A scenario file has a `[scenario]` table (`name`, `description`, `start`, `end`, optionally
`extends`, the name or path of a scenario it builds on), the arrays of tables `[[goods]]`,
`[[countries]]`, `[[exporters]]`, `[[buyers]]`, `[[events]]`, and the tables `[market]`,
`[controls.STATE.GOOD]` and `[tariffs.STATE]`.

With `extends`, the child is merged into its base:

- tables (`[market]`, `[controls.STATE.GOOD]`, `[strategies.CODE]`, ...) merge key by key;
- lists of named things merge by name (`NAMED_LISTS`: goods, sectors and exporters by `name`,
  countries by `code`, chipmakers by `name`, buyer groups by `(good, country, sector)`): an
  entry whose name the base has updates that entry field by field (a field given replaces the
  base's value whole, a table such as `sourcing` included), a new name is added at the end,
  and an entry with `remove = true` (and only its name) removes the base's entry;
- events are appended; an event with `remove = true` and a `label` removes the base's event
  of that label.

Errors name the file and the position in it where the faulty entry was written, not its
position in the merged lists.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import math
import re
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

from abm import paths
from abm.policy.events import EVENT_KINDS
from abm.scenario import limits as scenario_limits
from abm.scenario.config import ConfigError, Scenario

BUILTIN_DIR = Path(__file__).parent / "builtin"


class ScenarioError(ValueError):
    """A scenario file cannot be used. The message names the file, the field and what was
    expected, and is meant to be shown to the user as it is."""

    def __init__(self, source: str, path: str, expected: str):
        self.source = source
        self.path = path
        self.expected = expected
        super().__init__(f"{source}: {path}: {expected}" if path else f"{source}: {expected}")


def builtin_names() -> list[str]:
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.toml"))


def builtin_descriptions() -> dict[str, str]:
    """One-line description of each built-in scenario, by name."""
    out = {}
    for name in builtin_names():
        raw = _read_toml(BUILTIN_DIR / f"{name}.toml")
        out[name] = str(raw.get("scenario", {}).get("description", "")).strip().splitlines()[0]
    return out


def resolve(name_or_path: str | Path) -> Path:
    """The file of a built-in scenario name, or the given path if it is a file."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" or candidate.exists():
        if candidate.is_dir():
            link = " (a symbolic link to one)" if candidate.is_symlink() else ""
            raise ScenarioError(str(candidate), "", f"expected a scenario file (.toml), but it "
                                f"is a folder{link}")
        if not candidate.is_file():
            raise ScenarioError(str(candidate), "", "expected an existing scenario file, but "
                                "there is no such scenario file" if not candidate.exists() else
                                "expected a scenario file, but it is not a regular file")
        return candidate
    builtin = BUILTIN_DIR / f"{name_or_path}.toml"
    if builtin.is_file():
        return builtin
    raise ScenarioError(
        str(name_or_path),
        "",
        f"expected a scenario file or a built-in scenario name (built-ins: {', '.join(builtin_names())})",
    )


def load(name_or_path: str | Path, behaviours=None, allow_large: bool = False) -> Scenario:
    """Load and validate a scenario by built-in name or file path. Behaviour and strategy
    names are checked against `behaviours` (an `abm.agents.behaviours.Behaviours`; default:
    the built-in ones). A file above `abm.scenario.limits` is refused unless `allow_large`."""
    path = resolve(name_or_path)
    raw, provenance = _load_merged(path, str(path), allow_large=allow_large)
    too_many = scenario_limits.too_many_events(raw, allow_large)
    if too_many:
        raise ScenarioError(str(path), "events", too_many)
    return from_dict(raw, source=str(path), behaviours=behaviours, _provenance=provenance)


def load_raw(path: Path) -> dict[str, Any]:
    """The scenario's TOML as a dict, with `extends` resolved (merged into its base)."""
    return _load_merged(Path(path), str(path))[0]


# Lists of named things that `extends` merges by name, and the fields that name an entry.
NAMED_LISTS: dict[str, tuple[str, ...]] = {
    "goods": ("name",),
    "countries": ("code",),
    "exporters": ("name",),
    "buyers": ("good", "country", "sector"),
    "sectors": ("name",),
    "chipmakers": ("name",),
}


@dataclasses.dataclass
class _Provenance:
    """Where each part of a merged scenario was written: the files from the child to the root
    base with their own TOML, and for each element of each top-level list the (file, index)
    of the entries that made it, the child's first."""

    files: list[tuple[str, dict[str, Any]]]
    elements: dict[str, list[list[tuple[str, int]]]]

    def locate(self, path: str) -> tuple[str, str]:
        """The file and the path in it where the field at merged `path` was written."""
        match = re.match(r"^(\w+)\[(\d+)\](.*)$", path)
        if match and match.group(1) in self.elements:
            key, index, rest = match.group(1), int(match.group(2)), match.group(3)
            makers = self.elements[key]
            if index < len(makers) and makers[index]:
                field_name = re.match(r"^\.(\w+)", rest)
                raws = dict(self.files)
                chosen = makers[index][0]
                if field_name:
                    for source, j in makers[index]:
                        entry = raws[source].get(key, [])[j]
                        if isinstance(entry, dict) and field_name.group(1) in entry:
                            chosen = (source, j)
                            break
                return chosen[0], f"{key}[{chosen[1]}]{rest}"
        try:
            tokens = [t.key if isinstance(t, paths.Name) else t.index for t in paths.parse(path)
                      if isinstance(t, paths.Name | paths.Index)]
        except paths.PathError:
            return self.files[0][0], path
        for source, raw in self.files:
            node: Any = raw
            if tokens and tokens[0] in raw.get("scenario", {}) and tokens[0] not in raw:
                node = raw["scenario"]
            try:
                for token in tokens:
                    node = node[token]
            except (KeyError, IndexError, TypeError):
                continue
            return source, path
        return self.files[0][0], path

    def mention(self, text: str, source: str) -> str:
        """`text` with each `list[i]` it mentions pointed to where it was written."""
        def point(match: re.Match) -> str:
            where, local = self.locate(match.group(0))
            return local if where == source else f"{local} of {where}"
        return re.sub(r"\b(?:" + "|".join(self.elements) + r")\[\d+\]", point, text) \
            if self.elements else text


def _load_merged(path: Path, shown: str, _seen: tuple[Path, ...] = (), allow_large: bool = False
                 ) -> tuple[dict[str, Any], _Provenance]:
    """The merged TOML of `path` and its bases, and where each part was written."""
    resolved = path.resolve()
    if resolved in _seen:
        raise ScenarioError(shown, "scenario.extends", "expected no cycle of extends")
    depth = scenario_limits.extends_depth(allow_large)
    if len(_seen) > depth:
        lift = "" if allow_large else scenario_limits.ALLOW
        raise ScenarioError(str(_seen[0]), "scenario.extends", f"expected a chain of at most "
                            f"{depth} bases, but it goes on past {_seen[-1]}{lift}")
    raw = _read_toml(resolved, allow_large)
    too_long = scenario_limits.long_text(raw, allow_large)
    if too_long:
        raise ScenarioError(shown, *too_long)
    base_ref = raw.get("scenario", {}).get("extends") if isinstance(raw.get("scenario"), dict) \
        else None
    if base_ref is None:
        elements = {key: [[(shown, i)] for i in range(len(value))]
                    for key, value in raw.items() if isinstance(value, list)}
        return raw, _Provenance([(shown, raw)], elements)
    if not isinstance(base_ref, str):
        raise ScenarioError(shown, "scenario.extends", f"expected a scenario name, got {base_ref!r}")
    base_path = Path(base_ref)
    if not base_path.is_absolute() and (resolved.parent / base_path).is_file():
        base_path = resolved.parent / base_path
    try:
        base_file = resolve(base_path if base_path.is_file() else base_ref)
    except ScenarioError as err:
        raise ScenarioError(shown, "scenario.extends", f"{err.expected} (extends = "
                            f"{base_ref!r})") from None
    base, provenance = _load_merged(base_file, str(base_file.resolve()), (*_seen, resolved),
                                    allow_large)
    merged, elements = _merge_scenario(base, provenance.elements, raw, shown)
    merged["scenario"].pop("extends", None)
    return merged, _Provenance([(shown, raw), *provenance.files], elements)


def _merge_scenario(base: dict[str, Any], base_elements: dict[str, list], child: dict[str, Any],
                    source: str) -> tuple[dict[str, Any], dict[str, list]]:
    """`child` merged into `base` (see the module docstring), and the makers of each list
    element."""
    out = dict(base)
    elements = {key: [list(m) for m in makers] for key, makers in base_elements.items()}
    for key, value in child.items():
        if isinstance(value, list) and (key in NAMED_LISTS or key == "events"):
            base_list = base.get(key, [])
            if not isinstance(base_list, list):
                base_list = []
            out[key], elements[key] = _merge_list(key, base_list, elements.get(key, []), value,
                                                  source)
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            out[key] = _merge(base[key], value)
        else:
            out[key] = value
            if isinstance(value, list):
                elements[key] = [[(source, i)] for i in range(len(value))]
    return out, elements


def _merge_list(key: str, base: list, makers: list, child: list, source: str
                ) -> tuple[list, list]:
    out = [dict(e) if isinstance(e, dict) else e for e in base]
    makers = [list(m) for m in makers] + [[] for _ in range(len(base) - len(makers))]
    fields = NAMED_LISTS.get(key, ("label",))

    def name_of(entry: Any) -> tuple | None:
        if not isinstance(entry, dict) or any(f not in entry for f in fields):
            return None
        return tuple(str(entry[f]) for f in fields)

    for j, entry in enumerate(child):
        where = f"{key}[{j}]"
        name = name_of(entry)
        if isinstance(entry, dict) and "remove" in entry:
            if entry["remove"] is not True:
                raise ScenarioError(source, f"{where}.remove", "expected true (or no remove)")
            extra = sorted(set(entry) - set(fields) - {"remove"})
            if name is None or extra:
                raise ScenarioError(source, where, f"expected only {', '.join(fields)} and "
                                    f"remove = true in an entry that removes one")
            index = next((i for i, e in enumerate(out) if name_of(e) == name), None)
            if index is None:
                shown = ", ".join(f"{f} = {v!r}" for f, v in zip(fields, name, strict=True))
                raise ScenarioError(source, f"{where}.remove", f"expected an entry of the base "
                                    f"scenario to remove (none has {shown})")
            del out[index], makers[index]
            continue
        index = None if key == "events" or name is None else next(
            (i for i, e in enumerate(out) if name_of(e) == name), None)
        if index is None:
            out.append(entry)
            makers.append([(source, j)])
        else:
            out[index] = {**out[index], **entry}
            makers[index] = [(source, j), *makers[index]]
    return out, makers


def from_dict(raw: dict[str, Any], source: str = "<scenario>", behaviours=None,
              _provenance: _Provenance | None = None) -> Scenario:
    """Build and validate a Scenario from a TOML-shaped dict; errors name `source`. Behaviour
    and strategy names are checked against `behaviours` (default: the built-in ones)."""
    flat = dict(raw)
    header = flat.pop("scenario", None)
    if not isinstance(header, dict):
        raise ScenarioError(source, "scenario", "expected a [scenario] table with name, start and end")
    header = {k: v for k, v in header.items() if k != "extends"}
    for key in header:
        if key in flat:
            raise ScenarioError(source, f"scenario.{key}", "expected to be set only once")
    flat.update(header)
    try:
        scenario = build(Scenario, flat, "")
        scenario.check(EVENT_KINDS)
        if behaviours is None:
            from abm.agents.behaviours import Behaviours

            behaviours = Behaviours()
        behaviours.check(scenario)
    except ConfigError as err:
        path, expected = err.path.lstrip("."), str(err).split(": ", 1)[1]
        if _provenance is not None:
            source, path = _provenance.locate(path)
            expected = _provenance.mention(expected, source)
        raise ScenarioError(source, path, expected) from None
    return scenario


def to_dict(scenario: Scenario) -> dict[str, Any]:
    """The inverse of `from_dict`: a TOML-shaped dict of a scenario."""
    flat = _lists(dataclasses.asdict(scenario))
    header = {key: flat.pop(key) for key in ("name", "description", "start", "end")}
    return {"scenario": header, **flat}


def override(scenario: Scenario, changes: dict[str, Any], source: str = "<override>",
             behaviours=None) -> Scenario:
    """A new scenario with fields replaced by path, e.g. `{"market.halt_threshold": 0.3,
    "controls.CHN.magnet.approval": 0.5, "events[2].control.review_weeks": 6,
    "buyers[country=USA, sector=automotive].cover_weeks": [8, 12]}` (the grammar of
    `abm.paths`; a path naming several fields sets them all). The result is validated like a
    loaded file (behaviour names against `behaviours`, default the built-in ones); a path that
    names nothing is an error naming the nearest valid names."""
    raw = to_dict(scenario)
    for path, value in changes.items():
        set_path(raw, path, value, source)
    return from_dict(raw, source, behaviours=behaviours)


def _lists(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_lists(v) for v in value]
    return value


def set_path(raw: dict[str, Any], path: str, value: Any, source: str = "<override>") -> None:
    """Set `value` at every field `path` names in a TOML-shaped dict, in the grammar of
    `abm.paths` (dotted keys, `[index]`, `[*]`, selectors such as `events[label="London
    framework"]` or `buyers[country=USA, sector=automotive]`, quoted keys with dots). The
    path must already exist, so a typo cannot silently add a field (only a table of names to
    numbers, such as `sourcing`, may gain a key); a path that names nothing is a ScenarioError
    naming the nearest valid names."""
    try:
        targets = paths.resolve(raw, path, new_keys=True)
    except paths.PathError as err:
        raise ScenarioError(source, path, f"expected {err.expected}") from None
    for keys in targets:
        paths.put(raw, keys, value)


def _read_toml(path: Path, allow_large: bool = False) -> dict[str, Any]:
    try:
        too_large = scenario_limits.file_too_large(path.stat().st_size, allow_large)
        if too_large:
            raise ScenarioError(str(path), "", too_large)
        with path.open("rb") as handle:
            text = handle.read().decode("utf-8")
        # Editors on Windows start UTF-8 files with a byte-order mark; TOML itself has none.
        return tomllib.loads(text.removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(str(path), "", f"expected valid TOML ({err})") from None
    except UnicodeDecodeError:
        raise ScenarioError(str(path), "", "expected a TOML text file (UTF-8), not binary data"
                            ) from None
    except RecursionError:
        raise ScenarioError(str(path), "", "expected valid TOML (nested too deeply)") from None
    except OSError as err:
        raise ScenarioError(str(path), "", f"expected a readable file ({err.strerror})") from None


def _merge(base: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in child.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            out[key] = _merge(base[key], value)
        else:
            out[key] = value
    return out


# --- conversion of TOML values to typed dataclasses ------------------------------------------


# Fields that earlier versions of the scenario format accepted, by the type that held them, and
# what replaces each: a scenario written for an earlier version fails with this, not with an
# unknown field. Keep an entry for every field removed or renamed (CHANGELOG.md lists them).
REMOVED_FIELDS: dict[tuple[str, str], str] = {
    ("Good", "reversion_per_week"): (
        "removed in the economic core v2; prices are anchored by cost, arbitrage and the "
        "demand schedule (core v3: `margin`, `supply_elasticity`, "
        "`price_elasticity_of_demand` of [[goods]]), so delete it"),
    ("Good", "demand_sensitivity"): (
        "removed in the economic core v3; prices are anchored by producers' cost, arbitrage "
        "and the buyers' demand schedule: set `price_elasticity_of_demand` (short run), "
        "`supply_elasticity`, `margin`, `price_adjust_weeks` and `contract_lag_weeks`"),
    ("Good", "inventory_sensitivity"): (
        "removed in the economic core v3; the stock gap moves prices along the demand "
        "schedule (`price_elasticity_of_demand`) and supply schedule (`supply_elasticity`)"),
    ("Good", "demand_elasticity"): (
        "removed in the economic core v3; final demand answers the product's price: set "
        "`input_cost_share` and `final_demand_elasticity` of [[sectors]] (adapting away from "
        "the good is the substitution channel, `substitution_*` of [[sectors]])"),
    ("Market", "spot_premium"): (
        "removed in the economic core v3; tonnes sold spot pay the spot price, contract "
        "tonnes the contract price (`contract_lag_weeks` of [[goods]])"),
    ("Market", "export_price_parity"): (
        "removed in the economic core v3; arbitrage in the price rule ties the regions' prices "
        "up to a licence's wedge, so delete it"),
    ("ExportControl", "controlled_share"): (
        "removed in the economic core v3; set `scope = \"listed_grades\"` on the control and "
        "each sector's `listed_grade_share` in [[sectors]]"),
    ("ExportControl", "customs_hold_weeks"): (
        "removed in the economic core v3; while customs cannot tell grades apart set "
        "`grades_told_apart = false`: exporters then file for every shipment (unlisted grades "
        "approved with `unlisted_approval`)"),
    ("BargainingConfig", "pain_weights"): (
        "removed in the economic core v2; a State's pain is the share of its payoff lost, "
        "weighted in [payoffs.STATE] (`output_lost`, `export_revenue`, `licence_rent`, "
        "`compute_value_usd_per_unit`, ...), so move the weights there"),
}


@functools.cache
def _type_hints(cls: type) -> dict[str, Any]:
    # Resolving string annotations is most of the cost of building a scenario; do it once.
    return typing.get_type_hints(cls)


def build(cls: type, value: Any, path: str) -> Any:
    """Convert a dict to dataclass `cls`, checking every field's type; raises ConfigError."""
    if not isinstance(value, dict):
        raise ConfigError(path or cls.__name__, f"a table of {cls.__name__} fields", value)
    hints = _type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in value:
        replaced = REMOVED_FIELDS.get((cls.__name__, key))
        if key not in fields and replaced is not None:
            raise ConfigError(f"{path}.{key}", f"no {key} (a field of earlier versions): "
                              f"{replaced}")
        if key not in fields:
            raise ConfigError(
                f"{path}.{key}", f"a field of {cls.__name__} (one of {sorted(fields)})"
            )
    kwargs = {}
    for name, f in fields.items():
        if name in value:
            kwargs[name] = _convert(hints[name], value[name], f"{path}.{name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{path}.{name}", "a value (this field is required)")
    return cls(**kwargs)


# No quantity of the model comes near this (world magnet demand is ~2e5 t a year); past it,
# sums and products of tonnes and prices overflow or lose all precision.
MAX_MAGNITUDE = 1e15


def _check_magnitude(path: str, value: float) -> None:
    if not math.isfinite(value):
        raise ConfigError(path, "a finite number (not nan or inf)", value)
    if abs(value) > MAX_MAGNITUDE:
        raise ConfigError(path, f"a number of magnitude at most {MAX_MAGNITUDE:g}", value)


def _convert(tp: Any, value: Any, path: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (types.UnionType, typing.Union):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _convert(inner[0], value, path)
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(path, f"one of {list(args)}", value)
        return value
    if dataclasses.is_dataclass(tp):
        return build(tp, value, path)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(path, "a list", value)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(args[0], v, f"{path}[{i}]") for i, v in enumerate(value))
        if len(value) != len(args):
            raise ConfigError(path, f"a list of {len(args)} values", value)
        return tuple(_convert(a, v, f"{path}[{i}]") for i, (a, v) in enumerate(zip(args, value, strict=True)))
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(path, "a table", value)
        return {str(k): _convert(args[1], v, f"{path}.{k}") for k, v in value.items()}
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(path, "a number", value)
        _check_magnitude(path, value)
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(path, "a whole number", value)
        _check_magnitude(path, value)
        if value != int(value):
            raise ConfigError(path, "a whole number", value)
        return int(value)
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(path, "true or false", value)
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(path, "a string", value)
        return value
    if tp is dt.date:
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        raise ConfigError(path, "a date YYYY-MM-DD", value)
    raise TypeError(f"unsupported config type {tp!r} at {path}")
