"""How large a scenario file may be before it must be asked for explicitly.

A scenario is small data: the built-in ones have at most 28 events, descriptions of about a
hundred characters and chains of `extends` two or three deep. Past the limits below a file is
almost surely a mistake (or a probe), and each extra event costs a run time in its figures, so
the loader refuses it, naming the file and the field, unless the caller passes `allow_large`
(`--allow-large` on the command line). The depth of `extends` has a ceiling even then: each
base is a level of recursion.
"""

from __future__ import annotations

from typing import Any

MAX_FILE_BYTES = 16 * 2**20
MAX_EVENTS = 1_000
MAX_DESCRIPTION_CHARS = 10_000
MAX_TEXT_CHARS = 1_000
MAX_EXTENDS_DEPTH = 32
# With allow_large: deep enough for any real use, far from Python's recursion limit.
CEILING_EXTENDS_DEPTH = 200

ALLOW = "; pass --allow-large to load it anyway"


def extends_depth(allow_large: bool) -> int:
    return CEILING_EXTENDS_DEPTH if allow_large else MAX_EXTENDS_DEPTH


def file_too_large(size: int, allow_large: bool) -> str | None:
    """What was expected, if a file of `size` bytes is too large to read."""
    if size > MAX_FILE_BYTES and not allow_large:
        return (f"expected a scenario file of at most {MAX_FILE_BYTES // 2**20} MiB, got "
                f"{size / 2**20:,.1f} MiB{ALLOW}")
    return None


def too_many_events(raw: dict[str, Any], allow_large: bool) -> str | None:
    """What was expected, if the scenario's `[[events]]` are too many."""
    events = raw.get("events")
    if isinstance(events, list) and len(events) > MAX_EVENTS and not allow_large:
        return f"expected at most {MAX_EVENTS:,} events in a scenario, got {len(events):,}{ALLOW}"
    return None


def long_text(raw: dict[str, Any], allow_large: bool) -> tuple[str, str] | None:
    """The path of the first text field that is too long, and what was expected."""
    if allow_large:
        return None
    stack: list[tuple[str, Any]] = [("", raw)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            for key in value:
                if len(key) > MAX_TEXT_CHARS:
                    return path or "(top level)", (f"expected field names of at most "
                                                   f"{MAX_TEXT_CHARS:,} characters, got one of "
                                                   f"{len(key):,}{ALLOW}")
            stack.extend((f"{path}.{key}" if path else str(key), v) for key, v in value.items())
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", v) for i, v in enumerate(value))
        elif isinstance(value, str):
            limit = MAX_DESCRIPTION_CHARS if path.endswith("description") else MAX_TEXT_CHARS
            if len(value) > limit:
                return path, (f"expected a text of at most {limit:,} characters, got "
                              f"{len(value):,}{ALLOW}")
    return None
