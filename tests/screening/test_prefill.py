"""A new screening is pre-filled only with findings already on the record, never with a "no"."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.models import AuditEvent
from ketaflow.clinical.eligibility import Answer
from ketaflow.config import Role
from ketaflow.patients import service as patients
from ketaflow.patients.diagnosis_codes import BipolarType, Episode, Severity
from ketaflow.patients.medication_catalogue import DoseUnit
from ketaflow.patients.models import SubstanceUse
from ketaflow.screening import service
from tests.screening.factories import make_patient
from tests.support.factories import SYSTEM
from tests.web.helpers import committed_user, sign_in


def _patient_with_history(db: Session) -> int:
    patient = make_patient(db, bipolar_type=None)
    patients.record_diagnosis(db, SYSTEM, patient_id=patient.id, diagnosis=patients.DiagnosisInput(
        BipolarType.BIPOLAR_II, Episode.DEPRESSED, Severity.MODERATE, psychosis_history=True,
        substance_use=SubstanceUse.PAST, suicide_attempts=0))
    patients.add_medication(db, SYSTEM, patient_id=patient.id, medication=patients.MedicationInput(
        "clonazepam", 1, DoseUnit.MG_PER_DAY))
    patients.add_medication(db, SYSTEM, patient_id=patient.id, medication=patients.MedicationInput(
        "lorazepam", 1, DoseUnit.MG_PER_DAY, start_date=date(2020, 1, 1),
        stop_date=date(2021, 1, 1)))
    patients.record_measurement(db, SYSTEM, patient_id=patient.id, weight=81.2, weight_unit="kg")
    return patient.id


def test_suggestions_carry_findings_and_weight_only(db: Session) -> None:
    patient_id = _patient_with_history(db)
    entry = service.record_suggestions(db, SYSTEM, patient_id=patient_id)
    assert set(entry.answers) == {"psychosis_history", "substance_use_history", "cns_depressants"}
    assert all(a.answer is Answer.YES for a in entry.answers.values())
    assert entry.answers["cns_depressants"].note == "from the record: clonazepam"  # not stopped
    assert entry.weight_kg == 81.2
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "screening.prefill")).one()
    assert event.entity_id == str(patient_id) and event.detail == '{"items":3}'


def test_a_z_drug_and_theophylline_are_suggested(db: Session) -> None:
    """Z-drugs count with the benzodiazepines (issue 11, item 8); theophylline pre-fills its
    item, now a caution."""
    patient = make_patient(db, bipolar_type=None)
    for name, amount in (("Ambien", 10.0), ("theophylline", 300.0)):
        patients.add_medication(db, SYSTEM, patient_id=patient.id,
                                medication=patients.MedicationInput(name, amount,
                                                                    DoseUnit.MG_PER_DAY))
    entry = service.record_suggestions(db, SYSTEM, patient_id=patient.id)
    assert entry.answers["cns_depressants"].note == "from the record: zolpidem"
    assert entry.answers["theophylline"].answer is Answer.YES


def test_empty_record_suggests_nothing(db: Session) -> None:
    patient = make_patient(db, bipolar_type=None)
    entry = service.record_suggestions(db, SYSTEM, patient_id=patient.id)
    assert entry.answers == {} and entry.weight_kg is None


def test_new_screening_form_is_prefilled(app_client: TestClient, app_db: Session) -> None:
    patient_id = _patient_with_history(app_db)
    nurse = committed_user(app_db, Role.NURSE)
    assert sign_in(app_client, nurse.username) == 303
    page = app_client.get(f"/patients/{patient_id}/screenings/new").text
    assert 'id="a-psychosis_history-yes" name="answer_psychosis_history" value="yes"' in page
    checked = page.split('id="a-psychosis_history-yes"')[1].split(">")[0]
    assert "checked" in checked
    assert 'value="81.2"' in page and "from the record: clonazepam" in page
    assert page.count("checked") == 3
