"""The problem on an integer time line (minutes from an origin, UTC) that both solvers share:
opening windows, staff coverage and each request's candidate starts. `rules.check_plan` does
not use this module, so a mistake here is caught by the checker rather than repeated by it."""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from ketaflow.scheduling.model import Problem, Role, SeriesRequest, Site

Window = tuple[int, int]  # [start, end) in minutes from the origin


def merge(windows: list[Window]) -> list[Window]:
    """Union of windows; touching ones join (two back-to-back shifts cover straight through)."""
    out: list[Window] = []
    for a, b in sorted(windows):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def covers(windows: list[Window], a: int, b: int) -> bool:
    """Whether one window of a merged, sorted list holds all of [a, b)."""
    i = bisect.bisect_right(windows, (a, 1 << 62)) - 1
    return i >= 0 and windows[i][0] <= a and b <= windows[i][1]


@dataclass
class SiteLine:
    site: Site
    begin: int                      # local midnight of the first day
    end: int                        # local midnight after the last day
    open: list[tuple[date, Window]]  # one window per open local day
    nurses: dict[str, list[Window]]  # nurse -> merged coverage at this site
    prescribers: list[Window] | None  # merged; None when no prescriber shift is listed
    week_starts: list[int]           # local Monday midnights, for ISO weeks


class Timeline:
    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.grid = problem.grid_minutes
        self.origin = min(s.at(problem.start, time(0)).astimezone(UTC) for s in problem.sites)
        self.sites = {s.id: self._site_line(s) for s in problem.sites}

    def minute(self, instant: datetime) -> int:
        return round((instant - self.origin).total_seconds() / 60)

    def instant(self, minute: int) -> datetime:
        return self.origin + timedelta(minutes=minute)

    def local(self, site: Site, day: date, clock: time) -> int:
        return self.minute(site.at(day, clock))

    def _site_line(self, site: Site) -> SiteLine:
        p = self.problem
        days = [p.start + timedelta(days=i) for i in range(p.days)]
        opened = [(d, (self.local(site, d, h.opens), self.local(site, d, h.closes)))
                  for d in days if (h := site.hours_on(d)) is not None]
        staff: dict[tuple[Role, str], list[Window]] = defaultdict(list)
        for s in p.shifts:
            if s.site_id == site.id:
                staff[s.role, s.staff_id].append(
                    (self.local(site, s.day, s.starts), self.local(site, s.day, s.ends)))
        nurses = {sid: merge(w) for (role, sid), w in staff.items() if role is Role.NURSE}
        prescribing = [w for (role, _), ws in staff.items() if role is Role.PRESCRIBER for w in ws]
        first_monday = p.start - timedelta(days=p.start.weekday())
        mondays = [first_monday + timedelta(weeks=i) for i in range(p.days // 7 + 2)]
        return SiteLine(site=site, begin=self.local(site, p.start, time(0)),
                        end=self.local(site, days[-1] + timedelta(days=1), time(0)),
                        open=opened, nurses=nurses,
                        prescribers=merge(prescribing) if prescribing else None,
                        week_starts=[self.local(site, d, time(0)) for d in mondays])

    def week(self, site_id: str, minute: int) -> int:
        return bisect.bisect_right(self.sites[site_id].week_starts, minute)

    def candidates(self, request: SeriesRequest) -> list[int]:
        """Grid starts where one infusion of the request could go on an empty calendar: inside
        the opening hours of its day, the patient's preferences, some nurse's shift and (if
        any are listed) a prescriber's, after `earliest`."""
        line = self.sites[request.site_id]
        d = request.minutes
        lowest = line.begin if request.earliest is None else max(
            line.begin, self.minute(request.earliest))
        out: list[int] = []
        for day, (opens, closes) in line.open:
            if request.days is not None and day.weekday() not in request.days:
                continue
            a = opens if request.after is None else max(
                opens, self.local(line.site, day, request.after))
            b = closes if request.before is None else min(
                closes, self.local(line.site, day, request.before))
            t = max(a, lowest)
            t += (-t) % self.grid
            while t + d <= b:
                if any(covers(ws, t, t + d) for ws in line.nurses.values()) and (
                        line.prescribers is None or covers(line.prescribers, t, t + d)):
                    out.append(t)
                t += self.grid
        return out

    def nurses_for(self, request: SeriesRequest, start: int) -> list[str]:
        """Nurses whose shift at the request's site covers an infusion starting then."""
        line = self.sites[request.site_id]
        return [n for n, ws in sorted(line.nurses.items())
                if covers(ws, start, start + request.minutes)]
