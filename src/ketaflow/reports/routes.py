"""Report pages and downloads: a patient's reports page (with the patient page's section
linking to it), the prior-authorisation packet as PDF and JSON, the clinician report as PDF
and CSV, and the admin's list of the clinic's service codes."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import JSONResponse, RedirectResponse, Response

from ketaflow.auth.permissions import Permission, requires
from ketaflow.db import utcnow
from ketaflow.errors import KetaflowError, NotFound
from ketaflow.moodchart.warnings import clinic_day
from ketaflow.patients import sections
from ketaflow.patients.service.identity import patient_identity, staff_labels
from ketaflow.reports import service, service_codes
from ketaflow.reports.clinician import DEFAULT_RANGE_DAYS, FROM_LABEL, TO_LABEL, check_range
from ketaflow.reports.csvfile import clinician_csv
from ketaflow.reports.letter import letter_pdf
from ketaflow.reports.patient_summary import summary_pdf as patient_summary_pdf
from ketaflow.reports.pdf import clinician_pdf, prior_auth_pdf
from ketaflow.reports.prior_auth import packet_json
from ketaflow.web import forms as web_forms
from ketaflow.web.deps import audit_context, get_db
from ketaflow.web.routing import UnitOfWorkRoute
from ketaflow.web.templating import render

router = APIRouter(include_in_schema=False, route_class=UnitOfWorkRoute)
DB = Annotated[Session, Depends(get_db)]
FORM = Annotated[web_forms.Form, Depends(web_forms.form_fields)]

sections.register_section("reports/_patient_section.html", Permission.PATIENTS_CLINICAL_READ,
                          order=90)


def _inline(content: bytes | str, media_type: str, filename: str, *,
            attachment: bool = False) -> Response:
    how = "attachment" if attachment else "inline"
    return Response(content, media_type=media_type,
                    headers={"Content-Disposition": f'{how}; filename="{filename}"'})


def _reports_page(request: Request, db: Session, patient_id: int, *,
                  form: dict[str, str] | None = None,
                  error: KetaflowError | None = None) -> Response:
    who = patient_identity(db, patient_id)
    if who is None:
        raise NotFound("no such patient")
    today = clinic_day(utcnow(), web_forms.clinic_zone(request))
    start, end = check_range(None, None, today=today)
    return render(request, "reports/reports.html", {
        "who": who, "form": form or {"from": start.isoformat(), "to": end.isoformat()},
        "today": today.isoformat(), "default_days": DEFAULT_RANGE_DAYS,
        "labels": {"from": FROM_LABEL, "to": TO_LABEL},
        "codes": service_codes.list_service_codes(db),
        **({} if error is None else web_forms.error_context(error)),
    }, status_code=422 if error is not None else 200)


@router.get("/patients/{patient_id}/reports")
@requires(Permission.PATIENTS_CLINICAL_READ)
def reports_page(request: Request, db: DB, patient_id: int) -> Response:
    return _reports_page(request, db, patient_id)


@router.get("/patients/{patient_id}/reports/prior-auth.pdf")
@requires(Permission.PATIENTS_CLINICAL_READ)
def prior_auth_as_pdf(request: Request, db: DB, patient_id: int) -> Response:
    ctx = audit_context(request)
    ready = service.prepare(db, ctx, patient_id=patient_id, zone=web_forms.clinic_zone(request))
    packet = service.prior_auth_packet(db, ctx, patient_id=patient_id, formats=("pdf",))
    return _inline(prior_auth_pdf(packet, printout=ready.printout), "application/pdf",
                   f"prior-auth-{packet.prepared_at.date().isoformat()}.pdf")


@router.get("/patients/{patient_id}/reports/prior-auth.json")
@requires(Permission.PATIENTS_CLINICAL_READ)
def prior_auth_as_json(request: Request, db: DB, patient_id: int) -> Response:
    ctx = audit_context(request)
    try:
        ready = service.prepare(db, ctx, patient_id=patient_id,
                                zone=web_forms.clinic_zone(request))
    except NotFound as exc:  # a JSON client gets a problem document (RFC 9457), not a page
        return JSONResponse({"type": "about:blank", "title": exc.title, "status": 404,
                             "detail": exc.detail, "instance": request.url.path},
                            status_code=404, media_type="application/problem+json")
    packet = service.prior_auth_packet(db, ctx, patient_id=patient_id, formats=("json",))
    body = packet_json(packet, ready.identity, clinic_name=ready.printout.clinic_name,
                       prepared_by=ready.prepared_by)
    return _inline(json.dumps(body, indent=2), "application/json",
                   f"prior-auth-{packet.prepared_at.date().isoformat()}.json")


def _range(request: Request) -> tuple[date | None, date | None]:
    query = dict(request.query_params)
    with web_forms.collect_errors() as check:
        start = check(web_forms.optional_date, query, "from", FROM_LABEL)
        end = check(web_forms.optional_date, query, "to", TO_LABEL)
    return start, end


def _clinician(request: Request, db: Session, patient_id: int, kind: str) -> Response:
    ctx = audit_context(request)
    zone = web_forms.clinic_zone(request)
    ready = service.prepare(db, ctx, patient_id=patient_id, zone=zone)
    try:
        start, end = _range(request)
        check_range(start, end, today=clinic_day(utcnow(), zone))
    except KetaflowError as exc:
        return _reports_page(request, db, patient_id, form=dict(request.query_params),
                             error=exc)
    report = service.clinician_report(db, ctx, patient_id=patient_id, start=start, end=end,
                                      zone=zone, today=clinic_day(utcnow(), zone),
                                      formats=(kind,))
    name = f"clinician-report-{report.start.isoformat()}-to-{report.end.isoformat()}"
    if kind == "csv":
        return _inline(clinician_csv(report), "text/csv; charset=utf-8", f"{name}.csv",
                       attachment=True)
    return _inline(clinician_pdf(report, printout=ready.printout), "application/pdf",
                   f"{name}.pdf")


@router.get("/patients/{patient_id}/reports/patient.pdf")
@requires(Permission.PATIENTS_CLINICAL_READ)
def clinician_as_pdf(request: Request, db: DB, patient_id: int) -> Response:
    """The clinician report for ?from=YYYY-MM-DD&to=YYYY-MM-DD (default the last 90 days)."""
    return _clinician(request, db, patient_id, "pdf")


@router.get("/patients/{patient_id}/reports/patient.csv")
@requires(Permission.PATIENTS_CLINICAL_READ)
def clinician_as_csv(request: Request, db: DB, patient_id: int) -> Response:
    return _clinician(request, db, patient_id, "csv")


@router.get("/patients/{patient_id}/reports/referrer-letter.pdf")
@requires(Permission.PATIENTS_CLINICAL_READ)
def referrer_letter_as_pdf(request: Request, db: DB, patient_id: int) -> Response:
    """The letter to the referring clinician after the induction."""
    ctx = audit_context(request)
    zone = web_forms.clinic_zone(request)
    ready = service.prepare(db, ctx, patient_id=patient_id, zone=zone)
    facts = service.referrer_letter(db, ctx, patient_id=patient_id, zone=zone)
    return _inline(letter_pdf(facts, printout=ready.printout, signer=ready.prepared_by),
                   "application/pdf", "letter-to-referrer.pdf")


@router.get("/patients/{patient_id}/reports/patient-summary.pdf")
@requires(Permission.PATIENTS_CLINICAL_READ)
def patient_summary_as_pdf(request: Request, db: DB, patient_id: int) -> Response:
    """The plain-language summary for the patient to keep."""
    ctx = audit_context(request)
    ready = service.prepare(db, ctx, patient_id=patient_id, zone=web_forms.clinic_zone(request))
    summary = service.patient_summary(db, ctx, patient_id=patient_id)
    return _inline(patient_summary_pdf(summary, printout=ready.printout,
                                       prepared_by=ready.prepared_by),
                   "application/pdf", "treatment-summary.pdf")


# --- the clinic's service codes (admin) ---------------------------------------------------


def _codes_page(request: Request, db: Session, *, form: dict[str, str] | None = None,
                error: KetaflowError | None = None, notice: str | None = None) -> Response:
    rows = service_codes.list_service_codes(db, include_retired=True)
    staff = staff_labels(db, [r.added_by_user_id for r in rows]
                         + [r.retired_by_user_id for r in rows])
    return render(request, "reports/service_codes.html", {
        "rows": rows, "staff": staff, "form": form or {}, "notice": notice,
        "labels": {name: label for name, (label, _) in service_codes.FIELDS.items()},
        "limits": {name: limit for name, (_, limit) in service_codes.FIELDS.items()},
        **({} if error is None else web_forms.error_context(error)),
    }, status_code=error.status_code if error is not None else 200)


@router.get("/settings/service-codes")
@requires(Permission.HOME_VIEW)
def codes_page(request: Request, db: DB, notice: str = "") -> Response:
    notices = {"added": "Service code added.", "retired": "Service code retired."}
    return _codes_page(request, db, notice=notices.get(notice))


@router.post("/settings/service-codes")
@requires(Permission.CLINIC_PROFILE_EDIT)
def add_code(request: Request, db: DB, form: FORM) -> Response:
    entry = service_codes.ServiceCodeEntry(**{name: form.get(name, "")
                                              for name in service_codes.FIELDS})
    try:
        service_codes.add_service_code(db, audit_context(request), entry=entry)
    except KetaflowError as exc:
        return _codes_page(request, db, form=form, error=exc)
    return RedirectResponse("/settings/service-codes?notice=added", status_code=303)


@router.post("/settings/service-codes/{code_id}/retire")
@requires(Permission.CLINIC_PROFILE_EDIT)
def retire_code(request: Request, db: DB, code_id: int) -> Response:
    try:
        service_codes.retire_service_code(db, audit_context(request), code_id=code_id)
    except KetaflowError as exc:
        if isinstance(exc, NotFound):
            raise
        return _codes_page(request, db, error=exc)
    return RedirectResponse("/settings/service-codes?notice=retired", status_code=303)
