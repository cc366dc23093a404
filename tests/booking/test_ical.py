"""Appointment files parse back (icalendar) with the site's local time across a DST change."""

from __future__ import annotations

from datetime import UTC, datetime

from icalendar import Calendar

from ketaflow.booking.ical import CalendarItem, calendar_text


def test_an_appointment_reads_in_the_sites_local_time_on_a_dst_day() -> None:
    # 14 March 2027 is the day New York moves to summer time: 14:00 UTC is 10:00 EDT.
    item = CalendarItem("appointment-7@ketaflow", datetime(2027, 3, 14, 14, 0, tzinfo=UTC), 120,
                        "America/New_York", "Clinic appointment", "Main street",
                        "Nothing to eat for 2 hours before.", sequence=1)
    text = calendar_text([item], stamp=datetime(2027, 3, 1, tzinfo=UTC), method="PUBLISH")
    parsed = Calendar.from_ical(text)
    (event,) = parsed.walk("VEVENT")
    start, end = event.decoded("dtstart"), event.decoded("dtend")
    assert (start.hour, start.minute, str(start.tzinfo)) == (10, 0, "America/New_York")
    assert (end - start).total_seconds() == 7200
    assert str(event["uid"]) == "appointment-7@ketaflow"
    assert int(event["sequence"]) == 1 and str(event["status"]) == "CONFIRMED"
    assert parsed["method"] == "PUBLISH"
    assert parsed.walk("VTIMEZONE")[0]["tzid"] == "America/New_York"


def test_a_cancelled_appointment_keeps_its_uid() -> None:
    item = CalendarItem("appointment-7@ketaflow", datetime(2027, 3, 15, 14, tzinfo=UTC), 120,
                        "UTC", "Clinic appointment", "Main street", "", sequence=2,
                        cancelled=True)
    (event,) = Calendar.from_ical(calendar_text([item], stamp=datetime.now(UTC))).walk("VEVENT")
    assert str(event["status"]) == "CANCELLED" and str(event["uid"]) == "appointment-7@ketaflow"
