"""Many series at once, past what one CP-SAT model solves in time: a first pass by two greedy
orders, then large-neighbourhood search (LNS) in which CP-SAT re-plans one stretch of days at
one site around everything else held fixed.

Why two orders: greedy in arrival order gives each early request its earliest chain, and an
induction booked early in its three weeks takes slots that two or three later, less flexible
requests (a maintenance pair on set weekdays, a morning-only induction) needed. Booking the
least flexible first (fewest candidate starts on an empty calendar) leaves the flexible ones to
fill in around them. Neither is always better, so both are run and the better one kept.

Why windows of days: a neighbourhood of requests drawn from the whole horizon frees series
whose slots do not touch, so CP-SAT has nothing to exchange; freeing every series held inside a
stretch of days at one site, with waiting requests that could fit there, and keeping the new
infusions inside that stretch gives it slots to trade and a model small enough to solve.
"""

from __future__ import annotations

import random
import time as clock
from collections import defaultdict
from dataclasses import replace

from ketaflow.scheduling.chains import FULL, empty_reason
from ketaflow.scheduling.cpmodel import Window, solve_whole
from ketaflow.scheduling.greedy import solve_greedy
from ketaflow.scheduling.model import Booking, Placement, Plan, Problem, Unplaced
from ketaflow.scheduling.timeline import Timeline

# Neighbourhood sizes, smallest first: (days in a window of one site, requests re-planned
# together at most). Small ones are solved to optimality in a fraction of a second; when a pass
# over every window gains nothing the search moves to the next size, and stops after a pass
# without gain at the largest (or at the deadline).
SIZES = ((14, 10), (21, 16), (28, 24))
WINDOW_STEP_DAYS = 7   # windows start every this many days
ROUND_S = 3.0          # CP-SAT time per neighbourhood at most


def score(plan: Plan, line: Timeline) -> tuple[int, int, int]:
    """Series placed, infusions placed, then (negated) sum of series' last starts: larger is
    better (the order of cpmodel's objective)."""
    last: dict[int, int] = {}
    for p in plan.placements:
        last[p.request] = max(last.get(p.request, 0), line.minute(p.start))
    return len(last), len(plan.placements), -sum(last.values())


def first_pass(problem: Problem) -> Plan:
    """Greedy in arrival order or greedy with the least flexible requests first, whichever
    places more series (then finishes earlier); arrival order on a tie."""
    line = Timeline(problem)
    arrival = solve_greedy(problem)
    flexibility = [len(line.candidates(r)) for r in problem.requests]
    order = sorted(range(len(problem.requests)), key=lambda i: (flexibility[i], i))
    flexible_last = _greedy_in(problem, order)
    return max((arrival, flexible_last), key=lambda plan: score(plan, line))


def _greedy_in(problem: Problem, order: list[int]) -> Plan:
    plan = solve_greedy(replace(problem, requests=tuple(problem.requests[i] for i in order)))
    return Plan(placements=tuple(replace(p, request=order[p.request]) for p in plan.placements),
                unplaced=tuple(sorted((replace(u, request=order[u.request])
                                       for u in plan.unplaced), key=lambda u: u.request)),
                solver="greedy (least flexible first)")


def improve(problem: Problem, start: Plan, deadline: float, seed: int, workers: int) -> Plan:
    """From `start`, re-plan one window of days at one site at a time with CP-SAT, keeping the
    result when it places more series or finishes earlier; windows in a seeded random order;
    larger windows once a pass gains nothing; stop at the deadline or when the largest size
    gains nothing."""
    rng = random.Random(seed)
    line = Timeline(problem)
    reasons: dict[int, str] = {}
    cands: dict[int, list[int]] = {}
    for i, r in enumerate(problem.requests):
        c = line.candidates(r)
        reason = empty_reason(line, r, c)
        if reason:
            reasons[i] = reason
        else:
            cands[i] = c
    current: dict[int, list[Placement]] = defaultdict(list)
    for p in start.placements:
        current[p.request].append(p)
    level = 0
    while level < len(SIZES) and clock.monotonic() < deadline:
        days, at_most = SIZES[level]
        search = _Search(problem, line, cands, current, rng, days, at_most)
        gained = False
        for window, free in search.neighbourhoods():
            left = deadline - clock.monotonic()
            if left <= 0.05:
                break
            gained |= search.replan(window, free, min(ROUND_S, left), seed, workers)
        level += not gained
    placed = tuple(p for i in sorted(current) for p in sorted(current[i], key=lambda p: p.start))
    got = {p.request for p in placed}
    unplaced = tuple(Unplaced(i, r.patient, reasons.get(i, FULL))
                     for i, r in enumerate(problem.requests) if i not in got)
    return Plan(placements=placed, unplaced=unplaced, solver="cp-sat")


class _Search:
    def __init__(self, problem: Problem, line: Timeline, cands: dict[int, list[int]],
                 current: dict[int, list[Placement]], rng: random.Random, days: int,
                 at_most: int) -> None:
        self.problem, self.line, self.cands = problem, line, cands
        self.current, self.rng, self.at_most = current, rng, at_most
        self.fits: dict[tuple[int, Window], bool] = {}
        self.windows: list[tuple[str, Window]] = []
        day, width = 1440, days * 1440
        for site_id, s in line.sites.items():
            last = max(s.begin, s.end - width)
            starts = [*range(s.begin, last, WINDOW_STEP_DAYS * day), last]
            self.windows += [(site_id, (a, min(s.end, a + width))) for a in starts]

    def fits_in(self, i: int, window: Window) -> bool:
        """Whether request i could be booked inside the window on an empty calendar."""
        if (i, window) not in self.fits:
            a, b = window
            r = self.problem.requests[i]
            inside = [t for t in self.cands[i] if a <= t and t + r.minutes <= b]
            self.fits[i, window] = empty_reason(self.line, r, inside) is None
        return self.fits[i, window]

    def neighbourhoods(self) -> list[tuple[Window, list[int]]]:
        """Per site window: the series placed wholly inside it and waiting requests that could
        fit there, half of the places for waiting ones when there are enough; shuffled."""
        out = []
        for site_id, (a, b) in self.windows:
            mine = [i for i in self.cands if self.problem.requests[i].site_id == site_id]
            held = [i for i in mine if self.current.get(i) and all(
                a <= self.line.minute(p.start) and self.line.minute(p.end) <= b
                for p in self.current[i])]
            waiting = [i for i in mine if not self.current.get(i) and self.fits_in(i, (a, b))]
            if not waiting:
                continue
            self.rng.shuffle(held)
            self.rng.shuffle(waiting)
            n_wait = min(len(waiting), max(self.at_most - len(held), self.at_most // 2))
            out.append(((a, b), sorted(waiting[:n_wait] + held[:self.at_most - n_wait])))
        self.rng.shuffle(out)
        return out

    def replan(self, window: Window, free: list[int], time_limit_s: float, seed: int,
               workers: int) -> bool:
        """Re-plan the `free` requests inside `window` around every other placement; True
        (and `current` updated) if it got better."""
        a, b = window
        kept = [Booking(patient=p.patient, site_id=p.site_id, chair=p.chair, start=p.start,
                        minutes=p.minutes, nurse=p.nurse)
                for i, ps in self.current.items() if i not in free for p in ps]
        # Nothing outside the window can meet an infusion kept inside it.
        near = tuple(x for x in (*self.problem.bookings, *kept)
                     if self.line.minute(x.start) < b and a < self.line.minute(x.end))
        sub = replace(self.problem, bookings=near,
                      requests=tuple(self.problem.requests[i] for i in free))
        local = {i: k for k, i in enumerate(free)}
        before = Plan(placements=tuple(replace(p, request=local[i]) for i in free
                                       for p in self.current.get(i, [])),
                      unplaced=(), solver="")
        after = solve_whole(sub, before, time_limit_s, seed, workers, window)
        if score(after, self.line) <= score(before, self.line):
            return False
        for i in free:
            self.current.pop(i, None)
        for p in after.placements:
            self.current[free[p.request]].append(replace(p, request=free[p.request]))
        return True
