"""Off-label informed consent: recorded with the form version, the date and the witness."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.service import AuditContext, record_event
from ketaflow.auth.models import StaffUser
from ketaflow.clinical import dates
from ketaflow.config import Role
from ketaflow.db import utcnow
from ketaflow.errors import NotFound, ValidationFailed
from ketaflow.patients.models import Patient, PatientDemographics
from ketaflow.screening.models import Consent

# Consent is witnessed by clinical staff, who can answer the patient's questions.
WITNESS_ROLES = frozenset({Role.PRESCRIBER, Role.NURSE})
MAX_FORM_VERSION = 40


def record_consent(
    session: Session,
    ctx: AuditContext,
    *,
    patient_id: int,
    form_version: str,
    consented_on: date,
    witnessed_by_user_id: int | None,
    note: str | None = None,
) -> Consent:
    if session.get(Patient, patient_id) is None:
        raise NotFound("no such patient")
    born = session.scalar(select(PatientDemographics.date_of_birth).where(
        PatientDemographics.patient_id == patient_id,
        PatientDemographics.superseded_at.is_(None)))
    version = (form_version or "").strip()
    if not version:
        raise ValidationFailed("the consent form version is required", field="form_version")
    if len(version) > MAX_FORM_VERSION:
        raise ValidationFailed(f"the form version must be at most {MAX_FORM_VERSION} characters",
                               field="form_version")
    dates.past_date(consented_on, today=utcnow().date(), field="consented_on",
                    label="the consent date", born=born)
    witness = _witness(session, ctx, witnessed_by_user_id)
    clean_note = (note or "").strip() or None
    if clean_note is not None and len(clean_note) > 1000:
        raise ValidationFailed("the note must be at most 1000 characters", field="note")
    consent = Consent(patient_id=patient_id, form_version=version, consented_on=consented_on,
                      witnessed_by_user_id=witness.id, note=clean_note,
                      recorded_by_user_id=ctx.actor_user_id)
    session.add(consent)
    session.flush()
    record_event(session, ctx, action="consent.record", entity_type="patient",
                 entity_id=patient_id, detail={"consent_id": consent.id})
    return consent


def _witness(session: Session, ctx: AuditContext, user_id: int | None) -> StaffUser:
    """Another active prescriber or nurse: the point of a witness is a second person."""
    if user_id is None:
        raise ValidationFailed("choose the staff member who witnessed the consent",
                               field="witnessed_by_user_id")
    if user_id == ctx.actor_user_id:
        raise ValidationFailed("the witness must be a different staff member from the one "
                               "recording the consent", field="witnessed_by_user_id")
    witness = session.get(StaffUser, user_id)
    if witness is None or not witness.is_active or witness.role not in WITNESS_ROLES:
        raise ValidationFailed("the witness must be an active prescriber or nurse",
                               field="witnessed_by_user_id")
    return witness


def list_consents(session: Session, *, patient_id: int) -> list[Consent]:
    """The patient's consents, newest first (callers audit the read)."""
    query = (select(Consent).where(Consent.patient_id == patient_id)
             .order_by(Consent.consented_on.desc(), Consent.id.desc()))
    return list(session.scalars(query))


def read_consents(session: Session, ctx: AuditContext, *, patient_id: int) -> list[Consent]:
    """The patient's consents, audited as a read of the record."""
    if session.get(Patient, patient_id) is None:
        raise NotFound("no such patient")
    consents = list_consents(session, patient_id=patient_id)
    record_event(session, ctx, action="consent.list", entity_type="patient",
                 entity_id=patient_id, detail={"count": len(consents)})
    return consents


def latest_consent(session: Session, *, patient_id: int) -> Consent | None:
    consents = list_consents(session, patient_id=patient_id)
    return consents[0] if consents else None


def list_witnesses(session: Session, *, recorder_id: int | None = None) -> list[StaffUser]:
    """Active staff who may witness consent, by name, leaving out the one recording it."""
    query = (select(StaffUser)
             .where(StaffUser.is_active.is_(True), StaffUser.role.in_(list(WITNESS_ROLES)),
                    StaffUser.id != (recorder_id or 0))
             .order_by(StaffUser.full_name))
    return list(session.scalars(query))


def staff_names(session: Session, user_ids: set[int]) -> dict[int, str]:
    """Full names for display (signed by, witnessed by)."""
    if not user_ids:
        return {}
    rows = session.execute(select(StaffUser.id, StaffUser.full_name)
                           .where(StaffUser.id.in_(user_ids)))
    return {user_id: name for user_id, name in rows}
