"""The licence office of one State for one good: a queue of applications, reviewed FIFO.

Each application is one shipment batch (exporter -> buyer, tonnes). It becomes due for review
`review` weeks after it was filed (drawn from a gamma distribution around the regime's mean),
and due applications are decided in order of due time until the week's review capacity (tonnes)
is used. A decided application is approved with the probability of its destination and sector.
The office holds arrays of pending applications only; decided ones leave the queue.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from abm.scenario.config import ExportControl

# Applications are kept in the order they were filed (appended when filed; deciding one keeps
# the others' order), so an application's position is its place in the queue.
_FIELDS = ("due", "filed", "quantity_t", "pair")


@dataclass
class Decisions:
    """Applications decided this week: approved and refused quantities by pair index."""

    approved_pair: np.ndarray
    approved_t: np.ndarray
    refused_pair: np.ndarray
    refused_t: np.ndarray
    waited_weeks: np.ndarray


def _read_only(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


# A week in which nothing was due (shared: its arrays are empty and read-only).
NOTHING_DECIDED = Decisions(*(_read_only(np.empty(0, dtype=dtype))
                              for dtype in (np.int64, float, np.int64, float, float)))


class LicenceOffice:
    """Pending applications of one (State, good) and the rules for deciding them."""

    def __init__(self, control: ExportControl):
        self.control = control
        self.due = np.empty(0)
        self.filed = np.empty(0)
        self.quantity_t = np.empty(0)
        self.pair = np.empty(0, dtype=np.int64)

    @property
    def backlog_t(self) -> float:
        return float(self.quantity_t.sum())

    @property
    def backlog_applications(self) -> int:
        return int(self.quantity_t.size)

    def file(self, now: float, pair: np.ndarray, quantity_t: np.ndarray, rng) -> None:
        """File one application per pair for `quantity_t`; review times drawn from `rng`."""
        if pair.size == 0:
            return
        mean = self.control.review_weeks
        cv = self.control.review_cv
        if mean <= 0:
            review = np.zeros(pair.size)
        elif cv <= 0:
            review = np.full(pair.size, mean)
        else:
            shape = 1.0 / cv**2
            review = rng.gamma(shape, mean / shape, size=pair.size)
        self.due = np.concatenate([self.due, now + review])
        self.filed = np.concatenate([self.filed, np.full(pair.size, now)])
        self.quantity_t = np.concatenate([self.quantity_t, quantity_t])
        self.pair = np.concatenate([self.pair, pair])

    def review(self, now: float, approval_p: np.ndarray, rng) -> Decisions:
        """Decide due applications up to capacity. `approval_p[pair]` is each pair's
        probability of approval under the current policy."""
        due_idx = (self.due <= now).nonzero()[0]
        if due_idx.size == 0:
            return NOTHING_DECIDED
        # By due time; applications due together in the order they were filed (a stable sort
        # keeps their positions' order).
        due_idx = due_idx[np.argsort(self.due[due_idx], kind="stable")]
        due_t = self.quantity_t[due_idx]
        cumulative_before = np.cumsum(due_t) - due_t
        decided = due_idx[cumulative_before < self.control.review_capacity_t_per_week]
        approved = rng.random(decided.size) < approval_p[self.pair[decided]]
        yes, no = decided[approved], decided[~approved]
        out = Decisions(
            approved_pair=self.pair[yes],
            approved_t=self.quantity_t[yes],
            refused_pair=self.pair[no],
            refused_t=self.quantity_t[no],
            waited_weeks=now - self.filed[decided],
        )
        keep = np.ones(self.due.size, dtype=bool)
        keep[decided] = False
        for name in _FIELDS:
            setattr(self, name, getattr(self, name)[keep])
        return out

    def withdraw_all(self) -> tuple[np.ndarray, np.ndarray]:
        """Empty the queue (the control was lifted): pending quantities by pair, to ship."""
        pair, quantity = self.pair, self.quantity_t
        for name in _FIELDS:
            setattr(self, name, getattr(self, name)[:0])
        return pair, quantity
