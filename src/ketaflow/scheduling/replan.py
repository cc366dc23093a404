"""Re-planning a week after the rota or the site changed (a nurse's leave, a closure): which
booked infusions now break a rule, and which of them can stay at their time with another nurse
or chair. The most are kept with CP-SAT (fewest changes of nurse or chair among the plans that
keep the most); the others must be moved, their series re-flowed (`booking.reflow`).

Each kept infusion is verified by `rules.check_plan` as a one-infusion request placed on the
calendar of the unbroken ones, so the model here is checked, not trusted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from ortools.sat.python import cp_model

from ketaflow.scheduling.model import Booking, Placement, Problem, Role, SeriesRequest, Violation
from ketaflow.scheduling.rules import check_plan, coverage, inside

# Rules a new nurse or chair cannot mend: the time itself is wrong.
_TIME_RULES = frozenset({"opening", "prescriber", "horizon", "patient"})


@dataclass(frozen=True)
class Keep:
    """Booking `index` stays at its time with this chair and nurse."""

    index: int
    chair: int
    nurse: str


def _alone(b: Booking) -> SeriesRequest:
    return SeriesRequest(b.patient, b.site_id, 1, b.minutes, 0, 7, 1)


def _placed(b: Booking, chair: int, nurse: str) -> Placement:
    return Placement(0, b.patient, b.site_id, chair, nurse, b.start, b.minutes)


def breaks(problem: Problem, index: int) -> list[Violation]:
    """What booking `index` breaks on the calendar of all the others."""
    b = problem.bookings[index]
    others = problem.bookings[:index] + problem.bookings[index + 1:]
    one = replace(problem, bookings=others, requests=(_alone(b),))
    return check_plan(one, [_placed(b, b.chair, b.nurse or "")])


def broken(problem: Problem, since: datetime, until: datetime) -> list[int]:
    """Bookings starting in [since, until) that break a rule, in time order."""
    found = [i for i, b in enumerate(problem.bookings)
             if since <= b.start < until and breaks(problem, i)]
    return sorted(found, key=lambda i: problem.bookings[i].start)


def verify(problem: Problem, broken_ones: Sequence[int], kept: Sequence[Keep]
           ) -> list[Violation]:
    """The kept infusions checked as new placements on the calendar of the unbroken ones (the
    broken ones not kept are to be moved elsewhere)."""
    out = set(broken_ones) | {k.index for k in kept}
    fixed = tuple(b for i, b in enumerate(problem.bookings) if i not in out)
    requests = tuple(_alone(problem.bookings[k.index]) for k in kept)
    placements = [replace(_placed(problem.bookings[k.index], k.chair, k.nurse), request=n)
                  for n, k in enumerate(kept)]
    return check_plan(replace(problem, bookings=fixed, requests=requests), placements)


def keep_in_place(problem: Problem, broken_ones: Sequence[int], *,
                  time_limit_s: float = 5.0) -> list[Keep]:
    """The most of `broken_ones` that can stay at their times (see the module doc)."""
    model = _Model(problem, broken_ones)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit_s
    solver.parameters.num_workers = 1  # deterministic: the same calendar gives the same plan
    if solver.solve(model.model) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return []
    return model.read(solver)


class _Model:
    def __init__(self, problem: Problem, broken_ones: Sequence[int]) -> None:
        self.problem, self.model = problem, cp_model.CpModel()
        self.broken = [i for i in broken_ones
                       if not {v.rule for v in breaks(problem, i)} & _TIME_RULES]
        out = set(self.broken)
        self.fixed = [b for i, b in enumerate(problem.bookings) if i not in out]
        self.keep = {i: self.model.new_bool_var(f"keep{i}") for i in self.broken}
        self.nurse: dict[tuple[int, str], cp_model.IntVar] = {}
        self.chair: dict[tuple[int, int], cp_model.IntVar] = {}
        for i in self.broken:
            self._choices(i)
        self._overlaps()
        self._site_capacity()
        changes = [v for (i, n), v in self.nurse.items() if n != problem.bookings[i].nurse]
        changes += [v for (i, c), v in self.chair.items() if c != problem.bookings[i].chair]
        self.model.maximize(1000 * sum(self.keep.values()) - sum(changes))

    def _choices(self, i: int) -> None:
        b, m = self.problem.bookings[i], self.model
        site = self.problem.site[b.site_id]
        nurses = sorted({s.staff_id for s in self.problem.shifts
                         if s.site_id == b.site_id and s.role is Role.NURSE})
        for n in nurses:
            if inside(coverage(self.problem, n, Role.NURSE, b.site_id), b.start, b.end):
                self.nurse[i, n] = m.new_bool_var(f"n{i}-{n}")
        for c in range(1, site.chairs + 1):
            if not any(f.site_id == b.site_id and f.chair == c and _meet(f, b)
                       for f in self.fixed):
                self.chair[i, c] = m.new_bool_var(f"c{i}-{c}")
        m.add(sum(v for (j, _), v in self.nurse.items() if j == i) == self.keep[i])
        m.add(sum(v for (j, _), v in self.chair.items() if j == i) == self.keep[i])

    def _overlaps(self) -> None:
        """No chair twice at once; no nurse above the site's ratio at any start."""
        for (i, c), v in self.chair.items():
            for (j, d), w in self.chair.items():
                if i < j and c == d and _meet(self.problem.bookings[i], self.problem.bookings[j]):
                    self.model.add(v + w <= 1)
        for (i, n), _ in self.nurse.items():
            b = self.problem.bookings[i]
            ratio = self.problem.site[b.site_id].nurse_ratio
            for t in self._starts_within(b):
                fixed = sum(1 for f in self.fixed if f.nurse == n and f.start <= t < f.end)
                running = [v for (j, m), v in self.nurse.items() if m == n
                           and self.problem.bookings[j].start <= t < self.problem.bookings[j].end]
                self.model.add(fixed + sum(running) <= ratio)

    def _site_capacity(self) -> None:
        """All infusing at a site within ratio x nurses on shift (as `check_plan` counts)."""
        for i in self.broken:
            b = self.problem.bookings[i]
            site = self.problem.site[b.site_id]
            for t in self._starts_within(b) | self._shift_changes_within(b):
                fixed = sum(1 for f in self.fixed
                            if f.site_id == b.site_id and f.start <= t < f.end)
                running = [self.keep[j] for j in self.broken
                           if self.problem.bookings[j].site_id == b.site_id
                           and self.problem.bookings[j].start <= t < self.problem.bookings[j].end]
                on_shift = len({s.staff_id for s in self.problem.shifts
                                if s.site_id == b.site_id and s.role is Role.NURSE
                                and site.at(s.day, s.starts) <= t < site.at(s.day, s.ends)})
                self.model.add(fixed + sum(running) <= site.nurse_ratio * on_shift)

    def _starts_within(self, b: Booking) -> set[datetime]:
        every = [*self.fixed, *(self.problem.bookings[j] for j in self.broken)]
        return {x.start for x in every if b.start <= x.start < b.end}

    def _shift_changes_within(self, b: Booking) -> set[datetime]:
        site = self.problem.site[b.site_id]
        return {t for s in self.problem.shifts if s.site_id == b.site_id
                for t in (site.at(s.day, s.starts), site.at(s.day, s.ends))
                if b.start < t < b.end}

    def read(self, solver: cp_model.CpSolver) -> list[Keep]:
        out = []
        for i in self.broken:
            if solver.boolean_value(self.keep[i]):
                nurse = next(n for (j, n), v in self.nurse.items()
                             if j == i and solver.boolean_value(v))
                chair = next(c for (j, c), v in self.chair.items()
                             if j == i and solver.boolean_value(v))
                out.append(Keep(i, chair, nurse))
        return out


def _meet(a: Booking, b: Booking) -> bool:
    return a.start < b.end and b.start < a.end
