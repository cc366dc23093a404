"""An upper bound on the series any plan can place, for benchmarks/bench_schedule.py.

A capacity count in two steps, each a relaxation, so no plan (by any solver) can beat it:

1. **Infusions per site and day.** Forget who the infusions are for (series, spacing, weekday
   and time preferences, earliest dates) and pack as many new infusions as the day can take:
   grid starts inside the opening hours with a prescriber on site, one per free chair at a
   time (existing bookings hold their chairs), each watched by a nurse on shift throughout,
   no nurse over the ratio counting the existing infusions she watches. Solved exactly with
   CP-SAT per site and day (small models). A plan's new infusions on that day are one such
   packing, so they are at most this many.
2. **Series per site.** A placed series uses `count` of the site's infusions, and only requests
   that fit alone on the existing calendar can be placed. The most series whose counts add up
   to at most the site's infusions: the smallest counts first.

Assumes what the synthetic clinic guarantees and refuses anything else: every infusion (new
and existing) lasts the same minutes and existing bookings start on the grid with their nurse.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from ortools.sat.python import cp_model

from ketaflow.scheduling.chains import Calendar, chains, empty_reason
from ketaflow.scheduling.model import Problem
from ketaflow.scheduling.timeline import SiteLine, Timeline, covers


@dataclass(frozen=True)
class Bound:
    series: int
    infusions: int              # new infusions the sites could take at most
    fit_alone: int              # requests that fit alone on the existing calendar
    by_site: dict[str, int]     # series bound per site


def series_bound(problem: Problem) -> Bound:
    line = Timeline(problem)
    minutes = {r.minutes for r in problem.requests} | {b.minutes for b in problem.bookings}
    if len(minutes) != 1:
        raise ValueError("the bound assumes one infusion length for every booking and request")
    if any(line.minute(b.start) % line.grid or b.nurse is None for b in problem.bookings):
        raise ValueError("the bound assumes existing bookings on the grid with their nurse")
    d = minutes.pop()
    calendar = Calendar(line)  # the existing bookings only
    counts: dict[str, list[int]] = defaultdict(list)
    for r in problem.requests:
        cands = line.candidates(r)
        if empty_reason(line, r, cands) is None and next(
                chains(line, r, cands, calendar.free(r)), None) is not None:
            counts[r.site_id].append(r.count)
    by_site, infusions = {}, 0
    for site_id, s in line.sites.items():
        room = sum(_day_capacity(line, s, problem, opens, closes, d) for _, (opens, closes)
                   in s.open)
        infusions += room
        taken = 0
        for c in sorted(counts[site_id]):
            if room < c:
                break
            room -= c
            taken += 1
        by_site[site_id] = taken
    return Bound(series=sum(by_site.values()), infusions=infusions,
                 fit_alone=sum(len(c) for c in counts.values()), by_site=by_site)


def _day_capacity(line: Timeline, s: SiteLine, problem: Problem, opens: int, closes: int,
                  d: int) -> int:
    """Most new infusions of `d` minutes that fit in one open day of one site."""
    g, site = line.grid, s.site
    held = [(line.minute(b.start), b.chair, b.nurse) for b in problem.bookings
            if b.site_id == site.id and opens - d < line.minute(b.start) < closes]
    m = cp_model.CpModel()
    chair_cells: dict[tuple[int, int], list[cp_model.IntVar]] = defaultdict(list)
    nurse_cells: dict[tuple[str, int], list[cp_model.IntVar]] = defaultdict(list)
    every: list[cp_model.IntVar] = []
    t = opens + (-opens) % g
    while t + d <= closes:
        if s.prescribers is None or covers(s.prescribers, t, t + d):
            chairs = {c: m.new_bool_var("") for c in range(1, site.chairs + 1)
                      if not any(c == chair and a < t + d and t < a + d for a, chair, _ in held)}
            watch = {n: m.new_int_var(0, site.nurse_ratio, "")
                     for n, ws in sorted(s.nurses.items()) if covers(ws, t, t + d)}
            m.add(sum(chairs.values()) == sum(watch.values()))
            for k in range(t, t + d, g):
                for c, x in chairs.items():
                    chair_cells[c, k].append(x)
                for n, y in watch.items():
                    nurse_cells[n, k].append(y)
            every += chairs.values()
        t += g
    for xs in chair_cells.values():
        m.add(sum(xs) <= 1)
    for (n, k), ys in nurse_cells.items():
        watched = sum(1 for a, _, who in held if who == n and a < k + g and k < a + d)
        m.add(sum(ys) <= site.nurse_ratio - watched)
    m.maximize(sum(every))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    if solver.solve(m) != cp_model.OPTIMAL:
        raise RuntimeError("a day's packing was not solved to optimality")
    return round(solver.objective_value)
