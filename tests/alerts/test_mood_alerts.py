"""Mood-chart warnings as alerts on both databases: raised once (by source key) with the
rule's reason, from an entry, a rating or the sweep; acknowledged like any alert; not doubled
with the rating alerts; a mood switch holds the pre-infusion check."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.alerts import mood, service
from ketaflow.alerts.models import Alert, AlertKind, AlertSeverity
from ketaflow.audit.models import AuditEvent
from ketaflow.config import Role
from ketaflow.db import utcnow
from ketaflow.errors import ValidationFailed
from ketaflow.moodchart import service as moodchart
from ketaflow.moodchart.models import MoodEntry
from ketaflow.moodchart.warnings import clinic_day
from ketaflow.patients.models import Patient
from ketaflow.scales import get_instrument
from tests.assessments.factories import answers, record
from tests.infusions.factories import ctx_for
from tests.patients.factories import make_patient
from tests.support.factories import SYSTEM, make_user

ZONE = "UTC"


def today() -> date:
    return clinic_day(utcnow(), ZONE)


def charted(db: Session, patient: Patient, days_ago: range | list[int], **poles: int) -> None:
    """Entries stored directly (as a clinician's backfill would be), no alert refresh."""
    values = {"depressed": 0, "elevated": 0, "irritable": 0, "anxious": 0} | poles
    for ago in days_ago:
        db.add(MoodEntry(patient_id=patient.id, day=today() - timedelta(days=ago), sleep_h=7.5,
                         source="clinician", **values))
    db.flush()


def registered_long_ago(db: Session) -> Patient:
    patient = make_patient(db)
    patient.created_at = utcnow() - timedelta(days=200)
    db.flush()
    return patient


def mood_alerts(db: Session, patient: Patient) -> list[Alert]:
    return list(db.scalars(select(Alert).where(Alert.patient_id == patient.id,
                                               Alert.kind.in_(list(service.MOOD_KINDS)))
                           .order_by(Alert.id)))


def test_a_switch_from_the_chart_is_raised_once_with_its_reason(db: Session) -> None:
    patient = registered_long_ago(db)
    charted(db, patient, range(4, 0, -1), elevated=2)
    # The clinician's entry for today refreshes the alerts.
    moodchart.record_entry(db, SYSTEM, patient_id=patient.id, zone=ZONE,
                           data=moodchart.EntryInput(day=today(), depressed=0, elevated=2,
                                                     irritable=1, anxious=0, sleep_h=5))
    [alert] = mood_alerts(db, patient)
    assert alert.kind is AlertKind.MOOD_SWITCH and alert.severity is AlertSeverity.HIGH
    assert alert.source_assessment_id is None
    assert alert.source_key is not None and alert.source_key.startswith(
        f"mood:{patient.id}:switch:")
    assert alert.reason is not None
    assert alert.reason.startswith("possible manic switch: elevated or irritable mood averaging 2")
    assert "no personal baseline yet" in alert.reason
    # Recomputing (another entry, the sweep) never raises it again.
    assert mood.refresh_mood_alerts(db, SYSTEM, patient_id=patient.id, today=today(),
                                    zone=ZONE) == []
    assert mood.sweep_mood_alerts(db, utcnow()) == 0
    assert len(mood_alerts(db, patient)) == 1
    # A mood switch holds the pre-infusion check like the rating switch kinds.
    assert [a.id for a in service.open_patient_alerts(db, patient_id=patient.id)] == [alert.id]
    events = db.scalars(select(AuditEvent).where(AuditEvent.action == "alert.create",
                                                 AuditEvent.entity_id == str(alert.id))).all()
    assert len(events) == 1 and "reason" not in str(events[0].detail)


def test_acknowledging_a_mood_alert_closes_it(db: Session) -> None:
    patient = registered_long_ago(db)
    charted(db, patient, range(4, -1, -1), elevated=3)
    [alert] = mood.refresh_mood_alerts(db, SYSTEM, patient_id=patient.id, today=today(),
                                       zone=ZONE)
    prescriber = make_user(db, role=Role.PRESCRIBER)
    with pytest.raises(ValidationFailed):
        service.acknowledge_alert(db, ctx_for(prescriber), alert_id=alert.id,
                                  user_id=prescriber.id, note="ok")
    closed = service.acknowledge_alert(db, ctx_for(prescriber), alert_id=alert.id,
                                       user_id=prescriber.id,
                                       note="Phoned: sleeping 5 h, review tomorrow")
    assert not closed.is_open and closed.acknowledged_by_user_id == prescriber.id
    [row] = service.list_patient_alerts(db, SYSTEM, patient_id=patient.id)
    assert row.instrument_id is None and row.alert.reason == alert.reason
    assert service.open_patient_alerts(db, patient_id=patient.id) == []
    # Acknowledged, still the same warning: not raised again.
    assert mood.refresh_mood_alerts(db, SYSTEM, patient_id=patient.id, today=today(),
                                    zone=ZONE) == []


def test_a_relapse_after_a_personal_baseline_is_raised(db: Session) -> None:
    patient = registered_long_ago(db)
    charted(db, patient, range(25, 5, -1))
    charted(db, patient, range(4, -1, -1), depressed=2)
    [alert] = mood.refresh_mood_alerts(db, SYSTEM, patient_id=patient.id, today=today(),
                                       zone=ZONE)
    assert alert.kind is AlertKind.MOOD_RELAPSE and alert.severity is AlertSeverity.HIGH
    assert alert.reason is not None and "usual 0" in alert.reason


def test_the_sweep_raises_disengagement_after_the_set_days_without_entries(db: Session) -> None:
    patient = registered_long_ago(db)
    charted(db, patient, range(12, 1, -1))  # the last entry 2 days ago
    assert mood.sweep_mood_alerts(db, utcnow()) == 0
    assert mood_alerts(db, patient) == []
    # A day later it is 3 days (the default) without an entry.
    assert mood.sweep_mood_alerts(db, utcnow() + timedelta(days=1)) == 1
    [alert] = mood_alerts(db, patient)
    assert alert.kind is AlertKind.MOOD_DISENGAGEMENT
    assert alert.severity is AlertSeverity.MODERATE
    assert alert.reason == "no mood entry for 3 days"
    assert mood.sweep_mood_alerts(db, utcnow() + timedelta(days=2)) == 0
    # Disengagement does not hold an infusion.
    assert service.open_patient_alerts(db, patient_id=patient.id) == []


def test_a_warning_older_than_the_lookback_is_history_not_an_alert(db: Session) -> None:
    patient = registered_long_ago(db)
    charted(db, patient, range(40, 30, -1), elevated=3)
    charted(db, patient, range(29, -1, -1))
    assert mood.refresh_mood_alerts(db, SYSTEM, patient_id=patient.id, today=today(),
                                    zone=ZONE) == []


def test_rating_switches_are_left_to_the_rating_alerts_and_qids_relapse_is_raised(
        db: Session) -> None:
    patient = registered_long_ago(db)
    nurse = make_user(db)
    record(db, patient, nurse, "asrm", answers("asrm", [2, 2, 2, 1, 1]))
    kinds = set(db.scalars(select(Alert.kind).where(Alert.patient_id == patient.id)))
    assert AlertKind.POSSIBLE_SWITCH in kinds or AlertKind.PROBABLE_MANIA in kinds
    assert AlertKind.MOOD_SWITCH not in kinds
    qids = {item.id: 0 if "12" in item.id else 2
            for item in get_instrument("qids-sr16").asked_items}
    record(db, patient, nurse, "qids-sr16", qids)
    relapse = [a for a in mood_alerts(db, patient) if a.kind is AlertKind.MOOD_RELAPSE]
    assert len(relapse) == 1 and relapse[0].reason is not None
    assert relapse[0].reason.startswith("possible depressive relapse: QIDS-SR16")


def test_days_typed_in_order_raise_one_switch_and_no_stale_disengagement(db: Session) -> None:
    """A clinician backfilling a week day by day: each entry is judged on part of the data,
    yet the episode gives one switch alert, and the gaps the backfill fills are no alert."""
    patient = registered_long_ago(db)
    for ago in range(6, -1, -1):
        up = 2 if ago <= 4 else 0
        moodchart.record_entry(db, SYSTEM, patient_id=patient.id, zone=ZONE,
                               data=moodchart.EntryInput(today() - timedelta(days=ago), 0, up,
                                                         up, 0, 4.5 if up else 7.5))
    assert [a.kind for a in mood_alerts(db, patient)] == [AlertKind.MOOD_SWITCH]


def test_the_sweep_leaves_patients_who_chart_to_their_entries(
        db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    charting, quiet = registered_long_ago(db), registered_long_ago(db)
    charted(db, charting, range(12, 0, -1))  # the last entry yesterday
    charted(db, quiet, range(12, 4, -1))     # nothing for 4 days
    refreshed: list[int] = []
    real = mood.refresh_mood_alerts

    def counting(*args: object, **kwargs: Any) -> list[Alert]:
        refreshed.append(int(kwargs["patient_id"]))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(mood, "refresh_mood_alerts", counting)
    assert mood.sweep_mood_alerts(db, utcnow()) == 1
    assert refreshed == [quiet.id]
    # Its alert raised, the next sweeps leave it alone too, until it charts again.
    assert mood.sweep_mood_alerts(db, utcnow() + timedelta(minutes=15)) == 0
    assert refreshed == [quiet.id]
