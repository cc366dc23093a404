"""Chair-side pages: the session page with its forms, the board, the printable summary and PDF.

Every form posts back here and redirects to the session page (post/redirect/get). A refused form
re-renders the page with the message and the entered values, status 422; nothing already saved
is touched because the request's transaction is rolled back first.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from ketaflow.alerts.service import TITLES as ALERT_TITLES
from ketaflow.assessments.service import SELF_REPORT_INSTRUMENTS
from ketaflow.auth.permissions import Permission, public, requires
from ketaflow.clinic import service as clinic_service
from ketaflow.errors import Conflict, KetaflowError, PermissionDenied, ValidationFailed
from ketaflow.infusions import forms, service
from ketaflow.infusions.controlled import lots
from ketaflow.infusions.discharge_sheet import discharge_sheet_pdf
from ketaflow.infusions.formulary import DEFAULT_FORMULARY, INFUSION_DRUGS, drug_name
from ketaflow.infusions.models import Seriousness
from ketaflow.infusions.pdf import Printout, session_staff, summary_pdf, summary_rows
from ketaflow.infusions.rules import (
    RED_FLAG_SYMPTOMS,
    PregnancyTest,
    SessionAction,
    VitalsReading,
)
from ketaflow.scales import get_instrument
from ketaflow.web.deps import audit_context, get_db
from ketaflow.web.forms import clinic_zone, collect_errors, error_context
from ketaflow.web.routing import UnitOfWorkRoute
from ketaflow.web.templating import render

router = APIRouter(prefix="/infusions", include_in_schema=False, route_class=UnitOfWorkRoute)
DB = Annotated[Session, Depends(get_db)]
CSS = (Path(__file__).parent / "templates" / "infusions" / "chair.css").read_text()
INSTRUMENTS = {key: get_instrument(key) for key in ("side-effects", "cadss6", "aldrete", "padss")}


async def form_data(request: Request) -> FormData:
    return await request.form()


FORM = Annotated[FormData, Depends(form_data)]


def _chair(request: Request, db: Session, session_id: int, *, status_code: int = 200,
           **context: Any) -> Response:
    view = service.chair_view(db, audit_context(request), session_id=session_id)
    return render(request, "infusions/chair.html", {
        "view": view, "record": view.record, "live": view.live, "zone": clinic_zone(request),
        "instruments": INSTRUMENTS,
        "formulary": DEFAULT_FORMULARY, "infusion_drugs": INFUSION_DRUGS,
        "drug_name": drug_name, "symptoms": RED_FLAG_SYMPTOMS,
        "pregnancy_choices": list(PregnancyTest),
        "summary_rows": summary_rows(view.summary, clinic_zone(request)),
        "self_report_labels": SELF_REPORT_INSTRUMENTS, "alert_titles": ALERT_TITLES,
        # The order form's lots: what the ledger holds, usable on the session's day.
        "order_lots": lots.order_lots(db, day=service.session_day(db, service.now())),
        "form": context.pop("form", {}), **context}, status_code=status_code)


def _post(request: Request, db: Session, session_id: int, form: FormData, anchor: str,
          apply: Callable[[Any], object]) -> Response:
    try:
        apply(audit_context(request))
    except KetaflowError as exc:
        db.rollback()
        # A refusal by role keeps its 403 and a state conflict its 409; everything else is a
        # form to correct.
        status = exc.status_code if isinstance(exc, PermissionDenied | Conflict) else 422
        return _chair(request, db, session_id, status_code=status, **error_context(exc),
                      form=form)
    return RedirectResponse(f"/infusions/sessions/{session_id}#{anchor}", status_code=303)


@router.get("/assets/chair.css")
@public
def stylesheet() -> Response:
    return Response(CSS, media_type="text/css", headers={"Cache-Control": "max-age=3600"})


@router.get("")
@requires(Permission.INFUSIONS_RUN)
def board(request: Request, db: DB) -> Response:
    """The day's list: today's sessions and due infusions, in the clinic's time zone."""
    day = service.day_list(db, audit_context(request), zone=clinic_zone(request))
    return render(request, "infusions/board.html", {"day": day})


@router.get("/courses/{course_id}/_progress")
@requires(Permission.PATIENTS_CLINICAL_READ)
def course_progress(request: Request, db: DB, course_id: int) -> Response:
    """Fragment for the course page (HTMX): infusions given against those planned."""
    progress = service.course_progress(db, audit_context(request), course_id=course_id)
    return render(request, "infusions/_course_progress.html", {"progress": progress})


@router.post("/courses/{course_id}/sessions")
@requires(Permission.INFUSIONS_RUN)
def open_session(request: Request, db: DB, course_id: int) -> Response:
    """One button on the day's list: opens the course's next session, or goes to the one
    already open (a double click or a second tablet never makes two)."""
    record = service.open_next_session(db, audit_context(request), course_id=course_id)
    return RedirectResponse(f"/infusions/sessions/{record.id}", status_code=303)


@router.get("/sessions/{session_id}")
@requires(Permission.INFUSIONS_RUN)
def chair(request: Request, db: DB, session_id: int) -> Response:
    return _chair(request, db, session_id)


@router.get("/sessions/{session_id}/_live")
@requires(Permission.INFUSIONS_RUN)
def live(request: Request, db: DB, session_id: int, seen: str = "") -> Response:
    """The chair page's status region (HTMX, every 5 s). `seen` is the open alerts the page
    shows; when they differ, the alarm banner and the alerts panel come along out of band."""
    status = service.live_view(db, audit_context(request), session_id=session_id)
    return render(request, "infusions/_live.html", {
        "live": status, "zone": clinic_zone(request), "oob": seen != status.alert_ids})


# Stopping the pump cannot be undone: the page asks for a tick as well as the button, and a
# post without it (no JavaScript needed) is refused naming the box.
CONFIRM_STOP = 'Tick "Yes, stop the infusion now" to stop the infusion'
CONFIRM_OVERRIDE = 'Tick "I confirm the override" to discharge with a prescriber override reason'



@router.post("/sessions/{session_id}/action")
@requires(Permission.INFUSIONS_RUN)
def action(request: Request, db: DB, session_id: int, form: FORM) -> Response:
    def apply(ctx: Any) -> object:
        try:
            chosen = SessionAction(forms.text(form, "action") or "")
        except ValueError:
            raise ValidationFailed("choose an action", field="action") from None
        if chosen is SessionAction.STOP and not forms.checked(form, "confirm_stop"):
            raise ValidationFailed(CONFIRM_STOP, field="confirm_stop")
        return service.apply_action(db, ctx, session_id=session_id, action=chosen,
                                    reason=forms.text(form, "reason"),
                                    rate_ml_per_h=forms.number(form, "rate_ml_per_h"))
    return _post(request, db, session_id, form, "actions", apply)


@router.post("/sessions/{session_id}/prechecks")
@requires(Permission.INFUSIONS_RUN)
def prechecks(request: Request, db: DB, session_id: int, form: FORM) -> Response:
    def apply(ctx: Any) -> object:
        pregnancy = forms.text(form, "pregnancy_test")
        changes = service.PrecheckChanges(
            **{name: forms.checked(form, name) for name in (
                "identity_confirmed", "consent_current", "fasting_confirmed",
                "escort_confirmed", "transport_confirmed")},
            pregnancy_test=PregnancyTest(pregnancy) if pregnancy else None,
            bp_reviewed=True if forms.checked(form, "bp_reviewed") else None)
        return service.update_prechecks(db, ctx, session_id=session_id, changes=changes)
    return _post(request, db, session_id, form, "prechecks", apply)


@router.post("/sessions/{session_id}/prechecks/self-report-override")
@requires(Permission.INFUSIONS_RUN)
def override_self_report(request: Request, db: DB, session_id: int, form: FORM) -> Response:
    return _post(request, db, session_id, form, "prechecks",
                 lambda ctx: service.override_self_report(
                     db, ctx, session_id=session_id,
                     reason=forms.text(form, "self_report_reason") or ""))


@router.post("/sessions/{session_id}/order")
@requires(Permission.ORDERS_SIGN)
def sign_order(request: Request, db: DB, session_id: int, form: FORM) -> Response:
    def apply(ctx: Any) -> object:
        with collect_errors() as check:
            # The lot is chosen from the inventory: its receipt gives the drug and the expiry.
            order = service.OrderInput(
                lot_number=forms.text(form, "lot_number") or "", drug=forms.text(form, "drug"),
                expiry_date=check(forms.day, form, "expiry_date")
                if forms.text(form, "expiry_date") else None,
                concentration_mg_per_ml=check(forms.number, form, "concentration_mg_per_ml",
                                              required=True) or 0.0,
                duration_min=check(forms.number, form, "duration_min"),
                dose_mg_per_kg=check(forms.number, form, "dose_mg_per_kg"),
                override_reason=forms.text(form, "override_reason"),
                supersede_reason=forms.text(form, "supersede_reason"))
        return service.sign_order(db, ctx, session_id=session_id, order=order)
    return _post(request, db, session_id, form, "order", apply)


@router.post("/sessions/{session_id}/vitals")
@requires(Permission.INFUSIONS_RUN)
def vitals(request: Request, db: DB, session_id: int, form: FORM) -> Response:
    def apply(ctx: Any) -> object:
        with collect_errors() as check:
            reading = VitalsReading(
                taken_at=service.now(), sbp_mmhg=check(forms.number, form, "sbp_mmhg"),
                dbp_mmhg=check(forms.number, form, "dbp_mmhg"),
                hr_bpm=check(forms.number, form, "hr_bpm"),
                spo2_percent=check(forms.number, form, "spo2_percent"),
                rr_per_min=check(forms.number, form, "rr_per_min"),
                rass=check(forms.integer, form, "rass"))
        return service.record_vitals(db, ctx, session_id=session_id, reading=reading)
    return _post(request, db, session_id, form, "vitals", apply)


@router.post("/sessions/{session_id}/alerts/{alert_id}/acknowledge")
@requires(Permission.INFUSIONS_RUN)
def acknowledge(request: Request, db: DB, session_id: int, alert_id: int,
                form: FORM) -> Response:
    return _post(request, db, session_id, form, "alerts", lambda ctx: service.acknowledge_alert(
        db, ctx, session_id=session_id, alert_id=alert_id,
        action_taken=forms.text(form, "action_taken") or ""))


@router.post("/sessions/{session_id}/side-effects")
@requires(Permission.INFUSIONS_RUN)
def side_effects(request: Request, db: DB, session_id: int, form: FORM) -> Response:
    ids = [item.id for item in INSTRUMENTS["side-effects"].items]
    return _post(request, db, session_id, form, "events", lambda ctx: service.record_side_effects(
        db, ctx, session_id=session_id, answers=forms.answers(form, "se", ids)))


@router.post("/sessions/{session_id}/cadss6")
@requires(Permission.INFUSIONS_RUN)
def cadss6(request: Request, db: DB, session_id: int, form: FORM) -> Response:
    ids = [item.id for item in INSTRUMENTS["cadss6"].items]
    return _post(request, db, session_id, form, "events", lambda ctx: service.record_cadss6(
        db, ctx, session_id=session_id, answers=forms.answers(form, "cadss", ids)))


@router.post("/sessions/{session_id}/rescue")
@requires(Permission.INFUSIONS_RUN)
def rescue(request: Request, db: DB, session_id: int, form: FORM) -> Response:
    return _post(request, db, session_id, form, "events",
                 lambda ctx: service.give_rescue_medication(
                     db, ctx, session_id=session_id,
                     medication=forms.text(form, "medication") or "",
                     dose_mg=forms.number(form, "dose_mg", required=True) or 0.0,
                     route=forms.text(form, "route") or "",
                     reason=forms.text(form, "reason") or ""))


@router.post("/sessions/{session_id}/adverse-event")
@requires(Permission.INFUSIONS_RUN)
def adverse_event(request: Request, db: DB, session_id: int, form: FORM) -> Response:
    seriousness = (Seriousness.SERIOUS if forms.checked(form, "serious")
                   else Seriousness.NON_SERIOUS)
    symptoms = [key for key in RED_FLAG_SYMPTOMS if forms.checked(form, f"symptom.{key}")]
    return _post(request, db, session_id, form, "events",
                 lambda ctx: service.record_adverse_event(
                     db, ctx, session_id=session_id,
                     description=forms.text(form, "description") or "",
                     seriousness=seriousness, symptoms=symptoms))


@router.post("/sessions/{session_id}/discharge")
@requires(Permission.INFUSIONS_RUN)
def discharge(request: Request, db: DB, session_id: int, form: FORM) -> Response:
    aldrete = [item.id for item in INSTRUMENTS["aldrete"].items]
    padss = [item.id for item in INSTRUMENTS["padss"].items if item.fixed_score is None]

    def apply(ctx: Any) -> object:
        override_reason = forms.text(form, "override_reason")
        if override_reason and not forms.checked(form, "confirm_override"):
            raise ValidationFailed(CONFIRM_OVERRIDE, field="confirm_override")
        return service.discharge_patient(db, ctx, session_id=session_id, form=service.DischargeForm(
            aldrete_answers=forms.answers(form, "aldrete", aldrete),
            padss_answers=forms.answers(form, "padss", padss),
            escort_confirmed=forms.checked(form, "escort_confirmed"),
            no_driving_advice_given=forms.checked(form, "no_driving_advice_given"),
            override_reason=override_reason))
    return _post(request, db, session_id, form, "discharge", apply)


@router.post("/sessions/{session_id}/note")
@requires(Permission.INFUSIONS_RUN)
def draft_note(request: Request, db: DB, session_id: int, form: FORM) -> Response:
    return _post(request, db, session_id, form, "note",
                 lambda ctx: service.draft_note(db, ctx, session_id=session_id))


@router.post("/sessions/{session_id}/note/sign")
@requires(Permission.ORDERS_SIGN)
def sign_note(request: Request, db: DB, session_id: int, form: FORM) -> Response:
    return _post(request, db, session_id, form, "note",
                 lambda ctx: service.sign_note(db, ctx, session_id=session_id))


@router.post("/sessions/{session_id}/note/addenda")
@requires(Permission.INFUSIONS_RUN)
def addendum(request: Request, db: DB, session_id: int, form: FORM) -> Response:
    return _post(request, db, session_id, form, "note", lambda ctx: service.add_addendum(
        db, ctx, session_id=session_id, text=forms.text(form, "text") or ""))


def _printout(request: Request, db: Session, view: service.ChairView) -> Printout:
    return Printout(clinic_name=clinic_service.clinic_name(db), patient=view.patient,
                    staff=session_staff(view.record, view.staff_name), printed_at=view.now,
                    zone=clinic_zone(request))


@router.get("/sessions/{session_id}/summary")
@requires(Permission.INFUSIONS_RUN)
def summary(request: Request, db: DB, session_id: int) -> Response:
    view = service.chair_view(db, audit_context(request), session_id=session_id)
    return render(request, "infusions/summary.html", {
        "view": view, "rows": summary_rows(view.summary, clinic_zone(request)),
        "printout": _printout(request, db, view)})


@router.get("/sessions/{session_id}/summary.pdf")
@requires(Permission.INFUSIONS_RUN)
def summary_as_pdf(request: Request, db: DB, session_id: int) -> Response:
    view = service.chair_view(db, audit_context(request), session_id=session_id)
    content = summary_pdf(view.summary, printout=_printout(request, db, view))
    return Response(content, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="session-{session_id}-summary.pdf"'})


@router.get("/sessions/{session_id}/discharge-instructions.pdf")
@requires(Permission.INFUSIONS_RUN)
def discharge_instructions(request: Request, db: DB, session_id: int) -> Response:
    """The sheet handed to the patient at discharge (once the infusion has ended)."""
    ctx = audit_context(request)
    view = service.chair_view(db, ctx, session_id=session_id)
    sheet = service.discharge_sheet(db, ctx, view=view)
    content = discharge_sheet_pdf(printout=_printout(request, db, view), given=sheet.given,
                                  lines=sheet.lines, clinic_phone=sheet.clinic_phone,
                                  visit=sheet.visit,
                                  discharged_by=sheet.discharged_by)
    return Response(content, media_type="application/pdf", headers={
        "Content-Disposition":
            f'inline; filename="session-{session_id}-discharge-instructions.pdf"'})
