"""Hand-made clinics for the scheduling tests: one site in New York, Monday 2027-01-04 on."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ketaflow.scheduling.model import (
    OpenHours,
    Problem,
    Role,
    SeriesRequest,
    Site,
    StaffShift,
)

MONDAY = date(2027, 1, 4)
NY = ZoneInfo("America/New_York")
WEEKDAYS_8_18 = tuple(OpenHours(d, time(8), time(18)) for d in range(5))


def site(chairs: int = 3, ratio: int = 2, **overrides: object) -> Site:
    base = Site("A", "America/New_York", chairs, ratio, WEEKDAYS_8_18)
    return replace(base, **overrides)  # type: ignore[arg-type]


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=NY)


def nurse(staff: str, day: date, start: int = 8, end: int = 18, site_id: str = "A",
          role: Role = Role.NURSE) -> StaffShift:
    return StaffShift(staff, role, site_id, day, time(start), time(end))


def weekdays(first: date = MONDAY, days: int = 14) -> list[date]:
    return [d for i in range(days) if (d := first + timedelta(days=i)).weekday() < 5]


def request(patient: str = "p1", **overrides: object) -> SeriesRequest:
    base = SeriesRequest(patient=patient, site_id="A", count=1, minutes=120, min_gap_hours=48,
                         max_per_week=3, within_days=21)
    return replace(base, **overrides)  # type: ignore[arg-type]


def problem(*, sites: tuple[Site, ...] | None = None, days: int = 14, start: date = MONDAY,
            **parts: object) -> Problem:
    return Problem(start=start, days=days, sites=sites or (site(),), **parts)  # type: ignore[arg-type]


def placed_series(plan_placements: object) -> set[int]:
    return {p.request for p in plan_placements}  # type: ignore[attr-defined]
