"""The course baseline on both databases: the last rating before the first infusion started;
without one, "no pre-treatment baseline" and no response or remission unless a prescriber picks
the labelled fallback (stored on the course with who and when, audited)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.assessments import courses as course_markers
from ketaflow.assessments import history
from ketaflow.assessments import service as assessments
from ketaflow.audit.models import AuditEvent
from ketaflow.courses import service as courses
from ketaflow.courses.models import TreatmentCourse
from ketaflow.infusions import service as infusions
from ketaflow.infusions.rules.state import SessionAction
from ketaflow.scales.longitudinal import BaselineFallback
from tests.assessments.factories import madrs
from tests.infusions.factories import Clinic, make_clinic, make_course, ready_to_start
from tests.support.factories import SYSTEM

NOW = datetime.now(UTC).replace(microsecond=0)
FIRST = NOW - timedelta(days=5)  # when the first infusion started
FALLBACK_WORDS = "post-treatment baseline, the first rating after the first infusion"


def _course_with_first_infusion(db: Session) -> tuple[Clinic, TreatmentCourse]:
    clinic = make_clinic(db)
    course = make_course(db, clinic)
    record = ready_to_start(db, clinic, course)
    infusions.apply_action(db, clinic.nurse_ctx, session_id=record.id,
                           action=SessionAction.START)
    record.started_at = FIRST  # arranged: the session started five days ago
    db.flush()
    return clinic, course


def _rate(db: Session, course: TreatmentCourse, total: int, at: datetime) -> None:
    assessments.record_assessment(db, SYSTEM, patient_id=course.patient_id,
                                  instrument_id="madrs", answers=madrs(total),
                                  rater=assessments.Rater.portal(), rated_at=at)


def _madrs_panel(db: Session, course: TreatmentCourse) -> history.Panel:
    shown = history.patient_history(db, SYSTEM, patient_id=course.patient_id)
    (panel,) = [p for p in shown.panels if p.instrument.id == "madrs"]
    return panel


def _madrs_row(db: Session, course: TreatmentCourse) -> history.CourseBaseline:
    rows = history.course_baselines(db, SYSTEM, course=course)
    (row,) = [r for r in rows if r.instrument.id == "madrs"]
    return row


def test_baseline_is_the_last_rating_before_the_first_infusion_started(db: Session) -> None:
    _, course = _course_with_first_infusion(db)
    assert course_markers.markers_for(db, course).first_infusion_at == FIRST
    _rate(db, course, 30, FIRST - timedelta(days=2))
    _rate(db, course, 28, FIRST - timedelta(minutes=20))  # the same morning, before it
    _rate(db, course, 12, FIRST + timedelta(minutes=40))  # after: never the baseline
    _rate(db, course, 10, FIRST + timedelta(days=2))
    panel = _madrs_panel(db, course)
    assert panel.outcome is not None and panel.outcome.baseline is not None
    assert panel.outcome.baseline.total == 28 and panel.baseline_label is None
    assert panel.baseline_text is not None
    assert panel.baseline_text.startswith("baseline 28 \u2192 latest 10")
    assert panel.baseline_text.endswith("response, remission")
    row = _madrs_row(db, course)
    assert row.text.startswith("baseline 28 on ") and "response, remission" in row.text


def test_without_a_pre_treatment_rating_nothing_is_computed_until_a_fallback_is_chosen(
        db: Session) -> None:
    clinic, course = _course_with_first_infusion(db)
    _rate(db, course, 24, FIRST + timedelta(days=1))
    _rate(db, course, 10, FIRST + timedelta(days=3))
    panel = _madrs_panel(db, course)
    assert panel.baseline_text == ("no pre-treatment baseline: response and remission not "
                                   "computed")
    assert panel.outcome is not None and panel.outcome.events == ()
    row = _madrs_row(db, course)
    assert row.text.startswith("no pre-treatment baseline")

    chosen = courses.set_baseline_fallback(db, clinic.prescriber_ctx, course_id=course.id,
                                           fallback=BaselineFallback.FIRST_AFTER_FIRST_INFUSION)
    assert chosen.baseline_fallback is BaselineFallback.FIRST_AFTER_FIRST_INFUSION
    assert chosen.baseline_fallback_by_user_id == clinic.prescriber.id
    assert chosen.baseline_fallback_at is not None
    (event,) = db.scalars(select(AuditEvent).where(
        AuditEvent.action == "course.baseline_fallback"))
    assert event.actor_user_id == clinic.prescriber.id
    assert "first-after-first-infusion" in event.detail

    panel = _madrs_panel(db, course)
    assert panel.baseline_text is not None
    assert panel.baseline_text.startswith(f"baseline 24 ({FALLBACK_WORDS}: response "
                                          "understated) \u2192 latest 10")
    assert "response" in panel.baseline_text.rsplit(":", 1)[1]
    row = _madrs_row(db, course)
    assert FALLBACK_WORDS in row.text and "latest 10: response" in row.text

    courses.set_baseline_fallback(db, clinic.prescriber_ctx, course_id=course.id, fallback=None)
    assert _madrs_panel(db, course).baseline_text is not None
    assert _madrs_panel(db, course).baseline_text.startswith(  # type: ignore[union-attr]
        "no pre-treatment baseline")


def test_before_any_recorded_session_the_planned_first_day_bounds_the_baseline(
        db: Session) -> None:
    clinic = make_clinic(db)
    course = make_course(db, clinic)  # planned to start 2026-01-05, no session recorded
    start = datetime(2026, 1, 5, tzinfo=UTC)
    assert course_markers.markers_for(db, course).first_infusion_at == start
    _rate(db, course, 30, start - timedelta(hours=2))
    _rate(db, course, 20, start + timedelta(hours=12))
    panel = _madrs_panel(db, course)
    assert panel.outcome is not None and panel.outcome.baseline is not None
    assert panel.outcome.baseline.total == 30
