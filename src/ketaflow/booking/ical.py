"""iCalendar (RFC 5545) files: one appointment for the patient's mail, and a site's feed for
staff. Neither names the treatment or carries a patient identifier: calendar files are synced to
phones and third-party clouds. The staff feed shows chair and time; names are on the day's list.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

PRODID = "-//ketaflow//clinic calendar//EN"


@dataclass(frozen=True)
class CalendarItem:
    uid: str  # stable per appointment, so an update or a cancellation replaces the first file
    starts_at: datetime  # aware
    minutes: int
    timezone: str  # the site's, so the time reads right wherever the phone is
    summary: str
    location: str
    description: str
    sequence: int = 0  # raised on each change of the same appointment (RFC 5545 3.8.7.4)
    cancelled: bool = False


def _event(item: CalendarItem, stamp: datetime) -> Event:
    zone = ZoneInfo(item.timezone)
    event = Event()
    event.add("uid", item.uid)
    event.add("dtstamp", stamp)
    event.add("dtstart", item.starts_at.astimezone(zone))
    event.add("dtend", (item.starts_at + timedelta(minutes=item.minutes)).astimezone(zone))
    event.add("summary", item.summary)
    event.add("location", item.location)
    event.add("description", item.description)
    event.add("sequence", item.sequence)
    event.add("status", "CANCELLED" if item.cancelled else "CONFIRMED")
    return event


def calendar_text(items: Iterable[CalendarItem], *, stamp: datetime, method: str | None = None,
                  name: str | None = None) -> str:
    """One VCALENDAR with an event per item (VTIMEZONE blocks added for the zones used)."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    if method:
        calendar.add("method", method)
    if name:
        calendar.add("x-wr-calname", name)
    for item in items:
        calendar.add_component(_event(item, stamp))
    calendar.add_missing_timezones()
    ical: bytes = calendar.to_ical()
    return ical.decode()
