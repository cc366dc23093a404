"""Demo calendar (`make run`): a two-site clinic's weeks. North opens every day with four chairs
and two nurses; South opens Tuesday and Thursday with three chairs. The planned and active
demo courses get their infusions booked as series through the booking service (so the rules
hold), one with its third infusion moved, and the clinic day's patients are on today's list.

Times are in the clinic's zone (the demo clinic uses the server setting, UTC by default)."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.service import AuditContext
from ketaflow.auth import service as auth_service
from ketaflow.auth.models import StaffUser
from ketaflow.booking import service, sites
from ketaflow.booking.models import Appointment, AppointmentKind, Site
from ketaflow.clinic.service import get_profile
from ketaflow.clinical.course_plan import CourseState
from ketaflow.config import Role, load_settings
from ketaflow.courses.models import TreatmentCourse
from ketaflow.db import utcnow
from ketaflow.screening.demo import staff_context

EVERY_DAY = {d: ("07:00", "19:00") for d in sites.WEEKDAYS}
TUE_THU = {"tue": ("08:00", "16:00"), "thu": ("08:00", "16:00")}
EXTRA_STAFF = (("grace.mbeki", "Grace Mbeki RN", Role.NURSE),
               ("hana.sato", "Dr Hana Sato", Role.PRESCRIBER),
               ("tomas.ruiz", "Tomas Ruiz RN", Role.NURSE))
DAYS_BACK, DAYS_AHEAD = 7, 42


def _zone(db: Session) -> str:
    profile = get_profile(db)
    return profile.timezone if profile and profile.timezone else load_settings().clinic_timezone


def _staff(db: Session, ctx: AuditContext) -> dict[str, StaffUser]:
    """The demo nurse and prescriber plus three colleagues who only appear on the rota (their
    passwords are random and never shown: they are not demo sign-ins)."""
    found = {}
    for role in (Role.NURSE, Role.PRESCRIBER):
        user = db.scalar(select(StaffUser).where(StaffUser.role == role).order_by(StaffUser.id))
        if user is not None:
            found[role.value] = user
    for username, name, role in EXTRA_STAFF:
        found[username] = auth_service.create_user(
            db, ctx, username=username, full_name=name, role=role,
            password=secrets.token_urlsafe(24))
    return found


def _rota(db: Session, ctx: AuditContext, north: Site, south: Site,
          staff: dict[str, StaffUser], today: date) -> None:
    """North: the demo nurse and prescriber 07-19 every day, Grace 07-15 except on South's
    days, when she works there with Tomas and Dr Sato (08-16)."""
    for offset in range(-DAYS_BACK, DAYS_AHEAD):
        day = today + timedelta(days=offset)
        south_day = day.weekday() in (1, 3)
        rota = [(north, "nurse", time(7), time(19)), (north, "prescriber", time(7), time(19))]
        if south_day:
            rota += [(south, who, time(8), time(16))
                     for who in ("grace.mbeki", "tomas.ruiz", "hana.sato")]
        else:
            rota.append((north, "grace.mbeki", time(7), time(15)))
        for site, who, starts, ends in rota:
            if who in staff:
                sites.add_shift(db, ctx, staff_user_id=staff[who].id, site_id=site.id,
                                on=day, starts=starts, ends=ends)


def _book(db: Session, ctx: AuditContext, course: TreatmentCourse, site: Site, on: date,
          weekdays: frozenset[int] | None) -> list[Appointment]:
    ask = service.SeriesAsk(patient_id=course.patient_id, site_id=site.id, course_id=course.id,
                            count=course.infusion_count if course.state is CourseState.PLANNED
                            else 3, earliest_on=on, weekdays=weekdays)
    proposal = service.propose_series(db, ask=ask)
    if not proposal.options:
        return []
    return service.book_series(db, ctx, ask=ask, option=0, version=proposal.version,
                               booked_by_user_id=ctx.actor_user_id)


def _today_rows(db: Session, north: Site, staff: dict[str, StaffUser],
                courses: list[TreatmentCourse], zone: ZoneInfo, today: date) -> None:
    """Today's list for the clinic day's patients: stored as they were booked last week (times
    from 07:30 on, two chairs per nurse, every 30 minutes); written directly since booking
    refuses times already past."""
    nurses = [staff[n] for n in ("nurse", "grace.mbeki") if n in staff]
    chairs = {c.number: c.id for c in sites.chairs(db, north.id)}
    for index, course in enumerate(courses):
        starts = datetime.combine(today, time(7, 30), zone) + timedelta(minutes=30 * index)
        db.add(Appointment(
            patient_id=course.patient_id, site_id=north.id, course_id=course.id,
            chair_id=chairs[index % len(chairs) + 1], kind=AppointmentKind.INFUSION,
            staff_user_id=nurses[(index // 2) % len(nurses)].id if nurses else None,
            infusion_number=4, starts_at=starts.astimezone(UTC), minutes=120,
            instructions_acknowledged_at=utcnow() if index % 3 else None,
            booked_at=utcnow() - timedelta(days=7)))
    db.flush()


def _a_nurse_off_sick(db: Session, ctx: AuditContext, site: Site) -> None:
    """The nurse watching the site's next booked infusion calls in sick: that week then has
    something to re-plan (another nurse on shift takes it at the same time)."""
    first = db.scalar(select(Appointment).where(
        Appointment.site_id == site.id, Appointment.staff_user_id.is_not(None),
        Appointment.starts_at > utcnow()).order_by(Appointment.starts_at))
    if first is None:
        return
    day = first.starts_at.astimezone(ZoneInfo(site.timezone)).date()
    shift = next((s for s in sites.shifts(db, site.id, day, day)
                  if s.staff_user_id == first.staff_user_id), None)
    if shift is not None:
        sites.cancel_shift(db, ctx, shift_id=shift.id, reason="off sick (demo)")


def seed_calendar(db: Session, ctx: AuditContext, *, planned: list[TreatmentCourse],
                  day_courses: list[TreatmentCourse]) -> None:
    desk = staff_context(db, Role.FRONT_DESK, ctx)
    zone_name = _zone(db)
    zone = ZoneInfo(zone_name)
    today = utcnow().astimezone(zone).date()
    north = sites.create_site(db, ctx, entry=sites.SiteEntry(
        code="NORTH", name="North clinic", timezone=zone_name, opening_hours=EVERY_DAY,
        chairs=4))
    south = sites.create_site(db, ctx, entry=sites.SiteEntry(
        code="SOUTH", name="South clinic", timezone=zone_name, opening_hours=TUE_THU,
        chairs=3))
    staff = _staff(db, ctx)
    _rota(db, ctx, north, south, staff, today)
    _today_rows(db, north, staff, day_courses[:6], zone, today)
    tomorrow = today + timedelta(days=1)
    for index, course in enumerate(planned):
        rows = _book(db, desk, course, north if index % 2 == 0 else south, tomorrow,
                     weekdays=frozenset({1, 3}) if index % 2 else None)
        if index == 0 and len(rows) >= 3:
            third = rows[2]
            move = service.propose_move(db, appointment_id=third.id,
                                        new_start=third.starts_at + timedelta(days=1))
            if move.placements:
                service.move_appointment(db, desk, appointment_id=third.id,
                                         new_start=third.starts_at + timedelta(days=1),
                                         version=move.version,
                                         booked_by_user_id=desk.actor_user_id)
    _a_nurse_off_sick(db, ctx, south)
