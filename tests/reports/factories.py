"""A hand-made patient whose every report part is known: the tests check the packet and the
clinician report against these values, not against what the code computes."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

from sqlalchemy.orm import Session

from ketaflow.auth.models import StaffUser
from ketaflow.clinical.eligibility import Answer
from ketaflow.config import Role
from ketaflow.courses import service as courses
from ketaflow.db import utcnow
from ketaflow.patients import service as patients
from ketaflow.patients.models import Patient, TrialResponse
from tests.assessments.factories import madrs, record
from tests.patients.factories import DIAGNOSIS, make_patient, medication_input, trial_input
from tests.screening import factories as screening
from tests.support.factories import SYSTEM, make_user

CSSRS_HIGH = {"wish_to_be_dead": 1, "suicidal_thoughts": 1, "thoughts_with_method": 0,
              "intent_without_plan": 0, "intent_with_plan": 1, "behaviour_lifetime": 0}
EPISODE_DAYS = 70
MRN = "PA-000123"


@dataclass
class Made:
    patient: Patient
    prescriber: StaffUser
    nurse: StaffUser
    course_id: int


def hand_made(db: Session, *, mrn: str = MRN) -> Made:
    """Ada Testperson, bipolar I, current moderate depressive episode for 70 days; a counted
    quetiapine trial and a too-short lurasidone trial; 180 cm, 80 kg; lamotrigine current and
    lorazepam stopped; a screening signed with a caution (CNS depressants); a planned course of
    6; MADRS 32 ten days ago and a high-risk C-SSRS five days ago (an alert)."""
    prescriber = make_user(db, role=Role.PRESCRIBER, full_name="Dana Prescriber")
    nurse = make_user(db, role=Role.NURSE, full_name="Nia Nurse")
    patient = make_patient(db, mrn=mrn, given_name="Ada", family_name="Testperson",
                           date_of_birth=date(1980, 3, 1))
    today = utcnow().date()
    patients.record_diagnosis(db, SYSTEM, patient_id=patient.id, diagnosis=replace(
        DIAGNOSIS, episode_start_date=today - timedelta(days=EPISODE_DAYS), suicide_attempts=1,
        last_suicide_attempt_date=date(2019, 5, 1)))
    patients.add_treatment_trial(db, SYSTEM, patient_id=patient.id, trial=trial_input(
        drug_name="quetiapine", dose_mg_per_day=400, duration_weeks=8))
    patients.add_treatment_trial(db, SYSTEM, patient_id=patient.id, trial=trial_input(
        drug_name="lurasidone", dose_mg_per_day=20, duration_weeks=4,
        response=TrialResponse.PARTIAL, start_date=date(2025, 2, 1)))
    patients.record_measurement(db, SYSTEM, patient_id=patient.id, weight=80, weight_unit="kg",
                                height=180, height_unit="cm",
                                measured_at=utcnow() - timedelta(days=3))
    patients.add_medication(db, SYSTEM, patient_id=patient.id, medication=medication_input(
        drug_name="lamotrigine", dose_amount=200, start_date=date(2024, 6, 1)))
    patients.add_medication(db, SYSTEM, patient_id=patient.id, medication=medication_input(
        drug_name="lorazepam", dose_amount=1, start_date=date(2023, 1, 1),
        stop_date=date(2023, 6, 1)))
    screening.signed_screening(db, patient, prescriber,
                               answers=screening.with_answer("cns_depressants", Answer.YES))
    screening.consent(db, patient, prescriber)
    course = courses.plan_course(db, screening.ctx_for(prescriber), patient_id=patient.id,
                                 entry=courses.CourseEntry(start_on=screening.monday_ahead()))
    record(db, patient, nurse, "madrs", madrs(32), rated_at=utcnow() - timedelta(days=10))
    record(db, patient, prescriber, "cssrs-screener", CSSRS_HIGH,
           rated_at=utcnow() - timedelta(days=5))
    return Made(patient, prescriber, nurse, course.id)
