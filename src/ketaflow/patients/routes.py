"""Patient registry pages: list and search, register, the patient page, demographic amendments."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from ketaflow.auth.permissions import Permission, requires, role_has
from ketaflow.errors import KetaflowError
from ketaflow.patients import forms, sections, service
from ketaflow.patients.diagnosis_codes import SEVERITY_LABELS
from ketaflow.patients.medication_catalogue import BENZODIAZEPINE_SOURCE
from ketaflow.patients.models import Sex
from ketaflow.patients.service.identity import patient_identity
from ketaflow.web import forms as web_forms
from ketaflow.web.deps import audit_context, get_db, require_principal
from ketaflow.web.routing import UnitOfWorkRoute
from ketaflow.web.templating import render

router = APIRouter(prefix="/patients", include_in_schema=False, route_class=UnitOfWorkRoute)

DB = Annotated[Session, Depends(get_db)]
FORM = Annotated[web_forms.Form, Depends(web_forms.form_fields)]

NOTICES = {
    "registered": "Patient registered.",
    "amended": "Demographics amended; the previous version is kept in the history.",
    "measurement": "Measurement recorded.",
    "allergy": "Allergy recorded.",
    "diagnosis": "Diagnosis recorded.",
    "medication": "Medication recorded.",
    "stopped": "Stop date recorded.",
    "trial": "Treatment trial recorded.",
    "entered_in_error": "Marked entered in error; the entry is kept, struck through, and left "
    "out of every calculation.",
    "no_known_allergies": "No known allergies recorded.",
}


def may_read_clinical(request: Request) -> bool:
    return role_has(require_principal(request).role, Permission.PATIENTS_CLINICAL_READ)


@router.get("")
@requires(Permission.PATIENTS_DEMOGRAPHICS)
def patient_list(request: Request, db: DB, q: str = "") -> Response:
    hits = service.search_patients(db, audit_context(request), query=q)
    return render(request, "patients/list.html", {"hits": hits, "q": q})


def _register_page(request: Request, **context: object) -> Response:
    status = 422 if context.get("error") else 200
    return render(
        request, "patients/register.html",
        {"sexes": list(Sex), "same_person_label": service.SAME_PERSON_LABEL, **context},
        status_code=status,
    )


@router.get("/new")
@requires(Permission.PATIENTS_REGISTER)
def register_page(request: Request) -> Response:
    return _register_page(request, form={})


@router.post("")
@requires(Permission.PATIENTS_REGISTER)
def register(request: Request, db: DB, form: FORM) -> Response:
    try:
        patient = service.register_patient(
            db, audit_context(request), demographics=forms.demographics(form), mrn=form.get("mrn"),
            confirm_same_person=form.get(service.SAME_PERSON_FIELD) == "yes",
        )
    except KetaflowError as exc:
        return _register_page(request, **web_forms.error_context(exc), form=form)
    return RedirectResponse(f"/patients/{patient.id}?notice=registered", status_code=303)


@router.get("/{patient_id}")
@requires(Permission.PATIENTS_DEMOGRAPHICS)
def patient_page(request: Request, db: DB, patient_id: int, notice: str = "") -> Response:
    return render_patient_page(request, db, patient_id, notice=NOTICES.get(notice))


def render_patient_page(
    request: Request, db: Session, patient_id: int, **context: object
) -> Response:
    """The patient page; also re-rendered with an error by inline forms on it (422)."""
    record = service.read_patient(
        db, audit_context(request), patient_id=patient_id, clinical=may_read_clinical(request)
    )
    role = require_principal(request).role
    extra = [s.template for s in sections.SECTIONS if role_has(role, s.permission)]
    status = 422 if context.get("error") else 200
    return render(
        request,
        "patients/patient.html",
        {
            "record": record,
            "extra_sections": extra,
            "benzodiazepine_source": BENZODIAZEPINE_SOURCE,
            "severity_labels": SEVERITY_LABELS,
            **context,
        },
        status_code=status,
    )


def _amend_page(request: Request, db: Session, patient_id: int, **context: object) -> Response:
    record = service.read_patient(db, audit_context(request), patient_id=patient_id, clinical=False)
    status = 422 if context.get("error") else 200
    form = context.pop("form", None) or {
        k: "" if v is None else str(v) for k, v in record.demographics.values().items()
    }
    return render(
        request,
        "patients/amend.html",
        {"record": record, "sexes": list(Sex), "form": form, **context},
        status_code=status,
    )


@router.get("/{patient_id}/edit")
@requires(Permission.PATIENTS_REGISTER)
def amend_page(request: Request, db: DB, patient_id: int) -> Response:
    return _amend_page(request, db, patient_id)


@router.post("/{patient_id}/edit")
@requires(Permission.PATIENTS_REGISTER)
def amend(request: Request, db: DB, patient_id: int, form: FORM) -> Response:
    try:
        service.amend_demographics(
            db,
            audit_context(request),
            patient_id=patient_id,
            demographics=forms.demographics(form),
            reason=form.get("reason", ""),
        )
    except KetaflowError as exc:
        if exc.status_code == 404:
            raise
        return _amend_page(request, db, patient_id, **web_forms.error_context(exc), form=form)
    return RedirectResponse(f"/patients/{patient_id}?notice=amended", status_code=303)


@router.get("/{patient_id}/history")
@requires(Permission.PATIENTS_DEMOGRAPHICS)
def history_page(request: Request, db: DB, patient_id: int) -> Response:
    ctx = audit_context(request)
    versions = service.demographics_history(db, ctx, patient_id=patient_id)
    return render(
        request, "patients/history.html", {"versions": versions, "patient_id": patient_id,
                                           "who": patient_identity(db, patient_id)}
    )
