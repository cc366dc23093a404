"""The scheduling problem and its results as frozen dataclasses.

Instants are timezone-aware datetimes (any zone; compared as instants). Wall-clock values that
belong to a site (opening hours, shift times, preferred times, closure dates) are local to that
site and converted with zoneinfo, so a day on which the clocks change keeps its local hours.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import cached_property
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # index = date.weekday()


class Role(StrEnum):
    NURSE = "nurse"
    PRESCRIBER = "prescriber"


@dataclass(frozen=True)
class OpenHours:
    """A site opens on `weekday` (0 = Monday) from `opens` to `closes`, local time."""

    weekday: int
    opens: time
    closes: time


@dataclass(frozen=True)
class Site:
    id: str
    timezone: str
    chairs: int
    nurse_ratio: int  # infusing patients one nurse may watch at once (the clinic's choice)
    open_hours: tuple[OpenHours, ...]
    closures: frozenset[date] = frozenset()

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def hours_on(self, day: date) -> OpenHours | None:
        """The opening hours of a local date, or None when closed (weekday or closure)."""
        if day in self.closures:
            return None
        return next((h for h in self.open_hours if h.weekday == day.weekday()), None)

    def at(self, day: date, clock: time) -> datetime:
        """The instant of a local wall-clock time at this site (first one if the clocks repeat)."""
        return datetime.combine(day, clock, tzinfo=self.zone)


@dataclass(frozen=True)
class StaffShift:
    staff_id: str
    role: Role
    site_id: str
    day: date
    starts: time  # local to the site
    ends: time    # local, same day, after `starts`


@dataclass(frozen=True)
class Booking:
    """An infusion already on the calendar; `nurse` is None when not yet assigned."""

    patient: str
    site_id: str
    chair: int
    start: datetime
    minutes: int
    nurse: str | None = None

    @property
    def end(self) -> datetime:
        return self.start + timedelta(minutes=self.minutes)


@dataclass(frozen=True)
class SeriesRequest:
    """A patient's series: `count` infusions of `minutes` chair time, starts at least
    `min_gap_hours` apart, at most `max_per_week` per ISO week (local), every infusion ending
    within `within_days` x 24 h of the first one's start. `days`, `after` and `before` are the
    patient's preferences and hard when given: weekdays (0 = Monday), start no earlier than
    `after`, end no later than `before` (local). `earliest`: no infusion starts before it."""

    patient: str
    site_id: str
    count: int
    minutes: int
    min_gap_hours: float
    max_per_week: int
    within_days: int
    days: frozenset[int] | None = None
    after: time | None = None
    before: time | None = None
    earliest: datetime | None = None


@dataclass(frozen=True)
class Problem:
    """Plan from local midnight of `start` for `days` days at every site, on a grid of
    `grid_minutes` (infusions start on the grid; existing bookings may be anywhere)."""

    start: date
    days: int
    sites: tuple[Site, ...]
    shifts: tuple[StaffShift, ...] = ()
    bookings: tuple[Booking, ...] = ()
    requests: tuple[SeriesRequest, ...] = ()
    grid_minutes: int = 30

    @cached_property
    def site(self) -> dict[str, Site]:
        return {s.id: s for s in self.sites}


@dataclass(frozen=True)
class Placement:
    """One new infusion: request index, chair number (1..chairs) and the nurse watching it."""

    request: int
    patient: str
    site_id: str
    chair: int
    nurse: str
    start: datetime
    minutes: int

    @property
    def end(self) -> datetime:
        return self.start + timedelta(minutes=self.minutes)


@dataclass(frozen=True)
class Unplaced:
    request: int
    patient: str
    reason: str


@dataclass(frozen=True)
class Violation:
    rule: str
    detail: str  # ids and times only, never patient values


@dataclass(frozen=True)
class Plan:
    placements: tuple[Placement, ...]
    unplaced: tuple[Unplaced, ...]
    solver: str
    optimal: bool = False
    alternatives: tuple[tuple[Placement, ...], ...] = ()  # other whole options (one request)


@dataclass(frozen=True)
class Options:
    """Ways to book one series: the best (earliest completion) and distinct alternatives
    (each starting on another day), or a reason when it cannot be placed."""

    best: tuple[Placement, ...] | None
    alternatives: tuple[tuple[Placement, ...], ...] = field(default=())
    reason: str | None = None
