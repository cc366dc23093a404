"""First-fit baseline: requests in the order given, each at its earliest-finishing chain on
the first free chair and the least-loaded nurse on shift; kept to measure CP-SAT against."""

from __future__ import annotations

from ketaflow.scheduling.chains import FULL, Calendar, chains, empty_reason, placements
from ketaflow.scheduling.model import Placement, Plan, Problem, Unplaced
from ketaflow.scheduling.timeline import Timeline


def solve_greedy(problem: Problem) -> Plan:
    line = Timeline(problem)
    calendar = Calendar(line)
    placed: list[Placement] = []
    unplaced: list[Unplaced] = []
    for index, request in enumerate(problem.requests):
        cands = line.candidates(request)
        reason = empty_reason(line, request, cands)
        chain = None if reason else next(chains(line, request, cands, calendar.free(request)),
                                         None)
        if chain is None:
            unplaced.append(Unplaced(index, request.patient, reason or FULL))
            continue
        for t, chair, nurse in chain:
            calendar.hold(request.site_id, chair, nurse, request.patient, t, t + request.minutes)
        placed.extend(placements(line, index, request, chain))
    return Plan(placements=tuple(placed), unplaced=tuple(unplaced), solver="greedy")
