"""Demo treatment courses (`ketaflow demo seed`): an active induction course that started ten
days ago and a planned one whose first infusion is due today (the last weekday on or before
today), so the day's list at /infusions has one to open; both through the services. Patients whose
screening is not eligible, unsigned or without consent get none."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.orm import Session

from ketaflow.audit.service import AuditContext
from ketaflow.clinical.course_plan import CourseState, Frequency
from ketaflow.config import Role
from ketaflow.courses import maintenance, service
from ketaflow.courses.models import TreatmentCourse
from ketaflow.db import utcnow
from ketaflow.infusions.demo import seed_given_infusions
from ketaflow.moodchart import service as moodchart
from ketaflow.patients.models import Patient
from ketaflow.screening.demo import staff_context


def seed_courses(
    session: Session, ctx: AuditContext, patients: list[Patient]
) -> list[TreatmentCourse]:
    """Plan courses for the first two ready patients: the first active, the second planned."""
    prescriber = staff_context(session, Role.PRESCRIBER, ctx)
    today = utcnow().date()
    ready = [p for p in patients if service.course_readiness(session, patient_id=p.id).ready]
    created = []
    if ready:
        active = service.plan_course(session, prescriber, patient_id=ready[0].id,
                                     entry=service.CourseEntry(
                                         start_on=today - timedelta(days=10),
                                         frequency=Frequency.MON_WED_FRI))
        service.change_course_state(session, prescriber, course_id=active.id,
                                    target=CourseState.ACTIVE)
        created.append(active)
    if len(ready) > 1:
        # A weekday: the plan skips weekends, so the first infusion is on this day.
        last_weekday = today - timedelta(days=max(0, today.weekday() - 4))
        created.append(service.plan_course(
            session, prescriber, patient_id=ready[1].id,
            entry=service.CourseEntry(start_on=last_weekday, frequency=Frequency.EVERY_2_DAYS,
                                      dose_mg_per_kg=0.5, max_dose_mg=90.0)))
    return created


def seed_active_courses(session: Session, ctx: AuditContext,
                        patients: list[Patient]) -> list[TreatmentCourse]:
    """An active course, started ten days ago, for each ready patient (the clinic day's)."""
    prescriber = staff_context(session, Role.PRESCRIBER, ctx)
    start_on = utcnow().date() - timedelta(days=10)
    created = []
    for patient in patients:
        if not service.course_readiness(session, patient_id=patient.id).ready:
            continue
        course = service.plan_course(session, prescriber, patient_id=patient.id,
                                     entry=service.CourseEntry(start_on=start_on,
                                                               frequency=Frequency.MON_WED_FRI))
        service.change_course_state(session, prescriber, course_id=course.id,
                                    target=CourseState.ACTIVE)
        created.append(course)
    return created


def _every_2_days_ending(last: date) -> date:
    """The first date of a 6-infusion every-2-days induction whose last infusion is `last`."""
    return last - timedelta(days=2 * 5)


def seed_maintenance(session: Session, ctx: AuditContext, patients: list[Patient]) -> None:
    """Two maintenance courses, inductions given in full (every 2 days, weekends included):

    - the first patient's ended a week ago and has charted well every day since the course: a
      stable course whose first three boosters the prescriber has confirmed, the first today
      (on the day's list);
    - the second's ended two days ago; the last four days' depressed mood against the weeks
      well before is a relapse signal, which raised an alert and suggested the next booster
      earlier (waiting for the prescriber's confirmation beside its planned date).
    Needs each patient's screening signed with a consent a month back."""
    prescriber = staff_context(session, Role.PRESCRIBER, ctx)
    nurse = staff_context(session, Role.NURSE, ctx)
    today = utcnow().date()
    for patient, ended_days_ago, relapsing in zip(patients, (7, 2), (False, True), strict=False):
        patient.created_at = utcnow() - timedelta(days=40)  # the story starts before today
        start = _every_2_days_ending(today - timedelta(days=ended_days_ago))
        course = service.plan_course(session, prescriber, patient_id=patient.id,
                                     entry=service.CourseEntry(
                                         start_on=start, frequency=Frequency.EVERY_2_DAYS,
                                         skip_weekends=False))
        service.change_course_state(session, prescriber, course_id=course.id,
                                    target=CourseState.ACTIVE)
        seed_given_infusions(session, ctx, course_id=course.id,
                             days=[start + timedelta(days=2 * n) for n in range(6)])
        service.change_course_state(session, prescriber, course_id=course.id,
                                    target=CourseState.MAINTENANCE)
        for days_ago in range(30, -1, -1):
            low = relapsing and days_ago <= 3
            moodchart.record_entry(
                session, nurse, patient_id=patient.id, zone="UTC",
                entered_by_user_id=nurse.actor_user_id,
                data=moodchart.EntryInput(day=today - timedelta(days=days_ago),
                                          depressed=2 if low else int(days_ago % 7 == 0),
                                          elevated=0, irritable=0, anxious=1 if low else 0,
                                          sleep_h=9.0 if low else 7.5))
        if not relapsing and prescriber.actor_user_id is not None:
            for booster in maintenance.boosters(session, course_id=course.id)[:3]:
                maintenance.confirm_booster(session, prescriber, course_id=course.id,
                                            booster_id=booster.id,
                                            user_id=prescriber.actor_user_id,
                                            take_earlier=False, zone="UTC")
