"""Rate and order safety on both databases (issue 12, item 3): a rate change never goes above
the signed order, nothing speeds up or resumes under an open HOLD or STOP alert, the order has
no silent defaults, and a new order supersedes the old one visibly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from ketaflow.config import Role
from ketaflow.errors import Conflict, ValidationFailed
from ketaflow.infusions import service
from ketaflow.infusions.models import EventKind, InfusionSession
from ketaflow.infusions.pdf import summary_rows
from ketaflow.infusions.rules import AlertLevel, SessionAction, SessionStatus, VitalsReading
from ketaflow.infusions.service._common import clock_at
from ketaflow.settings import service as settings_service
from tests.infusions.factories import (
    Clinic,
    ctx_for,
    make_clinic,
    make_course,
    order_input,
    ready_to_start,
    stock_order_lot,
)
from tests.support.factories import make_user

A = SessionAction


def running(db: Session) -> tuple[Clinic, InfusionSession]:
    """A session infusing at the signed 52.5 mL/h (70 kg x 0.5 mg/kg at 1 mg/mL over 40 min)."""
    clinic = make_clinic(db)
    record = ready_to_start(db, clinic)
    service.apply_action(db, clinic.nurse_ctx, session_id=record.id, action=A.START)
    return clinic, record


def change_rate(db: Session, clinic: Clinic, record: InfusionSession, rate: float
                ) -> InfusionSession:
    return service.apply_action(db, clinic.nurse_ctx, session_id=record.id,
                                action=A.CHANGE_RATE, rate_ml_per_h=rate, reason="pump")


def open_hold(db: Session, clinic: Clinic, record: InfusionSession) -> None:
    """BP 192/118 on a repeat reading: a HOLD alert, left open."""
    for _ in range(2):
        service.record_vitals(db, clinic.nurse_ctx, session_id=record.id, reading=VitalsReading(
            datetime.now(UTC), sbp_mmhg=192, dbp_mmhg=118,
            hr_bpm=80, spo2_percent=98))
    loaded = service.load_session(db, record.id)
    assert any(a.level is AlertLevel.HOLD and a.acknowledged_at is None for a in loaded.alerts)


def rate_events(db: Session, record: InfusionSession) -> list[object]:
    return [e for e in service.load_session(db, record.id).events
            if e.kind is EventKind.RATE_CHANGE]


def test_rate_above_signed_order_refused_naming_the_field(db: Session) -> None:
    clinic, record = running(db)
    with pytest.raises(ValidationFailed) as refused:
        change_rate(db, clinic, record, 60)
    assert refused.value.field == "rate_ml_per_h"
    assert "New rate (mL/h)" in refused.value.detail and "52.5 mL/h" in refused.value.detail
    assert service.load_session(db, record.id).rate_ml_per_h == 52.5
    assert rate_events(db, record) == []


def test_rate_at_or_below_the_order_allowed(db: Session) -> None:
    clinic, record = running(db)
    assert change_rate(db, clinic, record, 30).rate_ml_per_h == 30
    assert change_rate(db, clinic, record, 52.5).rate_ml_per_h == 52.5


def test_tolerance_is_a_clinic_setting(db: Session) -> None:
    clinic, record = running(db)
    admin = make_user(db, role=Role.ADMIN)
    settings_service.change_setting(
        db, ctx_for(admin), group="infusion", name="rate_above_order_tolerance_percent",
        value=10, reason="pump rounding")
    settings_service.forget_cached(db)
    assert change_rate(db, clinic, record, 57.75).rate_ml_per_h == 57.75  # 52.5 + 10%
    with pytest.raises(ValidationFailed) as refused:
        change_rate(db, clinic, record, 57.8)
    assert refused.value.field == "rate_ml_per_h" and "10% tolerance" in refused.value.detail


def test_9999_ml_per_h_under_an_open_hold_is_refused(db: Session) -> None:
    """The issue's case: a nurse set 9999 mL/h while a HOLD for BP 192/118 was open."""
    clinic, record = running(db)
    open_hold(db, clinic, record)
    with pytest.raises(Conflict) as refused:
        change_rate(db, clinic, record, 9999)
    assert refused.value.status_code == 409 and refused.value.field == "open_alert"
    assert "HOLD alert" in refused.value.detail and "acknowledge" in refused.value.detail
    after = service.load_session(db, record.id)
    assert after.rate_ml_per_h == 52.5 and after.status is SessionStatus.RUNNING
    assert rate_events(db, record) == []


def test_under_an_open_hold_decrease_and_pause_allowed_resume_refused(db: Session) -> None:
    clinic, record = running(db)
    open_hold(db, clinic, record)
    assert change_rate(db, clinic, record, 20).rate_ml_per_h == 20
    paused = service.apply_action(db, clinic.nurse_ctx, session_id=record.id, action=A.PAUSE)
    assert paused.status is SessionStatus.PAUSED
    with pytest.raises(Conflict) as refused:
        service.apply_action(db, clinic.nurse_ctx, session_id=record.id, action=A.RESUME)
    assert refused.value.field == "open_alert" and "HOLD" in refused.value.detail
    # An increase set while paused is an increase too.
    with pytest.raises(Conflict):
        change_rate(db, clinic, record, 40)
    hold = next(a for a in service.load_session(db, record.id).alerts
                if a.level is AlertLevel.HOLD)
    service.acknowledge_alert(db, clinic.prescriber_ctx, session_id=record.id,
                              alert_id=hold.id, action_taken="repeat BP 150/90, continue")
    for alert in service.load_session(db, record.id).alerts:
        if alert.acknowledged_at is None:
            service.acknowledge_alert(db, clinic.prescriber_ctx, session_id=record.id,
                                      alert_id=alert.id, action_taken="reviewed")
    resumed = service.apply_action(db, clinic.nurse_ctx, session_id=record.id, action=A.RESUME)
    assert resumed.status is SessionStatus.RUNNING
    assert change_rate(db, clinic, record, 52.5).rate_ml_per_h == 52.5


def test_a_new_order_during_the_infusion_covers_a_faster_rate(db: Session) -> None:
    clinic, record = running(db)
    first = service.current_order(service.load_session(db, record.id))
    assert first is not None
    with pytest.raises(ValidationFailed) as refused:
        service.sign_order(db, clinic.prescriber_ctx, session_id=record.id,
                           order=order_input(dose_mg_per_kg=0.6))
    assert refused.value.field == "supersede_reason"
    second = service.sign_order(db, clinic.prescriber_ctx, session_id=record.id,
                                order=order_input(dose_mg_per_kg=0.6,
                                                  supersede_reason="response at 0.5 mg/kg"))
    assert second.rate_ml_per_h == pytest.approx(63.0)  # 42 mg over 40 min at 1 mg/mL
    assert second.supersedes_order_id == first.id
    assert second.supersede_reason == "response at 0.5 mg/kg"
    loaded = service.load_session(db, record.id)
    assert [o.id for o in loaded.orders] == [first.id, second.id]  # the earlier one is kept
    assert loaded.orders[0].superseded_at is not None
    assert change_rate(db, clinic, record, 63).rate_ml_per_h == 63
    with pytest.raises(ValidationFailed):
        change_rate(db, clinic, record, 63.5)


def test_a_new_order_during_the_infusion_keeps_the_bag(db: Session) -> None:
    clinic, record = running(db)
    with pytest.raises(ValidationFailed) as refused:
        service.sign_order(db, clinic.prescriber_ctx, session_id=record.id,
                           order=order_input(concentration_mg_per_ml=2.0,
                                             supersede_reason="fluid"))
    assert refused.value.field == "concentration_mg_per_ml"


def test_re_signing_before_the_start_supersedes_visibly(db: Session) -> None:
    clinic = make_clinic(db)
    record = ready_to_start(db, clinic)
    stock_order_lot(db, clinic, "LOT-2")
    with pytest.raises(ValidationFailed) as refused:
        service.sign_order(db, clinic.prescriber_ctx, session_id=record.id,
                           order=order_input(lot_number="LOT-2"))
    assert refused.value.field == "supersede_reason"
    assert "Reason for the new order" in refused.value.detail
    service.sign_order(db, clinic.prescriber_ctx, session_id=record.id,
                       order=order_input(lot_number="LOT-2", supersede_reason="new bag"))
    loaded = service.load_session(db, record.id)
    assert len(loaded.orders) == 2
    assert service.current_order(loaded).lot_number == "LOT-2"  # type: ignore[union-attr]
    view = service.chair_view(db, clinic.nurse_ctx, session_id=record.id)
    assert [line.superseded_at is None for line in view.order_history] == [True, False]
    assert view.order_history[0].supersede_reason == "new bag"
    assert view.order_history[0].signed_by.endswith("(prescriber)")


@pytest.mark.parametrize("duration", [None, 0.0, -5.0])
def test_order_duration_has_no_silent_default(db: Session, duration: float | None) -> None:
    clinic = make_clinic(db)
    course = make_course(db, clinic, order_lot=True)
    record = service.open_session(db, clinic.nurse_ctx, course_id=course.id)
    with pytest.raises(ValidationFailed) as refused:
        service.sign_order(db, clinic.prescriber_ctx, session_id=record.id,
                           order=order_input(duration_min=duration))
    assert refused.value.field == "duration_min"
    assert "Duration (min)" in refused.value.detail
    assert service.load_session(db, record.id).orders == []


def test_an_early_stop_needs_a_reason_and_the_summary_says_what_was_given(db: Session) -> None:
    clinic = make_clinic(db)
    record = ready_to_start(db, clinic)
    start = datetime.now(UTC)
    with clock_at(start):
        service.apply_action(db, clinic.nurse_ctx, session_id=record.id, action=A.START)
    with clock_at(start + timedelta(minutes=10)):
        with pytest.raises(ValidationFailed) as refused:
            service.apply_action(db, clinic.nurse_ctx, session_id=record.id, action=A.STOP)
        assert refused.value.field == "reason"
        service.apply_action(db, clinic.nurse_ctx, session_id=record.id, action=A.STOP,
                             reason="nausea, patient asked to stop")
        view = service.chair_view(db, clinic.nurse_ctx, session_id=record.id)
    summary = view.summary
    assert summary.delivery is not None
    # 52.5 mL/h for 10 min = 8.75 mL at 1 mg/mL = 8.75 mg of the 35 mg ordered.
    assert summary.delivery.volume_ml == pytest.approx(8.75)
    assert summary.delivery.dose_mg == pytest.approx(8.75)
    assert summary.delivery.running_min == pytest.approx(10.0)
    assert summary.early_stop and summary.stop_reason == "nausea, patient asked to stop"
    rows = dict(summary_rows(summary))
    assert rows["Dose delivered"].startswith("8.8 mg base of 35.0 mg ordered (25%)")
    assert rows["Running time"] == "10.0 min of 40 min ordered"
    assert "EARLY STOP" in rows["Stop"] and "nausea" in rows["Stop"]
