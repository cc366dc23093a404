"""Session use cases on both databases: opening, pre-checks, order, state changes, one at a time."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.alerts import service as alerts_service
from ketaflow.assessments import service as assessments_service
from ketaflow.audit.models import AuditEvent
from ketaflow.clinic import service as clinic_service
from ketaflow.clinic.service import ProfileEntry
from ketaflow.clinical.course_plan import CourseState
from ketaflow.errors import Conflict, PermissionDenied, ValidationFailed
from ketaflow.infusions import service
from ketaflow.infusions.models import EventKind
from ketaflow.infusions.rules import SessionAction, SessionStatus, VitalsReading
from tests.assessments.factories import madrs
from tests.infusions.factories import (
    ALL_CHECKS,
    Clinic,
    make_clinic,
    make_course,
    open_alerts,
    order_input,
    ready_to_start,
    second_course,
    self_report,
)

A = SessionAction


def actions(db: Session, session_id: int) -> list[str]:
    rows = db.scalars(select(AuditEvent.action).where(
        AuditEvent.entity_type == "infusion_session", AuditEvent.entity_id == str(session_id)))
    return list(rows)


def test_order_dose_from_latest_weight(db: Session) -> None:
    clinic = make_clinic(db)
    record = ready_to_start(db, clinic)
    order = service.current_order(service.get_session(db, clinic.nurse_ctx,
                                                      session_id=record.id))
    assert order is not None
    # 70 kg x 0.5 mg/kg = 35 mg at 1 mg/mL over 40 min: 52.5 mL/h (docs/dosing.md).
    assert (order.dose_mg, order.rate_ml_per_h, order.dosing_weight_kg) == (35.0, 52.5, 70.0)
    assert order.signed_by_user_id == clinic.prescriber.id


def test_only_prescriber_signs_order(db: Session) -> None:
    clinic = make_clinic(db)
    course = make_course(db, clinic, order_lot=True)
    record = service.open_session(db, clinic.nurse_ctx, course_id=course.id)
    with pytest.raises(PermissionDenied):
        service.sign_order(db, clinic.nurse_ctx, session_id=record.id, order=order_input())


def test_order_refusals_name_fields(db: Session) -> None:
    clinic = make_clinic(db)
    course = make_course(db, clinic, order_lot=True)
    record = service.open_session(db, clinic.nurse_ctx, course_id=course.id)
    with pytest.raises(ValidationFailed) as error:
        service.sign_order(db, clinic.prescriber_ctx, session_id=record.id,
                           order=order_input(dose_mg_per_kg=2.5))
    assert error.value.field == "dose_mg_per_kg"
    with pytest.raises(ValidationFailed) as error:
        service.sign_order(db, clinic.prescriber_ctx, session_id=record.id,
                           order=order_input(dose_mg_per_kg=1.2))
    assert error.value.field == "override_reason"
    with pytest.raises(ValidationFailed) as error:
        service.sign_order(db, clinic.prescriber_ctx, session_id=record.id,
                           order=order_input(expiry_date=datetime(2020, 1, 1).date()))
    assert error.value.field == "expiry_date"
    overridden = service.sign_order(db, clinic.prescriber_ctx, session_id=record.id,
                                    order=order_input(dose_mg_per_kg=1.2,
                                                      override_reason="partial response"))
    assert overridden.override_reason == "partial response"
    assert overridden.dose_mg == pytest.approx(84.0)


def test_new_order_supersedes_old(db: Session) -> None:
    clinic = make_clinic(db)
    record = ready_to_start(db, clinic)
    # A new order over a signed one says why (issue 12): the earlier one is kept, superseded.
    service.sign_order(db, clinic.prescriber_ctx, session_id=record.id,
                       order=order_input(dose_mg_per_kg=0.75,
                                         supersede_reason="dose raised after review"))
    loaded = service.get_session(db, clinic.nurse_ctx, session_id=record.id)
    assert [o.superseded_at is None for o in loaded.orders] == [False, True]
    assert loaded.orders[1].supersedes_order_id == loaded.orders[0].id
    assert service.current_order(loaded).dose_mg == pytest.approx(52.5)  # type: ignore[union-attr]


def test_start_refused_until_prechecks_complete(db: Session) -> None:
    clinic = make_clinic(db)
    course = make_course(db, clinic, order_lot=True)
    record = service.open_session(db, clinic.nurse_ctx, course_id=course.id)
    service.apply_action(db, clinic.nurse_ctx, session_id=record.id, action=A.BEGIN_PRECHECKS)
    with pytest.raises(ValidationFailed) as error:
        service.apply_action(db, clinic.nurse_ctx, session_id=record.id, action=A.START)
    assert error.value.field == "identity_confirmed"
    assert "pre-infusion blood pressure not recorded" in error.value.detail
    assert service.get_session(db, clinic.nurse_ctx,
                               session_id=record.id).status is SessionStatus.PRECHECKS


def test_review_bp_needs_prescriber(db: Session) -> None:
    clinic = make_clinic(db)
    record = ready_to_start(db, clinic)
    service.record_vitals(db, clinic.nurse_ctx, session_id=record.id, reading=VitalsReading(
        datetime.now(UTC), sbp_mmhg=150, dbp_mmhg=85))
    loaded = service.get_session(db, clinic.nurse_ctx, session_id=record.id)
    assert [p.field for p in service.precheck_status(db, clinic.nurse_ctx, loaded).problems
            ] == ["bp_review_by_prescriber"]
    with pytest.raises(PermissionDenied):
        service.update_prechecks(db, clinic.nurse_ctx, session_id=record.id,
                                 changes=service.PrecheckChanges(bp_reviewed=True))
    service.update_prechecks(db, clinic.prescriber_ctx, session_id=record.id,
                             changes=service.PrecheckChanges(bp_reviewed=True))
    started = service.apply_action(db, clinic.nurse_ctx, session_id=record.id, action=A.START)
    assert started.status is SessionStatus.RUNNING


def test_running_pause_rate_change_stop(db: Session) -> None:
    clinic = make_clinic(db)
    record = ready_to_start(db, clinic)
    started = service.apply_action(db, clinic.nurse_ctx, session_id=record.id, action=A.START)
    assert started.rate_ml_per_h == 52.5 and started.started_at is not None
    service.apply_action(db, clinic.nurse_ctx, session_id=record.id, action=A.PAUSE)
    with pytest.raises(ValidationFailed) as error:
        service.apply_action(db, clinic.nurse_ctx, session_id=record.id, action=A.CHANGE_RATE,
                             rate_ml_per_h=40)
    assert error.value.field == "reason"
    with pytest.raises(ValidationFailed) as error:
        service.apply_action(db, clinic.nurse_ctx, session_id=record.id, action=A.CHANGE_RATE,
                             reason="BP", rate_ml_per_h=-1)
    assert error.value.field == "rate_ml_per_h"
    service.apply_action(db, clinic.nurse_ctx, session_id=record.id, action=A.CHANGE_RATE,
                         reason="BP rising", rate_ml_per_h=40)
    service.apply_action(db, clinic.nurse_ctx, session_id=record.id, action=A.RESUME)
    stopped = service.apply_action(db, clinic.nurse_ctx, session_id=record.id, action=A.STOP,
                                    reason="stopped early (test)")
    assert stopped.status is SessionStatus.STOPPED and stopped.rate_ml_per_h == 40
    rate = [e for e in stopped.events if e.kind is EventKind.RATE_CHANGE]
    assert rate[0].detail["from_ml_per_h"] == 52.5 and rate[0].reason == "BP rising"
    with pytest.raises(Conflict, match="cannot pause a session that is stopped"):
        service.apply_action(db, clinic.nurse_ctx, session_id=record.id, action=A.PAUSE)
    assert "infusion.session.change_rate" in actions(db, record.id)


def test_one_session_in_progress_per_patient(db: Session) -> None:
    clinic = make_clinic(db)
    course = make_course(db, clinic, order_lot=True)
    first = service.open_session(db, clinic.nurse_ctx, course_id=course.id)
    second = service.open_session(db, clinic.nurse_ctx,
                                  course_id=second_course(db, course).id)
    service.apply_action(db, clinic.nurse_ctx, session_id=first.id, action=A.BEGIN_PRECHECKS)
    with pytest.raises(Conflict, match="already in progress"):
        service.apply_action(db, clinic.nurse_ctx, session_id=second.id,
                             action=A.BEGIN_PRECHECKS)
    service.apply_action(db, clinic.nurse_ctx, session_id=first.id, action=A.ABORT,
                         reason="pump fault")
    again = service.apply_action(db, clinic.nurse_ctx, session_id=second.id,
                                 action=A.BEGIN_PRECHECKS)
    assert again.status is SessionStatus.PRECHECKS


def test_closed_course_refuses_new_sessions(db: Session) -> None:
    clinic = make_clinic(db)
    course = make_course(db, clinic, state=CourseState.STOPPED)
    with pytest.raises(Conflict) as error:
        service.open_session(db, clinic.nurse_ctx, course_id=course.id)
    assert error.value.field == "course_id"


def test_reads_and_writes_audited(db: Session) -> None:
    clinic = make_clinic(db)
    record = ready_to_start(db, clinic)
    service.get_session(db, clinic.nurse_ctx, session_id=record.id)
    assert actions(db, record.id) == [
        "infusion.session.open", "infusion.session.begin_prechecks",
        "infusion.prechecks.update", "infusion.vitals.record", "infusion.order.sign",
        "infusion.session.read"]


def test_database_enforces_one_in_progress_session(db: Session) -> None:
    """The unique slot holds even when two requests pass the pre-check query at once."""
    from sqlalchemy.exc import IntegrityError

    clinic = make_clinic(db)
    course = make_course(db, clinic, order_lot=True)
    first = service.open_session(db, clinic.nurse_ctx, course_id=course.id)
    second = service.open_session(db, clinic.nurse_ctx,
                                  course_id=second_course(db, course).id)
    first.active_patient_id = second.active_patient_id = course.patient_id
    with pytest.raises(IntegrityError):
        db.flush()


def without_self_report(db: Session, clinic: Clinic) -> int:
    """A session with every other pre-check done but no self-report on record today."""
    course = make_course(db, clinic, order_lot=True)
    record = service.open_session(db, clinic.nurse_ctx, course_id=course.id)
    service.apply_action(db, clinic.nurse_ctx, session_id=record.id, action=A.BEGIN_PRECHECKS)
    service.update_prechecks(db, clinic.nurse_ctx, session_id=record.id, changes=ALL_CHECKS)
    service.record_vitals(db, clinic.nurse_ctx, session_id=record.id, reading=VitalsReading(
        datetime.now(UTC), sbp_mmhg=122, dbp_mmhg=78, hr_bpm=72))
    service.sign_order(db, clinic.prescriber_ctx, session_id=record.id, order=order_input())
    return record.id


def start_refusal(db: Session, clinic: Clinic, session_id: int) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as error:
        service.apply_action(db, clinic.nurse_ctx, session_id=session_id, action=A.START)
    return error.value


def test_start_refused_without_todays_self_report(db: Session) -> None:
    clinic = make_clinic(db)
    session_id = without_self_report(db, clinic)
    patient_id = service.load_session(db, session_id).patient_id
    # Yesterday's PHQ-9 and today's clinician MADRS do not count: a self-report rated today does.
    self_report(db, patient_id, rated_at=datetime.now(UTC) - timedelta(days=1, minutes=1))
    assessments_service.record_assessment(
        db, clinic.prescriber_ctx, patient_id=patient_id, instrument_id="madrs",
        answers=madrs(20), rater=assessments_service.Rater.staff(clinic.prescriber.id))
    refusal = start_refusal(db, clinic, session_id)
    assert refusal.field == "self_report" and "no self-report" in refusal.detail
    self_report(db, patient_id)
    started = service.apply_action(db, clinic.nurse_ctx, session_id=session_id, action=A.START)
    assert started.status is SessionStatus.RUNNING


def test_start_allowed_with_a_documented_reason_instead(db: Session) -> None:
    clinic = make_clinic(db)
    session_id = without_self_report(db, clinic)
    with pytest.raises(ValidationFailed) as error:
        service.override_self_report(db, clinic.nurse_ctx, session_id=session_id, reason="  ")
    assert error.value.field == "reason"
    event = service.override_self_report(db, clinic.nurse_ctx, session_id=session_id,
                                         reason="patient declined the questionnaire")
    assert (event.kind, event.reason, event.recorded_by_user_id) == (
        EventKind.PRECHECK_OVERRIDE, "patient declined the questionnaire", clinic.nurse.id)
    started = service.apply_action(db, clinic.nurse_ctx, session_id=session_id, action=A.START)
    assert started.status is SessionStatus.RUNNING
    audited = db.scalars(select(AuditEvent).where(
        AuditEvent.action == "infusion.prechecks.override")).one()
    # The audit names the check and the event, never the reason given.
    assert "declined" not in audited.detail and json.loads(audited.detail)["check"] == "self_report"


def test_todays_self_report_is_the_clinic_zone_day(db: Session) -> None:
    # A zone where the clinic's date differs from UTC's right now, at least an hour into the
    # local day: the UTC-day rule would count the rating just before local midnight (east) or
    # refuse the one just after it (west).
    moment = datetime.now(UTC)
    zone = ZoneInfo("Pacific/Kiritimati" if moment.hour >= 11 else "Pacific/Pago_Pago")
    clinic = make_clinic(db)
    clinic_service.update_profile(db, clinic.nurse_ctx, production=False, entry=ProfileEntry(
        name="Zone test clinic", timezone=zone.key))
    session_id = without_self_report(db, clinic)
    patient_id = service.load_session(db, session_id).patient_id
    local_midnight = datetime.combine(moment.astimezone(zone).date(), time(0), zone)
    self_report(db, patient_id, rated_at=(local_midnight - timedelta(minutes=1)).astimezone(UTC))
    assert start_refusal(db, clinic, session_id).field == "self_report"
    self_report(db, patient_id, rated_at=(local_midnight + timedelta(minutes=1)).astimezone(UTC))
    started = service.apply_action(db, clinic.nurse_ctx, session_id=session_id, action=A.START)
    assert started.status is SessionStatus.RUNNING


def test_override_refused_when_a_self_report_is_on_record(db: Session) -> None:
    clinic = make_clinic(db)
    record = ready_to_start(db, clinic)
    with pytest.raises(ValidationFailed, match="no override is needed"):
        service.override_self_report(db, clinic.nurse_ctx, session_id=record.id,
                                     reason="patient declined")


def test_open_suicidality_alert_blocks_until_acknowledged(db: Session) -> None:
    clinic = make_clinic(db)
    record = ready_to_start(db, clinic)
    # Thoughts of self-harm: a C-SSRS screen task and the urgent-pathway alert open.
    self_report(db, record.patient_id, item9=1)
    alerts = open_alerts(db, record.patient_id)
    assert len(alerts) == 2
    refusal = start_refusal(db, clinic, record.id)
    assert refusal.field == "patient_alerts" and "2 suicidality/switch alert" in refusal.detail
    status = service.precheck_status(db, clinic.nurse_ctx, service.load_session(db, record.id))
    assert sorted(a.id for a in status.facts.patient_alerts) == sorted(a.id for a in alerts)
    for alert in alerts:
        alerts_service.acknowledge_alert(db, clinic.prescriber_ctx, alert_id=alert.id,
                                         user_id=clinic.prescriber.id,
                                         note="C-SSRS done: low risk, safety plan reviewed")
    started = service.apply_action(db, clinic.nurse_ctx, session_id=record.id, action=A.START)
    assert started.status is SessionStatus.RUNNING


def test_precheck_status_is_audited_with_ids_only(db: Session) -> None:
    clinic = make_clinic(db)
    record = ready_to_start(db, clinic)
    status = service.precheck_status(db, clinic.nurse_ctx, service.load_session(db, record.id))
    [found] = status.facts.self_reports
    assert status.facts.day == datetime.now(UTC).date()
    event = db.scalars(select(AuditEvent).where(
        AuditEvent.action == "infusion.prechecks.check")).one()
    detail = json.loads(event.detail)
    assert detail["assessment_ids"] == [found.id] and detail["alert_ids"] == []
