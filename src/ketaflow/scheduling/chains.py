"""Building one series as a chain of starts, earliest first, on a calendar that is partly
taken: the greedy baseline, the single-series fast path and the reasons for `unplaced` use it.

For a fixed first start, taking the earliest admissible start for each next infusion is optimal
(an earlier start leaves every later choice open and uses no other week's quota), so trying every
first start finds the earliest-finishing chain that exists.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import numpy as np

from ketaflow.scheduling.model import Booking, Placement, Problem, SeriesRequest
from ketaflow.scheduling.timeline import Timeline, covers

Slot = tuple[int, int, str]  # start minute, chair, nurse
Free = Callable[[int], tuple[int, str] | None]


@dataclass(frozen=True)
class Rules:
    """A request's spacing rules in minutes."""

    count: int
    minutes: int
    step: int   # next start at least this long after the previous one's start
    span: int   # last end minus first start at most this
    per_week: int

    @classmethod
    def of(cls, r: SeriesRequest) -> Rules:
        return cls(count=r.count, minutes=r.minutes,
                   step=max(round(r.min_gap_hours * 60), r.minutes),
                   span=r.within_days * 1440, per_week=r.max_per_week)


def chain_from(line: Timeline, request: SeriesRequest, cands: list[int], first: int,
               free: Free) -> list[Slot] | None:
    """The earliest chain whose first infusion starts at cands[first], or None."""
    got = free(cands[first])
    return None if got is None else extend(line, request, cands, [(cands[first], *got)], free)


def extend(line: Timeline, request: SeriesRequest, cands: list[int], prefix: list[Slot],
           free: Free) -> list[Slot] | None:
    """Complete a chain whose first infusions are given, each next one at its earliest."""
    rules = Rules.of(request)
    t0 = prefix[0][0]
    chain = list(prefix)
    weeks = Counter(line.week(request.site_id, t) for t, _, _ in prefix)
    i = 0
    while len(chain) < rules.count:
        i = max(i, bisect.bisect_left(cands, chain[-1][0] + rules.step))
        while i < len(cands):
            t = cands[i]
            if t + rules.minutes - t0 > rules.span:
                return None
            week = line.week(request.site_id, t)
            if weeks[week] < rules.per_week and (got := free(t)) is not None:
                chain.append((t, *got))
                weeks[week] += 1
                break
            i += 1
        else:
            return None
    return chain


def chains(line: Timeline, request: SeriesRequest, cands: list[int],
           free: Free) -> Iterator[list[Slot]]:
    """Every first start's earliest chain, in order of first start."""
    for first in range(len(cands)):
        found = chain_from(line, request, cands, first, free)
        if found is not None:
            yield found


class Calendar:
    """Who holds what, per grid cell: chairs, each nurse's watched infusions and each site's
    infusions (for bookings with no nurse yet). A booking off the grid holds every cell it
    touches, so the calendar errs on the side of 'taken'; the checker is exact."""

    def __init__(self, line: Timeline) -> None:
        self.line = line
        g = line.grid
        self.cells = max(s.end for s in line.sites.values()) // g + 2
        self.chair = {(s.site.id, c): np.zeros(self.cells, np.int16)
                      for s in line.sites.values() for c in range(1, s.site.chairs + 1)}
        self.nurse: dict[str, np.ndarray] = {}
        self.at_site = {sid: np.zeros(self.cells, np.int16) for sid in line.sites}
        self.capacity = {sid: self._capacity(sid) for sid in line.sites}
        self.patient: dict[str, np.ndarray] = {}
        for b in line.problem.bookings:
            self.hold_booking(b)

    def _capacity(self, site_id: str) -> np.ndarray:
        """Per cell: the site's ratio times the nurses on shift for the whole cell."""
        s = self.line.sites[site_id]
        g = self.line.grid
        cap = np.zeros(self.cells, np.int16)
        for ws in s.nurses.values():
            for a, b in ws:
                lo, hi = max(0, -(-a // g)), min(self.cells, b // g)
                cap[lo:hi] += s.site.nurse_ratio
        return cap

    def _cells(self, a: int, b: int) -> slice:
        g = self.line.grid
        return slice(max(0, a // g), max(0, -(-b // g)))

    def _load(self, who: str) -> np.ndarray:
        return self.nurse.setdefault(who, np.zeros(self.cells, np.int16))

    def hold_booking(self, b: Booking) -> None:
        a = self.line.minute(b.start)
        self.hold(b.site_id, b.chair, b.nurse, b.patient, a, a + b.minutes)

    def hold(self, site_id: str, chair: int, nurse: str | None, patient: str, a: int,
             b: int) -> None:
        cells = self._cells(a, b)
        if (site_id, chair) in self.chair:
            self.chair[site_id, chair][cells] += 1
        if nurse is not None:
            self._load(nurse)[cells] += 1
        if site_id in self.at_site:
            self.at_site[site_id][cells] += 1
        self.patient.setdefault(patient, np.zeros(self.cells, np.int16))[cells] += 1

    def free(self, request: SeriesRequest) -> Free:
        """First free chair and least-loaded free nurse for an infusion starting at t."""
        s = self.line.sites[request.site_id]
        ratio = s.site.nurse_ratio
        busy = self.patient.get(request.patient)

        def pick(t: int) -> tuple[int, str] | None:
            cells = self._cells(t, t + request.minutes)
            if busy is not None and busy[cells].any():
                return None
            if (self.at_site[s.site.id][cells] >= self.capacity[s.site.id][cells]).any():
                return None
            chair = next((c for c in range(1, s.site.chairs + 1)
                          if not self.chair[s.site.id, c][cells].any()), None)
            if chair is None:
                return None
            loads = [(int(self._load(n)[cells].max()), n) for n, ws in sorted(s.nurses.items())
                     if covers(ws, t, t + request.minutes)]
            best = min((x for x in loads if x[0] < ratio), default=None)
            return None if best is None else (chair, best[1])

        return pick


def placements(line: Timeline, index: int, request: SeriesRequest,
               chain: list[Slot]) -> tuple[Placement, ...]:
    return tuple(Placement(request=index, patient=request.patient, site_id=request.site_id,
                           chair=chair, nurse=nurse, start=line.instant(t),
                           minutes=request.minutes) for t, chair, nurse in chain)


def empty_reason(line: Timeline, request: SeriesRequest, cands: list[int]) -> str | None:
    """Why the series cannot fit even on an empty calendar, or None when it could."""
    if not cands:
        return ("no start fits the opening hours, nurse or prescriber shifts and the "
                "preferred days and times")
    always: Free = lambda t: (0, "")  # noqa: E731 - every chair and nurse free
    if next(chains(line, request, cands, always), None) is None:
        return (f"{request.count} infusions do not fit within {request.within_days} days at "
                f"least {request.min_gap_hours:g} h apart, {request.max_per_week} a week, in the "
                "opening hours, shifts and preferred times")
    return None


FULL = "the calendar is full: not enough free chairs or nurses for the whole series"


def problem_with(problem: Problem, extra: tuple[Placement, ...]) -> Problem:
    """The problem with new placements turned into existing bookings."""
    held = tuple(Booking(patient=p.patient, site_id=p.site_id, chair=p.chair, start=p.start,
                         minutes=p.minutes, nurse=p.nurse) for p in extra)
    return replace(problem, bookings=problem.bookings + held)
