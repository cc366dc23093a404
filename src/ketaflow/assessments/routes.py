"""Assessment pages: scores over time, the entry form for every instrument, detail, amendment."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from ketaflow.alerts import service as alerts_service
from ketaflow.assessments import forms, history, service
from ketaflow.assessments.models import Assessment
from ketaflow.auth.permissions import Permission, requires
from ketaflow.errors import KetaflowError, ValidationFailed
from ketaflow.patients import sections
from ketaflow.portal.service import PORTAL_INSTRUMENTS, PORTAL_VALID_HOURS
from ketaflow.scales import INSTRUMENTS, get_instrument
from ketaflow.scales.wording import WordingPack
from ketaflow.web.deps import audit_context, get_db, require_principal
from ketaflow.web.forms import clinic_zone
from ketaflow.web.routing import UnitOfWorkRoute
from ketaflow.web.templating import render

router = APIRouter(include_in_schema=False, route_class=UnitOfWorkRoute)
DB = Annotated[Session, Depends(get_db)]

# The patient page shows a scores-and-alerts section to clinical roles (loaded by HTMX).
sections.register_section(
    "assessments/_patient_section.html", Permission.PATIENTS_CLINICAL_READ, order=60)

NOTICES = {
    "saved": "Assessment saved.",
    "amended": "Correction saved; the original assessment is kept.",
    "rescored": "Re-scored with the current scoring; the previous result is kept.",
}


def wording_packs(request: Request) -> Mapping[str, WordingPack]:
    packs: Mapping[str, WordingPack] = getattr(request.app.state, "wording_packs", {})
    return packs


async def form_data(request: Request) -> dict[str, str]:
    """Every submitted field as text (files are not expected on these forms)."""
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


FORM = Annotated[dict[str, str], Depends(form_data)]


@router.get("/patients/{patient_id}/assessments")
@requires(Permission.PATIENTS_CLINICAL_READ)
def scores_page(request: Request, db: DB, patient_id: int, notice: str = "") -> Response:
    ctx = audit_context(request)
    label = service.patient_label(db, ctx, patient_id)
    data = history.patient_history(db, ctx, patient_id=patient_id)
    alerts = alerts_service.list_patient_alerts(db, ctx, patient_id=patient_id)
    return render(request, "assessments/scores.html", {
        "patient": label, "history": data, "alerts": alerts,
        "instruments": list(INSTRUMENTS.values()),
        "portal_instruments": [get_instrument(i) for i in PORTAL_INSTRUMENTS],
        "portal_hours": PORTAL_VALID_HOURS, "notice": NOTICES.get(notice),
    })


@router.get("/patients/{patient_id}/assessments/_summary")
@requires(Permission.PATIENTS_CLINICAL_READ)
def summary_fragment(request: Request, db: DB, patient_id: int) -> Response:
    ctx = audit_context(request)
    data = history.patient_history(db, ctx, patient_id=patient_id)
    alerts = alerts_service.list_patient_alerts(db, ctx, patient_id=patient_id)
    return render(request, "assessments/_summary.html", {
        "patient_id": patient_id, "history": data,
        "open_alerts": [row for row in alerts if row.alert.is_open]})


def _form_page(request: Request, db: Session, *, patient_id: int, instrument_id: str,
               values: Mapping[str, str], action: str, amending: Assessment | None = None,
               error: KetaflowError | None = None) -> Response:
    instrument = get_instrument(instrument_id)
    wording = forms.wording_for(instrument.id, wording_packs(request))
    return render(request, "assessments/form.html", {
        "patient": service.patient_label(db, audit_context(request), patient_id),
        "instrument": instrument, "wording": wording,
        "items": forms.form_items(instrument, wording, values),
        "form": values, "action": action, "amending": amending,
        "instruments": list(INSTRUMENTS.values()), "clinic_timezone": clinic_zone(request),
        "error": None if error is None else error.detail,
        "error_field": None if error is None else (error.field or "form"),
    }, status_code=422 if error is not None else 200)


def _instrument_or_422(instrument: str) -> str:
    if instrument not in INSTRUMENTS:
        raise ValidationFailed("choose an instrument from the list", field="instrument")
    return instrument


@router.get("/patients/{patient_id}/assessments/new")
@requires(Permission.ASSESSMENTS_WRITE)
def new_assessment_page(request: Request, db: DB, patient_id: int,
                        instrument: str = "madrs") -> Response:
    service.require_patient(db, patient_id)
    instrument_id = _instrument_or_422(instrument)
    return _form_page(request, db, patient_id=patient_id, instrument_id=instrument_id,
                      values={}, action=f"/patients/{patient_id}/assessments")


@router.post("/patients/{patient_id}/assessments")
@requires(Permission.ASSESSMENTS_WRITE)
def create_assessment(request: Request, db: DB, patient_id: int, form: FORM) -> Response:
    service.require_patient(db, patient_id)
    instrument_id = _instrument_or_422(form.get("instrument", ""))
    try:
        service.record_assessment(
            db, audit_context(request), patient_id=patient_id, instrument_id=instrument_id,
            answers=forms.answers_from_form(instrument_id, form),
            rater=service.Rater.staff(require_principal(request).user_id),
            rated_at=forms.rated_at_from_form(form.get("rated_on"), clinic_zone(request)))
    except KetaflowError as exc:
        return _form_page(request, db, patient_id=patient_id, instrument_id=instrument_id,
                          values=form, action=f"/patients/{patient_id}/assessments", error=exc)
    return RedirectResponse(f"/patients/{patient_id}/assessments?notice=saved", status_code=303)


@router.get("/assessments/{assessment_id}")
@requires(Permission.PATIENTS_CLINICAL_READ)
def assessment_page(request: Request, db: DB, assessment_id: int, notice: str = "") -> Response:
    assessment = service.get_assessment(db, audit_context(request), assessment_id=assessment_id)
    return render(request, "assessments/detail.html", {
        "assessment": assessment, "instrument": get_instrument(assessment.instrument_id),
        "patient": service.patient_label(db, audit_context(request), assessment.patient_id),
        "notice": NOTICES.get(notice)})


@router.post("/assessments/{assessment_id}/rescore")
@requires(Permission.ASSESSMENTS_WRITE)
def rescore(request: Request, db: DB, assessment_id: int) -> Response:
    service.rescore_assessment(db, audit_context(request), assessment_id=assessment_id)
    return RedirectResponse(f"/assessments/{assessment_id}?notice=rescored", status_code=303)


def _answers_as_form(assessment: Assessment, zone: str) -> dict[str, str]:
    values = {f"item.{key}": "" if value is None else str(value)
              for key, value in assessment.answers.items()}
    # The day as the clinic saw it, the zone the form reads it back in.
    day = assessment.rated_at.astimezone(ZoneInfo(zone)).date()
    return {**values, "rated_on": day.isoformat()}


@router.get("/assessments/{assessment_id}/amend")
@requires(Permission.ASSESSMENTS_WRITE)
def amend_page(request: Request, db: DB, assessment_id: int) -> Response:
    original = service.get_assessment(db, audit_context(request), assessment_id=assessment_id)
    return _form_page(request, db, patient_id=original.patient_id,
                      instrument_id=original.instrument_id,
                      values=_answers_as_form(original, clinic_zone(request)),
                      action=f"/assessments/{assessment_id}/amend", amending=original)


@router.post("/assessments/{assessment_id}/amend")
@requires(Permission.ASSESSMENTS_WRITE)
def amend(request: Request, db: DB, assessment_id: int, form: FORM) -> Response:
    original = service.load_assessment(db, assessment_id)
    try:
        corrected = service.amend_assessment(
            db, audit_context(request), assessment_id=assessment_id,
            answers=forms.answers_from_form(original.instrument_id, form),
            reason=form.get("reason", ""),
            rater=service.Rater.staff(require_principal(request).user_id),
            rated_at=forms.rated_at_from_form(form.get("rated_on"), clinic_zone(request),
                                              keep=original.rated_at))
    except KetaflowError as exc:
        return _form_page(request, db, patient_id=original.patient_id,
                          instrument_id=original.instrument_id, values=form,
                          action=f"/assessments/{assessment_id}/amend", amending=original,
                          error=exc)
    return RedirectResponse(f"/assessments/{corrected.id}?notice=amended", status_code=303)
