"""Vitals, alerts, events, discharge and the note through the services, on both databases."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.models import AuditEvent
from ketaflow.errors import Conflict, PermissionDenied, ValidationFailed
from ketaflow.infusions import service
from ketaflow.infusions.models import (
    EventKind,
    InfusionSession,
    NoteLockedError,
    Seriousness,
    VitalsRecord,
)
from ketaflow.infusions.rules import AlertLevel, SessionAction, SessionStatus, VitalsReading
from tests.infusions.factories import (
    ALDRETE_OK,
    PADSS_OK,
    Clinic,
    backdate,
    make_clinic,
    ready_to_start,
)
from tests.support.audit import sealed_and_verified

A = SessionAction


def running(db: Session) -> tuple[Clinic, int]:
    clinic = make_clinic(db)
    record = ready_to_start(db, clinic)
    service.apply_action(db, clinic.nurse_ctx, session_id=record.id, action=A.START)
    return clinic, record.id


def vitals(db: Session, clinic: Clinic, session_id: int, **values: float) -> service.VitalsOutcome:
    return service.record_vitals(db, clinic.nurse_ctx, session_id=session_id,
                                 reading=VitalsReading(datetime.now(UTC), **values))


def in_observation(db: Session, clinic: Clinic, session_id: int, minutes_ago: float) -> None:
    service.apply_action(db, clinic.nurse_ctx, session_id=session_id, action=A.STOP,
                         reason="stopped early (test)")
    record = service.apply_action(db, clinic.nurse_ctx, session_id=session_id,
                                  action=A.BEGIN_OBSERVATION)
    backdate(db, record, minutes_ago)


def test_severe_bp_twice_raises_review_then_hold(db: Session) -> None:
    clinic, session_id = running(db)
    first = vitals(db, clinic, session_id, sbp_mmhg=185, dbp_mmhg=100, hr_bpm=80)
    assert [(a.level, a.code) for a in first.alerts] == [
        (AlertLevel.REVIEW, "bp-severe-repeat-now")]
    second = vitals(db, clinic, session_id, sbp_mmhg=182, dbp_mmhg=104, hr_bpm=82)
    assert [a.level for a in second.alerts] == [AlertLevel.HOLD]
    # HOLD waits for the prescriber's decision: a nurse cannot close it, a prescriber can.
    with pytest.raises(PermissionDenied, match="only a prescriber may acknowledge a HOLD"):
        service.acknowledge_alert(db, clinic.nurse_ctx, session_id=session_id,
                                  alert_id=second.alerts[0].id, action_taken="paused")
    service.acknowledge_alert(db, clinic.prescriber_ctx, session_id=session_id,
                              alert_id=second.alerts[0].id, action_taken="paused; reviewed")
    with pytest.raises(Conflict, match="already acknowledged"):
        service.acknowledge_alert(db, clinic.prescriber_ctx, session_id=session_id,
                                  alert_id=second.alerts[0].id, action_taken="again")
    with pytest.raises(ValidationFailed) as error:
        service.acknowledge_alert(db, clinic.nurse_ctx, session_id=session_id,
                                  alert_id=first.alerts[0].id, action_taken=" ")
    assert error.value.field == "action_taken"
    # REVIEW: the nurse records the action taken.
    done = service.acknowledge_alert(db, clinic.nurse_ctx, session_id=session_id,
                                     alert_id=first.alerts[0].id, action_taken="repeated BP")
    assert done.acknowledged_by_user_id == clinic.nurse.id


def test_stop_alert_needs_a_prescriber(db: Session) -> None:
    clinic, session_id = running(db)
    service.record_adverse_event(db, clinic.nurse_ctx, session_id=session_id,
                                 description="chest pain", seriousness=Seriousness.SERIOUS,
                                 symptoms=["chest_pain"])
    [alert] = service.get_session(db, clinic.nurse_ctx, session_id=session_id).alerts
    assert alert.level is AlertLevel.STOP
    with pytest.raises(PermissionDenied):
        service.acknowledge_alert(db, clinic.nurse_ctx, session_id=session_id,
                                  alert_id=alert.id, action_taken="stopped")
    assert service.acknowledge_alert(db, clinic.prescriber_ctx, session_id=session_id,
                                     alert_id=alert.id, action_taken="stopped; ECG"
                                     ).acknowledged_at is not None


def test_impossible_and_future_readings_refused_nothing_saved(db: Session) -> None:
    clinic, session_id = running(db)
    with pytest.raises(ValidationFailed) as error:
        vitals(db, clinic, session_id, spo2_percent=101)
    assert error.value.field == "spo2_percent"
    with pytest.raises(ValidationFailed) as error:
        service.record_vitals(db, clinic.nurse_ctx, session_id=session_id, reading=VitalsReading(
            datetime.now(UTC) + timedelta(minutes=10), spo2_percent=97))
    assert error.value.field == "taken_at"
    with pytest.raises(ValidationFailed) as error:
        service.record_vitals(db, clinic.nurse_ctx, session_id=session_id, reading=VitalsReading(
            datetime.now(UTC) - timedelta(days=1), spo2_percent=97))
    assert error.value.field == "taken_at"
    assert len(service.get_session(db, clinic.nurse_ctx, session_id=session_id).vitals) == 1


def test_events_side_effects_cadss_rescue_adverse(db: Session) -> None:
    clinic, session_id = running(db)
    severe = dict.fromkeys(["dizziness", "nausea", "vomiting", "headache",
                            "blurred_double_vision", "sedation", "anxiety_panic", "confusion",
                            "perceptual_disturbance"], 0) | {"nausea": 3, "tolerability": 7}
    side = service.record_side_effects(db, clinic.nurse_ctx, session_id=session_id,
                                       answers=severe)
    assert side.total == 3
    cadss = service.record_cadss6(db, clinic.nurse_ctx, session_id=session_id, answers={
        "slow_motion": 1, "unreality": 2, "body_disconnection": 1, "body_change": 0,
        "spacing_out": 2, "observer_item_22": 1})
    assert cadss.total == 7 and cadss.detail["minutes_from_start"] == 0.0
    with pytest.raises(ValidationFailed) as error:
        service.record_cadss6(db, clinic.nurse_ctx, session_id=session_id, answers={})
    assert error.value.field == "answers"
    rescue = service.give_rescue_medication(db, clinic.nurse_ctx, session_id=session_id,
                                            medication="ondansetron", dose_mg=4, route="iv",
                                            reason="nausea")
    assert rescue.detail["name"] == "Ondansetron"
    for bad, field in (({"medication": "morphine"}, "medication"),
                       ({"dose_mg": 40}, "dose_mg"), ({"route": "im"}, "route")):
        args = {"medication": "ondansetron", "dose_mg": 4, "route": "iv"} | bad
        with pytest.raises(ValidationFailed) as error:
            service.give_rescue_medication(db, clinic.nurse_ctx, session_id=session_id,
                                           reason="x", **args)  # type: ignore[arg-type]
        assert error.value.field == field
    adverse = service.record_adverse_event(db, clinic.nurse_ctx, session_id=session_id,
                                           description="chest tightness",
                                           seriousness=Seriousness.SERIOUS,
                                           symptoms=["chest_pain"])
    assert adverse.serious
    loaded = service.get_session(db, clinic.nurse_ctx, session_id=session_id)
    assert [(a.level, a.code) for a in loaded.alerts] == [
        (AlertLevel.REVIEW, "severe-side-effect"), (AlertLevel.STOP, "symptom-chest_pain")]
    assert [e.kind for e in loaded.events if e.kind is not EventKind.STATUS] == [
        EventKind.SIDE_EFFECTS, EventKind.CADSS6, EventKind.RESCUE_MEDICATION,
        EventKind.ADVERSE_EVENT]


def test_discharge_refused_until_observed_then_allowed(db: Session) -> None:
    clinic, session_id = running(db)
    form = service.DischargeForm(ALDRETE_OK, PADSS_OK, True, True)
    with pytest.raises(Conflict, match="cannot discharge a session that is running"):
        service.discharge_patient(db, clinic.nurse_ctx, session_id=session_id, form=form)
    in_observation(db, clinic, session_id, minutes_ago=30)
    with pytest.raises(ValidationFailed) as error:
        service.discharge_patient(db, clinic.nurse_ctx, session_id=session_id, form=form)
    assert error.value.field == "observation"
    # A nurse cannot override; a prescriber can, with a reason.
    with pytest.raises(ValidationFailed, match="only a prescriber"):
        service.discharge_patient(db, clinic.nurse_ctx, session_id=session_id,
                                  form=service.DischargeForm(ALDRETE_OK, PADSS_OK, True, True,
                                                             "escort waiting"))
    done = service.discharge_patient(db, clinic.prescriber_ctx, session_id=session_id,
                                     form=service.DischargeForm(ALDRETE_OK, PADSS_OK, True,
                                                                True, "stable, escort waiting"))
    assert done.status is SessionStatus.DISCHARGED and done.active_patient_id is None
    assert done.discharge is not None and done.discharge.unmet[0]["field"] == "observation"


def test_discharge_blocked_by_open_alert(db: Session) -> None:
    clinic, session_id = running(db)
    vitals(db, clinic, session_id, spo2_percent=93)
    in_observation(db, clinic, session_id, minutes_ago=61)
    form = service.DischargeForm(ALDRETE_OK, PADSS_OK, True, True)
    with pytest.raises(ValidationFailed) as error:
        service.discharge_patient(db, clinic.nurse_ctx, session_id=session_id, form=form)
    assert error.value.field == "alerts"
    alert = service.get_session(db, clinic.nurse_ctx, session_id=session_id).alerts[0]
    service.acknowledge_alert(db, clinic.nurse_ctx, session_id=session_id, alert_id=alert.id,
                              action_taken="resolved with deep breaths")
    done = service.discharge_patient(db, clinic.nurse_ctx, session_id=session_id, form=form)
    assert done.discharge is not None and done.discharge.aldrete_total == 10


def test_note_generated_signed_locked_then_addenda(db: Session) -> None:
    clinic, session_id = running(db)
    with pytest.raises(Conflict, match="once the session is discharged"):
        service.draft_note(db, clinic.nurse_ctx, session_id=session_id)
    in_observation(db, clinic, session_id, minutes_ago=61)
    service.discharge_patient(db, clinic.nurse_ctx, session_id=session_id,
                              form=service.DischargeForm(ALDRETE_OK, PADSS_OK, True, True))
    with pytest.raises(Conflict, match="generate it first"):
        service.sign_note(db, clinic.prescriber_ctx, session_id=session_id)
    note = service.draft_note(db, clinic.nurse_ctx, session_id=session_id)
    assert "35.0 mg over 40 min at 52.5 mL/h" in note.body
    assert "modified Aldrete 10, PADSS 10" in note.body
    with pytest.raises(Conflict, match="addenda follow a signed note"):
        service.add_addendum(db, clinic.nurse_ctx, session_id=session_id, text="late entry")
    service.sign_note(db, clinic.prescriber_ctx, session_id=session_id)
    with pytest.raises(Conflict, match="signed and locked"):
        service.draft_note(db, clinic.nurse_ctx, session_id=session_id)
    addendum = service.add_addendum(db, clinic.nurse_ctx, session_id=session_id,
                                    text="patient called: home safely")
    assert addendum.signed_by_user_id == clinic.nurse.id
    note.body = "tampered"
    with pytest.raises(NoteLockedError):
        db.flush()


def test_note_lists_pauses_and_rate_changes(db: Session) -> None:
    clinic, session_id = running(db)
    service.apply_action(db, clinic.nurse_ctx, session_id=session_id, action=A.PAUSE)
    service.apply_action(db, clinic.nurse_ctx, session_id=session_id, action=A.CHANGE_RATE,
                         reason="BP rising", rate_ml_per_h=40)
    service.apply_action(db, clinic.nurse_ctx, session_id=session_id, action=A.RESUME)
    in_observation(db, clinic, session_id, minutes_ago=61)
    service.discharge_patient(db, clinic.nurse_ctx, session_id=session_id,
                              form=service.DischargeForm(ALDRETE_OK, PADSS_OK, True, True))
    body = service.draft_note(db, clinic.nurse_ctx, session_id=session_id).body
    # Issue 12: pauses with their times, rate changes with from/to and who changed them.
    assert re.search(r"Pauses: 1 \(\d\d:\d\d-\d\d:\d\d\)\.", body)
    assert re.search(r"Rate changes: 1 \(\d\d:\d\d 52\.5 to 40 mL/h by .+ \(nurse\): "
                     r"BP rising\)\.", body)
    assert "Dose delivered: " in body and "Running time: " in body


def entry(clinic: Clinic, session_id: int, taken_at: datetime, **values: float
          ) -> service.VitalsEntry:
    return service.VitalsEntry(clinic.nurse_ctx, session_id, VitalsReading(taken_at, **values))


def test_a_batch_charts_each_reading_and_refuses_only_the_bad_ones(db: Session) -> None:
    clinic, first = running(db)
    second = service.apply_action(db, clinic.nurse_ctx, session_id=ready_to_start(db, clinic).id,
                                  action=A.START).id
    now = datetime.now(UTC)
    outcomes = service.record_vitals_batch(db, [
        entry(clinic, first, now, sbp_mmhg=182, dbp_mmhg=90),
        entry(clinic, second, now, spo2_percent=101),  # impossible: refused
        entry(clinic, 999_999, now, hr_bpm=70),  # no such session: refused
        entry(clinic, second, now, hr_bpm=71),
        # The repeat comparison sees the severe reading charted earlier in the same batch.
        entry(clinic, first, now + timedelta(seconds=1), sbp_mmhg=184, dbp_mmhg=92),
    ])
    kinds = [type(outcome).__name__ for outcome in outcomes]
    assert kinds == ["VitalsOutcome", "ValidationFailed", "NotFound", "VitalsOutcome",
                     "VitalsOutcome"]
    assert isinstance(outcomes[1], ValidationFailed) and outcomes[1].field == "spo2_percent"
    first_alerts = [a.code for a in outcomes[0].alerts]  # type: ignore[union-attr]
    repeat_alerts = [a.code for a in outcomes[4].alerts]  # type: ignore[union-attr]
    assert first_alerts == ["bp-severe-repeat-now"] and repeat_alerts == ["bp-severe-repeat"]
    stored = db.scalars(select(VitalsRecord.session_id).where(
        VitalsRecord.session_id.in_([first, second]), VitalsRecord.taken_at >= now)).all()
    assert sorted(stored) == sorted([first, second, first])
    events = db.scalars(select(AuditEvent).where(AuditEvent.action == "infusion.vitals.record")
                        .order_by(AuditEvent.id.desc()).limit(3)).all()
    assert [e.entity_id for e in reversed(events)] == [str(first), str(second), str(first)]
    assert sealed_and_verified(db).ok


def test_a_back_dated_reading_is_compared_with_the_reading_before_it(db: Session) -> None:
    clinic, session_id = running(db)
    record = db.get(InfusionSession, session_id)
    assert record is not None
    backdate(db, record, 30)
    now = datetime.now(UTC)
    service.record_vitals_batch(db, [
        entry(clinic, session_id, now - timedelta(minutes=20), sbp_mmhg=186, dbp_mmhg=95)])
    outcomes = service.record_vitals_batch(db, [
        entry(clinic, session_id, now, sbp_mmhg=120, dbp_mmhg=80),
        # Entered late, timed just after the severe reading: that one is its repeat comparison.
        entry(clinic, session_id, now - timedelta(minutes=19), sbp_mmhg=187, dbp_mmhg=96),
        # Timed after the normal one: a severe reading again needs a repeat first.
        entry(clinic, session_id, now + timedelta(seconds=1), sbp_mmhg=188, dbp_mmhg=96),
    ])
    codes = [[a.code for a in o.alerts] for o in outcomes]  # type: ignore[union-attr]
    assert codes == [[], ["bp-severe-repeat"], ["bp-severe-repeat-now"]]
    # Two late entries in one batch: the second compares with the first, not the stored one.
    late = service.record_vitals_batch(db, [
        entry(clinic, session_id, now - timedelta(minutes=12), sbp_mmhg=118, dbp_mmhg=76),
        entry(clinic, session_id, now - timedelta(minutes=11), sbp_mmhg=190, dbp_mmhg=97),
    ])
    assert [[a.code for a in o.alerts] for o in late] == [  # type: ignore[union-attr]
        [], ["bp-severe-repeat-now"]]
