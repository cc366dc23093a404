"""Patients over the JSON API, with the same permissions (and services) as the pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session

from ketaflow.auth.permissions import Permission, requires
from ketaflow.patients import schemas, service
from ketaflow.patients.routes import may_read_clinical
from ketaflow.patients.schemas import (
    AllergyIn,
    AllergyOut,
    DemographicsAmend,
    DemographicsOut,
    DiagnosisIn,
    DiagnosisOut,
    EnteredInError,
    MeasurementIn,
    MeasurementOut,
    MedicationIn,
    MedicationOut,
    MedicationStop,
    NoKnownAllergiesOut,
    PatientCreate,
    PatientListItem,
    PatientOut,
    TrialIn,
    TrialOut,
)
from ketaflow.web.deps import audit_context, get_db
from ketaflow.web.openapi import problem
from ketaflow.web.routing import UnitOfWorkRoute

router = APIRouter(prefix="/patients", tags=["patients"], route_class=UnitOfWorkRoute)

DB = Annotated[Session, Depends(get_db)]


def _record(request: Request, db: Session, patient_id: int) -> service.ClinicalRecord:
    """The clinical part of the record (an audited read; 404 for an unknown patient)."""
    record = service.read_patient(db, audit_context(request), patient_id=patient_id, clinical=True)
    assert record.clinical is not None  # clinical=True always loads it
    return record.clinical


# Front desk must not receive the `clinical` key at all, not even as null: exclude_unset.
@router.post("", status_code=201, response_model=PatientOut, response_model_exclude_unset=True,
             responses=problem(409, "The medical-record number is already in use, or a patient "
                               "with the same name and date of birth exists "
                               "(confirm_same_person)."))
@requires(Permission.PATIENTS_REGISTER)
def register(request: Request, db: DB, body: PatientCreate) -> PatientOut:
    ctx = audit_context(request)
    patient = service.register_patient(db, ctx, demographics=body.to_service(), mrn=body.mrn,
                                       confirm_same_person=body.confirm_same_person)
    return schemas.patient_out(service.read_patient(db, ctx, patient_id=patient.id, clinical=False))


@router.get("", response_model=list[PatientListItem])
@requires(Permission.PATIENTS_DEMOGRAPHICS)
def search(request: Request, db: DB, q: str = "") -> list[PatientListItem]:
    hits = service.search_patients(db, audit_context(request), query=q)
    return [
        PatientListItem(
            id=h.patient.id,
            mrn=h.patient.mrn,
            given_name=h.demographics.given_name,
            family_name=h.demographics.family_name,
            date_of_birth=h.demographics.date_of_birth,
            sex=h.demographics.sex,
        )
        for h in hits
    ]


@router.get("/{patient_id}", response_model=PatientOut, response_model_exclude_unset=True)
@requires(Permission.PATIENTS_DEMOGRAPHICS)
def get_patient(request: Request, db: DB, patient_id: int) -> PatientOut:
    record = service.read_patient(
        db, audit_context(request), patient_id=patient_id, clinical=may_read_clinical(request)
    )
    return schemas.patient_out(record)


@router.put(
    "/{patient_id}/demographics", response_model=PatientOut, response_model_exclude_unset=True
)
@requires(Permission.PATIENTS_REGISTER)
def amend(request: Request, db: DB, patient_id: int, body: DemographicsAmend) -> PatientOut:
    """Correct demographics as an amendment: the previous version is kept and superseded."""
    ctx = audit_context(request)
    service.amend_demographics(
        db, ctx, patient_id=patient_id, demographics=body.to_service(), reason=body.reason
    )
    return schemas.patient_out(service.read_patient(db, ctx, patient_id=patient_id, clinical=False))


@router.get("/{patient_id}/demographics/history", response_model=list[DemographicsOut])
@requires(Permission.PATIENTS_DEMOGRAPHICS)
def history(request: Request, db: DB, patient_id: int) -> list[DemographicsOut]:
    versions = service.demographics_history(db, audit_context(request), patient_id=patient_id)
    return [DemographicsOut.model_validate(v) for v in versions]


@router.get("/{patient_id}/measurements", response_model=list[MeasurementOut])
@requires(Permission.PATIENTS_CLINICAL_READ)
def measurements(request: Request, db: DB, patient_id: int) -> list[MeasurementOut]:
    return [MeasurementOut.model_validate(m) for m in _record(request, db, patient_id).measurements]


@router.post("/{patient_id}/measurements", response_model=MeasurementOut, status_code=201,
             responses=problem(422, "Invalid, or a weight that differs from the previous one by "
                               "more than the clinic's threshold without "
                               "`confirm_weight_change: true` (field confirm_weight_change)."))
@requires(Permission.PATIENTS_CLINICAL_WRITE)
def add_measurement(
    request: Request, db: DB, patient_id: int, body: MeasurementIn
) -> MeasurementOut:
    row = service.record_measurement(
        db, audit_context(request), patient_id=patient_id, **body.model_dump()
    )
    return MeasurementOut.model_validate(row)


@router.post("/{patient_id}/measurements/{measurement_id}/entered-in-error",
             response_model=MeasurementOut,
             responses=problem(409, "The measurement is already marked entered in error."))
@requires(Permission.PATIENTS_CLINICAL_WRITE)
def measurement_entered_in_error(
    request: Request, db: DB, patient_id: int, measurement_id: int, body: EnteredInError
) -> MeasurementOut:
    """Mark a measurement entered in error (kept, with the reason; left out of every calculation
    and given `status: "entered-in-error"`)."""
    row = service.mark_measurement_entered_in_error(
        db, audit_context(request), patient_id=patient_id, measurement_id=measurement_id,
        reason=body.reason)
    return MeasurementOut.model_validate(row)


@router.get("/{patient_id}/allergies", response_model=list[AllergyOut])
@requires(Permission.PATIENTS_CLINICAL_READ)
def allergies(request: Request, db: DB, patient_id: int) -> list[AllergyOut]:
    return [AllergyOut.model_validate(a) for a in _record(request, db, patient_id).allergies]


@router.post("/{patient_id}/allergies", response_model=AllergyOut, status_code=201)
@requires(Permission.PATIENTS_CLINICAL_WRITE)
def add_allergy(request: Request, db: DB, patient_id: int, body: AllergyIn) -> AllergyOut:
    row = service.record_allergy(
        db, audit_context(request), patient_id=patient_id, **body.model_dump()
    )
    return AllergyOut.model_validate(row)


@router.post("/{patient_id}/no-known-allergies", response_model=NoKnownAllergiesOut,
             status_code=201,
             responses=problem(409, "Allergies are listed, or no known allergies is already "
                               "recorded."))
@requires(Permission.PATIENTS_CLINICAL_WRITE)
def no_known_allergies(request: Request, db: DB, patient_id: int) -> NoKnownAllergiesOut:
    """Record that the patient was asked and has no known allergies (an allergy recorded later
    supersedes it; the statement is kept)."""
    row = service.record_no_known_allergies(db, audit_context(request), patient_id=patient_id)
    return NoKnownAllergiesOut.model_validate(row)


@router.get("/{patient_id}/diagnoses", response_model=list[DiagnosisOut])
@requires(Permission.PATIENTS_CLINICAL_READ)
def diagnoses(request: Request, db: DB, patient_id: int) -> list[DiagnosisOut]:
    """Every recorded diagnosis, oldest first; the current one has no `superseded_at`."""
    service.read_section(db, audit_context(request), patient_id=patient_id, section="diagnoses")
    rows = service.diagnosis_history(db, patient_id=patient_id)
    return [DiagnosisOut.model_validate(d) for d in rows]


@router.post("/{patient_id}/diagnoses", response_model=DiagnosisOut, status_code=201)
@requires(Permission.PATIENTS_CLINICAL_WRITE)
def add_diagnosis(request: Request, db: DB, patient_id: int, body: DiagnosisIn) -> DiagnosisOut:
    row = service.record_diagnosis(
        db,
        audit_context(request),
        patient_id=patient_id,
        diagnosis=body.to_service(),
        reason=body.reason,
    )
    return DiagnosisOut.model_validate(row)


@router.get("/{patient_id}/medications", response_model=list[MedicationOut])
@requires(Permission.PATIENTS_CLINICAL_READ)
def medications(request: Request, db: DB, patient_id: int) -> list[MedicationOut]:
    return schemas.medications_out(_record(request, db, patient_id))


@router.post("/{patient_id}/medications", response_model=MedicationOut, status_code=201,
             responses=problem(422, "Invalid, or a daily dose above the catalogue's label "
                               "maximum without confirm_above_max_daily_dose and a reason."))
@requires(Permission.PATIENTS_CLINICAL_WRITE)
def add_medication(request: Request, db: DB, patient_id: int, body: MedicationIn) -> MedicationOut:
    row = service.add_medication(
        db, audit_context(request), patient_id=patient_id, medication=body.to_service()
    )
    return MedicationOut.model_validate(row)


@router.post("/{patient_id}/medications/{medication_id}/stop", response_model=MedicationOut,
             responses=problem(409, "The medication already has a stop date."))
@requires(Permission.PATIENTS_CLINICAL_WRITE)
def stop_medication(
    request: Request, db: DB, patient_id: int, medication_id: int, body: MedicationStop
) -> MedicationOut:
    row = service.stop_medication(
        db,
        audit_context(request),
        patient_id=patient_id,
        medication_id=medication_id,
        stop_date=body.stop_date,
    )
    return MedicationOut.model_validate(row)


@router.post("/{patient_id}/medications/{medication_id}/entered-in-error",
             response_model=MedicationOut,
             responses=problem(409, "The medication is already marked entered in error."))
@requires(Permission.PATIENTS_CLINICAL_WRITE)
def medication_entered_in_error(
    request: Request, db: DB, patient_id: int, medication_id: int, body: EnteredInError
) -> MedicationOut:
    """Mark a medication entry entered in error (kept, with the reason; left out of the current
    list, the benzodiazepine load and the interaction notes)."""
    row = service.mark_medication_entered_in_error(
        db, audit_context(request), patient_id=patient_id, medication_id=medication_id,
        reason=body.reason)
    return MedicationOut.model_validate(row)


@router.get("/{patient_id}/trials", response_model=list[TrialOut])
@requires(Permission.PATIENTS_CLINICAL_READ)
def trials(request: Request, db: DB, patient_id: int) -> list[TrialOut]:
    return [TrialOut.model_validate(t) for t in _record(request, db, patient_id).trials]


@router.post("/{patient_id}/trials", response_model=TrialOut, status_code=201)
@requires(Permission.PATIENTS_CLINICAL_WRITE)
def add_trial(request: Request, db: DB, patient_id: int, body: TrialIn) -> TrialOut:
    row = service.add_treatment_trial(
        db, audit_context(request), patient_id=patient_id, trial=body.to_service()
    )
    return TrialOut.model_validate(row)
