"""Single visits without a chair: a screening visit or a rating/follow-up visit, each with a
prescriber. A visit is booked at a time the site is open, with a prescriber on shift for the
whole visit who is not already seeing someone else, and when the patient has nothing else then.
Services never commit; every change is audited (ids only)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.service import AuditContext, record_event
from ketaflow.auth.models import StaffUser
from ketaflow.booking import ical, sites
from ketaflow.booking.models import (
    Appointment,
    AppointmentKind,
    AppointmentState,
    Site,
    StaffShift,
)
from ketaflow.booking.problem import zone
from ketaflow.booking.service import email_of
from ketaflow.clinic.service import clinic_name
from ketaflow.config import Role
from ketaflow.db import utcnow
from ketaflow.errors import Conflict, ValidationFailed
from ketaflow.jobs import service as outbox
from ketaflow.jobs.models import Channel

# Appointment types without a chair: their default length and who must see the patient.
VISIT_MINUTES = {AppointmentKind.SCREENING: 60, AppointmentKind.FOLLOW_UP: 30}
VISIT_NAMES = {AppointmentKind.SCREENING: "Screening visit",
               AppointmentKind.FOLLOW_UP: "Follow-up visit"}


def _overlapping(db: Session, start: datetime, end: datetime, **where: object
                 ) -> list[Appointment]:
    rows = db.scalars(select(Appointment).filter_by(state=AppointmentState.BOOKED, **where)
                      .where(Appointment.starts_at < end,
                             Appointment.starts_at > start - timedelta(hours=12)))
    return [r for r in rows if r.starts_at + timedelta(minutes=r.minutes) > start]


def _free_prescriber(db: Session, site_id: int, start: datetime, end: datetime) -> int | None:
    site = sites.get_site(db, site_id)
    local = start.astimezone(zone(site))
    busy = {r.staff_user_id for r in _overlapping(db, start, end, site_id=site_id)
            if r.kind is not AppointmentKind.INFUSION}
    shifts = db.scalars(select(StaffShift).join(StaffUser, StaffUser.id == StaffShift.staff_user_id)
                        .where(StaffShift.site_id == site_id, StaffShift.on == local.date(),
                               StaffShift.cancelled_at.is_(None),
                               StaffUser.role == Role.PRESCRIBER))
    for shift in shifts:
        begins = sites.local_start(site, shift.on, shift.starts)
        ends = sites.local_start(site, shift.on, shift.ends)
        if begins <= start and end <= ends and shift.staff_user_id not in busy:
            return shift.staff_user_id
    return None


def book_visit(db: Session, ctx: AuditContext, *, patient_id: int, site_id: int,
               kind: AppointmentKind, starts_at: datetime, booked_by_user_id: int | None
               ) -> Appointment:
    if kind not in VISIT_MINUTES:
        raise ValidationFailed("Visit must be a screening or a follow-up visit", field="kind")
    if starts_at <= utcnow():
        raise ValidationFailed("Visit time must be in the future", field="visit_time")
    site = sites.get_site(db, site_id)
    minutes = VISIT_MINUTES[kind]
    end = starts_at + timedelta(minutes=minutes)
    local = starts_at.astimezone(zone(site))
    hours = sites.opening(site, local.date())
    closed = sites.closures(db, site_id, local.date(), local.date())
    if hours is None or closed or not (
            hours[0] <= local.time() and end.astimezone(zone(site)).time() <= hours[1]):
        raise ValidationFailed(f"{site.name} is not open for the whole visit", field="visit_time")
    if _overlapping(db, starts_at, end, patient_id=patient_id):
        raise Conflict("the patient has another appointment at that time", field="visit_time")
    prescriber = _free_prescriber(db, site_id, starts_at, end)
    if prescriber is None:
        raise Conflict("no prescriber is free on shift for the whole visit", field="visit_time")
    visit = Appointment(patient_id=patient_id, site_id=site_id, kind=kind,
                        staff_user_id=prescriber, starts_at=starts_at, minutes=minutes,
                        booked_by_user_id=booked_by_user_id)
    db.add(visit)
    db.flush()
    sites.calendar_changed(db, site_id)
    record_event(db, ctx, action="appointment.book", entity_type="appointment",
                 entity_id=visit.id, detail={"patient_id": patient_id, "kind": kind.value})
    _mail(db, visit, site)
    return visit


def _mail(db: Session, visit: Appointment, site: Site) -> None:
    address = email_of(db, visit.patient_id)
    if address is None:
        return
    clinic = clinic_name(db) or "your clinic"
    when = visit.starts_at.astimezone(zone(site))
    text = ical.calendar_text([ical.CalendarItem(
        f"appointment-{visit.id}@ketaflow", visit.starts_at, visit.minutes, site.timezone,
        f"Appointment at {clinic}", site.name, "Please bring your medicines list.")],
        stamp=utcnow(), method="PUBLISH", name=clinic)
    outbox.enqueue(
        db, dedupe_key=f"visit:{visit.id}", purpose="booking-confirmation",
        channel=Channel.EMAIL, to_address=address, patient_id=visit.patient_id,
        subject=f"Your appointment at {clinic}",
        body_text=(f"Hello,\n\nYour appointment is booked: {when:%A %d %B %Y, %H:%M} at "
                   f"{site.name}.\nPlease bring your medicines list.\n\n"
                   "The attached calendar file adds it to your phone's calendar.\n"
                   "To change it, please call the clinic.\n"),
        attachments=[outbox.Attachment("appointment.ics", "text/calendar; charset=utf-8",
                                       text)])

