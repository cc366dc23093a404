"""What the scores need from treatment courses: which course a rating belongs to, the course
start that anchors the baseline, and the days to mark on the chart.

The chart marks the days an infusion session of the course was started; before the first one it
marks the course's *planned* infusion days (from `clinical.course_plan.planned_dates`, as the
course itself does).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.clinical.course_plan import planned_dates
from ketaflow.courses.models import TreatmentCourse
from ketaflow.errors import ValidationFailed
from ketaflow.infusions.models import InfusionSession

PLANNED_LABEL = "planned infusion"
GIVEN_LABEL = "infusion"


@dataclass(frozen=True)
class CourseMarkers:
    course_id: int | None = None
    course_start: datetime | None = None  # where the chart draws the course start
    baseline_at: datetime | None = None  # ratings at or before this are baseline candidates
    days: tuple[date, ...] = ()
    label: str | None = None


def baseline_moment(course: TreatmentCourse) -> datetime:
    """The end of the course's baseline day (the first infusion day unless set otherwise).

    The course records its baseline as a date, "compared against the rating on or before this
    date", so a rating any time that day counts; `longitudinal.course_baseline` takes the last
    rating at or before this moment (or, without one, the first rating after it).
    """
    return datetime.combine(course.baseline_on or course.start_on, time.max, UTC)


def latest_course(session: Session, *, patient_id: int) -> TreatmentCourse | None:
    return session.scalar(
        select(TreatmentCourse)
        .where(TreatmentCourse.patient_id == patient_id)
        .order_by(TreatmentCourse.start_on.desc(), TreatmentCourse.id.desc())
        .limit(1))


def course_markers(session: Session, *, patient_id: int) -> CourseMarkers:
    """Markers of the patient's most recent course, or none without a course."""
    course = latest_course(session, patient_id=patient_id)
    if course is None:
        return CourseMarkers()
    start = datetime.combine(course.start_on, time(0), UTC)
    started = session.scalars(
        select(InfusionSession.started_at)
        .where(InfusionSession.course_id == course.id, InfusionSession.started_at.is_not(None)))
    given = tuple(sorted({moment.date() for moment in started if moment is not None}))
    if given:
        return CourseMarkers(course.id, start, baseline_moment(course), given, GIVEN_LABEL)
    days = planned_dates(course.start_on, course.infusion_count, course.frequency,
                         skip_weekends=course.skip_weekends)
    return CourseMarkers(course.id, start, baseline_moment(course), days, PLANNED_LABEL)


def course_for_rating(session: Session, *, patient_id: int, course_id: int | None,
                      rated_at: datetime) -> int | None:
    """The course to link a rating to: the one given (it must be the patient's), or else the
    patient's latest course that had started by the rating day (None before any course)."""
    if course_id is not None:
        course = session.get(TreatmentCourse, course_id)
        if course is None or course.patient_id != patient_id:
            raise ValidationFailed("no such treatment course for this patient", field="course_id")
        return course.id
    return session.scalar(
        select(TreatmentCourse.id)
        .where(TreatmentCourse.patient_id == patient_id,
               TreatmentCourse.start_on <= rated_at.date())
        .order_by(TreatmentCourse.start_on.desc(), TreatmentCourse.id.desc())
        .limit(1))
