"""Demo outcomes (`ketaflow demo seed`): finished inductions with MADRS before the first
infusion and after the last, so the dashboard shows response, remission, a Kaplan-Meier curve
and a funnel with a drop-out after `make run`.

Four further patients get a course that started weeks ago, given through the infusion demo
(real sessions: vitals, CADSS-6, discharge), and end completed, in maintenance, completed
without response, or stopped after two infusions. The two maintenance courses already seeded
get their MADRS too. Everything goes through the services, like real entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.assessments import service as assessments
from ketaflow.audit.service import AuditContext
from ketaflow.clinical.course_plan import CourseState, Frequency
from ketaflow.config import Role
from ketaflow.courses import service as courses
from ketaflow.courses.models import TreatmentCourse
from ketaflow.db import utcnow
from ketaflow.infusions.demo import seed_given_infusions
from ketaflow.infusions.models import InfusionSession
from ketaflow.patients import service as patients
from ketaflow.patients.demo import seed_day_patients
from ketaflow.patients.diagnosis_codes import BipolarType, Episode, Severity
from ketaflow.patients.models import Patient, SubstanceUse
from ketaflow.scales import get_instrument
from ketaflow.screening.demo import seed_ready_screenings, staff_context

_SKIP = 10  # the day patients before these (clinic day and maintenance)


@dataclass(frozen=True)
class _Story:
    started_days_ago: int
    given: int
    madrs: tuple[int, ...]  # baseline, then after infusions 2, 4 and the last, then the end
    end: CourseState
    bipolar: BipolarType


_STORIES = (
    _Story(70, 6, (30, 24, 16, 10, 9), CourseState.COMPLETED, BipolarType.BIPOLAR_II),
    _Story(55, 6, (34, 27, 21, 16, 15), CourseState.MAINTENANCE, BipolarType.BIPOLAR_I),
    _Story(45, 6, (28, 26, 25, 23, 22), CourseState.COMPLETED, BipolarType.BIPOLAR_I),
    _Story(40, 2, (29, 24), CourseState.STOPPED, BipolarType.BIPOLAR_II),
)
_STOP_REASON = "patient moved away after the second infusion"
# The maintenance courses (seeded before): baseline and the day after the last infusion.
_MAINTENANCE_MADRS = ((30, 10), (27, 13))


def _madrs(total: int) -> dict[str, int | None]:
    """MADRS answers adding up to `total`, item 10 (suicidal thoughts) at 0."""
    items = get_instrument("madrs").asked_items
    scores = [0] * len(items)
    remaining, i = total, 0
    while remaining:
        if scores[i % 9] < 6:
            scores[i % 9] += 1
            remaining -= 1
        i += 1
    return {item.id: score for item, score in zip(items, scores, strict=True)}


def _rate(db: Session, ctx: AuditContext, patient_id: int, total: int, at: datetime) -> None:
    assert ctx.actor_user_id is not None
    assessments.record_assessment(db, ctx, patient_id=patient_id, instrument_id="madrs",
                                  answers=_madrs(total),
                                  rater=assessments.Rater.staff(ctx.actor_user_id), rated_at=at)


def _infusion_starts(db: Session, course_id: int) -> list[datetime]:
    return [moment for moment in db.scalars(
        select(InfusionSession.started_at).where(InfusionSession.course_id == course_id,
                                                 InfusionSession.started_at.is_not(None))
        .order_by(InfusionSession.started_at)) if moment is not None]


def _diagnose(db: Session, ctx: AuditContext, patient: Patient, kind: BipolarType) -> None:
    if kind is BipolarType.BIPOLAR_I:
        return  # the template patient's diagnosis
    patients.record_diagnosis(db, ctx, patient_id=patient.id, reason="reviewed at screening",
                              diagnosis=patients.DiagnosisInput(
                                  bipolar_type=kind, current_episode=Episode.DEPRESSED,
                                  severity=Severity.MODERATE, psychosis_history=False,
                                  substance_use=SubstanceUse.NONE, suicide_attempts=0))


def _story(db: Session, ctx: AuditContext, patient: Patient, story: _Story) -> None:
    prescriber = staff_context(db, Role.PRESCRIBER, ctx)
    today = utcnow().date()
    start = today - timedelta(days=story.started_days_ago)
    _diagnose(db, prescriber, patient, story.bipolar)
    course = courses.plan_course(db, prescriber, patient_id=patient.id, entry=courses.CourseEntry(
        start_on=start, frequency=Frequency.EVERY_2_DAYS, skip_weekends=False))
    courses.change_course_state(db, prescriber, course_id=course.id, target=CourseState.ACTIVE)
    days = [start + timedelta(days=2 * n) for n in range(story.given)]
    _rate(db, prescriber, patient.id, story.madrs[0], _at(days[0], time(8, 30)))
    seed_given_infusions(db, ctx, course_id=course.id, days=days)
    # After the second, fourth and last infusion (discharge is about 11:00), then a day later.
    after = [days[n] for n in (1, 3, len(days) - 1) if n < len(days)]
    for total, day in zip(story.madrs[1:], after, strict=False):
        _rate(db, prescriber, patient.id, total, _at(day, time(12)))
    if len(story.madrs) > len(after) + 1:
        _rate(db, prescriber, patient.id, story.madrs[-1], _at(days[-1] + timedelta(days=1),
                                                                 time(10)))
    if story.end is CourseState.COMPLETED:
        courses.change_course_state(db, prescriber, course_id=course.id,
                                    target=CourseState.MAINTENANCE)
    courses.change_course_state(db, prescriber, course_id=course.id, target=story.end,
                                reason=_STOP_REASON if story.end is CourseState.STOPPED else None)


def _at(day: date, clock: time) -> datetime:
    return datetime.combine(day, clock, UTC)


def _maintenance_ratings(db: Session, ctx: AuditContext) -> None:
    prescriber = staff_context(db, Role.PRESCRIBER, ctx)
    kept = db.scalars(select(TreatmentCourse).where(
        TreatmentCourse.state == CourseState.MAINTENANCE).order_by(TreatmentCourse.id)).all()
    for course, (baseline, end) in zip(kept, _MAINTENANCE_MADRS, strict=False):
        starts = _infusion_starts(db, course.id)
        if len(starts) < course.infusion_count:
            continue
        _rate(db, prescriber, course.patient_id, baseline, starts[0] - timedelta(minutes=40))
        day_after = starts[course.infusion_count - 1] + timedelta(days=1)
        _rate(db, prescriber, course.patient_id, end, min(day_after, utcnow()))


def seed_outcomes(db: Session, ctx: AuditContext) -> None:
    """The finished courses and the maintenance courses' MADRS (after `seed_maintenance`)."""
    _maintenance_ratings(db, ctx)
    people = seed_day_patients(db, ctx, count=len(_STORIES), skip=_SKIP)
    for patient, story in zip(people, _STORIES, strict=True):
        seed_ready_screenings(db, ctx, [patient], consented_days_ago=story.started_days_ago + 3)
        patient.created_at = utcnow() - timedelta(days=story.started_days_ago + 5)
        _story(db, ctx, patient, story)
