"""State strategies: how a State changes its instruments from week to week.

A strategy is an object with `decide(state, model)`, called once a week after the dated events
of that week. Register a new one in `STRATEGIES` to make it available to scenario files
(`[[countries]] strategy = "name"`).
"""

from __future__ import annotations


class Scripted:
    """Follows the scenario's dated events and nothing else."""

    name = "scripted"

    def decide(self, state, model) -> None:
        return None


STRATEGIES: dict[str, type] = {Scripted.name: Scripted}


def make_strategy(name: str):
    return STRATEGIES[name]()
