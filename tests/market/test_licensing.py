"""The licence office: review times, FIFO within capacity, approval probabilities."""

from __future__ import annotations

import numpy as np

from abm.market.licensing import LicenceOffice
from abm.scenario.config import ExportControl


def test_applications_wait_their_review_time_then_are_decided_fifo_within_capacity():
    office = LicenceOffice(ExportControl(review_weeks=3.0, review_cv=0.0,
                                         review_capacity_t_per_week=25.0))
    rng = np.random.default_rng(0)
    office.file(0.0, np.array([0, 1, 2]), np.array([10.0, 10.0, 10.0]), rng)
    approve_all = np.ones(3)
    assert office.review(2.0, approve_all, rng).approved_t.size == 0
    first = office.review(3.0, approve_all, rng)
    # Capacity 25 t: the first three 10 t applications start under capacity (0, 10, 20 t).
    assert first.approved_pair.tolist() == [0, 1, 2]
    office.file(3.0, np.array([0, 1, 2, 0]), np.full(4, 10.0), rng)
    decided = office.review(6.0, approve_all, rng)
    assert decided.approved_pair.tolist() == [0, 1, 2]
    assert office.backlog_t == 10.0
    assert np.allclose(decided.waited_weeks, 3.0)


def test_approval_probability_is_respected_on_average():
    office = LicenceOffice(ExportControl(review_weeks=0.0))
    rng = np.random.default_rng(1)
    office.file(0.0, np.zeros(20_000, dtype=np.int64), np.ones(20_000), rng)
    decided = office.review(0.0, np.array([0.25]), rng)
    share = decided.approved_t.sum() / 20_000
    assert abs(share - 0.25) < 0.01
    assert decided.approved_t.sum() + decided.refused_t.sum() == 20_000


def test_review_times_have_the_configured_mean_and_spread():
    office = LicenceOffice(ExportControl(review_weeks=9.0, review_cv=0.3))
    rng = np.random.default_rng(2)
    office.file(0.0, np.zeros(50_000, dtype=np.int64), np.ones(50_000), rng)
    assert abs(office.due.mean() - 9.0) < 0.05
    assert abs(office.due.std() / office.due.mean() - 0.3) < 0.01
