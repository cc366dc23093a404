"""The calendar's forms as typed entries (every bad field reported at once)."""

from __future__ import annotations

import re
from datetime import time

from ketaflow.booking.service import SeriesAsk
from ketaflow.booking.sites import WEEKDAYS, SiteEntry
from ketaflow.errors import ValidationFailed
from ketaflow.web import forms as web_forms
from ketaflow.web.forms import Form

DAY_NAMES = {"mon": "Monday", "tue": "Tuesday", "wed": "Wednesday", "thu": "Thursday",
             "fri": "Friday", "sat": "Saturday", "sun": "Sunday"}
_HHMM = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


def clock(form: Form, name: str, label: str) -> time:
    raw = form.get(name, "")
    if not _HHMM.fullmatch(raw):
        raise ValidationFailed(f"{label} must be a time such as 08:30", field=name)
    return time.fromisoformat(raw)


def optional_clock(form: Form, name: str, label: str) -> time | None:
    return clock(form, name, label) if form.get(name) else None


def site_entry(form: Form) -> SiteEntry:
    with web_forms.collect_errors() as check:
        hours: dict[str, tuple[str, str]] = {}
        for day in WEEKDAYS:
            opens, closes = form.get(f"open_{day}", ""), form.get(f"close_{day}", "")
            if opens or closes:
                check(clock, form, f"open_{day}", f"{DAY_NAMES[day]} opens")
                check(clock, form, f"close_{day}", f"{DAY_NAMES[day]} closes")
                hours[day] = (opens, closes)
        entry = SiteEntry(
            code=check.require(form, "code", "Code"), name=check.require(form, "name", "Name"),
            timezone=check.require(form, "timezone", "Time zone"), opening_hours=hours,
            chairs=check(web_forms.whole_number, form, "chairs", "Chairs", 0),
            nurse_ratio=check(web_forms.whole_number, form, "nurse_ratio",
                              "Infusing patients per nurse", 2),
            prescriber_required=form.get("prescriber_required") == "yes")
    return entry


def weekday_set(form: Form, name: str) -> frozenset[int] | None:
    """Ticked weekday boxes (`name`=mon, ...) as weekday numbers, None when none ticked."""
    chosen = {WEEKDAYS.index(day) for day in WEEKDAYS if form.get(f"{name}_{day}") == "yes"}
    return frozenset(chosen) or None


def series_ask(form: Form, *, patient_id: int, course_id: int | None, first_number: int
               ) -> SeriesAsk:
    """The booking form: site, first day, how many, spacing and the patient's preferences."""
    with web_forms.collect_errors() as check:
        ask = SeriesAsk(
            patient_id=patient_id, course_id=course_id, first_number=first_number,
            site_id=check(web_forms.whole_number, form, "site_id", "Site", 0),
            earliest_on=check(web_forms.required_date, form, "earliest_on", "First possible day"),
            count=check(web_forms.whole_number, form, "count", "Infusions", 0),
            min_gap_hours=check(web_forms.required_number, form, "min_gap_hours",
                                "Minimum gap (hours)"),
            max_per_week=check(web_forms.whole_number, form, "max_per_week", "At most per week",
                               0),
            within_days=check(web_forms.whole_number, form, "within_days",
                              "Complete within (days)", 0),
            weekdays=weekday_set(form, "pref"),
            after=check(optional_clock, form, "after", "Start from"),
            before=check(optional_clock, form, "before", "Finish by"))
    return ask
