"""Plain-function fixtures for patient tests: build what a test needs with explicit overrides."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from ketaflow.audit.service import AuditContext
from ketaflow.patients import service
from ketaflow.patients.diagnosis_codes import BipolarType, Episode, Severity
from ketaflow.patients.medication_catalogue import DoseUnit
from ketaflow.patients.models import Adherence, Patient, Sex, SubstanceUse, TrialResponse
from tests.support.factories import SYSTEM

_seq = itertools.count(1)

DEMOGRAPHICS = service.Demographics(
    given_name="Testa",
    family_name="Fictional",
    date_of_birth=date(1985, 4, 12),
    sex=Sex.FEMALE,
    phone="+1 555 0100",
    email="testa@example.org",
)

DIAGNOSIS = service.DiagnosisInput(
    bipolar_type=BipolarType.BIPOLAR_I,
    current_episode=Episode.DEPRESSED,
    severity=Severity.MODERATE,
    psychosis_history=False,
    substance_use=SubstanceUse.NONE,
    suicide_attempts=0,
    onset_date=date(2005, 1, 1),
    episode_start_date=date(2026, 9, 1),
)


def demographics(**overrides: Any) -> service.Demographics:
    return replace(DEMOGRAPHICS, **overrides)


def make_patient(
    session: Session, ctx: AuditContext = SYSTEM, *, mrn: str | None = None, **overrides: Any
) -> Patient:
    overrides.setdefault("family_name", f"Fictional{next(_seq)}")
    return service.register_patient(session, ctx, demographics=demographics(**overrides), mrn=mrn)


def medication_input(**changes: object) -> service.MedicationInput:
    base = service.MedicationInput(
        drug_name="lorazepam",
        dose_amount=2,
        dose_unit=DoseUnit.MG_PER_DAY,
        adherence=Adherence.GOOD,
        start_date=date(2025, 1, 1),
    )
    return replace(base, **changes)


def trial_input(**changes: object) -> service.TrialInput:
    base = service.TrialInput(
        drug_name="quetiapine",
        dose_mg_per_day=300,
        duration_weeks=8,
        adherence_verified=True,
        response=TrialResponse.NONE,
        start_date=date(2024, 1, 1),
    )
    return replace(base, **changes)
