"""The licence office of one State for one good: a queue of applications, reviewed in order.

An *application* is one exporter's request to ship one batch to one buyer (a count, carrying
tonnes): each week an exporter files one application per buyer link and grade it ships
under licence. An application becomes due `review` weeks after it was filed (gamma
distributed around the regime's mean), and due applications are decided in order of due time
until the week's capacity `review_capacity_t_per_week` is used (a flood of applications builds
a backlog). A decided application is approved with the probability of its destination, sector,
exporter and grade (`abm.model.ExportControlModel` derives it per link from the regime), or
refused: the exporter files it again after `refile_weeks`, as a new application with a new
review. The goods stay with the exporter meanwhile, counted once (as queued, never also as
stock on sale); the buyer counts them as on order.

The office holds arrays of pending applications only; decided ones leave the queue.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from abm.scenario.config import ExportControl

# Applications are kept in the order they were filed (appended when filed; deciding one keeps
# the others' order), so an application's position is its place in the queue.
_FIELDS = ("due", "filed", "first_filed", "quantity_t", "pair", "listed")



@dataclass
class Decisions:
    """Applications decided this week, one entry each: approved ones (pair, tonnes, listed
    grade or not) and refused ones (pair, tonnes, listed grade or not, refiled)."""

    approved_pair: np.ndarray
    approved_t: np.ndarray
    approved_listed: np.ndarray
    refused_pair: np.ndarray
    refused_t: np.ndarray
    refused_listed: np.ndarray
    waited_weeks: np.ndarray  # of the approved ones, since first filed


def _read_only(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


# A week in which nothing was due (shared: its arrays are empty and read-only).
NOTHING_DECIDED = Decisions(*(_read_only(np.empty(0, dtype=dtype))
                              for dtype in (np.int64, float, bool, np.int64, float, bool, float)))


def review_weeks(control: ExportControl, n: int, rng) -> np.ndarray:
    """Review times of `n` applications (weeks): gamma with the regime's mean and spread."""
    mean, cv = control.review_weeks, control.review_cv
    if mean <= 0:
        return np.zeros(n)
    if cv <= 0:
        return np.full(n, mean)
    shape = 1.0 / cv**2
    return rng.gamma(shape, mean / shape, size=n)


class LicenceOffice:
    """Pending applications of one (State, good) and the rules for deciding them."""

    def __init__(self, control: ExportControl, state_code: str = "", good: str = ""):
        self.control = control
        self.state_code, self.good = state_code, good
        self.due = np.empty(0)
        self.filed = np.empty(0)
        self.quantity_t = np.empty(0)
        self.pair = np.empty(0, dtype=np.int64)
        self.listed = np.empty(0, dtype=bool)
        self.first_filed = np.empty(0)
        self.congestion_weeks = 0.0  # tonnes due but not yet decided, in weeks of capacity
        self.capacity_scale = 1.0  # market growth since the office opened
        self.decided_t = 0.0  # tonnes decided since the office opened (its experience)
        # The wait buyers plan with on each link, once known (`ExportControlModel`).
        self.planned_wait: np.ndarray | None = None

    @property
    def capacity_t_per_week(self) -> float:
        """Tonnes the office decides a week: the regime's capacity, grown with the market since
        the office opened, and with its experience: learning by doing, the capacity rises by
        the factor `(1 + decided / a year of decisions at the opening capacity) ** learning`
        (`ExportControl.review_learning`; 0: no learning)."""
        base = self.control.review_capacity_t_per_week
        learning = self.control.review_learning
        if learning:
            return base * self.capacity_scale * (1.0 + self.decided_t / (52.0 * base)) ** learning
        return base * self.capacity_scale

    @property
    def backlog_t(self) -> float:
        return float(self.quantity_t.sum())

    @property
    def backlog_applications(self) -> int:
        return int(self.quantity_t.size)

    def file(self, now: float, pair: np.ndarray, quantity_t: np.ndarray, listed: np.ndarray,
             rng) -> None:
        """File one application per entry (pair, tonnes, listed grade or not)."""
        if pair.size == 0:
            return
        review = review_weeks(self.control, pair.size, rng)
        self.due = np.concatenate([self.due, now + review])
        self.filed = np.concatenate([self.filed, np.full(pair.size, now)])
        self.first_filed = np.concatenate([self.first_filed, np.full(pair.size, now)])
        self.quantity_t = np.concatenate([self.quantity_t, quantity_t])
        self.pair = np.concatenate([self.pair, pair])
        self.listed = np.concatenate([self.listed, np.broadcast_to(listed, pair.shape)])

    def review(self, now: float, approval_listed: np.ndarray, approval_unlisted: np.ndarray,
               rng) -> Decisions:
        """Decide due applications up to capacity. `approval_listed[pair]` and
        `approval_unlisted[pair]` are each link's probabilities of approval for an
        application of a listed grade and of another grade, under the current policy.
        Refused applications are filed again (`refile_weeks` later, a new review)."""
        due_idx = (self.due <= now).nonzero()[0]
        if due_idx.size == 0:
            self.congestion_weeks = 0.0
            return NOTHING_DECIDED
        # By due time; applications due together in the order they were filed (a stable sort
        # keeps their positions' order).
        due_idx = due_idx[np.argsort(self.due[due_idx], kind="stable")]
        # Capacity: applications are decided in order until the week's tonnage is used (the
        # office's throughput is stated in tonnes so that it does not depend on how finely a
        # scenario splits buyers into firms; counts are reported beside tonnes).
        due_t = self.quantity_t[due_idx]
        before = np.cumsum(due_t) - due_t
        due_idx = due_idx[before < self.capacity_t_per_week]
        pair, listed, quantity = self.pair[due_idx], self.listed[due_idx], self.quantity_t[due_idx]
        self.decided_t += float(quantity.sum())
        p = np.where(listed, approval_listed[pair], approval_unlisted[pair])
        large = self.control.large_application_t
        if large > 0:
            p = np.where(quantity > large, p * self.control.large_application_factor, p)
        approved = rng.random(due_idx.size) < p
        yes, no = due_idx[approved], due_idx[~approved]
        out = Decisions(
            approved_pair=self.pair[yes], approved_t=self.quantity_t[yes],
            approved_listed=self.listed[yes],
            refused_pair=self.pair[no], refused_t=self.quantity_t[no],
            refused_listed=self.listed[no],
            waited_weeks=now - self.first_filed[yes],
        )
        # Approved applications leave the queue; refused ones are filed again.
        keep = np.ones(self.due.size, dtype=bool)
        keep[due_idx] = False
        refile = {name: getattr(self, name)[no] for name in _FIELDS}
        for name in _FIELDS:
            setattr(self, name, getattr(self, name)[keep])
        if no.size:
            again = now + self.control.refile_weeks
            refile["filed"] = np.full(no.size, again)
            refile["due"] = again + review_weeks(self.control, no.size, rng)
            for name in _FIELDS:
                setattr(self, name, np.concatenate([getattr(self, name), refile[name]]))
        overdue = float(self.quantity_t[self.due <= now].sum())
        self.congestion_weeks = overdue / self.capacity_t_per_week
        return out

    def cancel(self, by_pair_t: np.ndarray) -> None:
        """Take `by_pair_t[pair]` tonnes out of each link's pending applications, newest first
        (an application emptied leaves the queue)."""
        if self.pair.size == 0:
            return
        want = by_pair_t[self.pair]
        if not (want > 0).any():
            return
        # Newest first within each link: order by link, then by filing time descending.
        order = np.lexsort((-self.filed, self.pair))
        pair, quantity = self.pair[order], self.quantity_t[order]
        starts = np.concatenate(([True], pair[1:] != pair[:-1]))
        cumulative = np.cumsum(quantity)
        before = cumulative - quantity
        first = np.maximum.accumulate(np.where(starts, np.arange(pair.size), 0))
        taken_before = before - before[first]
        cut = np.clip(by_pair_t[pair] - taken_before, 0.0, quantity)
        left = np.empty_like(quantity)
        left[order] = quantity - cut
        keep = left > 1e-12
        self.quantity_t = left
        for name in _FIELDS:
            setattr(self, name, getattr(self, name)[keep])

    def withdraw_all(self) -> tuple[np.ndarray, np.ndarray]:
        """Empty the queue (the control was lifted): pending quantities by pair, to ship."""
        pair, quantity = self.pair, self.quantity_t
        for name in _FIELDS:
            setattr(self, name, getattr(self, name)[:0])
        return pair, quantity
