"""The calendar pages: sites, a site's day (appointments in time order, shifts, closures), and
closing an appointment. Thin: parse, call one service, render."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from ketaflow.auth.permissions import Permission, public, requires
from ketaflow.booking import appointments, feed, forms, replan, sites
from ketaflow.booking.models import AppointmentState
from ketaflow.errors import KetaflowError
from ketaflow.patients.service.identity import patient_identities
from ketaflow.web import forms as web_forms
from ketaflow.web.deps import audit_context, get_db
from ketaflow.web.routing import UnitOfWorkRoute
from ketaflow.web.templating import render

router = APIRouter(include_in_schema=False, route_class=UnitOfWorkRoute)
DB = Annotated[Session, Depends(get_db)]
FORM = Annotated[web_forms.Form, Depends(web_forms.form_fields)]
NOTICES = {"site": "Site saved.", "shift": "Shift added.", "closure": "Closure added.",
           "leave": "Shift cancelled.", "closed": "Appointment updated.",
           "acknowledged": "Instructions acknowledged."}


def _index(request: Request, db: Session, form: web_forms.Form, status_code: int = 200,
           **context: object) -> Response:
    return render(request, "booking/index.html", {
        "sites": sites.sites(db), "chair_counts": sites.chair_counts(db), "form": form,
        "weekdays": forms.DAY_NAMES, **context},
        status_code=status_code)


@router.get("/calendar")
@requires(Permission.CALENDAR_VIEW)
def calendar_index(request: Request, db: DB, notice: str = "") -> Response:
    return _index(request, db, {}, notice=NOTICES.get(notice))


@router.post("/calendar/sites")
@requires(Permission.SITES_MANAGE)
def create_site(request: Request, db: DB, form: FORM) -> Response:
    try:
        site = sites.create_site(db, audit_context(request), entry=forms.site_entry(form))
    except KetaflowError as exc:
        return _index(request, db, form, status_code=exc.status_code,
                      **web_forms.error_context(exc))
    return RedirectResponse(f"/calendar/sites/{site.id}?notice=site", status_code=303)


def _day(request: Request, db: Session, site_id: int, day: date | None, form: web_forms.Form,
         status_code: int = 200, **context: object) -> Response:
    site = sites.get_site(db, site_id)
    shown = day or sites.local_today(site)
    waiting = appointments.waitlist(db, site_id)
    return render(request, "booking/site_day.html", {
        "site": site, "day": shown, "form": form,
        "today": sites.local_today(site),
        "needs_replan": replan.broken_on(db, site_id=site_id, day=shown),
        "rows": appointments.site_day(db, audit_context(request), site_id=site_id, day=shown),
        "shifts": sites.shifts(db, site_id, shown, shown),
        "staff": {u.id: u for u in sites.shift_staff(db)},
        "closures": sites.closures(db, site_id, shown, shown),
        "chairs": sites.chairs(db, site_id), "hours": sites.opening(site, shown),
        "waitlist": waiting, "states": AppointmentState,
        "waiting_who": patient_identities(db, {w.patient_id for w in waiting}),
        "previous_day": shown - timedelta(days=1), "next_day": shown + timedelta(days=1),
        **context}, status_code=status_code)


def _day_param(raw: str) -> date | None:
    return web_forms.optional_date({"day": raw}, "day", "Day")


@router.get("/calendar/sites/{site_id}")
@requires(Permission.CALENDAR_VIEW)
def site_day(request: Request, db: DB, site_id: int, day: str = "", notice: str = ""
             ) -> Response:
    try:
        shown = _day_param(day)
    except KetaflowError as exc:
        return _day(request, db, site_id, None, {}, status_code=exc.status_code,
                    **web_forms.error_context(exc))
    return _day(request, db, site_id, shown, {}, notice=NOTICES.get(notice))


def _back(site_id: int, day: date | None, notice: str) -> RedirectResponse:
    on = f"&day={day.isoformat()}" if day else ""
    return RedirectResponse(f"/calendar/sites/{site_id}?notice={notice}{on}", status_code=303)


@router.post("/calendar/sites/{site_id}/shifts")
@requires(Permission.SITES_MANAGE)
def add_shift(request: Request, db: DB, site_id: int, form: FORM) -> Response:
    day = None
    try:
        with web_forms.collect_errors() as check:
            staff_id = check(web_forms.whole_number, form, "staff_user_id", "Staff", 0)
            day = check(web_forms.required_date, form, "on", "Day")
            starts = check(forms.clock, form, "starts", "Shift starts")
            ends = check(forms.clock, form, "ends", "Shift ends")
        sites.add_shift(db, audit_context(request), staff_user_id=staff_id, site_id=site_id,
                        on=day, starts=starts, ends=ends)
    except KetaflowError as exc:
        return _day(request, db, site_id, day, form, status_code=exc.status_code,
                    **web_forms.error_context(exc))
    return _back(site_id, day, "shift")


@router.post("/calendar/shifts/{shift_id}/cancel")
@requires(Permission.SITES_MANAGE)
def cancel_shift(request: Request, db: DB, shift_id: int, form: FORM) -> Response:
    shift = sites.get_shift(db, shift_id)
    try:
        sites.cancel_shift(db, audit_context(request), shift_id=shift_id,
                           reason=form.get("reason", ""))
    except KetaflowError as exc:
        return _day(request, db, shift.site_id, shift.on, form, status_code=exc.status_code,
                    **web_forms.error_context(exc))
    return _back(shift.site_id, shift.on, "leave")


@router.post("/calendar/sites/{site_id}/closures")
@requires(Permission.SITES_MANAGE)
def add_closure(request: Request, db: DB, site_id: int, form: FORM) -> Response:
    day = None
    try:
        with web_forms.collect_errors() as check:
            day = check(web_forms.required_date, form, "closure_on", "Closed on")
            reason = check.require(form, "closure_reason", "Reason")
        sites.add_closure(db, audit_context(request), site_id=site_id, on=day, reason=reason)
    except KetaflowError as exc:
        return _day(request, db, site_id, None, form, status_code=exc.status_code,
                    **web_forms.error_context(exc))
    return _back(site_id, day, "closure")


@router.post("/calendar/appointments/{appointment_id}/close")
@requires(Permission.APPOINTMENTS_BOOK)
def close_appointment(request: Request, db: DB, appointment_id: int, form: FORM) -> Response:
    row = appointments.get_appointment(db, appointment_id)
    site = sites.get_site(db, row.site_id)
    day = row.starts_at.astimezone(ZoneInfo(site.timezone)).date()
    try:
        state = web_forms.choice(form, "state", AppointmentState, "State")
        appointments.close_appointment(db, audit_context(request), appointment_id=row.id,
                                       state=state, reason=form.get("reason", ""))
    except KetaflowError as exc:
        return _day(request, db, site.id, day, form, status_code=exc.status_code,
                    closing=appointment_id, **web_forms.error_context(exc))
    return _back(site.id, day, "closed")


@router.post("/calendar/appointments/{appointment_id}/instructions")
@requires(Permission.APPOINTMENTS_BOOK)
def acknowledge_instructions(request: Request, db: DB, appointment_id: int) -> Response:
    row = appointments.acknowledge_instructions(db, audit_context(request),
                                                appointment_id=appointment_id)
    site = sites.get_site(db, row.site_id)
    return _back(site.id, row.starts_at.astimezone(ZoneInfo(site.timezone)).date(),
                 "acknowledged")


@router.post("/calendar/sites/{site_id}/feed")
@requires(Permission.SITES_MANAGE)
def issue_feed(request: Request, db: DB, site_id: int) -> Response:
    token = feed.issue_feed_token(db, audit_context(request), site_id=site_id)
    url = f"{request.app.state.settings.public_base_url.rstrip('/')}/calendar/feeds/{token}.ics"
    return _day(request, db, site_id, None, {}, feed_url=url,
                notice="New feed address: copy it now, it is shown once. The old one stopped "
                       "working.")


@router.get("/calendar/feeds/{token}.ics")
@public
def site_feed(db: DB, token: str) -> Response:
    return Response(feed.feed_text(db, token=token), media_type="text/calendar; charset=utf-8",
                    headers={"Cache-Control": "no-store"})
