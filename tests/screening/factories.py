"""Plain-function fixtures for screening and course tests."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session

from ketaflow.audit.service import AuditContext
from ketaflow.auth.models import StaffUser
from ketaflow.clinical.eligibility import CHECKLIST, Answer, ItemKind, PregnancyStatus
from ketaflow.clinical.maudsley import Severity as MaudsleySeverity
from ketaflow.config import Role
from ketaflow.db import utcnow
from ketaflow.patients import service as patients
from ketaflow.patients.diagnosis_codes import BipolarType, Episode, Severity
from ketaflow.patients.models import Patient, Sex, SubstanceUse, TrialResponse
from ketaflow.screening import service
from ketaflow.screening.models import Consent, Screening
from tests.support.factories import SYSTEM, make_user

_seq = itertools.count(1)


def ctx_for(user: StaffUser) -> AuditContext:
    return SYSTEM.as_user(user.id, user.username, user.role.value)


def make_patient(session: Session, *, bipolar_type: BipolarType | None = BipolarType.BIPOLAR_I,
                 adequate_trials: int = 0) -> Patient:
    patient = patients.register_patient(session, SYSTEM, demographics=patients.Demographics(
        given_name="Testa", family_name=f"Screening{next(_seq)}", date_of_birth=date(1980, 3, 1),
        sex=Sex.FEMALE))
    if bipolar_type is not None:
        patients.record_diagnosis(session, SYSTEM, patient_id=patient.id,
                                  diagnosis=patients.DiagnosisInput(
                                      bipolar_type=bipolar_type, current_episode=Episode.DEPRESSED,
                                      severity=Severity.MODERATE, psychosis_history=False,
                                      substance_use=SubstanceUse.NONE, suicide_attempts=0))
    for drug, dose in [("quetiapine", 400.0), ("lumateperone", 42.0)][:adequate_trials]:
        patients.add_treatment_trial(session, SYSTEM, patient_id=patient.id,
                                     trial=patients.TrialInput(
                                         drug_name=drug, dose_mg_per_day=dose, duration_weeks=8,
                                         adherence_verified=True, response=TrialResponse.NONE))
    return patient


def clear_answers() -> dict[str, service.AnswerEntry]:
    """Every checklist item answered so that it raises no finding."""
    return {item.key: service.AnswerEntry(
        Answer.YES if item.kind is ItemKind.REQUIREMENT else Answer.NO) for item in CHECKLIST}


COMPLETE = service.ScreeningEntry(
    answers=clear_answers(), systolic_mmhg=124, diastolic_mmhg=78, heart_rate_bpm=72,
    spo2_pct=98, weight_kg=70.0, ymrs_total=4,
    pregnancy_status=PregnancyStatus.NOT_APPLICABLE,
    maudsley=service.MaudsleyEntry(18, MaudsleySeverity.MODERATE, 3, True, False),
)


def entry(**overrides: Any) -> service.ScreeningEntry:
    return replace(COMPLETE, **overrides)


def with_answer(key: str, answer: Answer) -> dict[str, service.AnswerEntry]:
    return clear_answers() | {key: service.AnswerEntry(answer, "entered in test")}


def prescriber(session: Session) -> StaffUser:
    return make_user(session, role=Role.PRESCRIBER)


def signed_screening(session: Session, patient: Patient, signer: StaffUser,
                     **overrides: Any) -> Screening:
    row = service.start_screening(session, SYSTEM, patient_id=patient.id,
                                  entry=entry(**overrides))
    return service.sign_screening(session, ctx_for(signer), screening_id=row.id)


def monday_ahead(weeks: int = 4) -> date:
    """A Monday a few weeks from today: inside the planning horizon whenever the tests run."""
    start = utcnow().date() + timedelta(weeks=weeks)
    return start + timedelta(days=-start.weekday() % 7)


def consent(session: Session, patient: Patient, witness: StaffUser,
            on: date | None = None) -> Consent:
    # Recorded by the system account: the witness is never the one recording (issue 10).
    return service.record_consent(session, SYSTEM, patient_id=patient.id,
                                  form_version="OLC-2026.1",
                                  consented_on=on or utcnow().date() - timedelta(days=1),
                                  witnessed_by_user_id=witness.id)
