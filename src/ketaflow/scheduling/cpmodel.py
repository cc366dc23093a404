"""The CP-SAT model of many series on the shared time line (OR-Tools), solved once.

Per request r: a presence literal placed[r]; per infusion k a start variable whose domain is
the request's candidate grid starts; starts ordered at least the gap apart; ISO-week quota via
week-boundary literals; the whole series within its span. Each infusion picks one chair
(optional intervals, NoOverlap per chair with the existing bookings fixed) and one nurse on
shift (optional intervals, Cumulative per nurse with capacity = the site's ratio; the literal
also limits the start to that nurse's shifts). A site whose existing bookings lack a nurse also
gets a Cumulative of all its infusions against ratio x nurses on shift. Objective: most series
placed (lexicographically first: one more series outweighs any completion times), then earliest
completion. A hint (a plan found another way) is always given, so the answer is never worse.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, field, replace

from ortools.sat.python import cp_model

from ketaflow.scheduling.chains import FULL, Rules, empty_reason, placements
from ketaflow.scheduling.model import Placement, Plan, Problem, SeriesRequest, Unplaced
from ketaflow.scheduling.timeline import Timeline, covers

Domain = cp_model.Domain
Window = tuple[int, int]  # [start, end) in minutes of the time line


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


class Builder:
    """The model of `problem`; with `window`, every request's infusions are kept inside it
    (a neighbourhood of the search re-plans one stretch of days)."""

    def __init__(self, problem: Problem, window: Window | None = None) -> None:
        self.problem = problem
        self.window = window
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
        # Lexicographic by weights: series placed, then infusions placed (an induction rather
        # than a pair), then earliest completion. One unit of each level outweighs everything
        # below it put together.
        span = self.horizon // self.line.grid + 1
        per_infusion = span * max(1, len(self.series)) + 1
        counts = [self.problem.requests[s.index].count for s in self.series]
        per_series = per_infusion * (sum(counts) + 1)
        placed = cp_model.LinearExpr.sum([s.placed for s in self.series])
        infusions = cp_model.LinearExpr.weighted_sum([s.placed for s in self.series], counts)
        self.model.maximize(per_series * placed + per_infusion * infusions
                            - cp_model.LinearExpr.sum(self.lateness))

    def add_request(self, index: int, r: SeriesRequest) -> None:
        cands = self.line.candidates(r)
        if self.window is not None:
            first, end = self.window
            cands = [t for t in cands if first <= t and t + r.minutes <= end]
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
        unassigned = {b.site_id for b in self.problem.bookings
                      if b.nurse is None and b.site_id in self.line.sites}
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


def solver_for(time_limit_s: float, seed: int, workers: int) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.05, time_limit_s)
    solver.parameters.random_seed = seed
    solver.parameters.num_workers = workers
    # Probing the chair and nurse literals took most of the time limit on the benchmark's
    # sites before any search began; without it the hinted plan is found at once.
    solver.parameters.cp_model_probing_level = 0
    return solver


def solve_whole(problem: Problem, hint: Plan, time_limit_s: float, seed: int, workers: int,
                window: Window | None = None) -> Plan:
    """One model for all requests, started from `hint` (returned if nothing is found; it
    must keep to `window` when one is given)."""
    builder = Builder(problem, window)
    builder.build()
    builder.hint(hint)
    solver = solver_for(time_limit_s, seed, workers)
    status = solver.solve(builder.model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return replace(hint, solver="cp-sat (no better plan found in time)")
    placed = builder.read(solver)
    got = {p.request for p in placed}
    unplaced = builder.unplaced + [Unplaced(s.index, problem.requests[s.index].patient, FULL)
                                   for s in builder.series if s.index not in got]
    return Plan(placements=tuple(placed), unplaced=tuple(unplaced), solver="cp-sat",
                optimal=status == cp_model.OPTIMAL)
