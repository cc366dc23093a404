"""Every rule exact at its edge on hand-made calendars: both solvers refuse what the
independent checker refuses, and the checker names the rule."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import pytest

from ketaflow.scheduling.booking import book_series
from ketaflow.scheduling.chains import FULL
from ketaflow.scheduling.cpsat import solve_cpsat
from ketaflow.scheduling.greedy import solve_greedy
from ketaflow.scheduling.model import Booking, Placement, Plan, Problem, Role
from ketaflow.scheduling.rules import check_plan
from tests.scheduling.calendars import (
    MONDAY,
    at,
    nurse,
    placed_series,
    problem,
    request,
    site,
    weekdays,
)

Solver = Callable[[Problem], Plan]
SOLVERS: dict[str, Solver] = {"greedy": solve_greedy,
                              "cp-sat": lambda p: solve_cpsat(p, time_limit_s=5)}
both = pytest.mark.parametrize("solve", SOLVERS.values(), ids=SOLVERS.keys())
WEDNESDAY, FRIDAY = MONDAY + timedelta(days=2), MONDAY + timedelta(days=4)


def rules_of(p: Problem, placements: list[Placement]) -> set[str]:
    return {v.rule for v in check_plan(p, placements)}


def one(p: Problem, start: datetime, *, chair: int = 1, nurse_id: str = "n1",
        index: int = 0) -> Placement:
    r = p.requests[index]
    return Placement(index, r.patient, r.site_id, chair, nurse_id, start, r.minutes)


# ------------------------------------------------------------------ ratio
def nine_o_clock(patients: int) -> Problem:
    """Three chairs, one nurse (ratio 2) on Monday, requests that can only start at 09:00."""
    return problem(days=1, shifts=(nurse("n1", MONDAY),), requests=tuple(
        request(f"p{i}", after=time(9), before=time(11)) for i in range(patients)))


@both
def test_the_third_infusion_with_one_nurse_at_ratio_two_is_refused(solve: Solver) -> None:
    p = nine_o_clock(3)
    plan = solve(p)
    assert len(placed_series(plan.placements)) == 2
    assert [u.reason for u in plan.unplaced] == [FULL]
    assert check_plan(p, plan.placements) == []
    assert {x.nurse for x in plan.placements} == {"n1"}


def test_the_checker_counts_the_third_infusing_patient() -> None:
    p = nine_o_clock(3)
    three = [one(p, at(MONDAY, 9), chair=c, index=c - 1) for c in (1, 2, 3)]
    assert rules_of(p, three[:2]) == set()
    assert rules_of(p, three) == {"ratio", "site-ratio"}  # 3 infusing, 1 nurse x 2


@both
def test_a_second_nurse_takes_the_third(solve: Solver) -> None:
    p = replace(nine_o_clock(3), shifts=(nurse("n1", MONDAY), nurse("n2", MONDAY)))
    plan = solve(p)
    assert placed_series(plan.placements) == {0, 1, 2}
    assert check_plan(p, plan.placements) == []


@both
def test_a_booking_without_a_nurse_still_counts_against_the_site(solve: Solver) -> None:
    held = Booking("p9", "A", 3, at(MONDAY, 9), 120, nurse=None)
    p = replace(nine_o_clock(2), bookings=(held,))
    plan = solve(p)
    assert len(placed_series(plan.placements)) == 1
    assert check_plan(p, plan.placements) == []
    assert rules_of(p, [one(p, at(MONDAY, 9)), one(p, at(MONDAY, 9), chair=2, index=1)]) == {
        "site-ratio"}


# ------------------------------------------------------------------ chair
@both
def test_a_taken_chair_moves_the_infusion_to_a_free_one(solve: Solver) -> None:
    taken = tuple(Booking(f"e{c}", "A", c, at(MONDAY, 9), 120, "n1") for c in (1, 2))
    p = replace(nine_o_clock(1), sites=(site(chairs=3, ratio=3),), bookings=taken)
    plan = solve(p)
    assert [(x.chair, x.start) for x in plan.placements] == [(3, at(MONDAY, 9))]
    assert rules_of(p, [one(p, at(MONDAY, 9), chair=2)]) == {"chair"}


# ------------------------------------------------------------------ gap
def gap_problem(gap_hours: float) -> Problem:
    """Only Monday and Wednesday 08:30-10:30 are possible: starts exactly 48 h apart."""
    return problem(shifts=tuple(nurse("n1", d) for d in weekdays()), requests=(
        request(count=2, min_gap_hours=gap_hours, days=frozenset({0, 2}), after=time(8, 30),
                before=time(10, 30), within_days=3),))


@both
def test_exactly_the_minimum_gap_is_allowed(solve: Solver) -> None:
    p = gap_problem(48)
    plan = solve(p)
    assert [x.start for x in plan.placements] == [at(MONDAY, 8, 30), at(WEDNESDAY, 8, 30)]
    assert check_plan(p, plan.placements) == []


@both
def test_one_slot_less_than_the_gap_is_refused(solve: Solver) -> None:
    p = gap_problem(48.5)
    plan = solve(p)
    assert plan.placements == ()
    assert "48.5 h apart" in plan.unplaced[0].reason
    assert rules_of(p, [one(p, at(MONDAY, 8, 30)), one(p, at(WEDNESDAY, 8, 30))]) == {"gap"}


# ------------------------------------------------------------------ closure and opening hours
@both
def test_nothing_is_booked_on_a_closure_day(solve: Solver) -> None:
    closed = site(closures=frozenset({WEDNESDAY}))
    p = problem(sites=(closed,), days=7, shifts=tuple(nurse("n1", d) for d in weekdays()),
                requests=(request(count=3, min_gap_hours=24, days=frozenset({0, 2, 4}),
                                  within_days=5),))
    plan = solve(p)
    assert plan.placements == ()
    assert "do not fit within 5 days" in plan.unplaced[0].reason
    fine = replace(p, sites=(site(),))
    assert [x.start.date() for x in solve(fine).placements] == [MONDAY, WEDNESDAY, FRIDAY]
    assert "opening" in rules_of(p, [one(p, at(WEDNESDAY, 9))])


def test_the_checker_refuses_before_opening_and_past_closing() -> None:
    p = problem(shifts=(nurse("n1", MONDAY),), requests=(request(),))
    assert rules_of(p, [one(p, at(MONDAY, 8))]) == set()
    assert rules_of(p, [one(p, at(MONDAY, 16))]) == set()
    off_shift = {"opening", "nurse-shift", "site-ratio"}  # no nurse on shift at all then
    assert rules_of(p, [one(p, at(MONDAY, 7, 30))]) == off_shift
    assert rules_of(p, [one(p, at(MONDAY, 16, 30))]) == off_shift


# ------------------------------------------------------------------ shift end
@both
def test_an_infusion_ending_after_the_nurses_shift_is_refused(solve: Solver) -> None:
    p = problem(days=1, shifts=(nurse("n1", MONDAY, 8, 12),),
                requests=(request(after=time(10)),))
    assert [x.start for x in solve(p).placements] == [at(MONDAY, 10)]
    late = replace(p, requests=(request(after=time(10, 30)),))
    plan = solve(late)
    assert plan.placements == ()
    assert "shifts" in plan.unplaced[0].reason
    assert rules_of(late, [one(late, at(MONDAY, 10, 30))]) == {"nurse-shift", "site-ratio"}


def test_back_to_back_shifts_cover_straight_through() -> None:
    p = problem(days=1, shifts=(nurse("n1", MONDAY, 8, 11), nurse("n1", MONDAY, 11, 14)),
                requests=(request(after=time(10)),))
    assert [x.start for x in solve_greedy(p).placements] == [at(MONDAY, 10)]
    assert rules_of(p, [one(p, at(MONDAY, 10))]) == set()


# ------------------------------------------------------------------ prescriber
@both
def test_a_listed_prescriber_must_be_on_site_throughout(solve: Solver) -> None:
    p = problem(days=1, shifts=(nurse("n1", MONDAY),
                                nurse("dr", MONDAY, 13, 18, role=Role.PRESCRIBER)),
                requests=(request(),))
    assert [x.start for x in solve(p).placements] == [at(MONDAY, 13)]
    assert rules_of(p, [one(p, at(MONDAY, 12))]) == {"prescriber"}
    without = replace(p, shifts=(nurse("n1", MONDAY),))
    assert [x.start for x in solve(without).placements] == [at(MONDAY, 8)]


# ------------------------------------------------------------------ week, span, whole
@both
def test_at_most_max_per_week_in_an_iso_week(solve: Solver) -> None:
    p = problem(shifts=tuple(nurse("n1", d) for d in weekdays()),
                requests=(request(count=4, min_gap_hours=24, max_per_week=2, within_days=14),))
    plan = solve(p)
    starts = [x.start.date() for x in plan.placements]
    assert starts == [MONDAY, MONDAY + timedelta(days=1), MONDAY + timedelta(days=7),
                      MONDAY + timedelta(days=8)]
    assert check_plan(p, plan.placements) == []
    crowded = [one(p, at(MONDAY + timedelta(days=i), 9)) for i in range(4)]
    assert rules_of(p, crowded) == {"week"}


@both
def test_the_whole_series_within_its_days_or_nothing(solve: Solver) -> None:
    # Quickest six at 48 h, 3 a week: Mon 16:00, Wed, Fri 16:00, then Mon, Wed, Fri 08:00 to
    # 10:00: 10 days 18 hours from the first start to the last end.
    def series(days: int) -> Problem:
        return problem(shifts=tuple(nurse("n1", d) for d in weekdays()),
                       requests=(request(count=6, within_days=days),))

    plan = solve(series(10))
    assert plan.placements == () and len(plan.unplaced) == 1
    fits = solve(series(11))
    assert len(fits.placements) == 6 and check_plan(series(11), fits.placements) == []
    assert rules_of(series(11), [one(series(11), at(MONDAY, 9))]) == {"whole"}
    spread = [one(series(11), at(MONDAY + timedelta(days=d), 9)) for d in (0, 2, 4, 7, 9, 11)]
    assert rules_of(series(12), spread) == set()
    assert rules_of(series(11), spread) == {"within"}  # 11 days and 2 hours


# ------------------------------------------------------------------ DST
SUNDAY_DST = MONDAY.replace(month=3, day=14)  # clocks go forward in New York


@both
def test_local_hours_hold_on_the_day_the_clocks_change(solve: Solver) -> None:
    weekend = tuple(replace(h, weekday=d) for d in (5, 6) for h in site().open_hours[:1])
    sat = SUNDAY_DST - timedelta(days=1)
    p = problem(sites=(site(open_hours=weekend),), start=sat, days=2,
                shifts=(nurse("n1", sat), nurse("n1", SUNDAY_DST)),
                requests=(request(count=2, min_gap_hours=23, after=time(9), before=time(11)),))
    plan = solve(p)
    assert [x.start.astimezone(UTC) for x in plan.placements] == [
        datetime(2027, 3, 13, 14, tzinfo=UTC), datetime(2027, 3, 14, 13, tzinfo=UTC)]
    assert check_plan(p, plan.placements) == []
    # 09:00 to 09:00 across the change is 23 elapsed hours: a 24-hour gap refuses it.
    strict = replace(p, requests=(replace(p.requests[0], min_gap_hours=24),))
    assert solve(strict).placements == ()


# ------------------------------------------------------------------ one series
def test_book_series_offers_the_earliest_and_alternatives_on_other_days() -> None:
    p = problem(shifts=tuple(nurse("n1", d) for d in weekdays(days=28)), days=28)
    taken = tuple(Booking(f"e{c}", "A", c, at(MONDAY, 8), 600, "n2") for c in (1, 2, 3))
    busy = replace(p, bookings=taken)
    r = request(count=3, min_gap_hours=48, within_days=7)
    options = book_series(busy, r, alternatives=2)
    assert options.best is not None and options.reason is None
    assert [x.start for x in options.best] == [at(MONDAY + timedelta(days=1), 8),
                                               at(MONDAY + timedelta(days=3), 8),
                                               at(MONDAY + timedelta(days=7), 8)]
    firsts = [o[0].start.date() for o in (options.best, *options.alternatives)]
    assert len(set(firsts)) == 3 and len(options.alternatives) == 2
    one_request = replace(busy, requests=(r,))
    for option in (options.best, *options.alternatives):
        assert check_plan(one_request, list(option)) == []


def test_book_series_says_why_when_it_cannot() -> None:
    p = problem(shifts=(nurse("n1", MONDAY),), days=7)
    options = book_series(p, request(count=2, min_gap_hours=24))
    assert options.best is None and options.reason is not None and "2 infusions" in options.reason


# ------------------------------------------------------------------ solver quality
def test_cpsat_places_a_series_that_first_fit_blocks() -> None:
    # p1 arrives first and could go any weekday morning; p2 can only come on Monday. First-fit
    # gives p1 Monday and p2 nothing; CP-SAT moves p1 to Tuesday and places both.
    p = problem(days=2, sites=(site(chairs=1),), shifts=(nurse("n1", MONDAY, 8, 10),
                                                         nurse("n1", MONDAY + timedelta(days=1),
                                                               8, 10)),
                requests=(request("p1"), request("p2", days=frozenset({0}))))
    assert placed_series(solve_greedy(p).placements) == {0}
    plan = solve_cpsat(p, time_limit_s=5)
    assert placed_series(plan.placements) == {0, 1} and plan.optimal
    assert check_plan(p, plan.placements) == []


def test_cpsat_places_every_series_where_arrival_order_loses_one() -> None:
    # One chair, one two-hour slot each weekday for two weeks. p1 arrives first: 3 infusions
    # 48 h apart within 14 days, any weekday. p2 and p3 come only Mon/Wed/Fri, within 7 days,
    # p3 not before the second Monday. First-fit gives p1 its earliest chain, Mon-Wed-Fri of
    # week 1; p2 then takes Mon-Wed-Fri of week 2 and p3 has no Monday, Wednesday or Friday
    # left. All three fit when p1 takes Tue-Thu-Tue, the only days the others cannot use.
    second_monday = MONDAY + timedelta(days=7)
    mwf = frozenset({0, 2, 4})
    p = problem(days=12, sites=(site(chairs=1),),
                shifts=tuple(nurse("n1", d, 8, 10) for d in weekdays(days=12)),
                requests=(request("p1", count=3, within_days=14),
                          request("p2", count=3, within_days=7, days=mwf),
                          request("p3", count=3, within_days=7, days=mwf,
                                  earliest=at(second_monday, 0))))
    greedy = solve_greedy(p)
    assert placed_series(greedy.placements) == {0, 1}
    assert [x.start.weekday() for x in greedy.placements if x.request == 0] == [0, 2, 4]
    plan = solve_cpsat(p, time_limit_s=5)
    assert placed_series(plan.placements) == {0, 1, 2} and plan.optimal
    assert [x.start for x in plan.placements if x.request == 0] == [
        at(MONDAY + timedelta(days=1), 8), at(MONDAY + timedelta(days=3), 8),
        at(second_monday + timedelta(days=1), 8)]
    assert check_plan(p, plan.placements) == []


def test_the_neighbourhood_search_beats_first_fit_on_a_larger_calendar() -> None:
    # One chair, one week: 25 two-hour slots. 15 flexible requests arrive first and fill
    # Monday to Wednesday; 15 more can only come Monday to Wednesday. First-fit: 15 placed;
    # the best plan: 25 (the 15 restricted ones, 10 flexible ones moved to Thursday and Friday).
    restricted = tuple(request(f"q{i}", days=frozenset({i % 3})) for i in range(15))
    flexible = tuple(request(f"p{i}") for i in range(15))
    p = problem(days=7, sites=(site(chairs=1),), shifts=tuple(nurse("n1", d)
                                                              for d in weekdays(days=7)),
                requests=flexible + restricted)
    assert len(placed_series(solve_greedy(p).placements)) == 15
    plan = solve_cpsat(p, time_limit_s=20)
    assert len(placed_series(plan.placements)) == 25
    assert check_plan(p, plan.placements) == []


def test_cpsat_offers_alternatives_on_other_days_for_one_series() -> None:
    p = problem(days=14, shifts=tuple(nurse("n1", d) for d in weekdays()),
                requests=(request(count=2, min_gap_hours=48, within_days=7),))
    plan = solve_cpsat(p, time_limit_s=5, alternatives=2)
    assert [x.start for x in plan.placements] == [at(MONDAY, 8), at(WEDNESDAY, 8)]
    firsts = [plan.placements[0].start.date(), *(o[0].start.date() for o in plan.alternatives)]
    assert len(plan.alternatives) == 2 and len(set(firsts)) == 3
    for option in plan.alternatives:
        assert check_plan(p, list(option)) == []
