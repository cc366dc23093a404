"""Reminder pages: the patient's plan with recent deliveries (staff), and the opt-out page
opened from the link in every reminder (no sign-in: the link is the credential)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from ketaflow.auth.permissions import Permission, public, requires
from ketaflow.clinic import service as clinic_service
from ketaflow.config import Settings
from ketaflow.errors import KetaflowError, NotFound
from ketaflow.patients import sections
from ketaflow.patients.service.identity import patient_identity, staff_labels
from ketaflow.reminders import service
from ketaflow.reminders.forms import parse_plan
from ketaflow.reminders.timing import STALE_AFTER
from ketaflow.web import forms as web_forms
from ketaflow.web.deps import audit_context, get_db, get_settings, require_principal
from ketaflow.web.routing import UnitOfWorkRoute
from ketaflow.web.templating import render

router = APIRouter(include_in_schema=False, route_class=UnitOfWorkRoute)
DB = Annotated[Session, Depends(get_db)]
SETTINGS = Annotated[Settings, Depends(get_settings)]
FORM = Annotated[web_forms.Form, Depends(web_forms.form_fields)]
NOTICES = {"saved": "Reminder plan saved.", "opted-out": "Reminders stopped for this patient.",
           "opted-in": "Reminders turned back on."}

sections.register_section("reminders/_patient_section.html",
                          Permission.PATIENTS_CLINICAL_READ, order=46)


def _form_values(data: service.PlanInput) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, value in vars(data).items():
        if isinstance(value, bool):
            values[name] = "yes" if value else ""
        elif hasattr(value, "strftime"):
            values[name] = value.strftime("%H:%M")
        else:
            values[name] = str(value)
    return values


def _plan_page(request: Request, db: Session, settings: Settings, patient_id: int, *,
               form: dict[str, str] | None = None, notice: str | None = None,
               **errors: Any) -> Response:
    who = patient_identity(db, patient_id)
    if who is None:
        raise NotFound("no such patient")
    plan = service.plan_for(db, patient_id=patient_id)
    data = service.as_input(plan) if plan is not None else service.default_input(db, settings)
    messages = service.recent_messages(db, patient_id=patient_id)
    staff = staff_labels(db, [None if plan is None else plan.updated_by_user_id,
                              None if plan is None else plan.opted_out_by_user_id])
    return render(request, "reminders/plan.html", {
        "who": who, "plan": plan, "form": form or _form_values(data), "notice": notice,
        "messages_sent": messages, "staff": staff, "weekdays": service.WEEKDAYS,
        "labels": service.LABELS, "has_email": service.has_email(db, patient_id=patient_id),
        "summary": [] if plan is None else service.kinds_text(plan),
        "stale_hours": int(STALE_AFTER.total_seconds() // 3600),
        "limits": {"every_max": service.REPEAT_EVERY_H_MAX,
                   "count_max": service.REPEAT_COUNT_MAX},
        **errors}, status_code=422 if errors.get("error") else 200)


@router.get("/patients/{patient_id}/reminders")
@requires(Permission.PATIENTS_CLINICAL_READ)
def plan_page(request: Request, db: DB, settings: SETTINGS, patient_id: int,
              notice: str = "") -> Response:
    return _plan_page(request, db, settings, patient_id, notice=NOTICES.get(notice))


@router.post("/patients/{patient_id}/reminders")
@requires(Permission.ASSESSMENTS_WRITE)
def save_plan(request: Request, db: DB, settings: SETTINGS, patient_id: int, form: FORM
              ) -> Response:
    try:
        service.save_plan(db, audit_context(request), patient_id=patient_id,
                          data=parse_plan(form), user_id=require_principal(request).user_id)
    except KetaflowError as exc:
        if exc.status_code == 404:
            raise
        return _plan_page(request, db, settings, patient_id, form=form,
                          **web_forms.error_context(exc))
    return RedirectResponse(f"/patients/{patient_id}/reminders?notice=saved", status_code=303)


@router.post("/patients/{patient_id}/reminders/opt-out")
@requires(Permission.ASSESSMENTS_WRITE)
def staff_opt_out(request: Request, db: DB, settings: SETTINGS, patient_id: int, form: FORM
                  ) -> Response:
    opted_out = form.get("opted_out") == "yes"
    try:
        service.set_opted_out(db, audit_context(request), patient_id=patient_id,
                              opted_out=opted_out, user_id=require_principal(request).user_id)
    except KetaflowError as exc:
        if exc.status_code == 404:
            raise
        return _plan_page(request, db, settings, patient_id, **web_forms.error_context(exc))
    notice = "opted-out" if opted_out else "opted-in"
    return RedirectResponse(f"/patients/{patient_id}/reminders?notice={notice}",
                            status_code=303)


def _opt_out_page(request: Request, db: Session, *, state: str, token: str,
                  status_code: int = 200) -> Response:
    return render(request, "reminders/opt_out.html", {
        "state": state, "token": token,
        "clinic_name": clinic_service.clinic_name(db)},
        status_code=status_code)


@router.get("/reminders/opt-out/{token}")
@public
def opt_out_page(request: Request, db: DB, settings: SETTINGS, token: str) -> Response:
    plan = service.plan_by_opt_out_token(db, token=token, key=settings.effective_secret_key)
    if plan is None:
        return _opt_out_page(request, db, state="unknown", token="", status_code=404)
    state = "done" if plan.opted_out_at is not None else "confirm"
    return _opt_out_page(request, db, state=state, token=token)


@router.post("/reminders/opt-out/{token}")
@public
def opt_out_confirm(request: Request, db: DB, settings: SETTINGS, token: str) -> Response:
    plan = service.opt_out_by_link(db, audit_context(request), token=token,
                                   key=settings.effective_secret_key)
    if plan is None:
        return _opt_out_page(request, db, state="unknown", token="", status_code=404)
    return _opt_out_page(request, db, state="done", token=token)
