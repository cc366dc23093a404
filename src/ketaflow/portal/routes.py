"""Portal pages: staff issue a link; the patient (token as credential) answers once by phone."""

from __future__ import annotations

from typing import Annotated

import segno
from fastapi import APIRouter, Depends, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from ketaflow.assessments import forms
from ketaflow.assessments import service as assessments_service
from ketaflow.assessments.routes import FORM, wording_packs
from ketaflow.auth.permissions import Permission, public, requires
from ketaflow.clinic import service as clinic_service
from ketaflow.clinic.crisis_lines import EMERGENCY_HEADING, emergency_pathway
from ketaflow.config import Settings
from ketaflow.errors import KetaflowError
from ketaflow.portal import service
from ketaflow.portal.models import PortalLink
from ketaflow.scales import get_instrument
from ketaflow.web.deps import audit_context, get_db, get_settings, require_principal
from ketaflow.web.routing import UnitOfWorkRoute
from ketaflow.web.templating import render

router = APIRouter(include_in_schema=False, route_class=UnitOfWorkRoute)
DB = Annotated[Session, Depends(get_db)]
SETTINGS = Annotated[Settings, Depends(get_settings)]

# Link pages hold the token in their address: the middleware already sends every page with
# Cache-Control: no-store and Referrer-Policy: same-origin, so it is neither cached nor sent to
# another site.


def qr_svg(url: str) -> str:
    return str(segno.make(url, error="m").svg_inline(scale=4, dark="#0b2e4f", light="#ffffff"))


@router.post("/patients/{patient_id}/portal-links")
@requires(Permission.ASSESSMENTS_WRITE)
def issue_link(request: Request, db: DB, settings: SETTINGS, patient_id: int,
               instruments: Annotated[list[str] | None, Form()] = None,
               valid_hours: Annotated[str, Form()] = "") -> Response:
    label = assessments_service.patient_label(db, audit_context(request), patient_id)
    try:
        hours = int(valid_hours) if valid_hours.strip() else service.PORTAL_VALID_HOURS
        issued = service.issue_portal_link(
            db, audit_context(request), settings, patient_id=patient_id,
            instruments=instruments or [], valid_hours=hours,
            created_by_user_id=require_principal(request).user_id)
    except ValueError:
        return _issue_error(request, label, "valid hours must be a whole number")
    except KetaflowError as exc:
        return _issue_error(request, label, exc.detail)
    return render(request, "portal/issued.html", {
        "patient": label, "issued": issued, "qr_svg": qr_svg(issued.url),
        "instruments": [get_instrument(i) for i in issued.link.instrument_ids]})


def _issue_error(request: Request, label: object, message: str) -> Response:
    return render(request, "portal/issued.html", {"patient": label, "error": message},
                  status_code=422)


def _questionnaires(request: Request, link: PortalLink, values: dict[str, str]
                    ) -> list[dict[str, object]]:
    packs = wording_packs(request)
    shown: list[dict[str, object]] = []
    for instrument_id in link.instrument_ids:
        instrument = get_instrument(instrument_id)
        wording = forms.wording_for(instrument_id, packs)
        shown.append({"instrument": instrument, "wording": wording,
                      "items": forms.form_items(instrument, wording, values,
                                                prefix=instrument_id)})
    return shown


def _portal_page(request: Request, db: Session, visit: service.PortalVisit,
                 values: dict[str, str], error: KetaflowError | None = None) -> Response:
    if visit.state is not service.LinkState.OPEN or visit.link is None:
        status = 404 if visit.state is service.LinkState.UNKNOWN else 410
        return render(request, "portal/closed.html", {"state": str(visit.state)},
                      status_code=status)
    return render(request, "portal/questionnaire.html", {
        "questionnaires": _questionnaires(request, visit.link, values),
        "expires_at": visit.link.expires_at,
        "error": None if error is None else error.detail,
        "error_field": None if error is None else (error.field or "form"),
        "clinic_name": clinic_service.clinic_name(db),
    }, status_code=422 if error is not None else 200)


@router.get("/portal/{token}")
@public
def portal_page(request: Request, db: DB, token: str) -> Response:
    visit = service.visit(db, audit_context(request), token=token)
    return _portal_page(request, db, visit, {})


@router.post("/portal/{token}")
@public
def portal_submit(request: Request, db: DB, token: str, form: FORM) -> Response:
    ctx = audit_context(request)
    visit = service.visit(db, ctx, token=token)
    if visit.state is not service.LinkState.OPEN or visit.link is None:
        return _portal_page(request, db, visit, form)
    try:
        submission = service.submit(db, ctx, token=token,
                                    answers=service.answers_by_instrument(visit.link, form))
    except KetaflowError as exc:
        return _portal_page(request, db, visit, form, error=exc)
    lines = clinic_service.crisis_lines(db) if submission.show_emergency_pathway else None
    return render(request, "portal/done.html", {
        "emergency": submission.show_emergency_pathway, "heading": EMERGENCY_HEADING,
        "clinic_name": clinic_service.clinic_name(db),
        "pathway": () if lines is None else emergency_pathway(lines)})
