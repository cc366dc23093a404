"""Weight and height history, and allergies (with "no known allergies" as a recorded state)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.service import AuditContext
from ketaflow.clinical.body import needs_weight_change_confirmation, weight_change_percent
from ketaflow.db import utcnow
from ketaflow.errors import Conflict, NotFound, ValidationFailed
from ketaflow.patients import units
from ketaflow.patients.models import Allergy, AllergySeverity, Measurement, NoKnownAllergies
from ketaflow.patients.service._common import (
    audit,
    birth_date,
    clean_text,
    get_patient,
    mark_entered_in_error,
    past_moment,
    required_text,
)
from ketaflow.settings.service import settings_in_force

# The form's checkbox and the API's field that confirm a large weight change.
CONFIRM_WEIGHT_CHANGE_FIELD = "confirm_weight_change"
CONFIRM_WEIGHT_CHANGE_LABEL = "Confirm weight change"


def record_measurement(
    session: Session,
    ctx: AuditContext,
    *,
    patient_id: int,
    weight: float | None = None,
    weight_unit: str | None = None,
    height: float | None = None,
    height_unit: str | None = None,
    measured_at: datetime | None = None,
    confirm_weight_change: bool = False,
) -> Measurement:
    """Record a weight and/or height. Pounds and inches are converted by their exact
    definitions; the unit must always be stated, and the value kept as entered beside it.
    A weight that moved more than the clinic's threshold since the previous valid one is stored
    only with `confirm_weight_change` (docs/clinical-sources.md#weight-change)."""
    get_patient(session, patient_id)
    if weight is None and height is None:
        raise ValidationFailed("enter a weight, a height or both", field="weight")
    when = measured_at or utcnow()
    past_moment(when, "measured_at", "Measured at", born=birth_date(session, patient_id))
    row = Measurement(
        patient_id=patient_id, measured_at=when, recorded_by_user_id=ctx.actor_user_id
    )
    try:
        if weight is not None:
            kg = units.weight_to_kg(weight, weight_unit)
            row.weight_kg, row.weight_entered, row.weight_entered_unit = (
                kg.value,
                kg.entered_value,
                kg.entered_unit,
            )
        if height is not None:
            cm = units.height_to_cm(height, height_unit)
            row.height_cm, row.height_entered, row.height_entered_unit = (
                cm.value,
                cm.entered_value,
                cm.entered_unit,
            )
    except units.MeasurementError as exc:
        raise ValidationFailed(str(exc), field=exc.field) from None
    threshold = _check_weight_change(session, row, confirmed=confirm_weight_change)
    session.add(row)
    session.flush()
    audit(
        session,
        ctx,
        "patient.measurement.record",
        patient_id,
        measurement_id=row.id,
        fields=[name for name, v in (("weight", weight), ("height", height)) if v is not None],
    )
    if row.confirmed_weight_change_percent is not None:
        audit(session, ctx, "patient.measurement.weight_change_confirm", patient_id,
              measurement_id=row.id, threshold_percent=threshold)
    return row


def weight_change_threshold_percent(session: Session) -> float:
    return settings_in_force(session, utcnow()).dosing.weight_change_confirm_above_percent


def _check_weight_change(session: Session, row: Measurement, *, confirmed: bool) -> float:
    """Refuse a large change from the previous valid weight unless confirmed; when confirmed,
    keep the change on the row. Returns the threshold applied."""
    threshold = weight_change_threshold_percent(session)
    if row.weight_kg is None:
        return threshold
    previous = latest_weight(session, patient_id=row.patient_id, at=row.measured_at)
    if previous is None or previous.weight_kg is None or not needs_weight_change_confirmation(
        previous.weight_kg, row.weight_kg, threshold
    ):
        return threshold
    if not confirmed:
        raise ValidationFailed(
            f"Weight differs from the previous recorded weight by more than {threshold:g}%: "
            f"check the weight and its unit, then tick \u201c{CONFIRM_WEIGHT_CHANGE_LABEL}\u201d "
            "to save it",
            field=CONFIRM_WEIGHT_CHANGE_FIELD,
        )
    row.confirmed_weight_change_percent = round(
        weight_change_percent(previous.weight_kg, row.weight_kg), 1
    )
    return threshold


def latest_weight(
    session: Session, *, patient_id: int, at: datetime | None = None
) -> Measurement | None:
    """The latest valid weight (measured at or before `at`, if given); entries marked entered in
    error never count."""
    query = select(Measurement).where(
        Measurement.patient_id == patient_id,
        Measurement.weight_kg.is_not(None),
        Measurement.entered_in_error_at.is_(None),
    )
    if at is not None:
        query = query.where(Measurement.measured_at <= at)
    query = query.order_by(Measurement.measured_at.desc(), Measurement.id.desc()).limit(1)
    return session.scalar(query)


def mark_measurement_entered_in_error(
    session: Session, ctx: AuditContext, *, patient_id: int, measurement_id: int,
    reason: str | None,
) -> Measurement:
    """Keep the measurement, marked entered in error with the reason; it drops out of the latest
    weight and height, the BMI and the weight the next infusion order uses. An order already
    signed with it keeps its reference (and its page says so)."""
    row = get_measurement(session, patient_id=patient_id, measurement_id=measurement_id)
    mark_entered_in_error(row, ctx, reason)
    audit(session, ctx, "patient.measurement.entered_in_error", patient_id,
          measurement_id=row.id)
    return row


def get_measurement(session: Session, *, patient_id: int, measurement_id: int) -> Measurement:
    # Both ids in the query: another patient's measurement id is simply not found.
    row = session.scalar(select(Measurement).where(
        Measurement.id == measurement_id, Measurement.patient_id == patient_id))
    if row is None:
        raise NotFound("no such measurement for this patient")
    return row


def list_measurements(session: Session, *, patient_id: int) -> list[Measurement]:
    """Newest first. Callers reading for display audit the read (see `record.patient_record`)."""
    query = (
        select(Measurement)
        .where(Measurement.patient_id == patient_id)
        .order_by(Measurement.measured_at.desc(), Measurement.id.desc())
    )
    return list(session.scalars(query))


def record_allergy(
    session: Session,
    ctx: AuditContext,
    *,
    patient_id: int,
    substance: str,
    reaction: str | None,
    severity: AllergySeverity,
) -> Allergy:
    get_patient(session, patient_id)
    row = Allergy(
        patient_id=patient_id,
        substance=required_text(substance, "substance", "substance", max_length=200),
        reaction=clean_text(reaction, "reaction", "reaction", max_length=500),
        severity=AllergySeverity(severity),
        recorded_by_user_id=ctx.actor_user_id,
    )
    session.add(row)
    session.flush()
    # An allergy replaces "no known allergies" visibly: the statement is kept, superseded.
    statement = _active_no_known_allergies(session, patient_id)
    if statement is not None:
        statement.superseded_at = utcnow()
    detail = {} if statement is None else {"superseded_no_known_allergies_id": statement.id}
    audit(session, ctx, "patient.allergy.record", patient_id, allergy_id=row.id, **detail)
    return row


def list_allergies(session: Session, *, patient_id: int) -> list[Allergy]:
    query = select(Allergy).where(Allergy.patient_id == patient_id).order_by(Allergy.id)
    return list(session.scalars(query))


class AllergyStatus(StrEnum):
    NOT_ASKED = "not_asked"  # nothing recorded: ask
    NO_KNOWN_ALLERGIES = "no_known_allergies"
    LISTED = "listed"


def allergy_status(
    allergies: Sequence[Allergy], statements: Sequence[NoKnownAllergies]
) -> AllergyStatus:
    if allergies:
        return AllergyStatus.LISTED
    if any(s.superseded_at is None for s in statements):
        return AllergyStatus.NO_KNOWN_ALLERGIES
    return AllergyStatus.NOT_ASKED


def record_no_known_allergies(
    session: Session, ctx: AuditContext, *, patient_id: int
) -> NoKnownAllergies:
    """Record that the patient was asked and has no known allergies. Refused while allergies
    are listed (the two cannot both be true) or when it is already the recorded state."""
    get_patient(session, patient_id)
    if session.scalar(select(Allergy.id).where(Allergy.patient_id == patient_id).limit(1)):
        raise Conflict("No known allergies cannot be recorded while allergies are listed",
                       field="no_known_allergies")
    if _active_no_known_allergies(session, patient_id) is not None:
        raise Conflict("No known allergies is already recorded", field="no_known_allergies")
    row = NoKnownAllergies(patient_id=patient_id, recorded_by_user_id=ctx.actor_user_id)
    session.add(row)
    session.flush()
    audit(session, ctx, "patient.allergy.no_known_allergies", patient_id, statement_id=row.id)
    return row


def list_no_known_allergies(session: Session, *, patient_id: int) -> list[NoKnownAllergies]:
    """Every "no known allergies" statement, newest first (superseded ones are history)."""
    query = (select(NoKnownAllergies).where(NoKnownAllergies.patient_id == patient_id)
             .order_by(NoKnownAllergies.recorded_at.desc(), NoKnownAllergies.id.desc()))
    return list(session.scalars(query))


def _active_no_known_allergies(session: Session, patient_id: int) -> NoKnownAllergies | None:
    return session.scalar(select(NoKnownAllergies).where(
        NoKnownAllergies.patient_id == patient_id, NoKnownAllergies.superseded_at.is_(None)))
