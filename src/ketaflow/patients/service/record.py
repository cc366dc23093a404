"""The patient record as one read: what the patient page and the API show, audited once."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from ketaflow.audit.service import AuditContext
from ketaflow.clinical.resistance import ResistanceEvaluation
from ketaflow.patients import units
from ketaflow.patients.models import (
    Allergy,
    Diagnosis,
    Measurement,
    Medication,
    NoKnownAllergies,
    Patient,
    PatientDemographics,
    TreatmentTrial,
)
from ketaflow.patients.service import body, diagnosis, medications, trials
from ketaflow.patients.service._common import audit, current_demographics, get_patient, today
from ketaflow.patients.service.identity import PatientIdentity, staff_labels
from ketaflow.patients.service.medications import MedicationOverview


@dataclass(frozen=True)
class ClinicalRecord:
    measurements: list[Measurement]
    allergies: list[Allergy]
    diagnosis: Diagnosis | None
    medications: list[Medication]
    medication_overview: MedicationOverview
    trials: list[TreatmentTrial]
    resistance: ResistanceEvaluation | None
    # "No known allergies" statements, newest first; superseded ones are history.
    no_known_allergies: list[NoKnownAllergies] = field(default_factory=list)
    # Staff named on the record's marks and statements, by id: "Full Name (role)".
    staff: dict[int, str] = field(default_factory=dict)

    def staff_name(self, user_id: int | None) -> str:
        if user_id is None:
            return "-"
        return self.staff.get(user_id, "a former staff member")

    @property
    def valid_measurements(self) -> list[Measurement]:
        """Newest first, without entries marked entered in error (what calculations use)."""
        return [m for m in self.measurements if not m.entered_in_error]

    @property
    def latest_weight(self) -> Measurement | None:
        return next((m for m in self.valid_measurements if m.weight_kg is not None), None)

    @property
    def latest_height(self) -> Measurement | None:
        return next((m for m in self.valid_measurements if m.height_cm is not None), None)

    @property
    def allergy_status(self) -> body.AllergyStatus:
        return body.allergy_status(self.allergies, self.no_known_allergies)

    @property
    def current_no_known_allergies(self) -> NoKnownAllergies | None:
        return next((s for s in self.no_known_allergies if s.superseded_at is None), None)

    @property
    def bmi(self) -> float | None:
        weight, height = self.latest_weight, self.latest_height
        if weight is None or height is None or weight.weight_kg is None or height.height_cm is None:
            return None
        return units.bmi(weight.weight_kg, height.height_cm)

    @property
    def episode_days(self) -> int | None:
        return diagnosis.episode_duration_days(self.diagnosis) if self.diagnosis else None


@dataclass(frozen=True)
class PatientRecord:
    patient: Patient
    demographics: PatientDemographics
    # None when the reader may see demographics only (front desk).
    clinical: ClinicalRecord | None = None

    @property
    def age_years(self) -> int:
        born, now = self.demographics.date_of_birth, today()
        return now.year - born.year - ((now.month, now.day) < (born.month, born.day))

    @property
    def identity(self) -> PatientIdentity:
        d = self.demographics
        return PatientIdentity(self.patient.id, self.patient.mrn, d.given_name, d.family_name,
                               d.date_of_birth, d.sex)


def read_patient(
    session: Session, ctx: AuditContext, *, patient_id: int, clinical: bool
) -> PatientRecord:
    """Load the record (clinical parts only when `clinical`) and audit the read."""
    patient = get_patient(session, patient_id)
    demographics = current_demographics(session, patient_id)
    record = PatientRecord(
        patient, demographics, load_clinical(session, patient_id=patient_id) if clinical else None
    )
    audit(
        session, ctx, "patient.read", patient_id, scope="clinical" if clinical else "demographics"
    )
    return record


def load_clinical(session: Session, *, patient_id: int) -> ClinicalRecord:
    """The clinical sections, unaudited: callers audit the read they perform."""
    current = diagnosis.current_diagnosis(session, patient_id=patient_id)
    meds = medications.list_medications(session, patient_id=patient_id)
    prior = trials.list_trials(session, patient_id=patient_id)
    measured = body.list_measurements(session, patient_id=patient_id)
    statements = body.list_no_known_allergies(session, patient_id=patient_id)
    named = [m.entered_in_error_by_user_id for m in measured] + [
        m.entered_in_error_by_user_id for m in meds]
    return ClinicalRecord(
        measurements=measured,
        allergies=body.list_allergies(session, patient_id=patient_id),
        diagnosis=current,
        medications=meds,
        medication_overview=medications.medication_overview(meds),
        trials=prior,
        resistance=trials.evaluate_resistance(current, prior),
        no_known_allergies=statements,
        staff=staff_labels(session, [*named, *(s.recorded_by_user_id for s in statements)]),
    )


def read_section(session: Session, ctx: AuditContext, *, patient_id: int, section: str) -> None:
    """Audit a read of one clinical section (the API's sub-resource GETs), after checking the
    patient exists so an unknown id gives 404."""
    get_patient(session, patient_id)
    audit(session, ctx, "patient.read", patient_id, scope=section)
