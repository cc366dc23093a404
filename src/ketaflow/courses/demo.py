"""Demo treatment courses (`ketaflow demo seed`): an active induction course that started ten
days ago and a planned one whose first infusion is due today (the last weekday on or before
today), so the day's list at /infusions has one to open; both through the services. Patients whose
screening is not eligible, unsigned or without consent get none."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from ketaflow.audit.service import AuditContext
from ketaflow.clinical.course_plan import CourseState, Frequency
from ketaflow.config import Role
from ketaflow.courses import service
from ketaflow.courses.models import TreatmentCourse
from ketaflow.db import utcnow
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
