"""The licence office: review times, decisions in order within capacity, approval
probabilities by grade, refusals filed again, and the waits it shows."""

from __future__ import annotations

import numpy as np

from abm.market.licensing import LicenceOffice
from abm.scenario.config import ExportControl


def test_applications_wait_their_review_time_then_are_decided_in_order_within_capacity():
    office = LicenceOffice(ExportControl(review_weeks=3.0, review_cv=0.0,
                                         review_capacity_t_per_week=25.0))
    rng = np.random.default_rng(0)
    office.file(0.0, np.array([0, 1, 2]), np.array([10.0, 10.0, 10.0]), True, rng)
    approve_all = np.ones(3)
    assert office.review(2.0, approve_all, approve_all, rng).approved_t.size == 0
    first = office.review(3.0, approve_all, approve_all, rng)
    # Capacity 25 t: the first three 10 t applications start under capacity (0, 10, 20 t).
    assert first.approved_pair.tolist() == [0, 1, 2]
    office.file(3.0, np.array([0, 1, 2, 0]), np.full(4, 10.0), True, rng)
    decided = office.review(6.0, approve_all, approve_all, rng)
    assert decided.approved_pair.tolist() == [0, 1, 2]
    assert office.backlog_t == 10.0 and office.backlog_applications == 1
    assert np.allclose(decided.waited_weeks, 3.0)


def test_approval_probability_is_respected_on_average_and_refusals_are_filed_again():
    office = LicenceOffice(ExportControl(review_weeks=0.0, refile_weeks=2.0))
    rng = np.random.default_rng(1)
    n = 20_000
    office.file(0.0, np.zeros(n, dtype=np.int64), np.ones(n), True, rng)
    decided = office.review(0.0, np.array([0.25]), np.array([1.0]), rng)
    assert abs(decided.approved_t.sum() / n - 0.25) < 0.01
    assert decided.approved_t.sum() + decided.refused_t.sum() == n
    # Refused applications stay in the queue, due again after the refiling wait.
    assert office.backlog_applications == decided.refused_t.size
    assert office.review(1.0, np.array([1.0]), np.array([1.0]), rng).approved_t.size == 0
    again = office.review(2.0, np.array([1.0]), np.array([1.0]), rng)
    assert again.approved_t.size == decided.refused_t.size
    # An approved application's wait runs from its first filing, not its refiling.
    assert np.allclose(again.waited_weeks, 2.0)
    assert office.backlog_applications == 0


def test_unlisted_grades_are_decided_with_their_own_probability():
    office = LicenceOffice(ExportControl(review_weeks=0.0))
    rng = np.random.default_rng(3)
    n = 10_000
    office.file(0.0, np.zeros(n, dtype=np.int64), np.ones(n), True, rng)
    office.file(0.0, np.zeros(n, dtype=np.int64), np.ones(n), False, rng)
    decided = office.review(0.0, np.array([0.0]), np.array([1.0]), rng)
    assert decided.approved_listed.sum() == 0
    assert decided.approved_t.sum() == n  # every unlisted one, no listed one
    assert decided.refused_listed.all() and decided.refused_t.sum() == n


def test_large_applications_are_approved_less_often():
    office = LicenceOffice(ExportControl(review_weeks=0.0, large_application_t=5.0,
                                         large_application_factor=0.5))
    rng = np.random.default_rng(4)
    n = 20_000
    sizes = np.where(np.arange(n) % 2 == 0, 1.0, 10.0)
    office.file(0.0, np.zeros(n, dtype=np.int64), sizes, True, rng)
    decided = office.review(0.0, np.array([0.8]), np.array([1.0]), rng)
    small = (decided.approved_t == 1.0).sum() / (n / 2)
    large = (decided.approved_t == 10.0).sum() / (n / 2)
    assert abs(small - 0.8) < 0.02 and abs(large - 0.4) < 0.02


def test_review_times_have_the_configured_mean_and_spread():
    office = LicenceOffice(ExportControl(review_weeks=9.0, review_cv=0.3))
    rng = np.random.default_rng(2)
    office.file(0.0, np.zeros(50_000, dtype=np.int64), np.ones(50_000), True, rng)
    assert abs(office.due.mean() - 9.0) < 0.05
    assert abs(office.due.std() / office.due.mean() - 0.3) < 0.01


def test_an_office_that_learns_decides_more_as_it_gains_experience():
    control = ExportControl(review_weeks=0.0, review_capacity_t_per_week=10.0, review_learning=0.5)
    office = LicenceOffice(control)
    rng = np.random.default_rng(5)
    assert office.capacity_t_per_week == 10.0
    office.file(0.0, np.zeros(2_000, dtype=np.int64), np.ones(2_000), True, rng)
    decided = []
    for week in range(60):
        out = office.review(float(week), np.array([1.0]), np.array([1.0]), rng)
        decided.append(out.approved_t.sum())
    # After a year's worth of decisions at the opening capacity (520 t), capacity is 2 ** 0.5
    # times the opening one; the office decides more each week as it learns.
    assert office.decided_t == sum(decided)
    expected = 10.0 * (1.0 + office.decided_t / 520.0) ** 0.5
    assert office.capacity_t_per_week == expected
    assert decided[-1] > decided[0] * 1.3
    # Without learning the capacity stays put.
    still = LicenceOffice(ExportControl(review_weeks=0.0, review_capacity_t_per_week=10.0))
    still.file(0.0, np.zeros(100, dtype=np.int64), np.ones(100), True, rng)
    still.review(0.0, np.array([1.0]), np.array([1.0]), rng)
    assert still.capacity_t_per_week == 10.0
