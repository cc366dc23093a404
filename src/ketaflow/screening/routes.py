"""Screening and consent pages: the patient-page section, the checklist form, the screening view
with its sign and amend actions, and the consent form."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from ketaflow.auth.permissions import Permission, requires
from ketaflow.clinical.eligibility import CHECKLIST, PregnancyStatus
from ketaflow.clinical.maudsley import Severity as MaudsleySeverity
from ketaflow.db import utcnow
from ketaflow.errors import KetaflowError
from ketaflow.patients import sections
from ketaflow.patients import service as patients
from ketaflow.screening import forms, service
from ketaflow.web import forms as web_forms
from ketaflow.web.deps import audit_context, get_db, require_principal
from ketaflow.web.routing import UnitOfWorkRoute
from ketaflow.web.templating import render

router = APIRouter(include_in_schema=False, route_class=UnitOfWorkRoute)
DB = Annotated[Session, Depends(get_db)]
FORM = Annotated[web_forms.Form, Depends(web_forms.form_fields)]

# Shown to clinical roles on the patient page, loaded by HTMX from the `_summary` fragment.
sections.register_section(
    "screening/_patient_section.html", Permission.PATIENTS_CLINICAL_READ, order=20)

NOTICES = {
    "saved": "Screening saved as a draft.",
    "signed": "Screening signed. It is now locked; changes are recorded as amendments.",
    "amendment": "Amendment started: edit it, then a prescriber signs it.",
    "consent": "Informed consent recorded.",
}
FORM_CHOICES = {
    "checklist": CHECKLIST,
    "vital_fields": forms.VITAL_FIELDS,
    "pregnancy_statuses": list(PregnancyStatus),
    "maudsley_severities": list(MaudsleySeverity),
}


@router.get("/patients/{patient_id}/screenings/_summary")
@requires(Permission.PATIENTS_CLINICAL_READ)
def summary_fragment(request: Request, db: DB, patient_id: int) -> Response:
    summary = service.screening_summary(db, audit_context(request), patient_id=patient_id)
    return render(request, "screening/_summary.html",
                  {"summary": summary, "patient_id": patient_id})


def _form_page(request: Request, db: Session, patient_id: int, **context: object) -> Response:
    record = patients.read_patient(db, audit_context(request), patient_id=patient_id,
                                   clinical=False)
    status = 422 if context.get("error") else 200
    return render(request, "screening/form.html",
                  {"record": record, **FORM_CHOICES,
                   "settings": service.eligibility_settings(db), **context},
                  status_code=status)


@router.get("/patients/{patient_id}/screenings/new")
@requires(Permission.PATIENTS_CLINICAL_WRITE)
def new_screening_page(request: Request, db: DB, patient_id: int) -> Response:
    suggested = service.record_suggestions(db, audit_context(request), patient_id=patient_id)
    return _form_page(request, db, patient_id, form=forms.entry_form(suggested),
                      action=f"/patients/{patient_id}/screenings", prefilled=True)


@router.post("/patients/{patient_id}/screenings")
@requires(Permission.PATIENTS_CLINICAL_WRITE)
def start_screening(request: Request, db: DB, patient_id: int, form: FORM) -> Response:
    try:
        row = service.start_screening(db, audit_context(request), patient_id=patient_id,
                                      entry=forms.screening_entry(form))
    except KetaflowError as exc:
        if exc.status_code == 404:
            raise
        return _form_page(request, db, patient_id, form=form, error=exc.detail,
                          error_field=exc.field, action=f"/patients/{patient_id}/screenings")
    return RedirectResponse(f"/screenings/{row.id}?notice=saved", status_code=303)


@router.get("/screenings/{screening_id}")
@requires(Permission.PATIENTS_CLINICAL_READ)
def screening_page(request: Request, db: DB, screening_id: int, notice: str = "") -> Response:
    return _view_page(request, db, screening_id, notice=NOTICES.get(notice))


def _view_page(request: Request, db: Session, screening_id: int, **context: object) -> Response:
    ctx = audit_context(request)
    view = service.read_screening(db, ctx, screening_id=screening_id)
    record = patients.read_patient(db, ctx, patient_id=view.screening.patient_id, clinical=False)
    status = 422 if context.get("error") else 200
    return render(request, "screening/view.html",
                  {"view": view, "record": record, "checklist": view.evaluation.checklist,
                   "settings": service.eligibility_settings(db, view.screening), **context},
                  status_code=status)


@router.get("/screenings/{screening_id}/edit")
@requires(Permission.PATIENTS_CLINICAL_WRITE)
def edit_screening_page(
    request: Request, db: DB, screening_id: int, notice: str = ""
) -> Response:
    # Audited: the form shows the screening's answers.
    row = service.read_screening(db, audit_context(request), screening_id=screening_id).screening
    if row.is_signed:
        return RedirectResponse(f"/screenings/{screening_id}", status_code=303)
    return _form_page(request, db, row.patient_id, form=forms.screening_form(row),
                      screening=row, action=f"/screenings/{screening_id}/edit",
                      notice=NOTICES.get(notice))


@router.post("/screenings/{screening_id}/edit")
@requires(Permission.PATIENTS_CLINICAL_WRITE)
def update_screening(request: Request, db: DB, screening_id: int, form: FORM) -> Response:
    try:
        row = service.update_screening(db, audit_context(request), screening_id=screening_id,
                                       entry=forms.screening_entry(form))
    except KetaflowError as exc:
        if exc.status_code in (404, 409):
            raise
        row = service.load_screening(db, screening_id)
        return _form_page(request, db, row.patient_id, form=form, screening=row,
                          error=exc.detail, error_field=exc.field,
                          action=f"/screenings/{screening_id}/edit")
    return RedirectResponse(f"/screenings/{row.id}?notice=saved", status_code=303)


@router.post("/screenings/{screening_id}/sign")
@requires(Permission.SCREENING_SIGN)
def sign_screening(request: Request, db: DB, screening_id: int, form: FORM) -> Response:
    try:
        service.sign_screening(db, audit_context(request), screening_id=screening_id,
                               ymrs_override_reason=form.get("ymrs_override_reason"))
    except KetaflowError as exc:
        if exc.status_code == 404:
            raise
        return _view_page(request, db, screening_id, error=exc.detail, sign_error=True)
    return RedirectResponse(f"/screenings/{screening_id}?notice=signed", status_code=303)


@router.post("/screenings/{screening_id}/amend")
@requires(Permission.PATIENTS_CLINICAL_WRITE)
def amend_screening(request: Request, db: DB, screening_id: int, form: FORM) -> Response:
    try:
        row = service.amend_screening(db, audit_context(request), screening_id=screening_id,
                                      reason=form.get("reason", ""))
    except KetaflowError as exc:
        if exc.status_code == 404:
            raise
        return _view_page(request, db, screening_id, error=exc.detail, amend_error=True)
    return RedirectResponse(f"/screenings/{row.id}/edit?notice=amendment", status_code=303)


def _consent_page(request: Request, db: Session, patient_id: int, **context: object) -> Response:
    record = patients.read_patient(db, audit_context(request), patient_id=patient_id,
                                   clinical=False)
    status = 422 if context.get("error") else 200
    return render(request, "screening/consent_form.html",
                  {"record": record, "witnesses": service.list_witnesses(
                      db, recorder_id=require_principal(request).user_id), **context},
                  status_code=status)


@router.get("/patients/{patient_id}/consents/new")
@requires(Permission.PATIENTS_CLINICAL_WRITE)
def consent_page(request: Request, db: DB, patient_id: int) -> Response:
    # No witness preselected: the person at the keyboard is not a witness to their own entry.
    defaults = {"consented_on": utcnow().date().isoformat()}
    return _consent_page(request, db, patient_id, form=defaults)


@router.post("/patients/{patient_id}/consents")
@requires(Permission.PATIENTS_CLINICAL_WRITE)
def record_consent(request: Request, db: DB, patient_id: int, form: FORM) -> Response:
    try:
        service.record_consent(
            db, audit_context(request), patient_id=patient_id,
            form_version=form.get("form_version", ""),
            consented_on=web_forms.required_date(form, "consented_on", "Consent date"),
            witnessed_by_user_id=web_forms.optional_int(form, "witnessed_by_user_id",
                                                        "Witness"),
            note=form.get("note"))
    except KetaflowError as exc:
        if exc.status_code == 404:
            raise
        return _consent_page(request, db, patient_id, form=form, error=exc.detail,
                             error_field=exc.field)
    return RedirectResponse(f"/patients/{patient_id}#screening", status_code=303)
