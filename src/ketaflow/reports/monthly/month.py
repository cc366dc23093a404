"""A calendar month in the clinic's time zone: parsed from "YYYY-MM", as UTC bounds for the
database, and cut into the weeks the report's chart counts by."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ketaflow.errors import ValidationFailed

MONTH_LABEL = "Month"
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
FIRST_YEAR = 2000  # no clinic record is older; a typo such as 0202-11 is refused


@dataclass(frozen=True)
class Month:
    first: date
    last: date

    @property
    def iso(self) -> str:
        return f"{self.first:%Y-%m}"

    @property
    def label(self) -> str:
        return f"{self.first:%B %Y}"

    def bounds(self, zone: str) -> tuple[datetime, datetime]:
        """[the first day 00:00, the next month's first day 00:00) in the zone, as UTC."""
        return _midnight(self.first, zone), _midnight(self.last + timedelta(days=1), zone)

    def weeks(self, zone: str) -> tuple[tuple[str, datetime, datetime], ...]:
        """Days 1-7, 8-14, 15-21, 22-28 and 29 to the end (label, UTC start, UTC end): the
        same five slices every month, so months compare."""
        cuts = [self.first + timedelta(days=7 * k) for k in range(5)]
        ends = [*cuts[1:], self.last + timedelta(days=1)]
        return tuple((f"{start.day}-{(end - timedelta(days=1)).day}", _midnight(start, zone),
                      _midnight(end, zone)) for start, end in zip(cuts, ends, strict=True)
                     if start <= self.last)

    def in_progress(self, today: date) -> bool:
        return self.first <= today <= self.last


def _midnight(day: date, zone: str) -> datetime:
    return datetime.combine(day, time.min, ZoneInfo(zone)).astimezone(UTC)


def month_of(day: date) -> Month:
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return Month(first, following - timedelta(days=1))


def last_month(today: date) -> Month:
    """The last whole month before `today`'s (the report a director usually asks for)."""
    return month_of(today.replace(day=1) - timedelta(days=1))


def parse_month(raw: str, *, today: date) -> Month:
    """"YYYY-MM" (empty: the last whole month); refused, naming the field, when malformed
    or after the current month."""
    text = raw.strip()
    if not text:
        return last_month(today)
    match = _MONTH.match(text)
    if match is None or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < FIRST_YEAR:
        raise ValidationFailed(f"{MONTH_LABEL} must be a month (YYYY-MM)", field="month")
    month = month_of(date(int(match.group(1)), int(match.group(2)), 1))
    if month.first > today:
        raise ValidationFailed(f"{MONTH_LABEL} must be {today:%Y-%m} or earlier (it has not "
                               "begun)", field="month")
    return month
