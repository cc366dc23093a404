"""The kept solver: OR-Tools CP-SAT for many series at once (`solve_cpsat`).

The model is in cpmodel.py. Sites that share no nurse and no patient are solved as separate
groups, each with its share of the time limit. A group first gets the better of two greedy
orders (lns.first_pass: arrival, or least flexible first), so the answer is never worse than
first-fit; up to WHOLE_UP_TO requests are then solved as one model hinted with it (small
instances to optimality), larger groups by large-neighbourhood search from it (lns.improve).
One worker and a fixed seed make a run repeatable when solved to the end.
"""

from __future__ import annotations

import time as clock
from collections import defaultdict
from dataclasses import replace
from datetime import date, time, timedelta

from ortools.sat.python import cp_model

from ketaflow.scheduling.cpmodel import Builder, solve_whole, solver_for
from ketaflow.scheduling.lns import first_pass, improve
from ketaflow.scheduling.model import Placement, Plan, Problem, Unplaced

WHOLE_UP_TO = 24  # requests solved as one model; larger groups by neighbourhood search


def solve_cpsat(problem: Problem, *, time_limit_s: float = 10.0, seed: int = 0,
                workers: int = 1, alternatives: int = 0) -> Plan:
    """Plan every request; with one request, also up to `alternatives` other whole options,
    each starting on a different day from the ones before."""
    began = clock.monotonic()
    groups = _components(problem)
    placed: list[Placement] = []
    unplaced: list[Unplaced] = []
    optimal = True
    total = max(1, len(problem.requests))
    for sites, indices in groups:
        share = time_limit_s * len(indices) / total
        sub = replace(problem, sites=tuple(s for s in problem.sites if s.id in sites),
                      shifts=tuple(s for s in problem.shifts if s.site_id in sites),
                      bookings=tuple(b for b in problem.bookings if b.site_id in sites),
                      requests=tuple(problem.requests[i] for i in indices))
        plan = _solve(sub, share, seed, workers)
        optimal &= plan.optimal
        placed += [replace(p, request=indices[p.request]) for p in plan.placements]
        unplaced += [replace(u, request=indices[u.request]) for u in plan.unplaced]
    others: list[tuple[Placement, ...]] = []
    if alternatives and len(problem.requests) == 1 and placed:
        others = _alternatives(problem, tuple(placed), alternatives,
                               max(0.1, time_limit_s - (clock.monotonic() - began)), seed,
                               workers)
    return Plan(placements=tuple(sorted(placed, key=lambda p: (p.request, p.start))),
                unplaced=tuple(sorted(unplaced, key=lambda u: u.request)), solver="cp-sat",
                optimal=optimal, alternatives=tuple(others))


def _components(problem: Problem) -> list[tuple[set[str], list[int]]]:
    """Sites linked by a nurse or a patient, with their requests' indices."""
    parent = {s.id: s.id for s in problem.sites}

    def root(x: str) -> str:
        while parent[x] != x:
            x = parent[x]
        return x

    owner: dict[str, str] = {}
    links = [(s.staff_id, s.site_id) for s in problem.shifts]
    links += [(f"patient:{b.patient}", b.site_id) for b in problem.bookings]
    links += [(f"patient:{r.patient}", r.site_id) for r in problem.requests]
    for who, site in links:
        if site in parent:
            parent[root(site)] = root(owner.setdefault(who, site))
    groups: dict[str, tuple[set[str], list[int]]] = defaultdict(lambda: (set(), []))
    for s in problem.sites:
        groups[root(s.id)][0].add(s.id)
    for i, r in enumerate(problem.requests):
        groups[root(r.site_id)][1].append(i)
    return [g for g in groups.values() if g[1]]



def _solve(problem: Problem, time_limit_s: float, seed: int, workers: int) -> Plan:
    deadline = clock.monotonic() + time_limit_s
    start = first_pass(problem)
    if len(problem.requests) <= WHOLE_UP_TO:
        return solve_whole(problem, start, deadline - clock.monotonic(), seed, workers)
    return improve(problem, start, deadline, seed, workers)


def _alternatives(problem: Problem, best: tuple[Placement, ...], n: int, time_limit_s: float,
                  seed: int, workers: int) -> list[tuple[Placement, ...]]:
    """Re-solve with the first infusion kept off the days already offered."""
    out: list[tuple[Placement, ...]] = []
    request = problem.requests[0]
    site = problem.site[request.site_id]
    used: list[date] = [best[0].start.astimezone(site.zone).date()]
    for _ in range(n):
        builder = Builder(problem)
        builder.build()
        if not builder.series:
            break
        first = builder.series[0].infusions[0].start
        for day in used:
            a = builder.line.local(site, day, time(0))
            b = builder.line.local(site, day + timedelta(days=1), time(0))
            below = builder.model.new_bool_var("")
            builder.model.add(first < a).only_enforce_if(below)
            builder.model.add(first >= b).only_enforce_if(~below)
        solver = solver_for(time_limit_s / n, seed, workers)
        if solver.solve(builder.model) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            break
        found = tuple(builder.read(solver))
        if not found:
            break
        out.append(found)
        used.append(found[0].start.astimezone(site.zone).date())
    return out
