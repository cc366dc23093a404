"""FHIR R4 export of stored assessments, built with the `ketaflow.scales.fhir` builders."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from ketaflow.assessments.service import list_assessments, stored_result
from ketaflow.audit.service import AuditContext
from ketaflow.db import utcnow
from ketaflow.errors import NotFound
from ketaflow.scales import UnknownInstrumentError
from ketaflow.scales import fhir as scales_fhir
from ketaflow.scales.wording import WordingPack

Resource = dict[str, Any]


def questionnaire_resource(instrument_id: str, packs: Mapping[str, WordingPack]) -> Resource:
    try:
        return scales_fhir.questionnaire(instrument_id, packs.get(instrument_id))
    except UnknownInstrumentError:
        raise NotFound("no such instrument") from None


def assessments_bundle(session: Session, ctx: AuditContext, *, patient_id: int,
                       base_url: str) -> Resource:
    """A collection Bundle of the patient's current assessments (amended originals left out:
    the corrected assessment replaces them), each with its current result version."""
    base = f"{base_url.rstrip('/')}/api/v1/fhir"
    entries = []
    for assessment in list_assessments(session, ctx, patient_id=patient_id):
        response_id = f"assessment-{assessment.id}"
        author = (None if assessment.rater_user_id is None
                  else f"Practitioner/staff-{assessment.rater_user_id}")
        export = scales_fhir.Assessment(
            result=stored_result(assessment.current_result),
            patient_reference=f"Patient/{patient_id}",
            authored_at=assessment.rated_at,
            response_id=response_id,
            author_reference=author,
        )
        response = scales_fhir.questionnaire_response(export)
        if assessment.rater_user_id is None:
            response["source"] = {"reference": f"Patient/{patient_id}"}
        observation = scales_fhir.total_observation(export, f"{response_id}-total")
        entries.append({"fullUrl": f"{base}/QuestionnaireResponse/{response_id}",
                        "resource": response})
        entries.append({"fullUrl": f"{base}/Observation/{response_id}-total",
                        "resource": observation})
    return {"resourceType": "Bundle", "type": "collection",
            "timestamp": utcnow().isoformat(), "entry": entries}
