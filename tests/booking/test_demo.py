"""The demo calendar: two sites, series booked through the service (rules hold on what is
stored), one infusion moved, and today's list at North."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.booking import appointments, problem, replan
from ketaflow.booking.demo import seed_calendar
from ketaflow.booking.models import Appointment, AppointmentState, Site, StaffShift
from ketaflow.config import Role
from ketaflow.courses.demo import seed_courses
from ketaflow.db import utcnow
from ketaflow.patients.demo import seed_patients
from ketaflow.scheduling import model as core
from ketaflow.scheduling.rules import check_plan
from ketaflow.screening.demo import seed_screenings
from tests.support.factories import SYSTEM, make_user


def test_the_demo_calendar_books_series_within_the_rules(db: Session) -> None:
    for role in (Role.PRESCRIBER, Role.NURSE, Role.FRONT_DESK):
        make_user(db, role=role)
    patients = seed_patients(db, SYSTEM)
    seed_screenings(db, SYSTEM, patients)
    courses = seed_courses(db, SYSTEM, patients)
    seed_calendar(db, SYSTEM, planned=courses, day_courses=[])
    north, south = db.scalars(select(Site).order_by(Site.code)).all()
    assert (north.code, south.code) == ("NORTH", "SOUTH")
    # The demo's nurse off sick leaves a week to re-plan: another nurse takes her infusions.
    leave = db.scalar(select(StaffShift).where(StaffShift.cancelled_at.is_not(None)))
    assert leave is not None and leave.site_id == south.id
    week = replan.week_start_of(leave.on)
    plan = replan.propose(db, site_id=south.id, week_start=week)
    assert plan.changes and not plan.to_move
    replan.apply(db, SYSTEM, site_id=south.id, week_start=week, version=plan.version,
                 booked_by_user_id=None)
    booked = db.scalars(select(Appointment).where(
        Appointment.state == AppointmentState.BOOKED)).all()
    assert {a.course_id for a in booked} == {c.id for c in courses}
    assert len([a for a in booked if a.course_id == courses[1].id]) == 6
    assert db.scalar(select(Appointment).where(Appointment.state == AppointmentState.MOVED))
    today = utcnow().date()
    for site in (north, south):
        rows = [a for a in booked if a.site_id == site.id]
        loaded = problem.load(db, site_id=site.id, start=today, days=60,
                              leave_out=frozenset(a.id for a in rows))
        numbers = {cid: n for n, cid in loaded.chair_ids.items()}
        # Stored bookings checked as new placements of one open request each: chairs,
        # nurses on shift and the ratio hold.
        placements = [core.Placement(0, str(a.patient_id), str(site.id), numbers[a.chair_id or 0],
                                     str(a.staff_user_id), a.starts_at, a.minutes) for a in rows]
        broken = [v for v in check_plan(loaded.problem, placements) if v.rule != "request"]
        assert broken == []
    assert appointments.site_day(db, SYSTEM, site_id=north.id, day=today + timedelta(days=1))
