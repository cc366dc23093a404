"""AllergyIntolerance: recorded allergies, and "no known allergies" as asked and recorded."""

from __future__ import annotations

from ketaflow.fhir.codes import (
    ALLERGY_CLINICAL,
    ALLERGY_VERIFICATION,
    SNOMED,
    Resource,
    concept,
    practitioner_id,
    reference,
)
from ketaflow.patients.models import Allergy, AllergySeverity, NoKnownAllergies

NO_KNOWN_ALLERGY = ("716186003", "No known allergy")
# R4 requires a manifestation in every reaction; this stands in when none was recorded.
NO_REACTION = "Reaction not recorded"


def allergy(row: Allergy) -> Resource:
    resource: Resource = {
        "resourceType": "AllergyIntolerance",
        "clinicalStatus": concept(ALLERGY_CLINICAL, "active", "Active"),
        "verificationStatus": concept(ALLERGY_VERIFICATION, "confirmed", "Confirmed"),
        # The substance is typed free text (no RxNorm or SNOMED code is stored).
        "code": {"text": row.substance},
        "patient": reference("Patient", row.patient_id),
        "recordedDate": row.recorded_at.isoformat(),
    }
    reaction: Resource = {"manifestation": [{"text": row.reaction or NO_REACTION}]}
    if row.severity is not AllergySeverity.UNKNOWN:
        reaction["severity"] = row.severity.value
    resource["reaction"] = [reaction]
    _recorder(resource, row.recorded_by_user_id)
    return resource


def no_known_allergies(row: NoKnownAllergies) -> Resource:
    """Superseded once an allergy is recorded: kept, as inactive."""
    status = "active" if row.superseded_at is None else "inactive"
    resource: Resource = {
        "resourceType": "AllergyIntolerance",
        "clinicalStatus": concept(ALLERGY_CLINICAL, status, status.title()),
        "verificationStatus": concept(ALLERGY_VERIFICATION, "confirmed", "Confirmed"),
        "code": concept(SNOMED, *NO_KNOWN_ALLERGY, text="No known allergies"),
        "patient": reference("Patient", row.patient_id),
        "recordedDate": row.recorded_at.isoformat(),
    }
    _recorder(resource, row.recorded_by_user_id)
    return resource


def _recorder(resource: Resource, user_id: int | None) -> None:
    if user_id is not None:
        resource["recorder"] = reference("Practitioner", practitioner_id(user_id))
