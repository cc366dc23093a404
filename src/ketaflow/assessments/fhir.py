"""FHIR R4 export of stored assessments, built with the `ketaflow.scales.fhir` builders.

`response_resource` and `scale_export` are the one mapping of a stored rating to FHIR: the
older export here (`/api/v1/fhir/...`) and the FHIR API's QuestionnaireResponse and
Observation sources (`ketaflow.fhir.sources`) both use them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from ketaflow.assessments.models import Assessment, RaterKind
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


def response_id(row: Assessment) -> str:
    return f"assessment-{row.id}"


def scale_export(row: Assessment) -> scales_fhir.Assessment:
    """The rating with its current result version (results eager-loaded), ready for the
    builders. The author is the staff rater, or the patient for answers from the portal."""
    author: str | None = None
    if row.rater_kind is RaterKind.PATIENT_PORTAL:
        author = f"Patient/{row.patient_id}"
    elif row.rater_user_id is not None:
        author = f"Practitioner/staff-{row.rater_user_id}"
    return scales_fhir.Assessment(
        result=stored_result(row.current_result), patient_reference=f"Patient/{row.patient_id}",
        authored_at=row.rated_at, response_id=response_id(row), author_reference=author)


def response_resource(row: Assessment) -> Resource:
    """The rating as a QuestionnaireResponse. A correction (it supersedes an amended rating)
    is `amended`: its answers are the latest; the original it replaces is not exported."""
    response = scales_fhir.questionnaire_response(scale_export(row))
    if row.rater_kind is RaterKind.PATIENT_PORTAL:
        response["source"] = {"reference": f"Patient/{row.patient_id}"}
    if row.supersedes_id is not None:
        response["status"] = "amended"
    return response


def assessments_bundle(session: Session, ctx: AuditContext, *, patient_id: int,
                       base_url: str) -> Resource:
    """A collection Bundle of the patient's current assessments (amended originals left out:
    the corrected assessment replaces them), each with its current result version."""
    base = f"{base_url.rstrip('/')}/api/v1/fhir"
    entries = []
    for assessment in list_assessments(session, ctx, patient_id=patient_id):
        resource_id = response_id(assessment)
        observation = scales_fhir.total_observation(scale_export(assessment),
                                                     f"{resource_id}-total")
        entries.append({"fullUrl": f"{base}/QuestionnaireResponse/{resource_id}",
                        "resource": response_resource(assessment)})
        entries.append({"fullUrl": f"{base}/Observation/{resource_id}-total",
                        "resource": observation})
    return {"resourceType": "Bundle", "type": "collection",
            "timestamp": utcnow().isoformat(), "entry": entries}
