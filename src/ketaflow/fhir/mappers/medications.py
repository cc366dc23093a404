"""MedicationStatement: the patient's current and past medications as recorded."""

from __future__ import annotations

from datetime import date

from ketaflow.fhir.codes import UCUM, Resource, practitioner_id, reference
from ketaflow.patients.medication_catalogue import CLASS_LABELS, DoseUnit
from ketaflow.patients.models import Medication

# Each unit as an amount per period, both in UCUM.
_DOSE_UNITS: dict[DoseUnit, tuple[str, str]] = {
    DoseUnit.MG_PER_DAY: ("mg", "d"),
    DoseUnit.MCG_PER_DAY: ("ug", "d"),
    DoseUnit.MG_PER_WEEK: ("mg", "wk"),
    DoseUnit.MG_PER_MONTH: ("mg", "mo"),
}


def medication_statement(row: Medication, today: date) -> Resource:
    resource: Resource = {
        "resourceType": "MedicationStatement",
        "status": _status(row, today),
        # Drug names are stored as typed or chosen from the catalogue, without RxNorm codes.
        "medicationCodeableConcept": {"text": row.drug_name},
        "subject": reference("Patient", row.patient_id),
        "dateAsserted": row.recorded_at.isoformat(),
        "category": {"text": CLASS_LABELS.get(row.drug_class, row.drug_class.value)},
        "dosage": [_dosage(row)],
    }
    period = {key: value.isoformat() for key, value in
              (("start", row.start_date), ("end", row.stop_date)) if value is not None}
    if period:
        resource["effectivePeriod"] = period
    if row.recorded_by_user_id is not None:
        resource["informationSource"] = reference(
            "Practitioner", practitioner_id(row.recorded_by_user_id))
    if row.note:
        resource["note"] = [{"text": row.note}]
    return resource


def _status(row: Medication, today: date) -> str:
    if row.entered_in_error:
        return "entered-in-error"
    if row.stop_date is not None and row.stop_date <= today:
        return "completed"
    return "active"


def _dosage(row: Medication) -> Resource:
    unit, period = _DOSE_UNITS[row.dose_unit]
    amount = f"{row.dose_amount:g}"
    # The record holds a total per day (week, month), not a dose per administration, so it
    # is a rate: amount over one period.
    return {
        "text": f"{amount} {row.dose_unit.value}",
        "doseAndRate": [{"rateRatio": {
            "numerator": {"value": row.dose_amount, "unit": unit, "system": UCUM, "code": unit},
            "denominator": {"value": 1, "unit": period, "system": UCUM, "code": period},
        }}],
    }
