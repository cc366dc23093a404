"""Plausible dates and times for clinical records: the one place that defines the bounds.

A typo in a year ("0026" for "2026", "2062" for "2026") produces a real date that every later
rule would happily use: a rating from the year 26 becomes the course baseline, a birth date
next year makes the patient -1 years old. These bounds refuse such entries where they enter
(the services, so pages, the API and the CLI all get them):

- date of birth: from `EARLIEST_DATE` (1900-01-01) to today;
- clinical events that happened (ratings, vitals, weights, medication starts and stops, prior
  trials, screening tests, consent, adverse events): not before 1900 nor the patient's birth
  date where it is known, and not in the future; a timestamp may be ahead of the server by
  `CLOCK_SKEW` (tablet clocks drift), a date may be today;
- planned dates (a course's first infusion, its baseline): up to `PLANNING_HORIZON_DAYS` ahead;
- expiry dates (a vial lot): after today and at most `EXPIRY_HORIZON_DAYS` ahead.

"Today" is the caller's (UTC) date. Pure: stdlib and `ketaflow.errors` only.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from ketaflow.errors import ValidationFailed

EARLIEST_DATE = date(1900, 1, 1)
# Clocks on tablets and monitor gateways drift; a few minutes ahead is still "now".
CLOCK_SKEW = timedelta(minutes=5)
# Two years: longer than an induction and a year of maintenance (ketaflow house default).
PLANNING_HORIZON_DAYS = 730
# Unopened ketamine vials carry a shelf life of a few years; five years ahead is a typo
# (ketaflow house default, unverified).
EXPIRY_HORIZON_DAYS = 5 * 365


def _floor(born: date | None) -> tuple[date, str]:
    if born is not None and born > EARLIEST_DATE:
        return born, "the date of birth"
    return EARLIEST_DATE, EARLIEST_DATE.isoformat()


def birth_date(value: date, *, today: date, field: str = "date_of_birth",
               label: str = "date of birth") -> date:
    if value < EARLIEST_DATE:
        raise ValidationFailed(f"{label} must be on or after {EARLIEST_DATE.isoformat()}",
                               field=field)
    if value > today:
        raise ValidationFailed(f"{label} cannot be in the future", field=field)
    return value


def past_date(value: date | None, *, today: date, field: str, label: str,
              born: date | None = None) -> date | None:
    """A day something happened: not before 1900 (or birth), not after today."""
    if value is None:
        return None
    floor, floor_text = _floor(born)
    if value < floor:
        raise ValidationFailed(f"{label} cannot be before {floor_text}", field=field)
    if value > today:
        raise ValidationFailed(f"{label} cannot be in the future", field=field)
    return value


def past_moment(value: datetime, *, now: datetime, field: str, label: str,
                born: date | None = None) -> datetime:
    """A moment something happened: timezone-aware, not before 1900 (or the start of the day
    of birth), not later than `now` plus `CLOCK_SKEW`."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationFailed(f"{label} needs a time zone", field=field)
    floor, floor_text = _floor(born)
    # The earliest time zone on Earth starts a day 14 hours before UTC does.
    if value < datetime.combine(floor, time.min, UTC) - timedelta(hours=14):
        raise ValidationFailed(f"{label} cannot be before {floor_text}", field=field)
    if value > now + CLOCK_SKEW:
        raise ValidationFailed(f"{label} cannot be in the future", field=field)
    return value


def planned_date(value: date, *, today: date, field: str, label: str,
                 earliest: date | None = None) -> date:
    """A day something is planned for: not before 1900 (or `earliest`), at most
    `PLANNING_HORIZON_DAYS` after today."""
    floor = max(earliest or EARLIEST_DATE, EARLIEST_DATE)
    if value < floor:
        raise ValidationFailed(f"{label} cannot be before {floor.isoformat()}", field=field)
    latest = today + timedelta(days=PLANNING_HORIZON_DAYS)
    if value > latest:
        raise ValidationFailed(f"{label} must be at most {PLANNING_HORIZON_DAYS} days ahead "
                               f"(on or before {latest.isoformat()})", field=field)
    return value


def expiry_date(value: date, *, today: date, field: str = "expiry_date",
                label: str = "expiry date", usable_today: bool = False) -> date:
    """A lot's expiry: not passed (expired stock is never used; `usable_today`: a lot may be
    used on its expiry date, as for an order, though not received then) and not implausibly
    far ahead."""
    if value < today or (value == today and not usable_today):
        raise ValidationFailed(f"{label} has passed: expired stock cannot be used", field=field)
    latest = today + timedelta(days=EXPIRY_HORIZON_DAYS)
    if value > latest:
        raise ValidationFailed(f"{label} must be at most {EXPIRY_HORIZON_DAYS} days ahead "
                               f"(on or before {latest.isoformat()})", field=field)
    return value
