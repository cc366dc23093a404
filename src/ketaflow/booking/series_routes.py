"""Booking a series from the patient (front desk or clinicians) and moving one infusion: ask,
see the options, book one; see a series, preview a move, confirm it. Thin routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from ketaflow.auth.permissions import Permission, requires
from ketaflow.booking import appointments, forms, service, sites, visits
from ketaflow.booking.models import Appointment, AppointmentKind
from ketaflow.db import utcnow
from ketaflow.errors import KetaflowError, NotFound
from ketaflow.patients import sections
from ketaflow.patients.service.identity import PatientIdentity, patient_identities
from ketaflow.web import forms as web_forms
from ketaflow.web.deps import audit_context, get_db, get_principal
from ketaflow.web.routing import UnitOfWorkRoute
from ketaflow.web.templating import render

router = APIRouter(include_in_schema=False, route_class=UnitOfWorkRoute)
DB = Annotated[Session, Depends(get_db)]
FORM = Annotated[web_forms.Form, Depends(web_forms.form_fields)]

sections.register_section("booking/_patient_section.html", Permission.CALENDAR_VIEW, order=45)


def _who(db: Session, patient_id: int) -> PatientIdentity:
    found = patient_identities(db, [patient_id]).get(patient_id)
    if found is None:
        raise NotFound("no such patient")
    return found


def acting_user_id(request: Request) -> int | None:
    principal = get_principal(request)
    return None if principal is None else principal.user_id


def _book_page(request: Request, db: Session, patient_id: int, form: web_forms.Form,
               status_code: int = 200, **context: object) -> Response:
    course = service.open_course(db, patient_id)
    booked = 0 if course is None else service.booked_numbers(db, course.id)
    remaining = 6 if course is None else max(course.infusion_count - booked, 1)
    site_list = sites.sites(db)
    today = utcnow().astimezone(ZoneInfo(site_list[0].timezone)).date() if site_list else None
    defaults = {"count": str(remaining), "min_gap_hours": "48", "max_per_week": "3",
                "within_days": "21", "earliest_on": today.isoformat() if today else ""}
    return render(request, "booking/book.html", {
        "who": _who(db, patient_id), "course": course, "booked": booked, "sites": site_list,
        "form": defaults | form, "weekdays": forms.DAY_NAMES,
        "site_by_id": {s.id: s for s in site_list},
        "upcoming": service.patient_appointments(db, audit_context(request), patient_id),
        **context},
        status_code=status_code)


def _ask(db: Session, patient_id: int, form: web_forms.Form) -> service.SeriesAsk:
    course = service.open_course(db, patient_id)
    first = 1 if course is None else service.booked_numbers(db, course.id) + 1
    return forms.series_ask(form, patient_id=patient_id,
                            course_id=None if course is None else course.id, first_number=first)


@router.get("/calendar/patients/{patient_id}/book")
@requires(Permission.APPOINTMENTS_BOOK)
def book_page(request: Request, db: DB, patient_id: int) -> Response:
    return _book_page(request, db, patient_id, {})


@router.post("/calendar/patients/{patient_id}/book/options")
@requires(Permission.APPOINTMENTS_BOOK)
def book_options(request: Request, db: DB, patient_id: int, form: FORM) -> Response:
    try:
        proposal = service.propose_series(db, ask=_ask(db, patient_id, form))
    except KetaflowError as exc:
        return _book_page(request, db, patient_id, form, status_code=exc.status_code,
                          **web_forms.error_context(exc))
    return _book_page(request, db, patient_id, form, proposal=proposal,
                      zone=ZoneInfo(proposal.site.timezone))


@router.post("/calendar/patients/{patient_id}/book")
@requires(Permission.APPOINTMENTS_BOOK)
def book(request: Request, db: DB, patient_id: int, form: FORM) -> Response:
    try:
        with web_forms.collect_errors() as check:
            option = check(web_forms.whole_number, form, "option", "Option", 0)
            version = check(web_forms.whole_number, form, "version", "Calendar version", 0)
        rows = service.book_series(db, audit_context(request), ask=_ask(db, patient_id, form),
                                   option=option, version=version,
                                   booked_by_user_id=acting_user_id(request))
    except KetaflowError as exc:
        if exc.status_code == 409:  # stale: show the options as they are now
            proposal = service.propose_series(db, ask=_ask(db, patient_id, form))
            return _book_page(request, db, patient_id, form, status_code=409, error=exc.detail,
                              proposal=proposal, zone=ZoneInfo(proposal.site.timezone))
        return _book_page(request, db, patient_id, form, status_code=exc.status_code,
                          **web_forms.error_context(exc))
    return RedirectResponse(f"/calendar/series/{rows[0].series_id}?notice=booked",
                            status_code=303)


def _series_page(request: Request, db: Session, series_id: int, form: web_forms.Form,
                 status_code: int = 200, **context: object) -> Response:
    series, rows = service.read_series(db, audit_context(request), series_id)
    site = sites.get_site(db, series.site_id)
    return render(request, "booking/series.html", {
        "series": series, "site": site, "who": _who(db, series.patient_id), "rows": rows,
        "chairs": {c.id: c.number for c in sites.chairs(db, site.id)},
        "staff": {u.id: u.full_name for u in sites.shift_staff(db)},
        "zone": ZoneInfo(site.timezone), "form": form, **context}, status_code=status_code)


NOTICES = {"booked": "Series booked. The patient's confirmation mail is queued.",
           "moved": "Moved; the later infusions were re-flowed and the patient's calendar "
                    "file updated."}


@router.get("/calendar/series/{series_id}")
@requires(Permission.CALENDAR_VIEW)
def series_page(request: Request, db: DB, series_id: int, notice: str = "") -> Response:
    return _series_page(request, db, series_id, {}, notice=NOTICES.get(notice))


def _new_start(db: Session, appointment_id: int, form: web_forms.Form
               ) -> tuple[Appointment, datetime]:
    row = appointments.get_appointment(db, appointment_id)
    zone = ZoneInfo(sites.get_site(db, row.site_id).timezone)
    with web_forms.collect_errors() as check:
        day = check(web_forms.required_date, form, "new_day", "New day")
        at = check(forms.clock, form, "new_time", "New time")
    return row, service.local_instant(day, at, zone)


@router.post("/calendar/appointments/{appointment_id}/move/options")
@requires(Permission.APPOINTMENTS_BOOK)
def move_options(request: Request, db: DB, appointment_id: int, form: FORM) -> Response:
    row = appointments.get_appointment(db, appointment_id)
    try:
        row, new_start = _new_start(db, appointment_id, form)
        move = service.propose_move(db, appointment_id=appointment_id, new_start=new_start)
    except KetaflowError as exc:
        return _series_page(request, db, row.series_id or 0, form, status_code=exc.status_code,
                            moving=appointment_id, **web_forms.error_context(exc))
    return _series_page(request, db, row.series_id or 0, form, move=move,
                        moving=appointment_id)


@router.post("/calendar/appointments/{appointment_id}/move")
@requires(Permission.APPOINTMENTS_BOOK)
def move(request: Request, db: DB, appointment_id: int, form: FORM) -> Response:
    row = appointments.get_appointment(db, appointment_id)
    series_id = row.series_id or 0
    try:
        row, new_start = _new_start(db, appointment_id, form)
        version = web_forms.whole_number(form, "version", "Calendar version", 0)
        service.move_appointment(db, audit_context(request), appointment_id=appointment_id,
                                 new_start=new_start, version=version,
                                 booked_by_user_id=acting_user_id(request))
    except KetaflowError as exc:
        return _series_page(request, db, series_id, form, status_code=exc.status_code,
                            moving=appointment_id, **web_forms.error_context(exc))
    return RedirectResponse(f"/calendar/series/{series_id}?notice=moved", status_code=303)


@router.get("/calendar/patients/{patient_id}/_appointments")
@requires(Permission.CALENDAR_VIEW)
def patient_appointments(request: Request, db: DB, patient_id: int) -> Response:
    rows = service.patient_appointments(db, audit_context(request), patient_id)
    return render(request, "booking/_patient_appointments.html", {
        "rows": rows, "site_by_id": {s.id: s for s in sites.sites(db)},
        "patient_id": patient_id})


@router.post("/calendar/patients/{patient_id}/waitlist")
@requires(Permission.APPOINTMENTS_BOOK)
def join_waitlist(request: Request, db: DB, patient_id: int, form: FORM) -> Response:
    try:
        with web_forms.collect_errors() as check:
            site_id = check(web_forms.whole_number, form, "waitlist_site_id", "Site", 0)
            kind = check(web_forms.choice, form, "waitlist_kind", AppointmentKind, "Visit")
        _who(db, patient_id)
        appointments.add_to_waitlist(db, audit_context(request), patient_id=patient_id,
                                     site_id=site_id, kind=kind,
                                     note=form.get("waitlist_note"),
                                     added_by_user_id=acting_user_id(request))
    except KetaflowError as exc:
        return _book_page(request, db, patient_id, form, status_code=exc.status_code,
                          **web_forms.error_context(exc))
    return _book_page(request, db, patient_id, {},
                      notice="On the waiting list: a freed slot at that site will be offered.")


@router.post("/calendar/patients/{patient_id}/visits")
@requires(Permission.APPOINTMENTS_BOOK)
def book_visit(request: Request, db: DB, patient_id: int, form: FORM) -> Response:
    try:
        _who(db, patient_id)
        with web_forms.collect_errors() as check:
            site_id = check(web_forms.whole_number, form, "visit_site_id", "Site", 0)
            kind = check(web_forms.choice, form, "visit_kind", AppointmentKind, "Visit")
            day = check(web_forms.required_date, form, "visit_day", "Day")
            at = check(forms.clock, form, "visit_time", "Time")
        site = sites.get_site(db, site_id)
        visits.book_visit(db, audit_context(request), patient_id=patient_id, site_id=site_id,
                          kind=kind, starts_at=service.local_instant(
                              day, at, ZoneInfo(site.timezone)),
                          booked_by_user_id=acting_user_id(request))
    except KetaflowError as exc:
        return _book_page(request, db, patient_id, form, status_code=exc.status_code,
                          **web_forms.error_context(exc))
    return _book_page(request, db, patient_id, {},
                      notice="Visit booked. The patient's confirmation mail is queued.")
