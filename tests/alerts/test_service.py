"""Alerts from ratings: one per signal kind, open until a prescriber acknowledges with a note."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketaflow.alerts import service
from ketaflow.alerts.models import Alert, AlertKind, AlertSeverity
from ketaflow.assessments import service as assessments
from ketaflow.audit.models import AuditEvent
from ketaflow.config import Role
from ketaflow.errors import Conflict, PermissionDenied, ValidationFailed
from ketaflow.scales.longitudinal import Action
from tests.assessments.factories import (
    answers,
    ctx_for,
    madrs,
    make_patient,
    nurse,
    phq9,
    prescriber,
    record,
)
from tests.support.factories import make_user

CSSRS_HIGH = {"wish_to_be_dead": 1, "suicidal_thoughts": 1, "thoughts_with_method": 0,
              "intent_without_plan": 0, "intent_with_plan": 1, "behaviour_lifetime": 0}
CASES = [
    ("phq9", phq9(12, item9=1), {AlertKind.CSSRS_SCREEN, AlertKind.SUICIDALITY_URGENT}),
    ("qids-sr16", answers("qids-sr16", [1] * 11 + [1] + [1] * 4),
     {AlertKind.CSSRS_SCREEN, AlertKind.SUICIDALITY_URGENT}),
    ("madrs", madrs(30, item10=2), {AlertKind.CSSRS_SCREEN}),
    ("madrs", madrs(34, item10=4), {AlertKind.CSSRS_SCREEN, AlertKind.SAME_DAY_REVIEW}),
    ("cssrs-screener", CSSRS_HIGH, {AlertKind.CSSRS_HIGH}),
    ("ymrs", answers("ymrs", [2, 2, 1, 2, 2, 2, 1, 0, 0, 0, 0]), {AlertKind.POSSIBLE_SWITCH}),
    ("ymrs", answers("ymrs", [3, 3, 2, 3, 4, 4, 1, 1, 0, 0, 0]),  # 21: manic band
     {AlertKind.POSSIBLE_SWITCH, AlertKind.PROBABLE_MANIA}),
    ("asrm", answers("asrm", [2, 2, 1, 1, 0]), {AlertKind.POSSIBLE_SWITCH}),
    ("madrs", madrs(30, item10=1), set()),
    ("phq9", phq9(20, item9=0), set()),
    ("asrm", answers("asrm", [2, 1, 1, 1, 0]), set()),
]


@pytest.mark.parametrize(("instrument", "values", "kinds"), CASES,
                         ids=[f"{c[0]}-{'+'.join(sorted(c[2])) or 'none'}" for c in CASES])
def test_each_signal_kind_raises_one_alert(db: Session, instrument: str,
                                           values: dict[str, int | None],
                                           kinds: set[AlertKind]) -> None:
    patient, rater = make_patient(db), nurse(db)
    stored = record(db, patient, rater, instrument, values)
    alerts = list(db.scalars(select(Alert).where(Alert.source_assessment_id == stored.id)))
    assert {a.kind for a in alerts} == kinds
    for alert in alerts:
        assert alert.patient_id == patient.id and alert.is_open
        assert alert.severity is service.SEVERITY[alert.kind]
        assert alert.created_at.tzinfo is not None
    events = db.scalars(select(AuditEvent).where(AuditEvent.action == "alert.create"))
    assert len(list(events)) == len(kinds)


def test_cssrs_high_is_urgent_and_carries_the_reference_actions(db: Session) -> None:
    patient, rater = make_patient(db), nurse(db)
    record(db, patient, rater, "cssrs-screener", CSSRS_HIGH)
    (alert,) = db.scalars(select(Alert))
    assert alert.severity is AlertSeverity.URGENT
    assert set(alert.action_list) == {str(Action.BLOCK_SELF_CHECK_IN),
                                      str(Action.NOTIFY_PRESCRIBER),
                                      str(Action.SHOW_EMERGENCY_PATHWAY)}


def test_rescore_does_not_duplicate_alerts(db: Session) -> None:
    patient, rater = make_patient(db), nurse(db)
    stored = record(db, patient, rater, "madrs", madrs(34, item10=4))
    assessments.rescore_assessment(db, ctx_for(rater), assessment_id=stored.id)
    assert db.scalar(select(func.count(Alert.id))) == 2


def test_only_a_prescriber_acknowledges_and_a_note_is_required(db: Session) -> None:
    patient, rater, doctor = make_patient(db), nurse(db), prescriber(db)
    record(db, patient, rater, "phq9", phq9(15, item9=2))
    alert = db.scalars(select(Alert).where(Alert.kind == AlertKind.CSSRS_SCREEN)).one()
    for role in (Role.NURSE, Role.FRONT_DESK, Role.ADMIN, Role.RESEARCHER):
        user = make_user(db, role=role)
        with pytest.raises(PermissionDenied):
            service.acknowledge_alert(db, ctx_for(user), alert_id=alert.id, user_id=user.id,
                                      note="seen and handled")
    with pytest.raises(ValidationFailed) as exc:
        service.acknowledge_alert(db, ctx_for(doctor), alert_id=alert.id, user_id=doctor.id,
                                  note=" ok ")
    assert exc.value.field == "note"
    assert service.get_alert(db, alert.id).is_open
    done = service.acknowledge_alert(db, ctx_for(doctor), alert_id=alert.id, user_id=doctor.id,
                                     note="C-SSRS screen done: low risk, safety plan reviewed")
    assert not done.is_open and done.acknowledged_by_user_id == doctor.id
    assert done.acknowledged_at is not None
    assert done.action_note == "C-SSRS screen done: low risk, safety plan reviewed"
    with pytest.raises(Conflict):
        service.acknowledge_alert(db, ctx_for(doctor), alert_id=alert.id, user_id=doctor.id,
                                  note="second time")
    (event,) = db.scalars(select(AuditEvent).where(AuditEvent.action == "alert.acknowledge"))
    assert "safety plan" not in event.detail and event.actor_user_id == doctor.id


def test_open_list_and_patient_list(db: Session) -> None:
    first, second, rater, doctor = make_patient(db), make_patient(db), nurse(db), prescriber(db)
    record(db, first, rater, "asrm", answers("asrm", [2, 2, 1, 1, 0]))
    record(db, second, rater, "cssrs-screener", CSSRS_HIGH)
    rows = service.list_open_alerts(db, ctx_for(rater))
    # Most severe first: the urgent C-SSRS alert leads the worklist.
    assert [r.alert.kind for r in rows] == [AlertKind.CSSRS_HIGH, AlertKind.POSSIBLE_SWITCH]
    assert rows[0].patient.mrn == second.mrn and rows[0].instrument_id == "cssrs-screener"
    service.acknowledge_alert(db, ctx_for(doctor), alert_id=rows[1].alert.id, user_id=doctor.id,
                              note="reviewed: not a switch, sleep deprived")
    assert [r.alert.kind for r in service.list_open_alerts(db, ctx_for(rater))] == [
        AlertKind.CSSRS_HIGH]
    # Acknowledged alerts stay on the patient's list: alerts are never deleted.
    mine = service.list_patient_alerts(db, ctx_for(rater), patient_id=first.id)
    assert len(mine) == 1 and not mine[0].alert.is_open
    listed = db.scalars(select(AuditEvent).where(AuditEvent.action == "alert.list"))
    assert all("Fictional" not in e.detail for e in listed)
    assert json.loads(list(db.scalars(select(AuditEvent).where(
        AuditEvent.action == "alert.list")))[-1].detail)["scope"] == "patient"
