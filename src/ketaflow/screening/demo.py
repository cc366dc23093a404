"""Demo screenings and consents for the demo patients (`ketaflow demo seed`), built through the
services: signed eligible screenings with consent, one eligible with cautions, one not eligible
(blood pressure at the defer threshold), and one draft still being filled in."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.service import AuditContext
from ketaflow.auth.models import StaffUser
from ketaflow.clinical.eligibility import CHECKLIST, Answer, ItemKind, PregnancyStatus
from ketaflow.clinical.maudsley import Severity as MaudsleySeverity
from ketaflow.config import Role
from ketaflow.db import utcnow
from ketaflow.patients.models import Patient
from ketaflow.screening import service
from ketaflow.screening.models import Screening

DEMO_CONSENT_FORM = "OLC-2026.1"


@dataclass(frozen=True)
class _Profile:
    vitals: tuple[int, int, int, int, float]
    ymrs: int
    pregnancy: PregnancyStatus
    maudsley: service.MaudsleyEntry
    flagged: dict[str, str] = field(default_factory=dict)  # item key -> note
    sign: bool = True
    consent_days_ago: int | None = 14


_PROFILES = (
    _Profile((126, 80, 74, 98, 68.0), 4, PregnancyStatus.NEGATIVE_TEST,
             service.MaudsleyEntry(20, MaudsleySeverity.MODERATE, 3, True, False)),
    _Profile((134, 86, 70, 97, 84.0), 6, PregnancyStatus.NOT_APPLICABLE,
             service.MaudsleyEntry(30, MaudsleySeverity.SEVERE_WITHOUT_PSYCHOSIS, 5, True, True),
             {"known_hypertension": "amlodipine 5 mg, controlled",
              "cns_depressants": "clonazepam 1 mg at night"}, consent_days_ago=2),
    _Profile((118, 74, 66, 99, 59.5), 3, PregnancyStatus.NEGATIVE_TEST,
             service.MaudsleyEntry(14, MaudsleySeverity.MODERATE, 2, False, False),
             {"substance_use_history": "cannabis, stopped 2019"}, consent_days_ago=None),
    _Profile((122, 78, 68, 98, 77.0), 2, PregnancyStatus.NOT_APPLICABLE,
             service.MaudsleyEntry(), sign=False, consent_days_ago=None),
    _Profile((168, 104, 88, 97, 92.0), 5, PregnancyStatus.NOT_APPLICABLE,
             service.MaudsleyEntry(40, MaudsleySeverity.SEVERE_WITHOUT_PSYCHOSIS, 7, True, False),
             {"cns_depressants": "lorazepam 1 mg daily", "psychosis_history": "2019 episode",
              "substance_use_history": "alcohol, abstinent since 2020"},
             consent_days_ago=None),
)


def staff_context(session: Session, role: Role, base: AuditContext) -> AuditContext:
    """Act as the first demo account with `role` (signing needs a real prescriber)."""
    user = session.scalar(select(StaffUser).where(StaffUser.role == role).order_by(StaffUser.id))
    return base if user is None else base.as_user(user.id, user.username, role.value)


def seed_screenings(
    session: Session, ctx: AuditContext, patients: list[Patient]
) -> list[Screening]:
    """One screening per demo patient (as many as there are profiles); returns them in order."""
    nurse = staff_context(session, Role.NURSE, ctx)
    prescriber = staff_context(session, Role.PRESCRIBER, ctx)
    today = utcnow().date()
    created = []
    for patient, profile in zip(patients, _PROFILES, strict=False):
        row = service.start_screening(session, nurse, patient_id=patient.id,
                                      entry=_entry(profile))
        if profile.sign and prescriber.actor_user_id is not None:
            service.sign_screening(session, prescriber, screening_id=row.id)
        if profile.consent_days_ago is not None and nurse.actor_user_id is not None:
            service.record_consent(
                session, prescriber, patient_id=patient.id, form_version=DEMO_CONSENT_FORM,
                consented_on=today - timedelta(days=profile.consent_days_ago),
                witnessed_by_user_id=nurse.actor_user_id)
        created.append(row)
    return created


def _entry(profile: _Profile) -> service.ScreeningEntry:
    answers = {}
    for item in CHECKLIST:
        if item.key in profile.flagged:
            answers[item.key] = service.AnswerEntry(Answer.YES, profile.flagged[item.key])
        else:
            clear = Answer.YES if item.kind is ItemKind.REQUIREMENT else Answer.NO
            answers[item.key] = service.AnswerEntry(clear)
    if not profile.sign:
        answers.pop("escort_arranged")  # the draft still waits for transport to be arranged
    sbp, dbp, hr, spo2, weight = profile.vitals
    negative = profile.pregnancy is PregnancyStatus.NEGATIVE_TEST
    return service.ScreeningEntry(
        answers=answers, systolic_mmhg=sbp, diastolic_mmhg=dbp, heart_rate_bpm=hr,
        spo2_pct=spo2, weight_kg=weight, ymrs_total=profile.ymrs,
        pregnancy_status=profile.pregnancy,
        pregnancy_test_on=utcnow().date() - timedelta(days=15) if negative else None,
        maudsley=profile.maudsley)


def seed_ready_screenings(session: Session, ctx: AuditContext,
                          patients: list[Patient], *, consented_days_ago: int = 14
                          ) -> list[Screening]:
    """A signed eligible screening with consent for each patient, as for the first demo patient
    (the clinic day's further patients, `ketaflow.patients.demo.seed_day_patients`)."""
    nurse = staff_context(session, Role.NURSE, ctx)
    prescriber = staff_context(session, Role.PRESCRIBER, ctx)
    profile, today = _PROFILES[0], utcnow().date()
    created = []
    for patient in patients:
        row = service.start_screening(session, nurse, patient_id=patient.id,
                                      entry=_entry(profile))
        if prescriber.actor_user_id is not None and nurse.actor_user_id is not None:
            service.sign_screening(session, prescriber, screening_id=row.id)
            service.record_consent(
                session, prescriber, patient_id=patient.id, form_version=DEMO_CONSENT_FORM,
                consented_on=today - timedelta(days=consented_days_ago),
                witnessed_by_user_id=nurse.actor_user_id)
        created.append(row)
    return created
