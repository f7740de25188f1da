"""The one grammar for naming fields of a scenario, used by every tool that sets one: scenario
overrides (`abm.override`), sweep specs, `abm.model_function`, the EMA adapter and the
dashboard's levers.

A path is read against the scenario's TOML-shaped dict (`abm.scenario.load.to_dict`):

    market.halt_threshold                        a table's field (header fields such as `end`
                                                 may leave out `scenario.`)
    events[3].control.approval                   a list element by index
    buyers[*].cover_weeks                        every element of a list
    events[label="London framework"].changes     elements chosen by their fields: every element
    buyers[country=USA, sector=automotive]       whose fields all have these values (values
    events[kind=licence_policy, good=ai_chip]    quoted or bare words)
    changes["approval_by_destination.USA"]       a key that holds dots, quoted ...
    changes.approval_by_destination.USA          ... or written plainly, when the table has it

`[*]` and selectors may match several elements: the path then names every match. A path that
names nothing (a misspelt field, a selector no element satisfies, an index past the end) is a
`PathError` naming the path and the nearest valid names.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

Key = str | int  # one step of a concrete path: a table's key or a list's index


class PathError(ValueError):
    """A path cannot be read or names nothing; `path` is the path as given, `expected` says
    what was expected there (with the nearest valid names)."""

    def __init__(self, path: str, expected: str):
        self.path = path
        self.expected = expected
        super().__init__(f"{path}: expected {expected}")


@dataclass(frozen=True)
class Name:
    key: str


@dataclass(frozen=True)
class Index:
    index: int


@dataclass(frozen=True)
class Star:
    pass


@dataclass(frozen=True)
class Select:
    pairs: tuple[tuple[str, str], ...]  # (field, value), all must hold

    def text(self) -> str:
        return ", ".join(f'{f}="{v}"' for f, v in self.pairs)


Token = Name | Index | Star | Select

_NAME = re.compile(r"[^.\[\]\"'=,\s]+")
_SELECT_PAIR = re.compile(r"\s*([A-Za-z_]\w*)\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s,\"'\]]+))\s*")


def parse(path: str) -> tuple[Token, ...]:
    """The tokens of `path`; PathError if it is not written in the grammar."""
    if not isinstance(path, str) or not path.strip():
        raise PathError(repr(path), "a field path such as market.halt_threshold")
    tokens: list[Token] = []
    pos = 0
    while pos < len(path):
        char = path[pos]
        if char == "[":
            end = _closing(path, pos)
            tokens.append(_bracket(path, path[pos + 1:end]))
            pos = end + 1
            continue
        if char == ".":
            if not tokens:
                raise PathError(path, "a field name before the first '.'")
            pos += 1
        elif tokens:
            raise PathError(path, f"'.' or '[' at position {pos}, got {char!r}")
        match = _NAME.match(path, pos)
        if match is None:
            raise PathError(path, f"a field name at position {pos}")
        tokens.append(Name(match.group(0)))
        pos = match.end()
    return tuple(tokens)


def _closing(path: str, start: int) -> int:
    quote = None
    for i in range(start + 1, len(path)):
        char = path[i]
        if quote:
            quote = None if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == "]":
            return i
    raise PathError(path, f"a ']' closing the '[' at position {start}")


def _bracket(path: str, inner: str) -> Token:
    text = inner.strip()
    if text == "*":
        return Star()
    if text.isdigit():
        return Index(int(text))
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'" and text[0] not in text[1:-1]:
        return Name(text[1:-1])
    pairs = []
    pos = 0
    while pos < len(inner):
        match = _SELECT_PAIR.match(inner, pos)
        if match is None:
            raise PathError(path, f"an index, [*], a quoted key or field=value selectors in "
                            f"[{inner}]")
        value = next(g for g in match.groups()[1:] if g is not None)
        pairs.append((match.group(1), value))
        pos = match.end()
        if pos < len(inner):
            if inner[pos] != ",":
                raise PathError(path, f"selectors separated by ',' in [{inner}]")
            pos += 1
    return Select(tuple(pairs))


def text(keys: tuple[Key, ...]) -> str:
    """The canonical text of a concrete path: `events[3].changes["approval_by_destination.USA"]`."""
    out = ""
    for key in keys:
        if isinstance(key, int):
            out += f"[{key}]"
        elif not _NAME.fullmatch(key):
            out += f'["{key}"]'
        else:
            out += f".{key}" if out else key
    return out


def key_text(key: str) -> str:
    """A table key as the next step of a path (`.name`, or `["a.b"]` for a key with dots)."""
    return text(("x", key))[1:]


def _root(raw: dict[str, Any], first: Key) -> Any:
    """Header fields (`name`, `end`, ...) may be written without `scenario.`."""
    header = raw.get("scenario")
    if isinstance(first, str) and first not in raw and isinstance(header, dict) and first in header:
        return header
    return raw


def get(raw: dict[str, Any], keys: tuple[Key, ...]) -> Any:
    node: Any = _root(raw, keys[0]) if keys else raw
    for key in keys:
        node = node[key]
    return node


def put(raw: dict[str, Any], keys: tuple[Key, ...], value: Any) -> None:
    """Set the value at a concrete path (found by `resolve`) in place."""
    node = get(raw, keys[:-1]) if len(keys) > 1 else _root(raw, keys[0])
    node[keys[-1]] = value


def resolve(raw: dict[str, Any], path: str, *, new_keys: bool = False) -> list[tuple[Key, ...]]:
    """Every concrete path (a tuple of keys and indices) that `path` names in `raw`, in order.
    PathError if a step names nothing, with the nearest valid names. With `new_keys`, the last
    step may add a key to a table of names to numbers (sourcing shares, approvals by
    destination), which may gain keys."""
    tokens = parse(path)
    first = tokens[0]
    node = _root(raw, first.key) if isinstance(first, Name) else raw
    matches = list(_walk(node, tokens, 0, (), path, new_keys))
    if not matches:
        raise PathError(path, "a path that matches at least one field (a [*] or selector "
                        "matched an empty list)")
    return matches


def _walk(node: Any, tokens: tuple[Token, ...], i: int, keys: tuple[Key, ...], path: str,
          new_keys: bool) -> Iterator[tuple[Key, ...]]:
    if i == len(tokens):
        yield keys
        return
    token = tokens[i]
    where = text(keys) or "the scenario"
    if isinstance(token, Name):
        if not isinstance(node, dict):
            raise PathError(path, _not_a_table(node, where, token.key))
        # A key holding dots may be written plainly: take the longest run of names it spells.
        for j in range(len(tokens), i, -1):
            run = tokens[i:j]
            if all(isinstance(t, Name) for t in run):
                key = ".".join(t.key for t in run)
                if key in node:
                    yield from _walk(node[key], tokens, j, (*keys, key), path, new_keys)
                    return
        rest = tokens[i:]
        if new_keys and all(isinstance(t, Name) for t in rest) and _is_mapping_leaf(node):
            yield (*keys, ".".join(t.key for t in rest))
            return
        raise PathError(path, f"an existing field of {where}, not {token.key!r}"
                        f"{_nearest(token.key, [str(k) for k in node])}")
    if not isinstance(node, list | tuple):
        raise PathError(path, f"a list at {where} for [{_token_text(token)}], but it is "
                        f"{_kind(node)}")
    if isinstance(token, Index):
        if token.index >= len(node):
            raise PathError(path, f"an index into {where}, which has {len(node)} elements "
                            f"(0 to {len(node) - 1}), not {token.index}")
        yield from _walk(node[token.index], tokens, i + 1, (*keys, token.index), path, new_keys)
        return
    if isinstance(token, Star):
        chosen = list(range(len(node)))
    else:
        chosen = [k for k, item in enumerate(node) if isinstance(item, dict)
                  and all(f in item and str(item[f]) == v for f, v in token.pairs)]
        if not chosen:
            raise PathError(path, f"an element of {where} with {token.text()}; "
                            f"{_nearest_elements(node, token)}")
    for k in chosen:
        yield from _walk(node[k], tokens, i + 1, (*keys, k), path, new_keys)


def _token_text(token: Token) -> str:
    if isinstance(token, Index):
        return str(token.index)
    return "*" if isinstance(token, Star) else token.text()


def _kind(node: Any) -> str:
    if isinstance(node, dict):
        return "a table"
    if isinstance(node, list | tuple):
        return "a list"
    return f"the value {node!r}"


def _not_a_table(node: Any, where: str, key: str) -> str:
    if isinstance(node, list | tuple):
        return (f"a table at {where} for .{key}, but it is a list: choose its elements with "
                f"[index], [*] or [field=value]")
    return f"a table at {where} for .{key}, but it is {_kind(node)}"


def _nearest(word: str, names: list[str]) -> str:
    if not names:
        return " (it has no fields)"
    close = difflib.get_close_matches(word, names, n=3, cutoff=0.5)
    if close:
        return f" (nearest: {', '.join(close)})"
    shown = sorted(names)
    more = f", ... ({len(shown)} in all)" if len(shown) > 12 else ""
    return f" (valid: {', '.join(shown[:12])}{more})"


def _nearest_elements(items: list | tuple, select: Select) -> str:
    """What the elements have instead: for a field no element has, the nearest fields; for a
    value no element has, the nearest values; for a combination, the nearest combinations."""
    fields = sorted({str(f) for item in items if isinstance(item, dict) for f in item})
    for name, value in select.pairs:
        if name not in fields:
            return f"no element has a field {name!r}{_nearest(name, fields)}"
        values = sorted({str(item[name]) for item in items
                         if isinstance(item, dict) and name in item})
        if value not in values:
            return f"no element has {name}={value!r}{_nearest(value, values)}"
    combos = sorted({", ".join(f"{f}={item.get(f)!s}" for f, _ in select.pairs)
                     for item in items if isinstance(item, dict)})
    wanted = ", ".join(f"{f}={v}" for f, v in select.pairs)
    close = difflib.get_close_matches(wanted, combos, n=5, cutoff=0.0)
    return f"no element has them all (nearest: {'; '.join(close)})"


def _is_mapping_leaf(node: dict) -> bool:
    return bool(node) and all(isinstance(v, int | float) and not isinstance(v, bool)
                              for v in node.values())
