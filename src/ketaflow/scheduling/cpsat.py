"""The kept solver: OR-Tools CP-SAT over the shared time line.

Per request r: a presence literal placed[r]; per infusion k a start variable whose domain is
the request's candidate grid starts; starts ordered at least the gap apart; ISO-week quota via
week-boundary literals; the whole series within its span. Each infusion picks one chair
(optional intervals, NoOverlap per chair with the existing bookings fixed) and one nurse on
shift (optional intervals, Cumulative per nurse with capacity = the site's ratio; the literal
also limits the start to that nurse's shifts). A site whose existing bookings lack a nurse also
gets a Cumulative of all its infusions against ratio x nurses on shift. Objective: most series
placed, then earliest completion. The greedy plan is given as a hint, so the answer is never
worse than first-fit. One worker and a fixed seed make a run repeatable when solved to the end.
Sites that share no nurse and no patient are solved as separate models.
"""

from __future__ import annotations

import itertools
import random
import time as clock
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, time, timedelta

from ortools.sat.python import cp_model

from ketaflow.scheduling.chains import FULL, Rules, empty_reason, placements, problem_with
from ketaflow.scheduling.greedy import solve_greedy
from ketaflow.scheduling.model import Placement, Plan, Problem, SeriesRequest, Unplaced
from ketaflow.scheduling.timeline import Timeline, covers

Domain = cp_model.Domain


@dataclass
class _Infusion:
    start: cp_model.IntVar
    chairs: dict[int, cp_model.IntVar] = field(default_factory=dict)
    nurses: dict[str, cp_model.IntVar] = field(default_factory=dict)
    weeks: list[tuple[int, cp_model.IntVar]] = field(default_factory=list)  # start >= bound


@dataclass
class _Series:
    index: int
    placed: cp_model.IntVar
    infusions: list[_Infusion]
    late: cp_model.IntVar
    origin: int


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


class _Builder:
    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.line = Timeline(problem)
        self.model = cp_model.CpModel()
        self.series: list[_Series] = []
        self.unplaced: list[Unplaced] = []
        self.chair_ivs: dict[tuple[str, int], list[cp_model.IntervalVar]] = defaultdict(list)
        self.nurse_ivs: dict[str, list[cp_model.IntervalVar]] = defaultdict(list)
        self.site_ivs: dict[str, list[cp_model.IntervalVar]] = defaultdict(list)
        self.patient_ivs: dict[str, list[cp_model.IntervalVar]] = defaultdict(list)
        self.lateness: list[cp_model.LinearExprT] = []
        self.horizon = max(s.end for s in self.line.sites.values())

    def fixed(self, a: int, b: int) -> cp_model.IntervalVar:
        return self.model.new_fixed_size_interval_var(a, b - a, "")

    def build(self) -> None:
        for b in self.problem.bookings:
            a = self.line.minute(b.start)
            iv = self.fixed(a, a + b.minutes)
            self.chair_ivs[b.site_id, b.chair].append(iv)
            self.site_ivs[b.site_id].append(iv)
            self.patient_ivs[b.patient].append(iv)
            if b.nurse is not None:
                self.nurse_ivs[b.nurse].append(iv)
        for index, request in enumerate(self.problem.requests):
            self.add_request(index, request)
        self.add_resources()
        span = self.horizon // self.line.grid + 1
        weight = span * max(1, len(self.series)) + 1
        placed = cp_model.LinearExpr.sum([s.placed for s in self.series])
        self.model.maximize(weight * placed - cp_model.LinearExpr.sum(self.lateness))

    def add_request(self, index: int, r: SeriesRequest) -> None:
        cands = self.line.candidates(r)
        reason = empty_reason(self.line, r, cands)
        if reason:
            self.unplaced.append(Unplaced(index, r.patient, reason))
            return
        m, rules = self.model, Rules.of(r)
        placed = m.new_bool_var(f"placed{index}")
        infusions = []
        for k in range(r.count):
            lo = cands[0] + k * rules.step
            hi = cands[-1] - (r.count - 1 - k) * rules.step
            values = [t for t in cands if lo <= t <= hi]
            start = m.new_int_var_from_domain(Domain.from_values(values or [cands[0]]), f"s{index}")
            infusions.append(_Infusion(start))
        for a, b in itertools.pairwise(infusions):
            m.add(b.start >= a.start + rules.step)
        m.add(infusions[-1].start + rules.minutes - infusions[0].start <= rules.span)
        self.add_weeks(r.site_id, infusions, rules, cands)
        for inf in infusions:
            self.add_choices(r, inf, placed, cands)
        g = self.line.grid
        late = m.new_int_var(0, self.horizon // g + 1, "")
        m.add(late * g >= infusions[-1].start - cands[0]).only_enforce_if(placed)
        self.lateness.append(late)
        self.series.append(_Series(index, placed, infusions, late, cands[0]))

    def add_weeks(self, site_id: str, infusions: list[_Infusion], rules: Rules,
                  cands: list[int]) -> None:
        bounds = [w for w in self.line.sites[site_id].week_starts if cands[0] < w <= cands[-1]]
        if not bounds or rules.per_week >= rules.count:
            return
        weeks = []
        for inf in infusions:
            crossed = []
            for w in bounds:
                y = self.model.new_bool_var("")
                self.model.add(inf.start >= w).only_enforce_if(y)
                self.model.add(inf.start < w).only_enforce_if(~y)
                crossed.append(y)
                inf.weeks.append((w, y))
            weeks.append(sum(crossed))
        for k in range(len(infusions) - rules.per_week):
            self.model.add(weeks[k + rules.per_week] >= weeks[k] + 1)

    def add_choices(self, request: SeriesRequest, inf: _Infusion, placed: cp_model.IntVar,
                    cands: list[int]) -> None:
        m, d = self.model, request.minutes
        site = self.line.sites[request.site_id]
        for chair in range(1, site.site.chairs + 1):
            x = m.new_bool_var("")
            inf.chairs[chair] = x
            self.chair_ivs[site.site.id, chair].append(
                m.new_optional_fixed_size_interval_var(inf.start, d, x, ""))
        m.add_exactly_one(inf.chairs.values()).only_enforce_if(placed)
        m.add(sum(inf.chairs.values()) == 0).only_enforce_if(~placed)
        for nurse, windows in sorted(site.nurses.items()):
            allowed = [t for t in cands if covers(windows, t, t + d)]
            if not allowed:
                continue
            z = m.new_bool_var("")
            m.add_linear_expression_in_domain(inf.start, Domain.from_values(allowed)) \
                .only_enforce_if(z)
            inf.nurses[nurse] = z
            self.nurse_ivs[nurse].append(
                m.new_optional_fixed_size_interval_var(inf.start, d, z, ""))
        m.add(sum(inf.nurses.values()) == placed)
        iv = m.new_optional_fixed_size_interval_var(inf.start, d, placed, "")
        self.site_ivs[site.site.id].append(iv)
        self.patient_ivs[request.patient].append(iv)

    def add_resources(self) -> None:
        m = self.model
        for ivs in self.chair_ivs.values():
            m.add_no_overlap(ivs)
        ratio_of = {n: s.site.nurse_ratio for s in self.line.sites.values() for n in s.nurses}
        for nurse, ivs in self.nurse_ivs.items():
            m.add_cumulative(ivs, [1] * len(ivs), ratio_of.get(nurse, 1))
        for ivs in self.patient_ivs.values():
            if len(ivs) > 1:
                m.add_no_overlap(ivs)
        unassigned = {b.site_id for b in self.problem.bookings if b.nurse is None}
        for site_id in unassigned:
            self.add_site_capacity(site_id)

    def add_site_capacity(self, site_id: str) -> None:
        """All infusions against ratio x nurses on shift: each nurse's time off shift is a
        fixed block of `ratio` out of a capacity of ratio x nurses."""
        site = self.line.sites[site_id]
        ratio = site.site.nurse_ratio
        blocks, demands = list(self.site_ivs[site_id]), [1] * len(self.site_ivs[site_id])
        for windows in site.nurses.values():
            edge = 0
            for a, b in [*windows, (self.horizon + 1, self.horizon + 1)]:
                if a > edge:
                    blocks.append(self.fixed(edge, a))
                    demands.append(ratio)
                edge = max(edge, b)
        self.model.add_cumulative(blocks, demands, ratio * len(site.nurses))

    def hint(self, plan: Plan) -> None:
        by_request: dict[int, list[Placement]] = defaultdict(list)
        for p in plan.placements:
            by_request[p.request].append(p)
        for s in self.series:
            got = sorted(by_request.get(s.index, []), key=lambda p: p.start)
            self.model.add_hint(s.placed, bool(got))
            starts = [self.line.minute(p.start) for p in got]
            g = self.line.grid
            self.model.add_hint(s.late, -(-(starts[-1] - s.origin) // g) if got else 0)
            for inf, p, t in zip(s.infusions, got, starts, strict=False):
                self.model.add_hint(inf.start, t)
                for w, y in inf.weeks:
                    self.model.add_hint(y, t >= w)
                for c, x in inf.chairs.items():
                    self.model.add_hint(x, c == p.chair)
                for n, z in inf.nurses.items():
                    self.model.add_hint(z, n == p.nurse)
            if not got:
                for inf in s.infusions:
                    for x in [*inf.chairs.values(), *inf.nurses.values()]:
                        self.model.add_hint(x, False)

    def read(self, solver: cp_model.CpSolver) -> list[Placement]:
        out: list[Placement] = []
        for s in self.series:
            if not solver.boolean_value(s.placed):
                continue
            r = self.problem.requests[s.index]
            chain = [(solver.value(inf.start),
                      next(c for c, x in inf.chairs.items() if solver.boolean_value(x)),
                      next(n for n, z in inf.nurses.items() if solver.boolean_value(z)))
                     for inf in s.infusions]
            out += placements(self.line, s.index, r, chain)
        return out


def _solver(time_limit_s: float, seed: int, workers: int) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.05, time_limit_s)
    solver.parameters.random_seed = seed
    solver.parameters.num_workers = workers
    # Probing the chair and nurse literals took most of the time limit on the benchmark's
    # sites before any search began; without it the hinted plan is found at once.
    solver.parameters.cp_model_probing_level = 0
    return solver


def _solve(problem: Problem, time_limit_s: float, seed: int, workers: int) -> Plan:
    deadline = clock.monotonic() + time_limit_s
    baseline = solve_greedy(problem)
    if len(problem.requests) <= WHOLE_UP_TO:
        return _solve_whole(problem, baseline, time_limit_s, seed, workers)
    return _improve(problem, baseline, deadline, seed, workers)


def _solve_whole(problem: Problem, hint: Plan, time_limit_s: float, seed: int,
                 workers: int) -> Plan:
    """One model for all requests, started from `hint` (returned if nothing is found)."""
    builder = _Builder(problem)
    builder.build()
    builder.hint(hint)
    solver = _solver(time_limit_s, seed, workers)
    status = solver.solve(builder.model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return replace(hint, solver="cp-sat (no better plan found in time)")
    placed = builder.read(solver)
    got = {p.request for p in placed}
    unplaced = builder.unplaced + [Unplaced(s.index, problem.requests[s.index].patient, FULL)
                                   for s in builder.series if s.index not in got]
    return Plan(placements=tuple(placed), unplaced=tuple(unplaced), solver="cp-sat",
                optimal=status == cp_model.OPTIMAL)


WHOLE_UP_TO = 24      # requests solved as one model; larger ones window by window
WINDOW_DAYS = 14      # a neighbourhood: requests that could fall in these days ...
WINDOW_STEP_DAYS = 7
FREE_AT_MOST = 20     # ... at most this many of them, re-planned together
ROUND_S = 3.0         # CP-SAT time per neighbourhood


def _score(plan: Plan, line: Timeline) -> tuple[int, int]:
    """Series placed, then (negated) sum of series' last starts: larger is better."""
    last: dict[int, int] = {}
    for p in plan.placements:
        last[p.request] = max(last.get(p.request, 0), line.minute(p.start))
    return len(last), -sum(last.values())


def _improve(problem: Problem, start: Plan, deadline: float, seed: int, workers: int) -> Plan:
    """Large-neighbourhood search: from the greedy plan, free the requests that could fall
    in a window of days, keep every other placement as a fixed booking, let CP-SAT re-plan
    the freed ones, keep the result if better; slide the window; stop at the deadline or
    after a pass with no gain."""
    rng = random.Random(seed)
    line = Timeline(problem)
    reasons: dict[int, str] = {}
    ranges: dict[int, tuple[int, int]] = {}
    for i, r in enumerate(problem.requests):
        cands = line.candidates(r)
        reason = empty_reason(line, r, cands)
        if reason:
            reasons[i] = reason
        else:
            ranges[i] = (cands[0], cands[-1] + r.minutes)
    current: dict[int, list[Placement]] = defaultdict(list)
    for p in start.placements:
        current[p.request].append(p)
    begin = min(s.begin for s in line.sites.values())
    end = max(s.end for s in line.sites.values())
    windows = [(a, a + WINDOW_DAYS * 1440)
               for a in range(begin, max(begin + 1, end - WINDOW_STEP_DAYS * 1440),
                              WINDOW_STEP_DAYS * 1440)]
    improved = True
    while improved and clock.monotonic() < deadline:
        improved = False
        for free in _neighbourhoods(problem, ranges, current, windows, rng):
            left = deadline - clock.monotonic()
            if left <= 0.05:
                break
            if _replan(problem, current, free, min(ROUND_S, left), seed, workers, line):
                improved = True
    placed = tuple(p for i in sorted(current) for p in sorted(current[i], key=lambda p: p.start))
    got = {p.request for p in placed}
    unplaced = tuple(Unplaced(i, r.patient, reasons.get(i, FULL))
                     for i, r in enumerate(problem.requests) if i not in got)
    return Plan(placements=placed, unplaced=unplaced, solver="cp-sat")


def _neighbourhoods(problem: Problem, ranges: dict[int, tuple[int, int]],
                    current: dict[int, list[Placement]], windows: list[tuple[int, int]],
                    rng: random.Random) -> list[list[int]]:
    """Each unplaced request with the placed ones of its site whose days could overlap it
    (nearest first), then windows of days with requests drawn from those in them."""
    out: list[list[int]] = []
    for u, (lo, hi) in ranges.items():
        if current.get(u):
            continue
        site = problem.requests[u].site_id
        near = sorted((abs(ranges[i][0] - lo), i) for i, (a, b) in ranges.items()
                      if i != u and problem.requests[i].site_id == site and a < hi and lo < b)
        out.append(sorted([u, *(i for _, i in near[:FREE_AT_MOST - 1])]))
    for a, b in windows:
        free = [i for i, (lo, hi) in ranges.items() if lo < b and a < hi]
        if len(free) > FREE_AT_MOST:
            free = sorted(rng.sample(free, FREE_AT_MOST))
        if free:
            out.append(free)
    return out


def _replan(problem: Problem, current: dict[int, list[Placement]], free: list[int],
            time_limit_s: float, seed: int, workers: int, line: Timeline) -> bool:
    """Re-plan the `free` requests around all other placements; True if it got better."""
    kept = tuple(p for i, ps in current.items() if i not in free for p in ps)
    sub = problem_with(replace(problem, requests=tuple(problem.requests[i] for i in free)), kept)
    local = {i: k for k, i in enumerate(free)}
    before = Plan(placements=tuple(replace(p, request=local[i]) for i in free
                                   for p in current.get(i, [])), unplaced=(), solver="")
    after = _solve_whole(sub, before, time_limit_s, seed, workers)
    if _score(after, line) <= _score(before, line):
        return False
    for i in free:
        current.pop(i, None)
    for p in after.placements:
        current[free[p.request]].append(replace(p, request=free[p.request]))
    return True


def _alternatives(problem: Problem, best: tuple[Placement, ...], n: int, time_limit_s: float,
                  seed: int, workers: int) -> list[tuple[Placement, ...]]:
    """Re-solve with the first infusion kept off the days already offered."""
    out: list[tuple[Placement, ...]] = []
    request = problem.requests[0]
    site = problem.site[request.site_id]
    used: list[date] = [best[0].start.astimezone(site.zone).date()]
    for _ in range(n):
        builder = _Builder(problem)
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
        solver = _solver(time_limit_s / n, seed, workers)
        if solver.solve(builder.model) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            break
        found = tuple(builder.read(solver))
        if not found:
            break
        out.append(found)
        used.append(found[0].start.astimezone(site.zone).date())
    return out

