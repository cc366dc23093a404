"""Diagnosis and psychiatric history. A revision supersedes the current row; none is overwritten."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.service import AuditContext
from ketaflow.db import utcnow
from ketaflow.errors import ValidationFailed
from ketaflow.patients.diagnosis_codes import (
    BipolarType,
    Episode,
    Severity,
    icd10_code,
    severity_applies,
    snomed_code,
)
from ketaflow.patients.models import Diagnosis, SubstanceUse
from ketaflow.patients.service._common import (
    audit,
    clean_text,
    current_demographics,
    get_patient,
    not_before,
    past_day,
)

MAX_SUICIDE_ATTEMPTS = 100


@dataclass(frozen=True)
class DiagnosisInput:
    bipolar_type: BipolarType
    current_episode: Episode
    severity: Severity | None
    psychosis_history: bool
    substance_use: SubstanceUse
    suicide_attempts: int
    onset_date: date | None = None
    episode_start_date: date | None = None
    substance_use_note: str | None = None
    last_suicide_attempt_date: date | None = None


def record_diagnosis(
    session: Session,
    ctx: AuditContext,
    *,
    patient_id: int,
    diagnosis: DiagnosisInput,
    reason: str | None = None,
) -> Diagnosis:
    """Record the diagnosis; if one exists, the new one supersedes it and a reason is required."""
    get_patient(session, patient_id)
    birth = current_demographics(session, patient_id).date_of_birth
    code = _code(diagnosis)
    _check_dates(diagnosis, birth)
    previous = current_diagnosis(session, patient_id=patient_id)
    why = clean_text(reason, "reason", "reason for the revision", max_length=500)
    if previous is not None and why is None:
        raise ValidationFailed(
            "a diagnosis is already recorded: give a reason for the revision", field="reason"
        )
    if previous is not None:
        previous.superseded_at = utcnow()
        session.flush()
    row = Diagnosis(
        patient_id=patient_id,
        bipolar_type=diagnosis.bipolar_type,
        current_episode=diagnosis.current_episode,
        severity=diagnosis.severity,
        icd10_code=code,
        snomed_code=snomed_code(diagnosis.bipolar_type),
        onset_date=diagnosis.onset_date,
        episode_start_date=diagnosis.episode_start_date,
        psychosis_history=diagnosis.psychosis_history,
        substance_use=diagnosis.substance_use,
        substance_use_note=clean_text(
            diagnosis.substance_use_note,
            "substance_use_note",
            "substance-use note",
            max_length=1000,
        ),
        suicide_attempts=diagnosis.suicide_attempts,
        last_suicide_attempt_date=diagnosis.last_suicide_attempt_date,
        amendment_reason=why if previous is not None else None,
        recorded_by_user_id=ctx.actor_user_id,
    )
    session.add(row)
    session.flush()
    action = "patient.diagnosis.amend" if previous else "patient.diagnosis.record"
    audit(session, ctx, action, patient_id, diagnosis_id=row.id)
    return row


def _code(diagnosis: DiagnosisInput) -> str:
    episode = diagnosis.current_episode
    if diagnosis.severity is not None and not severity_applies(episode):
        raise ValidationFailed(
            f"a {episode.value} episode has no severity: leave severity empty", field="severity"
        )
    try:
        return icd10_code(diagnosis.bipolar_type, episode, diagnosis.severity)
    except ValueError as exc:
        raise ValidationFailed(str(exc), field="current_episode") from None


def _check_dates(diagnosis: DiagnosisInput, birth: date) -> None:
    d = diagnosis
    past_day(d.onset_date, "onset_date", "onset date", born=birth)
    past_day(d.episode_start_date, "episode_start_date", "episode start date", born=birth)
    not_before(
        d.episode_start_date,
        d.onset_date or birth,
        "episode_start_date",
        "current episode cannot start before the illness onset",
    )
    if not 0 <= d.suicide_attempts <= MAX_SUICIDE_ATTEMPTS:
        raise ValidationFailed(
            f"suicide attempts must be between 0 and {MAX_SUICIDE_ATTEMPTS}",
            field="suicide_attempts",
        )
    if d.suicide_attempts == 0 and d.last_suicide_attempt_date is not None:
        raise ValidationFailed(
            "a most recent attempt date needs at least one attempt",
            field="last_suicide_attempt_date",
        )
    past_day(
        d.last_suicide_attempt_date,
        "last_suicide_attempt_date",
        "most recent attempt date",
        born=birth,
    )


def current_diagnosis(session: Session, *, patient_id: int) -> Diagnosis | None:
    query = select(Diagnosis).where(
        Diagnosis.patient_id == patient_id, Diagnosis.superseded_at.is_(None)
    )
    return session.scalar(query)


def diagnosis_history(session: Session, *, patient_id: int) -> list[Diagnosis]:
    """Every recorded diagnosis, oldest first (superseded ones included)."""
    query = select(Diagnosis).where(Diagnosis.patient_id == patient_id).order_by(Diagnosis.id)
    return list(session.scalars(query))


def episode_duration_days(diagnosis: Diagnosis, on: date | None = None) -> int | None:
    """Days since the current episode started, for display ("episode for 9 weeks")."""
    if diagnosis.episode_start_date is None:
        return None
    return ((on or utcnow().date()) - diagnosis.episode_start_date).days
