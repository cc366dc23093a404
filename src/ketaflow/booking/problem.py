"""The calendar in the database as the scheduling core's problem: one site over a window of
days, its chairs, closures, shifts in force and booked infusions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.auth.models import StaffUser
from ketaflow.booking import sites as sites_service
from ketaflow.booking.appointments import day_bounds
from ketaflow.booking.models import Appointment, AppointmentKind, AppointmentState, Chair, Site
from ketaflow.config import Role
from ketaflow.scheduling import model as core

_CORE_ROLE = {Role.NURSE: core.Role.NURSE, Role.PRESCRIBER: core.Role.PRESCRIBER}


@dataclass(frozen=True)
class Loaded:
    """The core's problem and the way back from its ids to rows."""

    problem: core.Problem
    site: Site
    chair_ids: dict[int, int]  # chair number -> Chair.id
    version: int  # the site's booking_version the problem was read at
    appointment_ids: tuple[int, ...] = ()  # Appointment.id of each of problem.bookings


def open_hours(site: Site) -> tuple[core.OpenHours, ...]:
    return tuple(core.OpenHours(index, time.fromisoformat(hours[0]),
                                time.fromisoformat(hours[1]))
                 for index, day in enumerate(sites_service.WEEKDAYS)
                 if (hours := site.opening_hours.get(day)))


def load(db: Session, *, site_id: int, start: date, days: int,
         requests: tuple[core.SeriesRequest, ...] = (),
         leave_out: frozenset[int] = frozenset()) -> Loaded:
    """Read the site's calendar for [start, start + days); `leave_out` appointments are not
    counted as booked (the one being moved)."""
    site = sites_service.get_site(db, site_id)
    end = start + timedelta(days=days)
    chairs = {c.number: c.id for c in db.scalars(select(Chair).where(
        Chair.site_id == site_id, Chair.retired_at.is_(None)).order_by(Chair.number))}
    number_of = {chair_id: number for number, chair_id in chairs.items()}
    closures = frozenset(c.on for c in sites_service.closures(db, site_id, start, end))
    shifts = sites_service.shifts(db, site_id, start, end)
    roles = dict(db.execute(select(StaffUser.id, StaffUser.role).where(
        StaffUser.id.in_({s.staff_user_id for s in shifts}))).tuples().all())
    window_start, _ = day_bounds(site, start)
    _, window_end = day_bounds(site, end)
    booked = list(db.scalars(select(Appointment).where(
        Appointment.site_id == site_id, Appointment.kind == AppointmentKind.INFUSION,
        Appointment.state == AppointmentState.BOOKED,
        Appointment.starts_at >= window_start - timedelta(days=1),
        Appointment.starts_at < window_end, Appointment.id.not_in(leave_out))
        .order_by(Appointment.starts_at, Appointment.id)))
    problem = core.Problem(
        start=start, days=days,
        sites=(core.Site(str(site.id), site.timezone, len(chairs), site.nurse_ratio,
                         open_hours(site), closures),),
        shifts=tuple(core.StaffShift(str(s.staff_user_id), _CORE_ROLE[roles[s.staff_user_id]],
                                     str(site.id), s.on, s.starts, s.ends)
                     for s in shifts if roles.get(s.staff_user_id) in _CORE_ROLE),
        bookings=tuple(core.Booking(str(a.patient_id), str(site.id),
                                    number_of.get(a.chair_id or 0, 0), a.starts_at, a.minutes,
                                    None if a.staff_user_id is None else str(a.staff_user_id))
                       for a in booked),
        requests=requests)
    # Read from the row, not the loaded object: versions are raised by UPDATE statements.
    version = db.scalar(select(Site.booking_version).where(Site.id == site_id))
    return Loaded(problem, site, chairs, int(version or 0), tuple(a.id for a in booked))


def zone(site: Site) -> ZoneInfo:
    return ZoneInfo(site.timezone)


def chair_ids(db: Session, site_id: int) -> dict[int, int]:
    """Chair number -> Chair.id for the site's chairs in service."""
    return {c.number: c.id for c in db.scalars(select(Chair).where(
        Chair.site_id == site_id, Chair.retired_at.is_(None)))}
