"""One series on a busy calendar: the fast path a booking page calls, and moving one infusion
with the later ones re-flowed. Both search chains exactly (see chains.py), not with CP-SAT: for
one series on a fixed calendar the earliest-finishing chain is found by trying every first start.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime

from ketaflow.scheduling.chains import (
    FULL,
    Calendar,
    Rules,
    Slot,
    chains,
    empty_reason,
    extend,
    placements,
)
from ketaflow.scheduling.model import Options, Placement, Problem, SeriesRequest
from ketaflow.scheduling.timeline import Timeline


def book_series(problem: Problem, request: SeriesRequest, *, alternatives: int = 3) -> Options:
    """The earliest-finishing way to book `request` around `problem.bookings`, and up to
    `alternatives` others, each starting on a different day (earliest-finishing first).
    Placements carry request index 0: check them against `replace(problem, requests=(request,))`."""
    one = _at_site(problem, request)
    line = Timeline(one)
    cands = line.candidates(request)
    reason = empty_reason(line, request, cands)
    if reason:
        return Options(best=None, reason=reason)
    tz = one.site[request.site_id].zone
    by_day: dict[date, list[Slot]] = {}
    for chain in chains(line, request, cands, Calendar(line).free(request)):
        day = line.instant(chain[0][0]).astimezone(tz).date()
        if day not in by_day or chain[-1][0] < by_day[day][-1][0]:
            by_day[day] = chain
    ranked = sorted(by_day.values(), key=lambda c: (c[-1][0], c[0][0]))
    if not ranked:
        return Options(best=None, reason=FULL)
    found = [placements(line, 0, request, c) for c in ranked[:alternatives + 1]]
    return Options(best=found[0], alternatives=tuple(found[1:]))


def _at_site(problem: Problem, request: SeriesRequest) -> Problem:
    """Only what can constrain the request: its site (its nurses' shifts elsewhere cannot
    overlap theirs here, being refused as input) and the patient's own bookings."""
    site = request.site_id
    return replace(problem, requests=(request,),
                   sites=tuple(s for s in problem.sites if s.id == site),
                   shifts=tuple(s for s in problem.shifts if s.site_id == site),
                   bookings=tuple(b for b in problem.bookings
                                  if b.site_id == site or b.patient == request.patient))


def reflow(problem: Problem, request: SeriesRequest, series: Sequence[Placement],
           moved_index: int, new_start: datetime) -> Options:
    """Move infusion `moved_index` of a booked series to `new_start` and re-flow the later ones
    at their earliest within the rules; the earlier ones stay. `problem.bookings` may include
    the series itself (its infusions from `moved_index` on are freed). The answer is the whole
    series, or a reason and nothing changed."""
    ordered = sorted(series, key=lambda p: p.start)
    if not 0 <= moved_index < len(ordered):
        raise ValueError(f"moved_index: must be 0 to {len(ordered) - 1}")
    freed = {(p.site_id, p.start, p.chair) for p in ordered}
    others = tuple(b for b in problem.bookings
                   if not (b.patient == request.patient and (b.site_id, b.start, b.chair) in freed))
    one = replace(problem, requests=(request,), bookings=others)
    line = Timeline(one)
    calendar = Calendar(line)
    for p in ordered[:moved_index]:
        a = line.minute(p.start)
        calendar.hold(p.site_id, p.chair, p.nurse, p.patient, a, a + p.minutes)
    prefix: list[Slot] = [(line.minute(p.start), p.chair, p.nurse) for p in ordered[:moved_index]]
    cands = line.candidates(request)
    t = line.minute(new_start)
    refused = _move_refused(line, request, cands, prefix, t)
    if refused:
        return Options(best=None, reason=refused)
    free = calendar.free(request)
    got = free(t)
    if got is None:
        return Options(best=None, reason="no chair or nurse is free at the new time")
    chain = extend(line, request, cands, [*prefix, (t, *got)], free)
    if chain is None:
        return Options(best=None, reason=(
            f"the later infusions do not all fit within {request.within_days} days of the first "
            f"after the new time"))
    return Options(best=placements(line, 0, request, chain))


def _move_refused(line: Timeline, request: SeriesRequest, cands: list[int], prefix: list[Slot],
                  t: int) -> str | None:
    rules = Rules.of(request)
    i = bisect.bisect_left(cands, t)
    if i == len(cands) or cands[i] != t:
        return ("the new time is outside the opening hours, the nurse or prescriber shifts, "
                "the preferred days and times, or off the booking grid")
    if prefix and t - prefix[-1][0] < rules.step:
        return (f"the new time is less than {request.min_gap_hours:g} h after the previous "
                "infusion")
    if prefix and t + rules.minutes - prefix[0][0] > rules.span:
        return (f"the series would end more than {request.within_days} days after its first "
                "infusion")
    weeks = Counter(line.week(request.site_id, s) for s, _, _ in prefix)
    if weeks[line.week(request.site_id, t)] >= rules.per_week:
        return f"that week already has {rules.per_week} infusions"
    return None
