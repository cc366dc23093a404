"""Helpers shared by the patient use cases: loading a patient, auditing, checking text and dates.

Error messages name the field and the rule, never the value: values may identify a patient.
"""

from __future__ import annotations

import math
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.service import AuditContext, record_event
from ketaflow.clinical import dates
from ketaflow.db import utcnow
from ketaflow.errors import Conflict, NotFound, ValidationFailed
from ketaflow.patients.models import EnteredInErrorMixin, Patient, PatientDemographics
from ketaflow.textcheck import NameCharacterError, check_person_name

ENTITY = "patient"


def today() -> date:
    return utcnow().date()


def get_patient(session: Session, patient_id: int) -> Patient:
    patient = session.get(Patient, patient_id)
    if patient is None:
        raise NotFound("no such patient")
    return patient


def current_demographics(session: Session, patient_id: int) -> PatientDemographics:
    query = select(PatientDemographics).where(
        PatientDemographics.patient_id == patient_id,
        PatientDemographics.superseded_at.is_(None),
    )
    current = session.scalar(query)
    if current is None:
        raise NotFound("no such patient")
    return current


def audit(
    session: Session,
    ctx: AuditContext,
    action: str,
    patient_id: int,
    **detail: object,
) -> None:
    """Record an event against the patient. Detail holds ids, field names and counts only."""
    record_event(
        session, ctx, action=action, entity_type=ENTITY, entity_id=patient_id, detail=detail
    )


def clean_text(
    value: str | None, field: str, label: str, *, max_length: int, required: bool = False
) -> str | None:
    text = (value or "").strip()
    if not text:
        if required:
            raise ValidationFailed(f"{label} is required", field=field)
        return None
    if len(text) > max_length:
        raise ValidationFailed(f"{label} must be at most {max_length} characters", field=field)
    return text


def required_text(value: str | None, field: str, label: str, *, max_length: int) -> str:
    text = clean_text(value, field, label, max_length=max_length, required=True)
    assert text is not None  # required=True never returns None
    return text


def person_name(
    value: str | None, field: str, label: str, *, max_length: int, required: bool = False
) -> str | None:
    """A cleaned name, refusing invisible and text-direction control characters (they make a
    name display differently from what is stored, so the wrong patient can be picked)."""
    text = clean_text(value, field, label, max_length=max_length, required=required)
    try:
        check_person_name(text, field=field, label=label)
    except NameCharacterError as exc:
        raise ValidationFailed(exc.message, field=exc.field) from None
    return text


def past_day(value: date | None, field: str, label: str, *, born: date | None = None) -> None:
    """A day something happened: not before 1900 or `born`, not after today
    (`ketaflow.clinical.dates` holds the bounds)."""
    dates.past_date(value, today=today(), field=field, label=label, born=born)


def past_moment(value: datetime, field: str, label: str, *, born: date | None = None) -> None:
    dates.past_moment(value, now=utcnow(), field=field, label=label, born=born)


def not_before(value: date | None, earliest: date | None, field: str, message: str) -> None:
    if value is not None and earliest is not None and value < earliest:
        raise ValidationFailed(message, field=field)


def birth_date(session: Session, patient_id: int) -> date:
    return current_demographics(session, patient_id).date_of_birth


def in_range(
    value: float | None, low: float, high: float, field: str, label: str, unit: str
) -> None:
    """Refuse values outside [low, high] (NaN and infinities included), naming the limits."""
    if value is None:
        return
    if not math.isfinite(value) or not low <= value <= high:
        raise ValidationFailed(f"{label} must be between {low:g} and {high:g} {unit}", field=field)


ENTERED_IN_ERROR_REASON_MAX = 500


def mark_entered_in_error(row: EnteredInErrorMixin, ctx: AuditContext, reason: str | None) -> None:
    """Mark a row entered in error with who, when and why; the row itself is kept."""
    if row.entered_in_error:
        raise Conflict("this entry is already marked entered in error", field="reason")
    row.entered_in_error_reason = required_text(
        reason, "reason", "Reason", max_length=ENTERED_IN_ERROR_REASON_MAX
    )
    row.entered_in_error_at = utcnow()
    row.entered_in_error_by_user_id = ctx.actor_user_id
