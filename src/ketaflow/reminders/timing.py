"""When a reminder is due: pure date and time rules (stdlib only, no database).

Everything the planner decides about time lives here so it can be tested on hand-made cases and
with Hypothesis. Times a patient chose are wall-clock times in the patient's IANA zone; what
comes out is timezone-aware UTC.

- A wall time that does not exist on a day (the hour skipped when clocks go forward) is read
  with the offset before the change, so it lands the length of the gap later (02:30 becomes
  03:30); a wall time that happens twice (clocks go back) is its first occurrence.
- Quiet hours are a local interval [start, end) that may wrap midnight (21:30-08:00); equal
  start and end mean none. A due time inside them moves to their end.
- Attempt 1 is at the chosen time, attempt n+1 `repeat_every_h` after attempt n's nominal time;
  an attempt moved by quiet hours onto or before the previous one is dropped (never two mails
  at once).
- An attempt more than `STALE_AFTER` old is never sent: after an outage the patient gets what
  is due now, not a flood of yesterday's reminders.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

STALE_AFTER = timedelta(hours=3)


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time

    def contains(self, wall: time) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= wall < self.end
        return wall >= self.start or wall < self.end  # wraps midnight


@dataclass(frozen=True)
class Repeats:
    every_h: int
    count: int  # repeats after the first attempt (0: ask once)


def at_local(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a wall time on a local day (see the module's DST rule)."""
    return datetime.combine(day, wall.replace(tzinfo=None), tzinfo=zone).astimezone(UTC)


def local_wall(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone)


def out_of_quiet(moment: datetime, zone: ZoneInfo, quiet: QuietHours) -> datetime:
    """The moment itself, or the end of the quiet hours it falls in."""
    local = local_wall(moment, zone)
    wall = local.time().replace(tzinfo=None)
    if not quiet.contains(wall):
        return moment
    day = local.date()
    if quiet.start > quiet.end and wall >= quiet.start:
        day += timedelta(days=1)  # evening part of hours that wrap midnight: ends tomorrow
    moved = at_local(day, quiet.end, zone)
    # An end inside the hour skipped by a clock change reads as a later wall time, which
    # hours covering almost the whole day may still contain: then the next day's end.
    while quiet.contains(local_wall(moved, zone).time().replace(tzinfo=None)):
        day += timedelta(days=1)
        moved = at_local(day, quiet.end, zone)
    return moved


def attempt_times(day: date, wall: time, zone: ZoneInfo, *, quiet: QuietHours,
                  repeats: Repeats) -> tuple[datetime, ...]:
    """Every attempt's due time (UTC) for a reminder about `day`, first attempt first."""
    first = at_local(day, wall, zone)
    times: list[datetime] = []
    for n in range(repeats.count + 1):
        moved = out_of_quiet(first + timedelta(hours=n * repeats.every_h), zone, quiet)
        if times and moved <= times[-1]:
            continue
        times.append(moved)
    return tuple(times)


def due_now(times: Iterable[datetime], now: datetime,
            stale_after: timedelta = STALE_AFTER) -> list[tuple[int, datetime]]:
    """(attempt number from 1, due time) of the attempts due at `now` and not yet stale."""
    return [(n, t) for n, t in enumerate(times, start=1) if now - stale_after < t <= now]


def recent_days(now: datetime, zone: ZoneInfo) -> tuple[date, date]:
    """Yesterday and today on the patient's calendar: repeats moved past midnight by quiet
    hours, or sent just after it, belong to yesterday's reminder."""
    today = local_wall(now, zone).date()
    return today - timedelta(days=1), today


def weekly_days(now: datetime, zone: ZoneInfo, weekday: int) -> list[date]:
    """The recent local days that fall on the chosen weekday (0 Monday .. 6 Sunday)."""
    return [d for d in recent_days(now, zone) if d.weekday() == weekday]
