"""Condition: the bipolar diagnosis (ICD-10-CM and SNOMED CT, as the patients domain stores)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from ketaflow.fhir.codes import (
    CONDITION_CATEGORY,
    CONDITION_CLINICAL,
    CONDITION_VERIFICATION,
    ICD10CM,
    SNOMED,
    Resource,
    coding,
    concept,
    practitioner_id,
    reference,
)
from ketaflow.patients.diagnosis_codes import SEVERITY_LABELS, BipolarType
from ketaflow.patients.models import Diagnosis

_TYPE_NAMES = {BipolarType.BIPOLAR_I: "Bipolar I disorder",
               BipolarType.BIPOLAR_II: "Bipolar II disorder"}


# The same for every diagnosis: made once and shared (resources are encoded, never edited,
# once built; a bulk export builds one per diagnosis).
_ACTIVE = concept(CONDITION_CLINICAL, "active", "Active")
_INACTIVE = concept(CONDITION_CLINICAL, "inactive", "Inactive")
_CONFIRMED = concept(CONDITION_VERIFICATION, "confirmed", "Confirmed")
_PROBLEM_LIST = [concept(CONDITION_CATEGORY, "problem-list-item", "Problem List Item")]


def diagnosis_text(row: Diagnosis | Row[Any]) -> str:
    text = f"{_TYPE_NAMES[row.bipolar_type]}, current episode {row.current_episode.value}"
    return text if row.severity is None else f"{text}, {SEVERITY_LABELS[row.severity]}"


def condition(row: Diagnosis | Row[Any]) -> Resource:
    """A revision supersedes the previous diagnosis row, which stays on the record; FHIR sees
    it as no longer active (clinicalStatus inactive), the current row as active. `row`: the
    ORM object or a plain row of the table's columns (the Condition source's)."""
    resource: Resource = {
        "resourceType": "Condition",
        "clinicalStatus": _ACTIVE if row.superseded_at is None else _INACTIVE,
        "verificationStatus": _CONFIRMED,
        "category": _PROBLEM_LIST,
        "code": {
            "coding": [coding(ICD10CM, row.icd10_code, diagnosis_text(row)),
                       coding(SNOMED, row.snomed_code, _TYPE_NAMES[row.bipolar_type])],
            "text": diagnosis_text(row),
        },
        "subject": reference("Patient", row.patient_id),
        "recordedDate": row.recorded_at.isoformat(),
    }
    if row.onset_date is not None:
        resource["onsetDateTime"] = row.onset_date.isoformat()
    if row.recorded_by_user_id is not None:
        resource["recorder"] = reference("Practitioner", practitioner_id(row.recorded_by_user_id))
    return resource
