"""Moving one infusion of a booked series re-flows the later ones within the rules; a move
the rules refuse changes nothing and says why."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from ketaflow.scheduling.booking import book_series, reflow
from ketaflow.scheduling.chains import problem_with
from ketaflow.scheduling.model import Booking
from ketaflow.scheduling.rules import check_plan
from tests.scheduling.calendars import MONDAY, at, nurse, problem, request, weekdays

SERIES = request(count=6, min_gap_hours=48, max_per_week=3, within_days=21)


def booked() -> tuple:  # type: ignore[type-arg]
    p = problem(days=28, shifts=tuple(nurse("n1", d) for d in weekdays(days=28)))
    options = book_series(p, SERIES)
    assert options.best is not None
    return p, options.best


def test_moving_the_third_reflows_the_rest() -> None:
    p, series = booked()
    assert [x.start for x in series] == [at(MONDAY + timedelta(days=d), 8)
                                         for d in (0, 2, 4, 7, 9, 11)]
    calendar = problem_with(p, series)  # the series itself is on the calendar
    friday = at(MONDAY + timedelta(days=4), 14)
    moved = reflow(calendar, SERIES, series, 2, friday)
    assert moved.reason is None and moved.best is not None
    starts = [x.start for x in moved.best]
    assert starts[:3] == [series[0].start, series[1].start, friday]
    assert starts[3:] == [at(MONDAY + timedelta(days=7), 8), at(MONDAY + timedelta(days=9), 8),
                          at(MONDAY + timedelta(days=11), 8)]
    later = reflow(calendar, SERIES, series, 2, at(MONDAY + timedelta(days=7), 10))
    assert later.best is not None
    assert [x.start for x in later.best][3:] == [
        at(MONDAY + timedelta(days=9), 10), at(MONDAY + timedelta(days=11), 10),
        at(MONDAY + timedelta(days=14), 8)]  # the week of the move holds 3, so Monday next
    for option in (moved.best, later.best):
        assert check_plan(replace(p, requests=(SERIES,)), list(option)) == []


def test_a_move_the_rules_refuse_changes_nothing() -> None:
    p, series = booked()
    calendar = problem_with(p, series)
    too_soon = reflow(calendar, SERIES, series, 2, at(MONDAY + timedelta(days=3), 7))
    assert too_soon.best is None and "opening hours" in (too_soon.reason or "")
    gap = reflow(calendar, SERIES, series, 2, at(MONDAY + timedelta(days=3), 7, 30) +
                 timedelta(hours=1))
    assert gap.best is None and "48 h after the previous" in (gap.reason or "")
    taken = replace(calendar, bookings=calendar.bookings + tuple(
        Booking(f"e{c}", "A", c, at(MONDAY + timedelta(days=4), 14), 120, "n2")
        for c in (1, 2, 3)))
    full = reflow(taken, SERIES, series, 2, at(MONDAY + timedelta(days=4), 14))
    assert full.best is None and full.reason == "no chair or nurse is free at the new time"
    late = reflow(calendar, SERIES, series, 5, at(MONDAY + timedelta(days=21), 8))
    assert late.best is None and late.reason == (
        "the series would end more than 21 days after its first infusion")
