"""Demo mood charts (`ketaflow demo seed`), stored through the service like real entries.

The patient on the active course charts daily (a few days missed): depressed before the course,
lifting with the infusions, then, in the last week, elevated and irritable days with short
nights, so the chart shows a switch warning with its reason and a rising forecast. Each patient
with a course also gets an entry link.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy.orm import Session

from ketaflow.assessments import courses
from ketaflow.audit.service import AuditContext
from ketaflow.clinical.course_plan import CourseState
from ketaflow.config import Role
from ketaflow.db import utcnow
from ketaflow.moodchart import service
from ketaflow.moodchart.warnings import clinic_day
from ketaflow.patients.models import Patient
from ketaflow.screening.demo import staff_context

DAYS = 56
MISSED = {9, 10, 23, 31}  # days ago without an entry (patients miss some)


def _day(days_ago: int, course_days_ago: int) -> service.EntryInput:
    """Depressed before the course, better with it, elevated with short nights at the end."""
    today = clinic_day(utcnow(), "UTC")
    if days_ago > course_days_ago:
        depressed, elevated, irritable, sleep = 2 + days_ago % 2, 0, 0, 9.0 - days_ago % 3 / 2
    elif days_ago > 6:
        depressed, elevated, irritable, sleep = (1 if days_ago > 14 else 0), 0, 0, 7.5
    else:
        depressed, elevated, irritable = 0, 1 + (days_ago < 3), 1 if days_ago < 4 else 0
        sleep = 5.0 if days_ago < 5 else 7.0
    return service.EntryInput(day=today - timedelta(days=days_ago), depressed=depressed,
                              elevated=elevated, irritable=irritable,
                              anxious=1 if days_ago > course_days_ago else 0, sleep_h=sleep,
                              life_event="started back at work" if days_ago == 12 else None,
                              life_event_impact=2 if days_ago == 12 else None)


def seed_mood(session: Session, ctx: AuditContext, patients: Sequence[Patient]) -> int:
    """Mood entries and links for the demo patients with a course; returns entries stored."""
    nurse = staff_context(session, Role.NURSE, ctx)
    stored = 0
    for patient in patients:
        course = courses.latest_course(session, patient_id=patient.id)
        if course is None:
            continue
        # The address is shown only when a clinician creates a link; the demo needs none.
        issued = service.issue_link(session, nurse, base_url="", patient_id=patient.id,
                                    created_by_user_id=nurse.actor_user_id or 0)
        if course.state is not CourseState.ACTIVE:
            continue
        # The demo's story starts before the patient was registered today: say it did not.
        patient.created_at = utcnow() - timedelta(days=DAYS + 14)
        course_days_ago = (clinic_day(utcnow(), "UTC") - course.start_on).days
        for days_ago in range(DAYS, -1, -1):
            if days_ago in MISSED:
                continue
            by_link = days_ago < 7  # the last week through the patient's own link
            service.record_entry(
                session, ctx if by_link else nurse, patient_id=patient.id,
                data=_day(days_ago, course_days_ago), zone="UTC",
                link=issued.link if by_link else None,
                entered_by_user_id=None if by_link else nurse.actor_user_id)
            stored += 1
    return stored
