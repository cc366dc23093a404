"""Properties on small random clinics: no plan from either solver (nor from the neighbourhood
search on its own), nor a single-series option, ever breaks a rule per the independent
checker; adding a chair never places fewer series (CP-SAT, where it proves both plans
optimal)."""

from __future__ import annotations

from dataclasses import replace
from datetime import time, timedelta
from time import monotonic

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ketaflow.scheduling.booking import book_series
from ketaflow.scheduling.cpsat import solve_cpsat
from ketaflow.scheduling.greedy import solve_greedy
from ketaflow.scheduling.lns import first_pass, improve
from ketaflow.scheduling.model import Booking, Problem, Role, SeriesRequest, StaffShift
from ketaflow.scheduling.rules import check_plan
from tests.scheduling.calendars import MONDAY, at, site

SMALL = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DAYS = 7


@st.composite
def clinics(draw: st.DrawFn) -> Problem:
    chairs = draw(st.integers(1, 3))
    ratio = draw(st.integers(1, 2))
    shifts = []
    for n in range(draw(st.integers(1, 2))):
        for d in range(5):
            if draw(st.booleans()):
                start = draw(st.sampled_from([8, 10, 12]))
                end = draw(st.integers(start + 2, 18))
                shifts.append(StaffShift(f"n{n}", Role.NURSE, "A", MONDAY + timedelta(days=d),
                                         time(start), time(end)))
    if draw(st.booleans()):
        shifts.append(StaffShift("dr", Role.PRESCRIBER, "A", MONDAY + timedelta(days=1),
                                 time(8), time(14)))
    bookings = tuple(
        Booking(f"e{i}", "A", draw(st.integers(1, chairs)),
                at(MONDAY + timedelta(days=draw(st.integers(0, 4))), draw(st.integers(8, 15)),
                   draw(st.sampled_from([0, 15, 30]))),
                draw(st.sampled_from([60, 120])), draw(st.sampled_from([None, "n0"])))
        for i in range(draw(st.integers(0, 3))))
    requests = tuple(
        SeriesRequest(
            patient=f"p{i}", site_id="A", count=draw(st.integers(1, 3)),
            minutes=draw(st.sampled_from([60, 120])),
            min_gap_hours=draw(st.sampled_from([2, 24, 48])),
            max_per_week=draw(st.integers(1, 3)), within_days=draw(st.integers(1, 7)),
            days=draw(st.none() | st.frozensets(st.integers(0, 4), min_size=1)),
            after=draw(st.none() | st.sampled_from([time(9), time(11)])),
            before=draw(st.none() | st.sampled_from([time(14), time(17)])))
        for i in range(draw(st.integers(1, 4))))
    return Problem(start=MONDAY, days=DAYS, sites=(site(chairs=chairs, ratio=ratio),),
                   shifts=tuple(shifts), bookings=bookings, requests=requests)


@SMALL
@given(clinics())
def test_no_greedy_plan_breaks_a_rule(problem: Problem) -> None:
    plan = solve_greedy(problem)
    assert check_plan(problem, plan.placements) == []
    assert {p.request for p in plan.placements} | {u.request for u in plan.unplaced} == set(
        range(len(problem.requests)))


@SMALL
@given(clinics())
def test_no_cpsat_plan_breaks_a_rule_nor_places_less_than_greedy(problem: Problem) -> None:
    plan = solve_cpsat(problem, time_limit_s=2)
    assert check_plan(problem, plan.placements) == []
    placed = {p.request for p in plan.placements}
    assert len(placed) >= len({p.request for p in solve_greedy(problem).placements})
    assert placed.isdisjoint({u.request for u in plan.unplaced})


@SMALL
@given(clinics())
def test_no_neighbourhood_search_plan_breaks_a_rule_nor_places_less_than_its_start(
        problem: Problem) -> None:
    # solve_cpsat searches by neighbourhoods only past 24 requests; call the search directly.
    start = first_pass(problem)
    plan = improve(problem, start, monotonic() + 2, seed=0, workers=1)
    assert check_plan(problem, plan.placements) == []
    assert check_plan(problem, start.placements) == []
    placed = {p.request for p in plan.placements}
    assert len(placed) >= len({p.request for p in start.placements}) >= len(
        {p.request for p in solve_greedy(problem).placements})
    assert placed | {u.request for u in plan.unplaced} == set(range(len(problem.requests)))
    assert placed.isdisjoint({u.request for u in plan.unplaced})


@SMALL
@given(clinics())
def test_no_single_series_option_breaks_a_rule(problem: Problem) -> None:
    request = problem.requests[0]
    options = book_series(replace(problem, requests=()), request, alternatives=2)
    one = replace(problem, requests=(request,))
    for option in [o for o in (options.best, *options.alternatives) if o is not None]:
        assert check_plan(one, list(option)) == []
    assert (options.best is None) == (options.reason is not None)


@SMALL
@given(clinics())
def test_adding_a_chair_never_places_fewer_series(problem: Problem) -> None:
    before = solve_cpsat(problem, time_limit_s=2)
    wider = replace(problem, sites=(replace(problem.sites[0],
                                            chairs=problem.sites[0].chairs + 1),))
    after = solve_cpsat(wider, time_limit_s=2)
    assume(before.optimal and after.optimal)
    assert len({p.request for p in after.placements}) >= len(
        {p.request for p in before.placements})
