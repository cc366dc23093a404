"""Re-planning a week in place: which bookings break a rule after the rota changed, and the
most of them kept at their times with another nurse or chair, verified by `check_plan`."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from ketaflow.scheduling.model import Booking, Problem
from ketaflow.scheduling.replan import broken, keep_in_place, verify
from tests.scheduling.calendars import MONDAY, at, nurse, problem, site

WEEK = (at(MONDAY, 0), at(MONDAY + timedelta(days=7), 0))


def booking(patient: str, hh: int, chair: int, staff: str | None, day: int = 0) -> Booking:
    return Booking(patient, "A", chair, at(MONDAY + timedelta(days=day), hh), 120, staff)


def two_nurses_monday(*bookings: Booking, chairs: int = 3) -> Problem:
    return problem(sites=(site(chairs=chairs),), days=7, bookings=bookings,
                   shifts=(nurse("n1", MONDAY), nurse("n2", MONDAY)))


def test_a_calendar_within_the_rules_has_nothing_to_re_plan() -> None:
    p = two_nurses_monday(booking("p1", 9, 1, "n1"), booking("p2", 9, 2, "n1"),
                          booking("p3", 9, 3, "n2"))
    assert broken(p, *WEEK) == []


def test_the_leave_of_a_nurse_breaks_her_infusions_and_another_nurse_takes_them() -> None:
    # n3's shift was cancelled: her infusion has nobody; n1 watches two (ratio 1:2), n2 none.
    p = two_nurses_monday(booking("p1", 9, 1, "n1"), booking("p2", 9, 2, "n1"),
                          booking("p3", 9, 3, "n3"))
    assert broken(p, *WEEK) == [2]
    [kept] = keep_in_place(p, [2])
    assert (kept.index, kept.chair, kept.nurse) == (2, 3, "n2")
    assert verify(p, [2], [kept]) == []


def test_with_every_nurse_full_the_infusion_cannot_stay() -> None:
    # Ratio 1:2 and two nurses: a fifth patient at nine has no one to watch her.
    p = two_nurses_monday(*(booking(f"p{i}", 9, i, "n1" if i <= 2 else "n2")
                            for i in range(1, 5)), booking("p5", 9, 5, "n3"), chairs=5)
    # Five infusing where two nurses may watch four: all five take part in the breach.
    assert broken(p, *WEEK) == [0, 1, 2, 3, 4]
    kept = keep_in_place(p, broken(p, *WEEK))
    # The four with their own nurse and chair stay as they were; the fifth must move.
    assert [(k.index, k.chair, k.nurse) for k in kept] == [
        (i, i + 1, p.bookings[i].nurse) for i in range(4)]


def test_a_closure_cannot_be_mended_by_a_nurse_or_a_chair() -> None:
    p = two_nurses_monday(booking("p1", 9, 1, "n1"))
    closed = replace(p, sites=(site(closures=frozenset({MONDAY})),))
    assert broken(closed, *WEEK) == [0]
    assert keep_in_place(closed, [0]) == []


def test_the_plan_keeps_the_chair_where_it_can() -> None:
    # Two broken at different times: both keep chair 3; at 8:00 only n2 is free.
    p = two_nurses_monday(booking("p1", 8, 1, "n1"), booking("p2", 9, 2, "n1"),
                          booking("p3", 8, 3, "gone"), booking("p4", 12, 3, "gone"))
    assert broken(p, *WEEK) == [2, 3]
    kept = keep_in_place(p, [2, 3])
    assert [(k.index, k.chair) for k in kept] == [(2, 3), (3, 3)] and kept[0].nurse == "n2"
    assert verify(p, [2, 3], kept) == []


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(8, 16), st.integers(1, 3),
                          st.sampled_from(["n1", "n2", "gone"])), min_size=1, max_size=8))
def test_whatever_is_kept_passes_the_independent_checker(
        rows: list[tuple[int, int, str]]) -> None:
    p = two_nurses_monday(*(booking(f"p{i}", hh, chair, staff)
                            for i, (hh, chair, staff) in enumerate(rows)))
    found = broken(p, *WEEK)
    kept = keep_in_place(p, found)
    assert {k.index for k in kept} <= set(found)
    assert verify(p, found, kept) == []
