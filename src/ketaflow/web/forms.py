"""Turning submitted HTML form fields (all strings) into typed values for services.

Every problem raises ValidationFailed naming the field and what was expected, so the page
re-renders with the message beside the field and everything else the user typed kept.
"""

from __future__ import annotations

import math
from datetime import date
from enum import StrEnum
from typing import TypeVar

from fastapi import Request

from ketaflow.errors import ValidationFailed

Form = dict[str, str]
E = TypeVar("E", bound=StrEnum)


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


def optional_number(form: Form, name: str, label: str) -> float | None:
    raw = form.get(name, "").replace(",", ".")
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ValidationFailed(f"{label} must be a number", field=name) from None
    if not math.isfinite(value):
        raise ValidationFailed(f"{label} must be a number", field=name)
    return value


def required_number(form: Form, name: str, label: str) -> float:
    value = optional_number(form, name, label)
    if value is None:
        raise ValidationFailed(f"{label} is required", field=name)
    return value


def whole_number(form: Form, name: str, label: str, default: int = 0) -> int:
    raw = form.get(name, "")
    if not raw:
        return default
    if not raw.lstrip("-").isdigit():
        raise ValidationFailed(f"{label} must be a whole number", field=name)
    return int(raw)


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
    if not raw.lstrip("-").isdigit():
        raise ValidationFailed(f"{label} must be a whole number", field=name)
    return int(raw)


def optional_bool(form: Form, name: str) -> bool | None:
    return {"yes": True, "no": False}.get(form.get(name, ""))
