"""Appointments once booked: a site's day in time order, cancellations and no-shows with their
reason, pre-visit instructions acknowledged, and the waiting list offered what is freed.
Services never commit; every change is audited (ids only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.service import AuditContext, record_event
from ketaflow.auth.models import StaffUser
from ketaflow.booking.models import (
    Appointment,
    AppointmentKind,
    AppointmentState,
    Chair,
    Site,
    WaitlistEntry,
)
from ketaflow.booking.sites import get_site
from ketaflow.db import utcnow
from ketaflow.errors import Conflict, NotFound, ValidationFailed
from ketaflow.patients.service.identity import PatientIdentity, patient_identities

ENTITY = "appointment"
REASON_MAX = 300
# What a change of plan may end in; attended comes from the infusion session, not from here.
CLOSING = frozenset({AppointmentState.CANCELLED, AppointmentState.NO_SHOW})


@dataclass(frozen=True)
class DayAppointment:
    appointment: Appointment
    patient: PatientIdentity
    chair_number: int | None
    nurse_name: str | None
    local_start: datetime
    local_end: datetime


def day_bounds(site: Site, day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, ZoneInfo(site.timezone))
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def site_day(db: Session, ctx: AuditContext, *, site_id: int, day: date
             ) -> list[DayAppointment]:
    """The site's appointments of one local day in time order (a cancelled or missed one stays
    visible, struck through), with who and where (audited: ids only)."""
    site = get_site(db, site_id)
    start, end = day_bounds(site, day)
    # A moved appointment is shown where it went (its earlier row stays on the series).
    rows = list(db.scalars(select(Appointment).where(
        Appointment.site_id == site_id, Appointment.starts_at >= start,
        Appointment.starts_at < end, Appointment.state != AppointmentState.MOVED)
        .order_by(Appointment.starts_at, Appointment.id)))
    who = patient_identities(db, {r.patient_id for r in rows})
    chairs = {c.id: c.number for c in db.scalars(select(Chair).where(Chair.site_id == site_id))}
    nurses = {u.id: u.full_name for u in db.scalars(select(StaffUser).where(
        StaffUser.id.in_({r.staff_user_id for r in rows if r.staff_user_id})))}
    zone = ZoneInfo(site.timezone)
    record_event(db, ctx, action="appointment.day.read", entity_type="site", entity_id=site_id,
                 detail={"day": day.isoformat(), "appointment_ids": [r.id for r in rows]})
    return [DayAppointment(r, who[r.patient_id], chairs.get(r.chair_id or 0),
                           nurses.get(r.staff_user_id or 0), r.starts_at.astimezone(zone),
                           (r.starts_at + timedelta(minutes=r.minutes)).astimezone(zone))
            for r in rows]


def get_appointment(db: Session, appointment_id: int) -> Appointment:
    found = db.get(Appointment, appointment_id)
    if found is None:
        raise NotFound("no such appointment")
    return found


def close_appointment(db: Session, ctx: AuditContext, *, appointment_id: int,
                      state: AppointmentState, reason: str) -> Appointment:
    """Cancel or mark a no-show, with the reason; the freed slot is offered to the site's
    waiting list (the first open entry of the same kind)."""
    if state not in CLOSING:
        raise ValidationFailed("State must be cancelled or no-show", field="state")
    reason = reason.strip()
    if not reason:
        raise ValidationFailed("Reason is required", field="reason")
    if len(reason) > REASON_MAX:
        raise ValidationFailed(f"Reason must be at most {REASON_MAX} characters",
                               field="reason")
    appointment = get_appointment(db, appointment_id)
    if appointment.state is not AppointmentState.BOOKED:
        raise Conflict(f"the appointment is already {appointment.state.value}")
    appointment.state, appointment.state_reason = state, reason
    db.flush()
    record_event(db, ctx, action=f"appointment.{state.value}", entity_type=ENTITY,
                 entity_id=appointment.id, detail={"patient_id": appointment.patient_id})
    if state is AppointmentState.CANCELLED and appointment.starts_at > utcnow():
        offer_freed_slot(db, ctx, appointment)
    return appointment


def acknowledge_instructions(db: Session, ctx: AuditContext, *, appointment_id: int
                             ) -> Appointment:
    """The patient confirmed the pre-visit instructions (fasting, escort, no driving)."""
    appointment = get_appointment(db, appointment_id)
    if appointment.instructions_acknowledged_at is None:
        appointment.instructions_acknowledged_at = utcnow()
        db.flush()
        record_event(db, ctx, action="appointment.instructions_acknowledged",
                     entity_type=ENTITY, entity_id=appointment.id,
                     detail={"patient_id": appointment.patient_id})
    return appointment


def add_to_waitlist(db: Session, ctx: AuditContext, *, patient_id: int, site_id: int,
                    kind: AppointmentKind, note: str | None, added_by_user_id: int | None
                    ) -> WaitlistEntry:
    get_site(db, site_id)
    entry = WaitlistEntry(patient_id=patient_id, site_id=site_id, kind=kind,
                          note=(note or "").strip()[:300] or None,
                          added_by_user_id=added_by_user_id)
    db.add(entry)
    db.flush()
    record_event(db, ctx, action="waitlist.add", entity_type="waitlist_entry",
                 entity_id=entry.id, detail={"patient_id": patient_id, "site_id": site_id})
    return entry


def waitlist(db: Session, site_id: int) -> list[WaitlistEntry]:
    return list(db.scalars(select(WaitlistEntry).where(
        WaitlistEntry.site_id == site_id, WaitlistEntry.closed_at.is_(None))
        .order_by(WaitlistEntry.added_at, WaitlistEntry.id)))


def offer_freed_slot(db: Session, ctx: AuditContext, freed: Appointment) -> WaitlistEntry | None:
    """Mark the first waiting patient (same site and kind, not already offered) as offered
    the freed slot; the front desk calls them and books it."""
    for entry in waitlist(db, freed.site_id):
        if entry.kind is freed.kind and entry.offered_appointment_id is None and (
                entry.patient_id != freed.patient_id):
            entry.offered_appointment_id = freed.id
            db.flush()
            record_event(db, ctx, action="waitlist.offer", entity_type="waitlist_entry",
                         entity_id=entry.id, detail={"appointment_id": freed.id})
            return entry
    return None


@dataclass(frozen=True)
class NextVisit:
    starts_at: datetime
    site_name: str
    site_timezone: str


def next_visit(db: Session, *, patient_id: int, after: datetime) -> NextVisit | None:
    """The patient's next booked appointment after `after`, with its site (for the printout
    handed to the patient; the caller's read is audited)."""
    row = db.execute(select(Appointment, Site).join(Site, Site.id == Appointment.site_id).where(
        Appointment.patient_id == patient_id, Appointment.state == AppointmentState.BOOKED,
        Appointment.starts_at > after).order_by(Appointment.starts_at).limit(1)).first()
    if row is None:
        return None
    appointment, site = row
    return NextVisit(appointment.starts_at, site.name, site.timezone)
