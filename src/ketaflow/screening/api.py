"""Screenings and consents over the JSON API (same permissions as the pages)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session

from ketaflow.auth.permissions import Permission, requires
from ketaflow.screening import service
from ketaflow.screening.schemas import (
    AmendIn,
    ConsentIn,
    ConsentOut,
    ScreeningIn,
    ScreeningOut,
    ScreeningSummaryOut,
    SignIn,
)
from ketaflow.web.deps import audit_context, get_db
from ketaflow.web.openapi import problem
from ketaflow.web.routing import UnitOfWorkRoute

router = APIRouter(tags=["screening"], route_class=UnitOfWorkRoute)
DB = Annotated[Session, Depends(get_db)]
_LOCKED = "A signed screening is locked: record an amendment instead."


def _out(request: Request, db: Session, screening_id: int) -> ScreeningOut:
    view = service.read_screening(db, audit_context(request), screening_id=screening_id)
    return ScreeningOut.from_view(view)


@router.get("/patients/{patient_id}/screenings", response_model=list[ScreeningSummaryOut])
@requires(Permission.PATIENTS_CLINICAL_READ)
def list_screenings(request: Request, db: DB, patient_id: int) -> list[ScreeningSummaryOut]:
    rows = service.list_screenings(db, audit_context(request), patient_id=patient_id)
    return [ScreeningSummaryOut.model_validate(row) for row in rows]


@router.post("/patients/{patient_id}/screenings", response_model=ScreeningOut, status_code=201)
@requires(Permission.PATIENTS_CLINICAL_WRITE)
def start_screening(request: Request, db: DB, patient_id: int, body: ScreeningIn) -> ScreeningOut:
    row = service.start_screening(db, audit_context(request), patient_id=patient_id,
                                  entry=body.to_entry())
    return _out(request, db, row.id)


@router.get("/screenings/{screening_id}", response_model=ScreeningOut)
@requires(Permission.PATIENTS_CLINICAL_READ)
def get_screening(request: Request, db: DB, screening_id: int) -> ScreeningOut:
    return _out(request, db, screening_id)


@router.put("/screenings/{screening_id}", response_model=ScreeningOut,
            responses=problem(409, _LOCKED))
@requires(Permission.PATIENTS_CLINICAL_WRITE)
def update_screening(
    request: Request, db: DB, screening_id: int, body: ScreeningIn
) -> ScreeningOut:
    service.update_screening(db, audit_context(request), screening_id=screening_id,
                             entry=body.to_entry())
    return _out(request, db, screening_id)


@router.post("/screenings/{screening_id}/sign", response_model=ScreeningOut,
             responses=problem(409, _LOCKED))
@requires(Permission.SCREENING_SIGN)
def sign_screening(request: Request, db: DB, screening_id: int, body: SignIn) -> ScreeningOut:
    service.sign_screening(db, audit_context(request), screening_id=screening_id,
                           ymrs_override_reason=body.ymrs_override_reason)
    return _out(request, db, screening_id)


@router.post("/screenings/{screening_id}/amendments", response_model=ScreeningOut,
             status_code=201,
             responses=problem(409, "Only the current signed screening is amended, one "
                                    "amendment at a time."))
@requires(Permission.PATIENTS_CLINICAL_WRITE)
def amend_screening(request: Request, db: DB, screening_id: int, body: AmendIn) -> ScreeningOut:
    row = service.amend_screening(db, audit_context(request), screening_id=screening_id,
                                  reason=body.reason)
    return _out(request, db, row.id)


@router.get("/patients/{patient_id}/consents", response_model=list[ConsentOut])
@requires(Permission.PATIENTS_CLINICAL_READ)
def list_consents(request: Request, db: DB, patient_id: int) -> list[ConsentOut]:
    consents = service.read_consents(db, audit_context(request), patient_id=patient_id)
    return [ConsentOut.model_validate(c) for c in consents]


@router.post("/patients/{patient_id}/consents", response_model=ConsentOut, status_code=201)
@requires(Permission.PATIENTS_CLINICAL_WRITE)
def record_consent(request: Request, db: DB, patient_id: int, body: ConsentIn) -> ConsentOut:
    consent = service.record_consent(
        db, audit_context(request), patient_id=patient_id, form_version=body.form_version,
        consented_on=body.consented_on, witnessed_by_user_id=body.witnessed_by_user_id,
        note=body.note)
    return ConsentOut.model_validate(consent)
