"""The independent rule checker: every rule of docs/scheduling.md, computed afresh from the
dataclasses with datetimes and zoneinfo (no time grid, no code shared with the solvers).

A violation is reported only where a new placement takes part, so an over-full calendar that
the clinic already had is not blamed on the plan.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from ketaflow.scheduling.model import Placement, Problem, Role, Violation

Span = tuple[datetime, datetime]
Item = tuple[datetime, datetime, bool]  # start, end, new?


def coverage(problem: Problem, staff: str | None, role: Role, site_id: str) -> list[Span]:
    """Merged local shifts as instants (`staff` None: everyone of the role)."""
    site = problem.site[site_id]
    spans = sorted((site.at(s.day, s.starts), site.at(s.day, s.ends)) for s in problem.shifts
                   if s.site_id == site_id and s.role is role and staff in (None, s.staff_id))
    merged: list[Span] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def inside(spans: list[Span], a: datetime, b: datetime) -> bool:
    return any(x <= a and b <= y for x, y in spans)


def _peaks(items: Iterable[Item], capacity: int) -> list[datetime]:
    """Instants where more than `capacity` items overlap while a new one runs."""
    events = sorted([(a, 1, new) for a, _, new in items] + [(b, -1, new) for _, b, new in items],
                    key=lambda e: (e[0], e[1]))  # ends before starts: half-open intervals
    running = new_running = 0
    out = []
    for when, delta, new in events:
        running += delta
        new_running += delta if new else 0
        if delta > 0 and running > capacity and new_running > 0:
            out.append(when)
    return out


def check_plan(problem: Problem, placements: Sequence[Placement]) -> list[Violation]:
    out: list[Violation] = []
    out += _request_rules(problem, placements)
    out += _resource_rules(problem, placements)
    return out


def _request_rules(problem: Problem, placements: Sequence[Placement]) -> list[Violation]:
    out: list[Violation] = []
    by_request: dict[int, list[Placement]] = defaultdict(list)
    for p in placements:
        if not 0 <= p.request < len(problem.requests):
            out.append(Violation("request", f"placement for unknown request {p.request}"))
            continue
        by_request[p.request].append(p)
        out += _placement_rules(problem, p)
    for index, group in by_request.items():
        out += _series_rules(problem, index, sorted(group, key=lambda p: p.start))
    return out


def _placement_rules(problem: Problem, p: Placement) -> list[Violation]:
    r = problem.requests[p.request]
    site = problem.site.get(p.site_id)
    where = f"request {p.request} at {p.start.isoformat()}"
    if site is None or p.site_id != r.site_id or p.patient != r.patient or p.minutes != r.minutes:
        return [Violation("request", f"{where}: site, patient or minutes differ from the request")]
    out: list[Violation] = []
    if not 1 <= p.chair <= site.chairs:
        out.append(Violation("chair", f"{where}: no chair {p.chair} at site {site.id}"))
    start, end = p.start.astimezone(site.zone), p.end.astimezone(site.zone)
    first = site.at(problem.start, datetime.min.time())
    last = site.at(problem.start + timedelta(days=problem.days), datetime.min.time())
    if p.start < first or p.end > last:
        out.append(Violation("horizon", f"{where}: outside the planning days"))
    hours = site.hours_on(start.date())
    if hours is None or end.date() != start.date() or not (
            hours.opens <= start.time() and end.time() <= hours.closes):
        out.append(Violation("opening", f"{where}: outside opening hours or on a closure"))
    if r.days is not None and start.weekday() not in r.days:
        out.append(Violation("preference", f"{where}: not on a preferred weekday"))
    if (r.after is not None and start.time() < r.after) or (
            r.before is not None and (end.date() != start.date() or end.time() > r.before)):
        out.append(Violation("preference", f"{where}: outside the preferred times"))
    if r.earliest is not None and p.start < r.earliest:
        out.append(Violation("earliest", f"{where}: before the earliest start"))
    if not inside(coverage(problem, p.nurse, Role.NURSE, site.id), p.start, p.end):
        out.append(Violation("nurse-shift", f"{where}: nurse {p.nurse} not on shift throughout"))
    prescribers = coverage(problem, None, Role.PRESCRIBER, site.id)
    if prescribers and not inside(prescribers, p.start, p.end):
        out.append(Violation("prescriber", f"{where}: no prescriber on site throughout"))
    return out


def _series_rules(problem: Problem, index: int, group: list[Placement]) -> list[Violation]:
    r = problem.requests[index]
    site = problem.site[r.site_id]
    out: list[Violation] = []
    if len(group) != r.count:
        out.append(Violation("whole", f"request {index}: {len(group)} of {r.count} placed"))
    gap = timedelta(hours=r.min_gap_hours)
    for a, b in itertools.pairwise(group):
        if b.start - a.start < gap:
            out.append(Violation("gap", f"request {index}: {b.start.isoformat()} is less than "
                                        f"{r.min_gap_hours:g} h after the previous start"))
    weeks = Counter(p.start.astimezone(site.zone).isocalendar()[:2] for p in group)
    out += [Violation("week", f"request {index}: {n} infusions in ISO week {y}-W{w:02}")
            for (y, w), n in sorted(weeks.items()) if n > r.max_per_week]
    if group and group[-1].end - group[0].start > timedelta(days=r.within_days):
        out.append(Violation("within", f"request {index}: series longer than "
                                       f"{r.within_days} days"))
    return out


def _resource_rules(problem: Problem, placements: Sequence[Placement]) -> list[Violation]:
    chairs: dict[tuple[str, int], list[Item]] = defaultdict(list)
    nurses: dict[str, list[Item]] = defaultdict(list)
    sites: dict[str, list[Item]] = defaultdict(list)
    patients: dict[str, list[Item]] = defaultdict(list)
    old = [(b.site_id, b.chair, b.nurse, b.patient, b.start, b.end, False)
           for b in problem.bookings]
    new = [(p.site_id, p.chair, p.nurse, p.patient, p.start, p.end, True) for p in placements]
    for site_id, chair, nurse, patient, a, b, fresh in old + new:
        chairs[site_id, chair].append((a, b, fresh))
        sites[site_id].append((a, b, fresh))
        patients[patient].append((a, b, fresh))
        if nurse is not None:
            nurses[nurse].append((a, b, fresh))
    out = [Violation("chair", f"site {s} chair {c}: overlap at {t.isoformat()}")
           for (s, c), items in sorted(chairs.items()) for t in _peaks(items, 1)]
    out += [Violation("patient", f"a patient's infusions overlap at {t.isoformat()}")
            for items in patients.values() for t in _peaks(items, 1)]
    ratio = {p.nurse: problem.site[p.site_id].nurse_ratio for p in placements
             if p.site_id in problem.site}
    out += [Violation("ratio", f"nurse {n}: more than {ratio[n]} infusing at {t.isoformat()}")
            for n, items in sorted(nurses.items()) if n in ratio for t in _peaks(items, ratio[n])]
    for site_id, items in sorted(sites.items()):
        if site_id in problem.site:
            out += _site_capacity(problem, site_id, items)
    return out


def _site_capacity(problem: Problem, site_id: str, items: list[Item]) -> list[Violation]:
    """All infusions at a site (assigned or not) within ratio x nurses on shift, at every
    instant where a new one runs: checked at each new start and each change of shift."""
    ratio = problem.site[site_id].nurse_ratio
    shifts = [(problem.site[site_id].at(s.day, s.starts), problem.site[site_id].at(s.day, s.ends))
              for s in problem.shifts if s.site_id == site_id and s.role is Role.NURSE]
    news = [(a, b) for a, b, fresh in items if fresh]
    instants = sorted({a for a, _ in news} | {t for x, y in shifts for t in (x, y)}
                      | {a for a, _, _ in items})
    out = []
    for t in instants:
        if not any(a <= t < b for a, b in news):
            continue
        running = sum(a <= t < b for a, b, _ in items)
        on_shift = len({s.staff_id for s in problem.shifts if s.site_id == site_id
                        and s.role is Role.NURSE and problem.site[site_id].at(s.day, s.starts)
                        <= t < problem.site[site_id].at(s.day, s.ends)})
        if running > ratio * on_shift:
            out.append(Violation("site-ratio", f"site {site_id}: {running} infusing with "
                                               f"{on_shift} nurses at {t.isoformat()}"))
    return out
