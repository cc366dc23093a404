"""FHIR search parameter values, parsed (pure: no database).

Dates follow FHIR's rule that a value is a range at its own precision ("2026-03" is the whole
month) and a prefix compares ranges: eq = the moment lies in the range, lt = before it starts,
le = before it ends, gt = at or after it ends, ge = at or after it starts. Values with a time
must carry a zone; a date without one is a day in the clinic's time zone. Refusals name the
parameter, never the value (a birth date is a patient's).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo

from ketaflow.fhir.outcome import InvalidSearch

PREFIXES = ("eq", "lt", "le", "gt", "ge")
COUNT_DEFAULT = 20
COUNT_MAX = 100

_DATE = re.compile(
    r"(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
    r"(?:T(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?P<fraction>\.\d{1,6})?)?"
    r"(?P<zone>Z|[+-]\d{2}:\d{2})?)?)?)?"
)


@dataclass(frozen=True)
class DateRange:
    """[start, end) in UTC, with the comparison prefix and the zone a date without a time was
    read in (the clinic's; UTC for calendar dates), which gives back its days."""

    prefix: str
    start: datetime
    end: datetime
    zone: tzinfo = UTC


@dataclass(frozen=True)
class Token:
    """A token value: `system|code`, `code` (any system) or `system|` (any code there)."""

    system: str | None
    code: str | None

    def matches(self, system: str, code: str) -> bool:
        return ((self.system is None or self.system == system)
                and (self.code is None or self.code == code))


def parse_date(parameter: str, raw: str, zone: tzinfo) -> DateRange:
    prefix = raw[:2] if raw[:2] in PREFIXES else "eq"
    text = raw[2:] if raw[:2] in PREFIXES else raw
    match = _DATE.fullmatch(text)
    if match is None:
        raise InvalidSearch(
            f"{parameter}: the value is not a FHIR date (YYYY, YYYY-MM, YYYY-MM-DD or "
            "YYYY-MM-DDThh:mm[:ss]+zone, optionally after eq, lt, le, gt or ge)",
            field=parameter)
    try:
        start, end = _range(match)
    except ValueError:
        raise InvalidSearch(f"{parameter}: the value is not a real date",
                            field=parameter) from None
    if start.tzinfo is None:
        if match["hour"] is not None:
            raise InvalidSearch(f"{parameter}: a time needs a zone (Z or +hh:mm)",
                                field=parameter)
        start, end = start.replace(tzinfo=zone), end.replace(tzinfo=zone)
    return DateRange(prefix, start.astimezone(UTC), end.astimezone(UTC), zone)


def _range(match: re.Match[str]) -> tuple[datetime, datetime]:
    year = int(match["year"])
    if match["month"] is None:
        return datetime(year, 1, 1), datetime(year + 1, 1, 1)
    month = int(match["month"])
    if match["day"] is None:
        start = datetime(year, month, 1)
        return start, (datetime(year + 1, 1, 1) if month == 12 else datetime(year, month + 1, 1))
    day = date(year, month, int(match["day"]))
    if match["hour"] is None:
        start = datetime(day.year, day.month, day.day)
        return start, start + timedelta(days=1)
    zone = _zone(match["zone"])
    second = int(match["second"] or 0)
    micro = int(float(match["fraction"]) * 1_000_000) if match["fraction"] else 0
    start = datetime(day.year, day.month, day.day, int(match["hour"]), int(match["minute"]),
                     second, micro, tzinfo=zone)
    # The precision given sets the range: to the minute, the second, or the instant.
    step = (timedelta(microseconds=1) if match["fraction"] else
            timedelta(seconds=1) if match["second"] else timedelta(minutes=1))
    return start, start + step


def _zone(text: str | None) -> tzinfo | None:
    if text is None:
        return None
    if text == "Z":
        return UTC
    sign = 1 if text[0] == "+" else -1
    hours, minutes = int(text[1:3]), int(text[4:6])
    if hours > 14 or minutes > 59:
        raise ValueError("offset out of range")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def parse_token(raw: str) -> Token:
    if "|" not in raw:
        return Token(None, raw or None)
    system, _, code = raw.partition("|")
    return Token(system or None, code or None)


def parse_reference(parameter: str, raw: str, resource_type: str, id_prefix: str = "") -> int:
    """A reference to one of our resources with a numeric id: `Type/123` or `123`, or with
    the type's id prefix, `Type/staff-123` or `staff-123` (the row id is returned)."""
    text = raw.removeprefix(f"{resource_type}/").removeprefix(id_prefix)
    if not text.isdigit() or len(text) > 18:
        raise InvalidSearch(f"{parameter}: expected {resource_type}/{id_prefix}<id> or "
                            f"{id_prefix}<id>", field=parameter)
    return int(text)


@dataclass(frozen=True)
class Canonical:
    """A reference to a resource with a canonical URL: its id, and the version if one was
    given (`<canonical>|<version>`)."""

    id: str
    version: str | None = None


_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


def parse_canonical(parameter: str, raw: str, resource_type: str, base: str) -> Canonical:
    """`<base>/<id>[|version]` (the canonical URL), `<Type>/<id>` or `<id>`."""
    text, _, version = raw.partition("|")
    for prefix in (f"{base.rstrip('/')}/", f"{resource_type}/"):
        if text.startswith(prefix):
            text = text[len(prefix):]
            break
    else:
        if version:
            text = ""  # a version belongs to a canonical URL only
    if not _ID.fullmatch(text) or "|" in version:
        raise InvalidSearch(f"{parameter}: expected the {resource_type}'s canonical URL "
                            f"({base}/<id>, optionally |<version>), {resource_type}/<id> "
                            "or <id>", field=parameter)
    return Canonical(text, version or None)


_ANY_REFERENCE = re.compile(r"(?P<type>[A-Z][A-Za-z]{0,63})/(?P<id>[A-Za-z0-9\-.]{1,64})")


def parse_any_reference(parameter: str, raw: str) -> tuple[str, str]:
    """A reference to a resource of any type, `Type/id`: (type, id)."""
    match = _ANY_REFERENCE.fullmatch(raw)
    if match is None:
        raise InvalidSearch(f"{parameter}: expected Type/id (e.g. Patient/12)", field=parameter)
    return match["type"], match["id"]


def parse_count(raw: str | None) -> int:
    if raw is None:
        return COUNT_DEFAULT
    if not raw.isdigit() or not 1 <= int(raw) <= COUNT_MAX:
        raise InvalidSearch(f"_count must be a whole number from 1 to {COUNT_MAX}",
                            field="_count")
    return int(raw)


def parse_offset(raw: str | None) -> int:
    if raw is None:
        return 0
    if not raw.isdigit() or len(raw) > 9:
        raise InvalidSearch("_offset must be a whole number of 0 or more", field="_offset")
    return int(raw)
