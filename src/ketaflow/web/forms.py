"""Turning submitted HTML form fields (all strings) into typed values for services.

Every problem raises ValidationFailed naming the field and what was expected, so the page
re-renders with the message beside the field and everything else the user typed kept. A form
reads its fields inside `collect_errors()`, so one submission reports every bad field at once
rather than one per attempt.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from fastapi import Request

from ketaflow.errors import KetaflowError, ProblemCollector, ValidationFailed, collect_problems
from ketaflow.ids import MAX_RECORD_ID

Form = dict[str, str]
E = TypeVar("E", bound=StrEnum)


# The collector lives with the errors (services use it too); forms know it by these names.
FormErrors = ProblemCollector
collect_errors = collect_problems


def error_context(exc: KetaflowError) -> dict[str, Any]:
    """What a page needs to show a refusal: the message, the first field, and every field's
    message by name (`field_errors`, read by the `field` and `messages` macros)."""
    field_errors: dict[str, str] = {}
    for problem in exc.problems:
        if problem.field and problem.field not in field_errors:
            field_errors[problem.field] = problem.detail
    return {"error": exc.detail, "error_field": exc.field, "field_errors": field_errors,
            "error_list": [p.detail for p in exc.problems]}


async def form_fields(request: Request) -> Form:
    """The submitted fields as strings (a dependency; Starlette caches the parsed form)."""
    form = await request.form()
    return {key: value.strip() for key, value in form.items() if isinstance(value, str)}


def text(form: Form, name: str) -> str | None:
    return form.get(name) or None


def optional_date(form: Form, name: str, label: str) -> date | None:
    raw = form.get(name, "")
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(f"{label} must be a date (YYYY-MM-DD)", field=name) from None


def required_date(form: Form, name: str, label: str) -> date:
    value = optional_date(form, name, label)
    if value is None:
        raise ValidationFailed(f"{label} is required", field=name)
    return value


# What a number typed into a form may look like: ASCII digits with an optional sign and one
# decimal point. Python's float() also takes "1e2", "inf", "nan", "1_000" and non-ASCII
# digits; a form takes none of them ("1e2" would silently become 100 kg).
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_WHOLE = re.compile(r"[+-]?[0-9]+")
_LONGEST = 32  # more characters than any quantity a form asks for


def parse_number(raw: str, name: str, label: str) -> float:
    """The one strict reading of a decimal number typed into a form (surrounding spaces
    already stripped), refusing anything else with a message naming the field's label."""
    if len(raw) > _LONGEST or _DECIMAL.fullmatch(raw) is None:
        hint = " (use a point, not a comma, for decimals)" if "," in raw else ""
        raise ValidationFailed(f"{label} must be a number such as 72.5{hint}", field=name)
    value = float(raw)
    if not math.isfinite(value):  # pragma: no cover - 32 digits always fit a float
        raise ValidationFailed(f"{label} must be a number such as 72.5", field=name)
    return value


def parse_whole_number(raw: str, name: str, label: str) -> int:
    """The one strict reading of a whole number typed into a form ("12", "-3"; not "12.0",
    "1e2" or non-ASCII digits), within the database's integer range."""
    if len(raw) > _LONGEST or _WHOLE.fullmatch(raw) is None:
        raise ValidationFailed(f"{label} must be a whole number", field=name)
    return _in_int_range(int(raw), name, label)


def optional_number(form: Form, name: str, label: str) -> float | None:
    raw = form.get(name, "")
    if not raw:
        return None
    return parse_number(raw, name, label)


def required_number(form: Form, name: str, label: str) -> float:
    value = optional_number(form, name, label)
    if value is None:
        raise ValidationFailed(f"{label} is required", field=name)
    return value


def whole_number(form: Form, name: str, label: str, default: int = 0) -> int:
    raw = form.get(name, "")
    if not raw:
        return default
    return parse_whole_number(raw, name, label)


def _in_int_range(value: int, name: str, label: str) -> int:
    # Beyond the database's integer range no record or count can exist (ids, counts).
    if abs(value) > MAX_RECORD_ID:
        raise ValidationFailed(f"{label} is out of range", field=name)
    return value


def optional_choice(form: Form, name: str, kind: type[E], label: str) -> E | None:
    raw = form.get(name, "")
    if not raw:
        return None
    try:
        return kind(raw)
    except ValueError:
        raise ValidationFailed(f"choose a valid {label}", field=name) from None


def choice(form: Form, name: str, kind: type[E], label: str) -> E:
    value = optional_choice(form, name, kind, label)
    if value is None:
        raise ValidationFailed(f"choose {label}", field=name)
    return value


def yes_no(form: Form, name: str, label: str) -> bool:
    raw = form.get(name, "")
    if raw not in ("yes", "no"):
        raise ValidationFailed(f"answer yes or no: {label}", field=name)
    return raw == "yes"


def optional_int(form: Form, name: str, label: str) -> int | None:
    raw = form.get(name, "")
    if not raw:
        return None
    return parse_whole_number(raw, name, label)


def optional_bool(form: Form, name: str) -> bool | None:
    return {"yes": True, "no": False}.get(form.get(name, ""))


def clinic_zone(request: Request) -> str:
    """The IANA time zone form times are read in and shown: the clinic profile's when set,
    else the setting KETAFLOW_CLINIC_TIMEZONE (`ketaflow.clinic.service.effective_timezone`).

    Reads the profile through the request's own session (opened here if the route has none
    yet; the route's unit of work closes it)."""
    from ketaflow.clinic.service import effective_timezone

    state = request.state
    if getattr(state, "db", None) is None:
        state.db = request.app.state.session_factory()
    return effective_timezone(state.db, request.app.state.settings)


def clinic_time_to_utc(local: datetime, zone: str, name: str, label: str) -> datetime:
    """A wall-clock time in the clinic's time zone `zone` (IANA name), as aware UTC.

    The one place form times get their zone: an HTML datetime-local field sends no offset, so
    it is read in the clinic's zone (setting KETAFLOW_CLINIC_TIMEZONE) rather than the
    server's. In the hour repeated when clocks go back the earlier reading is taken (fold=0);
    a time in the hour skipped when clocks go forward does not exist and is refused.
    """
    if local.tzinfo is not None:
        return local.astimezone(UTC)
    tz = ZoneInfo(zone)
    aware = local.replace(tzinfo=tz)
    if aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != local:
        raise ValidationFailed(f"{label} falls in the hour skipped when the clocks went "
                               f"forward ({zone}): enter a time that exists", field=name)
    return aware.astimezone(UTC)


def optional_datetime(form: Form, name: str, label: str, zone: str) -> datetime | None:
    """A datetime-local field (YYYY-MM-DDTHH:MM) read in the clinic's time zone, as UTC."""
    raw = form.get(name, "")
    if not raw:
        return None
    problem = ValidationFailed(f"{label} must be a date and time (YYYY-MM-DD HH:MM)", field=name)
    # A bare date would silently become midnight: a time is required.
    if "T" not in raw and " " not in raw:
        raise problem
    try:
        local = datetime.fromisoformat(raw)
    except ValueError:
        raise problem from None
    return clinic_time_to_utc(local, zone, name, label)
