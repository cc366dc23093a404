"""Demo screenings, consents and courses: built through the services, at different stages."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ketaflow.clinical.course_plan import CourseState
from ketaflow.clinical.eligibility import Outcome
from ketaflow.config import Role
from ketaflow.courses.demo import seed_courses
from ketaflow.patients.demo import seed_patients
from ketaflow.screening.demo import seed_screenings
from ketaflow.screening.models import ScreeningStatus
from tests.support.factories import SYSTEM, make_user


def test_demo_has_courses_at_different_stages(db: Session) -> None:
    make_user(db, role=Role.PRESCRIBER)
    make_user(db, role=Role.NURSE)
    patients = seed_patients(db, SYSTEM)
    screenings = seed_screenings(db, SYSTEM, patients)
    courses = seed_courses(db, SYSTEM, patients)
    assert [s.outcome for s in screenings] == [
        Outcome.ELIGIBLE, Outcome.ELIGIBLE_WITH_CAUTIONS, Outcome.ELIGIBLE_WITH_CAUTIONS,
        Outcome.INCOMPLETE, Outcome.NOT_ELIGIBLE]
    assert [s.status for s in screenings].count(ScreeningStatus.DRAFT) == 1
    assert [(c.patient_id, c.state) for c in courses] == [
        (patients[0].id, CourseState.ACTIVE), (patients[1].id, CourseState.PLANNED)]
    assert all(s.signed_by_user_id is not None for s in screenings if s.is_signed)
