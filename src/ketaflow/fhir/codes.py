"""Code systems, identifier systems and profile URLs the FHIR resources use."""

from __future__ import annotations

from typing import Any

Resource = dict[str, Any]

FHIR_JSON = "application/fhir+json"
FHIR_VERSION = "4.0.1"

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
DATA_ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
# The code systems of the status elements (searched as tokens).
ENCOUNTER_STATUS = "http://hl7.org/fhir/encounter-status"
MEDICATION_ADMIN_STATUS = "http://terminology.hl7.org/CodeSystem/medication-admin-status"
MEDICATION_REQUEST_STATUS = "http://hl7.org/fhir/CodeSystem/medicationrequest-status"
MEDICATION_REQUEST_INTENT = "http://hl7.org/fhir/CodeSystem/medicationrequest-intent"
EVENT_STATUS = "http://hl7.org/fhir/event-status"  # Procedure.status
AUDIT_ACTION = "http://hl7.org/fhir/audit-event-action"  # AuditEvent.action

# Our own identifier systems: the MRN the clinic assigns, and staff accounts.
MRN_SYSTEM = "https://ketaflow.org/fhir/sid/mrn"
STAFF_SYSTEM = "https://ketaflow.org/fhir/sid/staff"
SESSION_SYSTEM = "https://ketaflow.org/fhir/sid/infusion-session"
ORDER_SYSTEM = "https://ketaflow.org/fhir/sid/infusion-order"
# Local codes for what has no standard code (documented in docs/fhir.md).
KETAFLOW_CODES = "https://ketaflow.org/fhir/CodeSystem/ketaflow"

_US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"


def us_core(name: str) -> str:
    """The canonical URL of a US Core profile, e.g. us_core("patient")."""
    return f"{_US_CORE}us-core-{name}"


def coding(system: str, code: str, display: str) -> dict[str, str]:
    return {"system": system, "code": code, "display": display}


def concept(system: str, code: str, display: str, text: str | None = None) -> Resource:
    value: Resource = {"coding": [coding(system, code, display)]}
    if text is not None:
        value["text"] = text
    return value


def reference(resource_type: str, resource_id: str | int, display: str | None = None
              ) -> dict[str, str]:
    value = {"reference": f"{resource_type}/{resource_id}"}
    if display is not None:
        value["display"] = display
    return value


def practitioner_id(user_id: int) -> str:
    """The Practitioner id of a staff account (as the assessments export names it)."""
    return f"staff-{user_id}"
