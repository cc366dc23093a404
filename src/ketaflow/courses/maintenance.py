"""The maintenance plan: planned boosters after the induction, moved earlier when warnings rise,
each confirmed by a prescriber. Services never commit; every change is audited (ids only).

The boosters come from `ketaflow.clinical.course_plan.suggest_maintenance` with the clinic's
taper settings (a suggestion, no standard). A booster's taper date (`planned_on`) is never
changed: an earlier date suggested by a relapse signal or a low forecast is stored beside it
with its reason, and the prescriber's one-button confirmation fixes the date in force.
"""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.service import AuditContext, record_event
from ketaflow.auth.models import StaffUser
from ketaflow.auth.permissions import Permission, role_has
from ketaflow.clinical import course_plan
from ketaflow.clinical.course_plan import CourseState, TaperSettings
from ketaflow.courses.models import BoosterState, MaintenanceBooster, TreatmentCourse
from ketaflow.db import utcnow
from ketaflow.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ketaflow.mood.settings import MoodSettings
from ketaflow.settings.service import settings_in_force

ENTITY = "maintenance_booster"
# A course whose boosters can be planned: the induction is running or done.
PLANNABLE_STATES = frozenset({CourseState.ACTIVE, CourseState.MAINTENANCE, CourseState.PAUSED})
# Boosters that are still ahead (not given, not cancelled).
_AHEAD = (BoosterState.SUGGESTED, BoosterState.CONFIRMED)
MAX_REASON = 1000  # characters, for every reason typed on a course (state changes too)


def taper_settings(mood: MoodSettings) -> TaperSettings:
    return TaperSettings(weekly_count=mood.taper_weekly_count,
                         fortnightly_count=mood.taper_fortnightly_count,
                         extended_interval_weeks=mood.taper_extended_interval_weeks,
                         extended_count=mood.taper_extended_count)


def _course(db: Session, course_id: int) -> TreatmentCourse:
    course = db.get(TreatmentCourse, course_id)
    if course is None:
        raise NotFound("no such treatment course")
    return course


def boosters(db: Session, *, course_id: int) -> list[MaintenanceBooster]:
    """A course's boosters in taper order (not audited: callers audit what they show)."""
    return list(db.scalars(select(MaintenanceBooster).where(
        MaintenanceBooster.course_id == course_id).order_by(MaintenanceBooster.sequence)))


def plan_maintenance(db: Session, ctx: AuditContext, *, course_id: int) -> list[MaintenanceBooster]:
    """Store the taper's boosters after the last planned induction infusion, each suggested
    (waiting for a prescriber's confirmation). Refused when already planned."""
    course = _course(db, course_id)
    if course.state not in PLANNABLE_STATES:
        raise Conflict(f"a {course.state.value} course cannot get a maintenance plan",
                       field="state")
    if boosters(db, course_id=course_id):
        raise Conflict("maintenance is already planned for this course")
    last = course_plan.planned_dates(course.start_on, course.infusion_count, course.frequency,
                                     skip_weekends=course.skip_weekends)[-1]
    taper = taper_settings(settings_in_force(db, utcnow()).mood)
    rows = [MaintenanceBooster(course_id=course_id, sequence=n, planned_on=visit.on,
                               phase=visit.phase, state=BoosterState.SUGGESTED,
                               created_at=utcnow())
            for n, visit in enumerate(course_plan.suggest_maintenance(last, taper).visits, 1)]
    db.add_all(rows)
    db.flush()
    record_event(db, ctx, action="course.maintenance.plan", entity_type="treatment_course",
                 entity_id=course_id, detail={"patient_id": course.patient_id,
                                              "booster_ids": [b.id for b in rows]})
    return rows


def plan_if_missing(db: Session, ctx: AuditContext, *, course_id: int) -> None:
    """On the move to maintenance: plan the boosters unless the course has them already."""
    if not boosters(db, course_id=course_id):
        plan_maintenance(db, ctx, course_id=course_id)


def weekday_near(day: date, today: date, *, skip_weekends: bool) -> date:
    """A weekday for a course that skips weekends: the Friday before (sooner is the point of
    moving a booster), or the Monday after when that Friday is not after today."""
    if not skip_weekends or day.weekday() < course_plan.SATURDAY:
        return day
    friday = day - timedelta(days=day.weekday() - 4)
    return friday if friday > today else day + timedelta(days=7 - day.weekday())


def _maintenance_course(db: Session, patient_id: int) -> TreatmentCourse | None:
    return db.scalar(select(TreatmentCourse).where(
        TreatmentCourse.patient_id == patient_id,
        TreatmentCourse.state == CourseState.MAINTENANCE).order_by(TreatmentCourse.id.desc()))


def suggest_earlier(db: Session, ctx: AuditContext, *, patient_id: int, today: date,
                    reason: str, within_days: int) -> MaintenanceBooster | None:
    """Suggest the next unconfirmed booster of the patient's maintenance course within
    `within_days` of today, with the reason beside the planned date.

    Nothing changes when the patient is seen soon enough anyway (the next booster ahead is
    due by then), when the next booster is already confirmed (the prescriber decided its date),
    or when it already carries a suggestion (never overwritten: the prescriber decides on the
    first one)."""
    course = _maintenance_course(db, patient_id)
    if course is None:
        return None
    target = weekday_near(today + timedelta(days=within_days), today,
                          skip_weekends=course.skip_weekends)
    ahead = sorted((b for b in boosters(db, course_id=course.id)
                    if b.state in _AHEAD and b.due_on >= today), key=lambda b: b.due_on)
    if not ahead or ahead[0].due_on <= target:
        return None
    booster = ahead[0]
    if booster.state is not BoosterState.SUGGESTED or booster.earlier_on is not None:
        return None
    booster.earlier_on, booster.earlier_reason = target, reason
    booster.earlier_suggested_at = utcnow()
    db.flush()
    record_event(db, ctx, action="course.booster.suggest_earlier", entity_type=ENTITY,
                 entity_id=booster.id, detail={"patient_id": patient_id,
                                               "course_id": course.id})
    return booster


def confirm_booster(db: Session, ctx: AuditContext, *, course_id: int, booster_id: int,
                    user_id: int, take_earlier: bool, zone: str) -> MaintenanceBooster:
    """A prescriber fixes a suggested booster's date: the suggested earlier one, or the planned
    one. Confirmed boosters appear on the day's list on that date."""
    user = _prescriber(db, user_id, "confirm")
    booster = _booster(db, course_id, booster_id)
    if booster.state is not BoosterState.SUGGESTED:
        raise Conflict(f"this booster is already {booster.state.value}")
    if take_earlier and booster.earlier_on is None:
        raise ValidationFailed("this booster has no earlier date suggested: keep the planned "
                               "date", field="choice")
    today = utcnow().astimezone(ZoneInfo(zone)).date()
    chosen = booster.earlier_on if take_earlier and booster.earlier_on else booster.planned_on
    if chosen < today:
        raise ValidationFailed(f"Booster date {chosen.isoformat()} has passed (today is "
                               f"{today.isoformat()})", field="choice")
    booster.state, booster.confirmed_on = BoosterState.CONFIRMED, chosen
    booster.confirmed_by_user_id, booster.confirmed_at = user.id, utcnow()
    db.flush()
    _audit(db, ctx, "course.booster.confirm", booster, earlier=bool(take_earlier))
    return booster


def _prescriber(db: Session, user_id: int, doing: str) -> StaffUser:
    user = db.get(StaffUser, user_id)
    if user is None or not user.is_active or not role_has(user.role, Permission.COURSES_MANAGE):
        raise PermissionDenied(f"only a prescriber can {doing} a booster")
    return user


def cancel_booster(db: Session, ctx: AuditContext, *, course_id: int, booster_id: int,
                   user_id: int, reason: str) -> MaintenanceBooster:
    """A prescriber cancels a booster still ahead (suggested or confirmed), saying why; it
    leaves the day's list and the life chart. The row stays, with who, when and why."""
    user = _prescriber(db, user_id, "cancel")
    booster = _booster(db, course_id, booster_id)
    if booster.state not in _AHEAD:
        raise Conflict(f"this booster is already {booster.state.value}")
    why = reason.strip()
    if not why:
        raise ValidationFailed("Say why the booster is cancelled", field="cancel_reason")
    if len(why) > MAX_REASON:
        raise ValidationFailed(f"The reason must be at most {MAX_REASON} characters",
                               field="cancel_reason")
    booster.state, booster.cancel_reason = BoosterState.CANCELLED, why
    booster.cancelled_by_user_id, booster.cancelled_at = user.id, utcnow()
    db.flush()
    _audit(db, ctx, "course.booster.cancel", booster)
    return booster


def mark_given(db: Session, ctx: AuditContext, *, course_id: int, session_id: int
               ) -> MaintenanceBooster | None:
    """An infusion of a maintenance course was given (its patient discharged): the next
    booster ahead is the one given, whatever its date (an infusion given early or late is
    still the next in the taper). Nothing changes for a course not in maintenance, or one
    with no booster ahead."""
    course = _course(db, course_id)
    if course.state is not CourseState.MAINTENANCE:
        return None
    ahead = [b for b in boosters(db, course_id=course_id) if b.state in _AHEAD]
    if not ahead:
        return None
    booster = min(ahead, key=lambda b: (b.due_on, b.sequence))
    booster.state, booster.given_session_id, booster.given_at = (
        BoosterState.GIVEN, session_id, utcnow())
    db.flush()
    _audit(db, ctx, "course.booster.given", booster, session_id=session_id)
    return booster


def _booster(db: Session, course_id: int, booster_id: int) -> MaintenanceBooster:
    booster = db.get(MaintenanceBooster, booster_id)
    if booster is None or booster.course_id != course_id:
        raise NotFound("no such booster for this course")
    return booster


def _audit(db: Session, ctx: AuditContext, action: str, booster: MaintenanceBooster,
           **detail: object) -> None:
    course = _course(db, booster.course_id)
    record_event(db, ctx, action=action, entity_type=ENTITY, entity_id=booster.id,
                 detail={"patient_id": course.patient_id, "course_id": course.id, **detail})


def confirmed_between(db: Session, *, patient_id: int, start: date, end: date
                      ) -> list[MaintenanceBooster]:
    """The patient's confirmed boosters due in [start, end] (the life chart's planned
    markers; not audited: the chart's read is)."""
    return [b for b in db.scalars(
        select(MaintenanceBooster).join(TreatmentCourse,
                                        TreatmentCourse.id == MaintenanceBooster.course_id)
        .where(TreatmentCourse.patient_id == patient_id,
               MaintenanceBooster.state == BoosterState.CONFIRMED)
        .order_by(MaintenanceBooster.confirmed_on))
        if b.confirmed_on is not None and start <= b.confirmed_on <= end]
