"""Weight and height history, and allergies."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.service import AuditContext
from ketaflow.db import utcnow
from ketaflow.errors import ValidationFailed
from ketaflow.patients import units
from ketaflow.patients.models import Allergy, AllergySeverity, Measurement
from ketaflow.patients.service._common import (
    audit,
    birth_date,
    clean_text,
    get_patient,
    past_moment,
    required_text,
)


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
) -> Measurement:
    """Record a weight and/or height. Pounds and inches are converted by their exact
    definitions; the unit must always be stated, and the value kept as entered beside it."""
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
    audit(session, ctx, "patient.allergy.record", patient_id, allergy_id=row.id)
    return row


def list_allergies(session: Session, *, patient_id: int) -> list[Allergy]:
    query = select(Allergy).where(Allergy.patient_id == patient_id).order_by(Allergy.id)
    return list(session.scalars(query))
