"""The maintenance plan on both databases: boosters from the taper when a course moves to
maintenance, the next unconfirmed one moved earlier by a relapse (beside its planned date, never
overwritten), the prescriber's confirmation, and confirmed boosters on the day's list."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.alerts import mood
from ketaflow.audit.models import AuditEvent
from ketaflow.clinical import course_plan
from ketaflow.clinical.course_plan import CourseState
from ketaflow.courses import maintenance
from ketaflow.courses import service as courses
from ketaflow.courses.models import BoosterState, MaintenanceBooster, TreatmentCourse
from ketaflow.db import utcnow
from ketaflow.errors import Conflict, PermissionDenied, ValidationFailed
from ketaflow.infusions import service as infusions
from ketaflow.infusions.models import InfusionSession
from ketaflow.infusions.rules import SessionStatus
from ketaflow.moodchart.models import MoodEntry
from ketaflow.moodchart.service import chart_view
from tests.infusions.factories import Clinic, given_and_discharged, make_clinic, make_course
from tests.patients.factories import make_patient

ZONE = "UTC"


def today() -> date:
    return datetime.now(UTC).date()


def soon() -> date:
    """The earlier date a relapse suggests: within 3 days (the default), a weekday for a
    course that skips weekends (the Friday before, else the Monday after)."""
    day = today() + timedelta(days=3)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    if day > today():
        return day
    day = today() + timedelta(days=3)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def course_in_maintenance(db: Session, clinic: Clinic, *, ended_days_ago: int = 2
                          ) -> TreatmentCourse:
    """A course whose induction ended a few days ago, moved to maintenance by the prescriber."""
    patient = make_patient(db)
    patient.created_at = utcnow() - timedelta(days=200)
    course = make_course(db, clinic, patient=patient)
    # Start so that the last induction date is `ended_days_ago` back (Mon/Wed/Fri series).
    start = today() - timedelta(days=ended_days_ago + 30)
    while course_plan.planned_dates(start, 6, course.frequency, skip_weekends=True)[-1] < (
            today() - timedelta(days=ended_days_ago)):
        start += timedelta(days=1)
    course.start_on = start
    db.flush()
    courses.change_course_state(db, clinic.prescriber_ctx, course_id=course.id,
                                target=CourseState.MAINTENANCE)
    return course


def relapse(db: Session, course: TreatmentCourse) -> None:
    """Three weeks well, then depressed days: a relapse signal against the baseline."""
    for ago in range(25, -1, -1):
        db.add(MoodEntry(patient_id=course.patient_id, day=today() - timedelta(days=ago),
                         depressed=2 if ago <= 4 else 0, elevated=0, irritable=0, anxious=0,
                         sleep_h=7.5, source="clinician"))
    db.flush()


def test_moving_to_maintenance_plans_the_taper_as_suggestions(db: Session) -> None:
    clinic = make_clinic(db)
    course = course_in_maintenance(db, clinic)
    boosters = maintenance.boosters(db, course_id=course.id)
    phases = [b.phase for b in boosters]
    assert phases == ["weekly"] * 4 + ["every 2 weeks"] * 2 + ["every 4 weeks"] * 3
    assert all(b.state is BoosterState.SUGGESTED and b.confirmed_on is None for b in boosters)
    last = course_plan.planned_dates(course.start_on, 6, course.frequency,
                                     skip_weekends=True)[-1]
    assert boosters[0].planned_on == last + timedelta(weeks=1)
    assert boosters[5].planned_on == last + timedelta(weeks=8)
    with pytest.raises(Conflict):
        maintenance.plan_maintenance(db, clinic.prescriber_ctx, course_id=course.id)
    assert db.scalar(select(AuditEvent.id).where(
        AuditEvent.action == "course.maintenance.plan")) is not None


def test_a_relapse_moves_only_the_next_unconfirmed_booster_earlier(db: Session) -> None:
    clinic = make_clinic(db)
    course = course_in_maintenance(db, clinic)
    relapse(db, course)
    raised = mood.refresh_mood_alerts(db, clinic.nurse_ctx, patient_id=course.patient_id,
                                      today=today(), zone=ZONE)
    assert [a.kind.value for a in raised] == ["mood-relapse"]
    first, second, *rest = maintenance.boosters(db, course_id=course.id)
    assert first.earlier_on == soon()
    assert first.planned_on > first.earlier_on  # the planned date kept beside it
    assert first.earlier_reason is not None
    assert first.earlier_reason.startswith("possible depressive relapse")
    assert first.state is BoosterState.SUGGESTED
    assert all(b.earlier_on is None for b in [second, *rest])
    # Recomputing never overwrites the suggestion nor moves another booster.
    mood.refresh_mood_alerts(db, clinic.nurse_ctx, patient_id=course.patient_id, today=today(),
                             zone=ZONE)
    again = maintenance.boosters(db, course_id=course.id)
    assert again[0].earlier_on == soon()
    assert [b.earlier_on for b in again[1:]] == [None] * 8
    assert len(db.scalars(select(AuditEvent.id).where(
        AuditEvent.action == "course.booster.suggest_earlier")).all()) == 1


def test_keeping_the_planned_date_is_the_prescribers_decision(db: Session) -> None:
    clinic = make_clinic(db)
    course = course_in_maintenance(db, clinic)
    relapse(db, course)
    mood.refresh_mood_alerts(db, clinic.nurse_ctx, patient_id=course.patient_id, today=today(),
                             zone=ZONE)
    first = maintenance.boosters(db, course_id=course.id)[0]
    kept = maintenance.confirm_booster(db, clinic.prescriber_ctx, course_id=course.id,
                                       booster_id=first.id, user_id=clinic.prescriber.id,
                                       take_earlier=False, zone=ZONE)
    assert kept.confirmed_on == kept.planned_on and kept.earlier_on is not None
    assert kept.confirmed_by_user_id == clinic.prescriber.id and kept.confirmed_at is not None
    # The next booster is confirmed: the warning does not move a later one before it.
    mood.refresh_mood_alerts(db, clinic.nurse_ctx, patient_id=course.patient_id, today=today(),
                             zone=ZONE)
    assert [b.earlier_on for b in maintenance.boosters(db, course_id=course.id)[1:]] == [None] * 8


def test_confirming_the_earlier_date_and_refusals(db: Session) -> None:
    clinic = make_clinic(db)
    course = course_in_maintenance(db, clinic)
    first, second, *_ = maintenance.boosters(db, course_id=course.id)
    with pytest.raises(PermissionDenied):
        maintenance.confirm_booster(db, clinic.nurse_ctx, course_id=course.id,
                                    booster_id=first.id, user_id=clinic.nurse.id,
                                    take_earlier=False, zone=ZONE)
    with pytest.raises(ValidationFailed) as refused:
        maintenance.confirm_booster(db, clinic.prescriber_ctx, course_id=course.id,
                                    booster_id=first.id, user_id=clinic.prescriber.id,
                                    take_earlier=True, zone=ZONE)
    assert refused.value.field == "choice"
    relapse(db, course)
    mood.refresh_mood_alerts(db, clinic.nurse_ctx, patient_id=course.patient_id, today=today(),
                             zone=ZONE)
    moved = maintenance.confirm_booster(db, clinic.prescriber_ctx, course_id=course.id,
                                        booster_id=first.id, user_id=clinic.prescriber.id,
                                        take_earlier=True, zone=ZONE)
    assert moved.state is BoosterState.CONFIRMED
    assert moved.confirmed_on == moved.earlier_on == soon()
    with pytest.raises(Conflict):
        maintenance.confirm_booster(db, clinic.prescriber_ctx, course_id=course.id,
                                    booster_id=first.id, user_id=clinic.prescriber.id,
                                    take_earlier=False, zone=ZONE)
    assert second.state is BoosterState.SUGGESTED
    # The confirmed booster is a planned marker on the life chart's week ahead.
    view = chart_view(db, clinic.nurse_ctx, patient_id=course.patient_id, days=30, zone=ZONE)
    assert f"planned booster {soon().isoformat()}: booster 1 (weekly), confirmed" in json.dumps(
        view.spec)
    detail = db.scalars(select(AuditEvent.detail).where(
        AuditEvent.action == "course.booster.confirm")).one()
    assert json.loads(detail) == {"patient_id": course.patient_id, "course_id": course.id,
                                  "earlier": True}


def test_a_confirmed_booster_due_today_is_on_the_days_list(db: Session) -> None:
    clinic = make_clinic(db)
    course = course_in_maintenance(db, clinic, ended_days_ago=7)
    db.add_all([InfusionSession(course_id=course.id, patient_id=course.patient_id,
                                status=SessionStatus.DISCHARGED, opened_by_user_id=clinic.nurse.id,
                                opened_at=utcnow() - timedelta(days=10)) for _ in range(6)])
    first = maintenance.boosters(db, course_id=course.id)[0]
    # A Mon/Wed/Fri induction cannot end exactly a week ago on every day of the week, so the
    # first booster is put on today here (the taper's dates are tested above).
    first.planned_on = today()
    db.flush()
    rows = [r for r in infusions.day_list(db, clinic.nurse_ctx, zone=ZONE).rows
            if r.course_id == course.id]
    assert rows == []  # suggested only: not on the list until confirmed
    maintenance.confirm_booster(db, clinic.prescriber_ctx, course_id=course.id,
                                booster_id=first.id, user_id=clinic.prescriber.id,
                                take_earlier=False, zone=ZONE)
    [row] = [r for r in infusions.day_list(db, clinic.nurse_ctx, zone=ZONE).rows
             if r.course_id == course.id]
    assert (row.infusion_number, row.planned_on, row.can_open) == (7, today(), True)
    booster = db.get(MaintenanceBooster, first.id)
    assert booster is not None and booster.confirmed_on == today()


def test_a_maintenance_infusion_given_is_the_next_booster(db: Session) -> None:
    clinic = make_clinic(db)
    course = course_in_maintenance(db, clinic)
    first, second, *_ = maintenance.boosters(db, course_id=course.id)
    session_id = given_and_discharged(db, clinic, course)
    db.refresh(first)
    db.refresh(second)
    assert (first.state, first.given_session_id) == (BoosterState.GIVEN, session_id)
    assert second.state is BoosterState.SUGGESTED
    with pytest.raises(Conflict):  # given: nothing left to cancel or confirm
        maintenance.cancel_booster(db, clinic.prescriber_ctx, course_id=course.id,
                                   booster_id=first.id, user_id=clinic.prescriber.id,
                                   reason="patient moved away")
    detail = db.scalars(select(AuditEvent.detail).where(
        AuditEvent.action == "course.booster.given")).one()
    assert json.loads(detail) == {"patient_id": course.patient_id, "course_id": course.id,
                                  "session_id": session_id}


def test_an_induction_infusion_marks_no_booster(db: Session) -> None:
    clinic = make_clinic(db)
    course = make_course(db, clinic)
    given_and_discharged(db, clinic, course)
    assert maintenance.mark_given(db, clinic.nurse_ctx, course_id=course.id,
                                  session_id=1) is None
    assert db.scalars(select(MaintenanceBooster)).all() == []


def test_a_prescriber_cancels_a_booster_saying_why(db: Session) -> None:
    clinic = make_clinic(db)
    course = course_in_maintenance(db, clinic)
    first, second, *_ = maintenance.boosters(db, course_id=course.id)
    with pytest.raises(PermissionDenied):
        maintenance.cancel_booster(db, clinic.nurse_ctx, course_id=course.id,
                                   booster_id=first.id, user_id=clinic.nurse.id, reason="x")
    with pytest.raises(ValidationFailed) as refused:
        maintenance.cancel_booster(db, clinic.prescriber_ctx, course_id=course.id,
                                   booster_id=first.id, user_id=clinic.prescriber.id,
                                   reason="  ")
    assert refused.value.field == "cancel_reason"
    with pytest.raises(ValidationFailed, match="at most 1000 characters"):
        maintenance.cancel_booster(db, clinic.prescriber_ctx, course_id=course.id,
                                   booster_id=first.id, user_id=clinic.prescriber.id,
                                   reason="x" * 1001)
    cancelled = maintenance.cancel_booster(db, clinic.prescriber_ctx, course_id=course.id,
                                           booster_id=first.id, user_id=clinic.prescriber.id,
                                           reason=" travelling for a month ")
    assert (cancelled.state, cancelled.cancel_reason, cancelled.cancelled_by_user_id) == (
        BoosterState.CANCELLED, "travelling for a month", clinic.prescriber.id)
    # The next infusion given is then the second booster, not the cancelled one.
    session_id = given_and_discharged(db, clinic, course)
    db.refresh(second)
    assert (second.state, second.given_session_id) == (BoosterState.GIVEN, session_id)
    assert db.scalars(select(AuditEvent.action).where(
        AuditEvent.entity_type == "maintenance_booster")).all().count(
        "course.booster.cancel") == 1
