"""What the scores need from treatment courses: which course a rating belongs to, what bounds
the baseline (the first infusion's start, the course's baseline date, the prescriber's fallback),
and the days to mark on the chart.

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
from ketaflow.scales.longitudinal import BaselineFallback

PLANNED_LABEL = "planned infusion"
GIVEN_LABEL = "infusion"


@dataclass(frozen=True)
class CourseMarkers:
    course_id: int | None = None
    course_start: datetime | None = None  # where the chart draws the course start
    # The baseline is the last rating before the first infusion started (before any is recorded,
    # before the planned first infusion day) and by the end of the course's baseline date, when
    # one is set: `longitudinal.course_baseline`.
    first_infusion_at: datetime | None = None
    baseline_by: datetime | None = None
    fallback: BaselineFallback | None = None
    days: tuple[date, ...] = ()
    label: str | None = None


def baseline_by(course: TreatmentCourse) -> datetime | None:
    """The end of the course's baseline date when one is set ("compared against the rating on
    or before this date"); ratings must also precede the first infusion's start."""
    if course.baseline_on is None:
        return None
    return datetime.combine(course.baseline_on, time.max, UTC)





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
    return markers_for(session, course)


def markers_for(session: Session, course: TreatmentCourse) -> CourseMarkers:
    """The markers (and baseline bounds) of one course."""
    start = datetime.combine(course.start_on, time(0), UTC)
    started = session.scalars(
        select(InfusionSession.started_at)
        .where(InfusionSession.course_id == course.id, InfusionSession.started_at.is_not(None)))
    moments = sorted(moment for moment in started if moment is not None)
    given = tuple(sorted({moment.date() for moment in moments}))
    # Before any session is recorded, the planned first infusion day bounds the baseline from
    # its very start: a rating that day might follow an infusion not yet recorded here.
    first = moments[0] if moments else start
    if given:
        return CourseMarkers(course.id, start, first, baseline_by(course),
                             course.baseline_fallback, given, GIVEN_LABEL)
    days = planned_dates(course.start_on, course.infusion_count, course.frequency,
                         skip_weekends=course.skip_weekends)
    return CourseMarkers(course.id, start, first, baseline_by(course), course.baseline_fallback,
                         days, PLANNED_LABEL)


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
