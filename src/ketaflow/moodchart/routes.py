"""Mood chart pages: the patient's daily entry by phone (link as credential) and the clinician's
life chart with entries, warnings and links."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from ketaflow.alerts import service as alerts_service
from ketaflow.auth.permissions import Permission, public, requires
from ketaflow.clinic import service as clinic_service
from ketaflow.config import Settings
from ketaflow.db import utcnow
from ketaflow.errors import KetaflowError, NotFound, ValidationFailed
from ketaflow.infusions.pdf import Printout
from ketaflow.moodchart import service
from ketaflow.moodchart.forms import ANCHORS, FIELD_LABELS, POLE_QUESTIONS, form_key, parse_entry
from ketaflow.moodchart.models import MoodLink
from ketaflow.moodchart.pdf import report_pdf
from ketaflow.moodchart.warnings import clinic_day
from ketaflow.patients import sections
from ketaflow.patients.service.identity import patient_identity, staff_labels
from ketaflow.portal.routes import qr_svg
from ketaflow.settings.service import settings_in_force
from ketaflow.web import forms as web_forms
from ketaflow.web.deps import audit_context, get_db, get_settings, require_principal
from ketaflow.web.routing import UnitOfWorkRoute
from ketaflow.web.templating import render

router = APIRouter(include_in_schema=False, route_class=UnitOfWorkRoute)
DB = Annotated[Session, Depends(get_db)]
SETTINGS = Annotated[Settings, Depends(get_settings)]
FORM = Annotated[web_forms.Form, Depends(web_forms.form_fields)]
_FORM_CONTEXT = {"anchors": ANCHORS, "questions": POLE_QUESTIONS, "labels": FIELD_LABELS}

sections.register_section("moodchart/_patient_section.html", Permission.PATIENTS_CLINICAL_READ,
                          order=45)
# The entries table lists the newest this many of the range unless asked for all: two years
# are some 700 rows, each with its own form, which made the page 800 kB and half its time.
ENTRIES_SHOWN = 60


def _mood_page(request: Request, db: Session, patient_id: int, *, days: int = 90,
               form: dict[str, str] | None = None, error: KetaflowError | None = None,
               notice: str | None = None, issued: service.IssuedLink | None = None,
               all_entries: bool = False) -> Response:
    who = patient_identity(db, patient_id)
    if who is None:
        raise NotFound("no such patient")
    zone = web_forms.clinic_zone(request)
    moment = utcnow()
    in_force = settings_in_force(db, moment)
    view = service.chart_view(db, audit_context(request), patient_id=patient_id, days=days,
                              zone=zone, settings=in_force.mood, thresholds=in_force.scales)
    today = clinic_day(moment, zone)
    links = service.links(db, patient_id=patient_id)
    alerts = [row for row in alerts_service.list_patient_alerts(
        db, audit_context(request), patient_id=patient_id)
        if row.alert.is_open and row.alert.kind in alerts_service.MOOD_KINDS]
    staff = staff_labels(db, [r.entered_by_user_id for r in view.rows]
                         + [r.entered_in_error_by_user_id for r in view.rows]
                         + [link.created_by_user_id for link in links])
    newest_first = view.rows[::-1]
    return render(request, "moodchart/mood.html", {
        "who": who, "view": view, "alerts": alerts, "days": days,
        "shown_rows": newest_first if all_entries else newest_first[:ENTRIES_SHOWN],
        "ranges": service.RANGES_DAYS, "zone": zone,
        "today": today, "form": form or {"day": today.isoformat()},
        "medications": service.current_medications(db, patient_id=patient_id, on=today),
        "error": None if error is None else error.detail,
        "error_field": None if error is None else error.field, "notice": notice,
        "links": [(link, service.link_state(link, moment)) for link in links],
        "staff": staff, "issued": issued, "qr": None if issued is None else qr_svg(issued.url),
        "new_form_key": secrets.token_urlsafe(18), **_FORM_CONTEXT,
    }, status_code=422 if error is not None else 200)


@router.get("/patients/{patient_id}/mood")
@requires(Permission.PATIENTS_CLINICAL_READ)
def mood_page(request: Request, db: DB, patient_id: int, days: int = 90,
              notice: str = "", entries: str = "") -> Response:
    notices = {"saved": "Entry saved.", "error": "Entry marked as entered in error.",
               "revoked": "Link revoked: it no longer opens the entry page."}
    if days not in service.RANGES_DAYS:
        days = 90
    return _mood_page(request, db, patient_id, days=days, notice=notices.get(notice),
                      all_entries=entries == "all")


@router.get("/patients/{patient_id}/mood/report.pdf")
@requires(Permission.PATIENTS_CLINICAL_READ)
def mood_report(request: Request, db: DB, patient_id: int, days: str = "90") -> Response:
    """The prescriber's life-chart report over the last `days` days (30 to 730) as a PDF."""
    who = patient_identity(db, patient_id)
    if who is None:
        raise NotFound("no such patient")
    if not days.strip().isdigit():
        raise ValidationFailed(f"Range must be a whole number of days from "
                               f"{service.REPORT_MIN_DAYS} to {service.REPORT_MAX_DAYS}",
                               field="days")
    zone = web_forms.clinic_zone(request)
    moment = utcnow()
    in_force = settings_in_force(db, moment)
    view = service.report_view(db, audit_context(request), patient_id=patient_id,
                               days=int(days), zone=zone, settings=in_force.mood,
                               thresholds=in_force.scales)
    user_id = require_principal(request).user_id
    by = staff_labels(db, [user_id]).get(user_id, "staff")
    printout = Printout(clinic_name=clinic_service.clinic_name(db), patient=who,
                        staff=(("Generated by", by),), printed_at=moment, zone=zone)
    content = report_pdf(view, printout=printout, days=int(days))
    return Response(content, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="mood-report-{view.end.isoformat()}.pdf"'})


@router.post("/patients/{patient_id}/mood/entries")
@requires(Permission.ASSESSMENTS_WRITE)
def add_entry(request: Request, db: DB, patient_id: int, form: FORM) -> Response:
    zone = web_forms.clinic_zone(request)
    today = clinic_day(utcnow(), zone)
    try:
        data = parse_entry(form, service.current_medications(
            db, patient_id=patient_id, on=today), today=today)
        service.record_entry(db, audit_context(request), patient_id=patient_id, data=data,
                             zone=zone, entered_by_user_id=require_principal(request).user_id,
                             form_key=form_key(form))
    except KetaflowError as exc:
        return _mood_page(request, db, patient_id, form=form, error=exc)
    return RedirectResponse(f"/patients/{patient_id}/mood?notice=saved#entries", status_code=303)


@router.post("/patients/{patient_id}/mood/entries/{entry_id}/entered-in-error")
@requires(Permission.ASSESSMENTS_WRITE)
def mark_error(request: Request, db: DB, patient_id: int, entry_id: int, form: FORM
               ) -> Response:
    try:
        service.mark_entered_in_error(db, audit_context(request), patient_id=patient_id,
                                      entry_id=entry_id, reason=form.get("reason", ""),
                                      user_id=require_principal(request).user_id)
    except KetaflowError as exc:
        return _mood_page(request, db, patient_id, error=exc)
    return RedirectResponse(f"/patients/{patient_id}/mood?notice=error#entries", status_code=303)


@router.post("/patients/{patient_id}/mood/links")
@requires(Permission.ASSESSMENTS_WRITE)
def issue_link(request: Request, db: DB, settings: SETTINGS, patient_id: int) -> Response:
    issued = service.issue_link(db, audit_context(request), base_url=settings.public_base_url,
                                patient_id=patient_id,
                                created_by_user_id=require_principal(request).user_id)
    return _mood_page(request, db, patient_id, issued=issued,
                      notice="Link created: give it to the patient (it is shown only now).")


@router.post("/patients/{patient_id}/mood/links/{link_id}/revoke")
@requires(Permission.ASSESSMENTS_WRITE)
def revoke_link(request: Request, db: DB, patient_id: int, link_id: int) -> Response:
    service.revoke_link(db, audit_context(request), patient_id=patient_id, link_id=link_id,
                        revoked_by_user_id=require_principal(request).user_id)
    return RedirectResponse(f"/patients/{patient_id}/mood?notice=revoked#links",
                            status_code=303)


def _entry_page(request: Request, db: Session, visit: service.LinkVisit,
                form: dict[str, str] | None = None, error: KetaflowError | None = None
                ) -> Response:
    if visit.state is not service.LinkState.OPEN or visit.link is None:
        status = 404 if visit.state is service.LinkState.UNKNOWN else 410
        return render(request, "moodchart/closed.html", {
            "state": str(visit.state), "clinic_name": clinic_service.clinic_name(db)},
            status_code=status)
    link: MoodLink = visit.link
    today = clinic_day(utcnow(), web_forms.clinic_zone(request))
    return render(request, "moodchart/entry.html", {
        "form": form or {}, "today": today,
        "medications": service.current_medications(db, patient_id=link.patient_id, on=today),
        "error": None if error is None else error.detail,
        "error_field": None if error is None else error.field,
        "clinic_name": clinic_service.clinic_name(db), "new_form_key": secrets.token_urlsafe(18),
        **_FORM_CONTEXT}, status_code=422 if error is not None else 200)


@router.get("/mood/{token}")
@public
def entry_page(request: Request, db: DB, token: str) -> Response:
    return _entry_page(request, db, service.visit(db, audit_context(request), token=token))


@router.post("/mood/{token}")
@public
def entry_submit(request: Request, db: DB, token: str, form: FORM) -> Response:
    ctx = audit_context(request)
    visit = service.visit(db, ctx, token=token)
    if visit.state is not service.LinkState.OPEN or visit.link is None:
        return _entry_page(request, db, visit)
    zone = web_forms.clinic_zone(request)
    today = clinic_day(utcnow(), zone)
    try:
        data = parse_entry(form, service.current_medications(
            db, patient_id=visit.link.patient_id, on=today), today=today)
        service.record_entry(db, ctx, patient_id=visit.link.patient_id, data=data, zone=zone,
                             link=visit.link, form_key=form_key(form))
    except KetaflowError as exc:
        return _entry_page(request, db, visit, form, exc)
    return RedirectResponse(f"/mood/{token}/done", status_code=303)


@router.get("/mood/{token}/done")
@public
def entry_done(request: Request, db: DB, token: str) -> Response:
    visit = service.visit(db, audit_context(request), token=token)
    if visit.state is not service.LinkState.OPEN:
        return _entry_page(request, db, visit)
    return render(request, "moodchart/done.html", {
        "clinic_name": clinic_service.clinic_name(db), "token": token})
