"""Reading the chair-side forms: text fields to typed values, refusing what is not a number
with a message naming the field by its label (never echoing the value). Routes read a form's
fields inside `ketaflow.web.forms.collect_errors()` so every bad field is reported at once."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

from starlette.datastructures import FormData

from ketaflow.errors import ValidationFailed
from ketaflow.ids import MAX_RECORD_ID
from ketaflow.infusions.rules.labels import label
from ketaflow.web.forms import parse_number

Form = Mapping[str, object] | FormData


def text(form: Form, name: str) -> str | None:
    value = form.get(name)
    return value.strip() or None if isinstance(value, str) else None


def number(form: Form, name: str, *, required: bool = False) -> float | None:
    raw = text(form, name)
    if raw is None:
        if required:
            raise ValidationFailed(f"{label(name)} is required", field=name)
        return None
    return parse_number(raw, name, label(name))  # the one strict reading (`ketaflow.web.forms`)


def integer(form: Form, name: str, *, required: bool = False) -> int | None:
    value = number(form, name, required=required)
    if value is None:
        return None
    if not value.is_integer():
        raise ValidationFailed(f"{label(name)} must be a whole number", field=name)
    # Beyond the database's integer range no record (session, witness, entry) can exist.
    if abs(value) > MAX_RECORD_ID:
        raise ValidationFailed(f"{label(name)} is out of range", field=name)
    return int(value)


def checked(form: Form, name: str) -> bool:
    return text(form, name) in ("on", "true", "1", "yes")


def answers(form: Form, prefix: str, item_ids: Iterable[str]) -> dict[str, int]:
    """Scale answers from selects named `prefix.item_id`; unanswered items are left out so the
    scoring engine names the first missing one."""
    found = {}
    for item_id in item_ids:
        value = integer(form, f"{prefix}.{item_id}")
        if value is not None:
            found[item_id] = value
    return found


def day(form: Form, name: str) -> date:
    raw = text(form, name)
    try:
        return date.fromisoformat(raw or "")
    except ValueError:
        raise ValidationFailed(f"{label(name)} must be a date (YYYY-MM-DD)",
                               field=name) from None
