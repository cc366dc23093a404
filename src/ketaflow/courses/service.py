"""Treatment-course use cases: plan a course, move it through its states, set its baseline, read.

A course starts only from the patient's current signed screening with an eligible outcome (or
eligible with cautions) and a recorded informed consent dated on or before the first infusion;
each refusal names the reason. The plan itself (dates, dose and cap within the clinic hard
limits, allowed state changes) is `ketaflow.clinical.course_plan`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ketaflow.audit.service import AuditContext, record_event
from ketaflow.clinical import course_plan, dates
from ketaflow.clinical.course_plan import (
    CoursePlanError,
    CoursePlanInput,
    CourseState,
    CourseTransitionError,
    Frequency,
    MaintenanceSuggestion,
)
from ketaflow.courses import maintenance
from ketaflow.courses.models import CourseStateChange, MaintenanceBooster, TreatmentCourse
from ketaflow.db import utcnow
from ketaflow.dosing.limits import DosingLimits
from ketaflow.errors import Conflict, NotFound, ValidationFailed
from ketaflow.patients.models import Patient
from ketaflow.scales.longitudinal import BaselineFallback
from ketaflow.screening.models import Consent, Screening
from ketaflow.screening.service import current_signed_screening, latest_consent
from ketaflow.settings.service import settings_in_force

ENTITY = "patient"
OPEN_STATES = frozenset({CourseState.PLANNED, CourseState.ACTIVE, CourseState.MAINTENANCE,
                         CourseState.PAUSED})
MAX_REASON = maintenance.MAX_REASON


@dataclass(frozen=True)
class CourseEntry:
    start_on: date
    infusion_count: int = course_plan.DEFAULT_INFUSION_COUNT
    frequency: Frequency = Frequency.MON_WED_FRI
    skip_weekends: bool = True
    dose_mg_per_kg: float = course_plan.DEFAULT_DOSE_MG_PER_KG
    # None: the clinic's soft maximum dose in force when the course is planned.
    max_dose_mg: float | None = None
    # The course baseline for the rating scales; the first infusion day when not given.
    baseline_on: date | None = None


@dataclass(frozen=True)
class Readiness:
    """What a new course would start from, and why it cannot (empty when it can)."""

    screening: Screening | None
    consent: Consent | None
    open_course: TreatmentCourse | None
    problems: tuple[str, ...]

    @property
    def ready(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class PlannedInfusion:
    number: int
    on: date
    # Infusion sessions are recorded by a later issue; until then every date is "planned".
    status: str = "planned"


@dataclass(frozen=True)
class CourseView:
    course: TreatmentCourse
    infusions: tuple[PlannedInfusion, ...]
    warnings: tuple[str, ...]
    allowed: tuple[CourseState, ...]
    maintenance: MaintenanceSuggestion
    boosters: tuple[MaintenanceBooster, ...] = ()


def course_readiness(session: Session, *, patient_id: int) -> Readiness:
    """Check the preconditions for a new course (unaudited: callers audit their read)."""
    screening = current_signed_screening(session, patient_id=patient_id)
    consent = latest_consent(session, patient_id=patient_id)
    open_course = _open_course(session, patient_id)
    problems = []
    if screening is None:
        problems.append("no signed screening: a prescriber must sign an eligibility screening "
                        "first")
    elif not screening.outcome.allows_course:
        problems.append(f"the signed screening's outcome is {screening.outcome.label}: a course "
                        "needs an eligible screening")
    if consent is None:
        problems.append("no informed consent is recorded for off-label ketamine treatment")
    if open_course is not None:
        problems.append(f"course {open_course.id} is still {open_course.state.value}: complete "
                        "or stop it first")
    return Readiness(screening, consent, open_course, tuple(problems))


def plan_course(
    session: Session, ctx: AuditContext, *, patient_id: int, entry: CourseEntry
) -> TreatmentCourse:
    if session.get(Patient, patient_id) is None:
        raise NotFound("no such patient")
    readiness = course_readiness(session, patient_id=patient_id)
    if not readiness.ready:
        raise Conflict("a course cannot start: " + "; ".join(readiness.problems))
    assert readiness.screening is not None and readiness.consent is not None
    today = utcnow().date()
    dates.planned_date(entry.start_on, today=today, field="start_on",
                       label="the first infusion date")
    if entry.baseline_on is not None:
        dates.planned_date(entry.baseline_on, today=today, field="baseline_on",
                           label="the baseline date")
    plan = _validated_plan(entry, dosing_limits(session, utcnow()))
    if readiness.consent.consented_on > entry.start_on:
        raise ValidationFailed("the first infusion cannot be before the consent date",
                               field="start_on")
    if entry.baseline_on is not None and entry.baseline_on > plan.planned_dates[0]:
        raise ValidationFailed("the baseline must be on or before the first infusion",
                               field="baseline_on")
    course = TreatmentCourse(
        patient_id=patient_id, screening_id=readiness.screening.id,
        consent_id=readiness.consent.id, state=CourseState.PLANNED,
        infusion_count=entry.infusion_count, frequency=entry.frequency,
        skip_weekends=entry.skip_weekends, start_on=entry.start_on,
        dose_mg_per_kg=plan.dose_mg_per_kg, max_dose_mg=plan.max_dose_mg,
        salt_form=plan.salt_form, baseline_on=entry.baseline_on or plan.planned_dates[0],
        recorded_by_user_id=ctx.actor_user_id,
        changes=[CourseStateChange(from_state=None, to_state=CourseState.PLANNED,
                                   changed_by_user_id=ctx.actor_user_id)],
    )
    session.add(course)
    session.flush()
    _audit(session, ctx, "course.plan", course, screening_id=readiness.screening.id,
           consent_id=readiness.consent.id)
    return course


def change_course_state(
    session: Session, ctx: AuditContext, *, course_id: int, target: CourseState,
    reason: str | None = None,
) -> TreatmentCourse:
    course = _load(session, course_id)
    why = (reason or "").strip() or None
    if why is not None and len(why) > MAX_REASON:
        raise ValidationFailed(f"the reason must be at most {MAX_REASON} characters",
                               field="reason")
    try:
        course_plan.check_transition(course.state, target, reason=why)
    except CourseTransitionError as exc:
        if target in course_plan.REASON_REQUIRED and why is None \
                and target in course_plan.TRANSITIONS[course.state]:
            raise ValidationFailed(str(exc), field="reason") from None
        # A move the course's current state does not allow: a state conflict.
        raise Conflict(str(exc), field="state") from None
    previous = course.state
    course.state, course.state_changed_at = target, utcnow()
    course.changes.append(CourseStateChange(from_state=previous, to_state=target, reason=why,
                                            changed_by_user_id=ctx.actor_user_id))
    session.flush()
    _audit(session, ctx, "course.state", course, from_state=previous.value,
           to_state=target.value)
    if target is CourseState.MAINTENANCE:
        maintenance.plan_if_missing(session, ctx, course_id=course.id)
    return course


def set_course_baseline(
    session: Session, ctx: AuditContext, *, course_id: int, baseline_on: date
) -> TreatmentCourse:
    course = _load(session, course_id)
    if course.state not in OPEN_STATES:
        raise Conflict(f"a {course.state.value} course is closed; its baseline is kept")
    dates.planned_date(baseline_on, today=utcnow().date(), field="baseline_on",
                       label="the baseline date")
    first = course_plan.planned_dates(course.start_on, course.infusion_count, course.frequency,
                                      skip_weekends=course.skip_weekends)[0]
    if baseline_on > first:
        raise ValidationFailed("the baseline must be on or before the first infusion",
                               field="baseline_on")
    course.baseline_on = baseline_on
    session.flush()
    _audit(session, ctx, "course.baseline", course)
    return course


def set_baseline_fallback(
    session: Session, ctx: AuditContext, *, course_id: int, fallback: BaselineFallback | None
) -> TreatmentCourse:
    """A prescriber's choice for a course with no pre-treatment rating: compare with a
    labelled post-treatment baseline (`fallback`), or not at all (None). Who and when are kept
    on the course and in the audit trail; closed courses may be labelled too (for reports)."""
    if ctx.actor_user_id is None:
        raise ValidationFailed("a prescriber must choose the baseline fallback",
                               field="baseline_fallback")
    course = _load(session, course_id)
    previous = course.baseline_fallback
    course.baseline_fallback = fallback
    course.baseline_fallback_at = utcnow()
    course.baseline_fallback_by_user_id = ctx.actor_user_id
    session.flush()
    _audit(session, ctx, "course.baseline_fallback", course,
           previous=None if previous is None else previous.value,
           fallback=None if fallback is None else fallback.value)
    return course


def read_course(session: Session, ctx: AuditContext, *, course_id: int) -> CourseView:
    """The course with its planned dates and history, audited as a patient-record read."""
    course = _load(session, course_id)
    # Laid out with the limits in force when the course was planned: a later change of a
    # limit never makes an existing course unreadable or rewrites its plan.
    plan = _validated_plan(CourseEntry(
        start_on=course.start_on, infusion_count=course.infusion_count,
        frequency=course.frequency, skip_weekends=course.skip_weekends,
        dose_mg_per_kg=course.dose_mg_per_kg, max_dose_mg=course.max_dose_mg),
        dosing_limits(session, course.recorded_at))
    infusions = tuple(PlannedInfusion(n, on) for n, on in enumerate(plan.planned_dates, start=1))
    _audit(session, ctx, "course.read", course)
    taper = maintenance.taper_settings(settings_in_force(session, utcnow()).mood)
    return CourseView(course, infusions, plan.warnings, course_plan.TRANSITIONS[course.state],
                      course_plan.suggest_maintenance(plan.planned_dates[-1], taper),
                      tuple(maintenance.boosters(session, course_id=course.id)))


def list_courses(session: Session, ctx: AuditContext, *, patient_id: int) -> list[TreatmentCourse]:
    """The patient's courses, newest first, audited."""
    if session.get(Patient, patient_id) is None:
        raise NotFound("no such patient")
    query = (select(TreatmentCourse).where(TreatmentCourse.patient_id == patient_id)
             .order_by(TreatmentCourse.id.desc()))
    courses = list(session.scalars(query))
    record_event(session, ctx, action="course.list", entity_type=ENTITY, entity_id=patient_id,
                 detail={"count": len(courses)})
    return courses


def dosing_limits(session: Session, at: datetime) -> DosingLimits:
    """The clinic's dosing limits in force at `at`."""
    return settings_in_force(session, at).dosing


def _validated_plan(entry: CourseEntry, limits: DosingLimits) -> course_plan.CoursePlan:
    cap = limits.soft_max_mg if entry.max_dose_mg is None else entry.max_dose_mg
    try:
        return course_plan.plan_course(CoursePlanInput(
            start_on=entry.start_on, infusion_count=entry.infusion_count,
            frequency=entry.frequency, skip_weekends=entry.skip_weekends,
            dose_mg_per_kg=entry.dose_mg_per_kg, max_dose_mg=cap), limits=limits)
    except CoursePlanError as exc:
        raise ValidationFailed(_worded(str(exc)), field=exc.field) from None


# The course form's labels: the plan core names its inputs as Python does ("dose_mg_per_kg
# 2.5 mg/kg exceeds ..."); the page and the API's detail say what the form says.
_PLAN_LABELS = {"dose_mg_per_kg": "Dose (mg/kg)", "max_dose_mg": "Maximum dose per infusion (mg)",
                "infusion_count": "Number of infusions", "start_on": "First infusion date",
                "frequency": "Frequency"}
_PLAN_NAME = re.compile(r"\b(" + "|".join(_PLAN_LABELS) + r")\b")


def _worded(message: str) -> str:
    return _PLAN_NAME.sub(lambda m: _PLAN_LABELS[m.group(1)], message)


def _open_course(session: Session, patient_id: int) -> TreatmentCourse | None:
    query = select(TreatmentCourse).where(TreatmentCourse.patient_id == patient_id,
                                          TreatmentCourse.state.in_(list(OPEN_STATES)))
    return session.scalar(query.order_by(TreatmentCourse.id.desc()).limit(1))


def _load(session: Session, course_id: int) -> TreatmentCourse:
    query = (select(TreatmentCourse).where(TreatmentCourse.id == course_id)
             .options(selectinload(TreatmentCourse.changes)))
    course = session.scalar(query)
    if course is None:
        raise NotFound("no such course")
    return course


def _audit(
    session: Session, ctx: AuditContext, action: str, course: TreatmentCourse, **detail: object
) -> None:
    record_event(session, ctx, action=action, entity_type=ENTITY, entity_id=course.patient_id,
                 detail={"course_id": course.id, **detail})


@dataclass(frozen=True)
class CourseSummary:
    courses: list[TreatmentCourse]
    readiness: Readiness


def course_summary(session: Session, ctx: AuditContext, *, patient_id: int) -> CourseSummary:
    """The patient page's course section: every course and whether a new one may start."""
    courses = list_courses(session, ctx, patient_id=patient_id)
    return CourseSummary(courses, course_readiness(session, patient_id=patient_id))
