"""Assessments and their FHIR R4 export over the JSON API."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from sqlalchemy.orm import Session
from starlette.responses import JSONResponse

from ketaflow.assessments import fhir, service
from ketaflow.assessments.routes import wording_packs
from ketaflow.assessments.schemas import AssessmentAmend, AssessmentCreate, AssessmentOut
from ketaflow.auth.permissions import Permission, requires
from ketaflow.config import Settings
from ketaflow.scales.instruments import instrument_ids
from ketaflow.web.deps import audit_context, get_db, get_settings, require_principal
from ketaflow.web.openapi import problem
from ketaflow.web.routing import UnitOfWorkRoute

router = APIRouter(tags=["assessments"], route_class=UnitOfWorkRoute)
DB = Annotated[Session, Depends(get_db)]
FHIR_JSON = "application/fhir+json"


@router.get("/patients/{patient_id}/assessments", response_model=list[AssessmentOut])
@requires(Permission.PATIENTS_CLINICAL_READ)
def list_assessments(request: Request, db: DB, patient_id: int,
                     include_superseded: bool = False) -> list[AssessmentOut]:
    rows = service.list_assessments(db, audit_context(request), patient_id=patient_id,
                                    include_superseded=include_superseded)
    return [AssessmentOut.of(row) for row in rows]


@router.post("/patients/{patient_id}/assessments", response_model=AssessmentOut,
             status_code=201)
@requires(Permission.ASSESSMENTS_WRITE)
def create_assessment(request: Request, db: DB, patient_id: int,
                      body: AssessmentCreate) -> AssessmentOut:
    assessment = service.record_assessment(
        db, audit_context(request), patient_id=patient_id, instrument_id=body.instrument,
        answers=body.answers, rated_at=body.rated_at, course_id=body.course_id,
        rater=service.Rater.staff(require_principal(request).user_id))
    return AssessmentOut.of(assessment)


@router.get("/assessments/{assessment_id}", response_model=AssessmentOut)
@requires(Permission.PATIENTS_CLINICAL_READ)
def get_assessment(request: Request, db: DB, assessment_id: int) -> AssessmentOut:
    return AssessmentOut.of(
        service.get_assessment(db, audit_context(request), assessment_id=assessment_id))


@router.post("/assessments/{assessment_id}/amend", response_model=AssessmentOut,
             status_code=201,
             responses=problem(409, "The assessment was already corrected: amend the newest "
                                    "version."))
@requires(Permission.ASSESSMENTS_WRITE)
def amend_assessment(request: Request, db: DB, assessment_id: int,
                     body: AssessmentAmend) -> AssessmentOut:
    corrected = service.amend_assessment(
        db, audit_context(request), assessment_id=assessment_id, answers=body.answers,
        reason=body.reason, rated_at=body.rated_at,
        rater=service.Rater.staff(require_principal(request).user_id))
    return AssessmentOut.of(corrected)


@router.post("/assessments/{assessment_id}/rescore", response_model=AssessmentOut,
             responses=problem(409, "The assessment was corrected: re-score the correction."))
@requires(Permission.ASSESSMENTS_WRITE)
def rescore_assessment(request: Request, db: DB, assessment_id: int) -> AssessmentOut:
    return AssessmentOut.of(
        service.rescore_assessment(db, audit_context(request), assessment_id=assessment_id))


class FhirResponse(JSONResponse):
    media_type = FHIR_JSON


def _fhir_resource(resource_type: str) -> dict[int | str, dict[str, Any]]:
    """The 200 answer of a FHIR read: a resource of `resource_type` (R4), FHIR's media type."""
    schema = {"type": "object", "required": ["resourceType"],
              "properties": {"resourceType": {"const": resource_type}},
              "externalDocs": {"url": f"https://hl7.org/fhir/R4/{resource_type.lower()}.html"}}
    return {200: {"description": f"A FHIR R4 {resource_type}",
                  "content": {FHIR_JSON: {"schema": schema}}}}


@router.get("/fhir/Questionnaire/{instrument}", response_class=FhirResponse,
            responses=_fhir_resource("Questionnaire"))
@requires(Permission.PATIENTS_CLINICAL_READ)
def fhir_questionnaire(
    request: Request,
    instrument: Annotated[str, Path(json_schema_extra={"enum": list(instrument_ids())})],
) -> FhirResponse:
    """The instrument as a FHIR R4 Questionnaire (licensed wording when a pack is loaded)."""
    return FhirResponse(fhir.questionnaire_resource(instrument, wording_packs(request)))


@router.get("/patients/{patient_id}/fhir/assessments", response_class=FhirResponse,
            responses=_fhir_resource("Bundle"))
@requires(Permission.PATIENTS_CLINICAL_READ)
def fhir_assessments(request: Request, db: DB, patient_id: int,
                     settings: Annotated[Settings, Depends(get_settings)]) -> FhirResponse:
    """A FHIR R4 Bundle: a QuestionnaireResponse and an Observation per current assessment."""
    return FhirResponse(fhir.assessments_bundle(db, audit_context(request), patient_id=patient_id,
                                                base_url=settings.public_base_url))
