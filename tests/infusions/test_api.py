"""The infusion JSON API on both databases: a whole session, idempotency keys, refusals."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2 as httpx
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketaflow.audit.models import AuditEvent
from ketaflow.config import Role
from ketaflow.infusions.models import InfusionSession, VitalsRecord
from tests.infusions.factories import (
    ALDRETE_OK,
    ORDER_LOT,
    ORDER_LOT_MG,
    PADSS_OK,
    backdate,
    make_clinic,
    make_course,
    self_report,
    stock_order_lot,
)
from tests.support.aio import run_async
from tests.support.audit import sealed_and_verified
from tests.support.factories import DEFAULT_PASSWORD
from tests.web.helpers import api_token

BASE = "/api/v1/infusions/sessions"


class Api:
    def __init__(self, client: TestClient, token: str) -> None:
        self.client, self.headers = client, {"Authorization": f"Bearer {token}"}

    def post(self, path: str, body: dict[str, Any] | None = None, key: str | None = None,
             expect: int = 200) -> Any:
        headers = self.headers | ({"Idempotency-Key": key} if key else {})
        response = self.client.post(path, json=body, headers=headers)
        assert response.status_code == expect, response.text
        return response.json()

    def get(self, path: str) -> Any:
        response = self.client.get(path, headers=self.headers)
        assert response.status_code == 200, response.text
        return response.json()


def arrange(app_client: TestClient, app_db: Session) -> tuple[Api, Api, int]:
    clinic = make_clinic(app_db)
    course = make_course(app_db, clinic)
    stock_order_lot(app_db, clinic)
    self_report(app_db, course.patient_id)
    app_db.commit()
    nurse = Api(app_client, api_token(app_db, clinic.nurse))
    prescriber = Api(app_client, api_token(app_db, clinic.prescriber))
    return nurse, prescriber, course.id


def started(app_client: TestClient, app_db: Session) -> tuple[Api, Api, int]:
    nurse, prescriber, course_id = arrange(app_client, app_db)
    session_id = nurse.post(BASE, {"course_id": course_id}, expect=201)["id"]
    nurse.post(f"{BASE}/{session_id}/actions", {"action": "begin_prechecks"})
    nurse.post(f"{BASE}/{session_id}/prechecks", {
        "identity_confirmed": True, "consent_current": True, "fasting_confirmed": True,
        "escort_confirmed": True, "transport_confirmed": True,
        "pregnancy_test": "not_applicable"})
    nurse.post(f"{BASE}/{session_id}/vitals", {"sbp_mmhg": 124, "dbp_mmhg": 80, "hr_bpm": 70,
                                               "spo2_percent": 98}, expect=201)
    prescriber.post(f"{BASE}/{session_id}/order", {
        "drug": "ketamine_hcl", "lot_number": ORDER_LOT,
        "concentration_mg_per_ml": 1.0, "duration_min": 40}, expect=201)
    nurse.post(f"{BASE}/{session_id}/actions", {"action": "start"})
    return nurse, prescriber, session_id


def test_whole_session_over_the_api(app_client: TestClient, app_db: Session) -> None:
    nurse, prescriber, session_id = started(app_client, app_db)
    result = nurse.post(f"{BASE}/{session_id}/vitals", {"sbp_mmhg": 150, "dbp_mmhg": 92,
                                                        "hr_bpm": 84, "spo2_percent": 97,
                                                        "rr_per_min": 14, "rass": -1},
                        expect=201)
    assert result["alerts"] == []
    session = nurse.get(f"{BASE}/{session_id}")
    assert session["status"] == "running" and session["order"]["rate_ml_per_h"] == 52.5
    assert session["next_reading_due"]["kind"] == "interval"
    assert session["allowed_actions"] == ["pause", "change_rate", "stop", "abort"]
    nurse.post(f"{BASE}/{session_id}/events", {"kind": "cadss6", "answers": {
        "slow_motion": 1, "unreality": 1, "body_disconnection": 0, "body_change": 0,
        "spacing_out": 2, "observer_item_22": 0}}, expect=201)
    nurse.post(f"{BASE}/{session_id}/actions", {"action": "stop", "reason": "stopped early (test)"})
    nurse.post(f"{BASE}/{session_id}/actions", {"action": "begin_observation"})
    record = app_db.get(InfusionSession, session_id)
    assert record is not None
    backdate(app_db, record, 61)
    app_db.commit()
    done = nurse.post(f"{BASE}/{session_id}/discharge", {
        "aldrete_answers": ALDRETE_OK, "padss_answers": PADSS_OK, "escort_confirmed": True,
        "no_driving_advice_given": True})
    assert done["status"] == "discharged" and done["discharge"]["aldrete_total"] == 10
    note = nurse.post(f"{BASE}/{session_id}/note")
    assert "CADSS-6 max 4" in note["body"]
    # A nurse may not sign; the prescriber does.
    refused = app_client.post(f"{BASE}/{session_id}/note/sign", headers=nurse.headers)
    assert refused.status_code == 403
    assert prescriber.post(f"{BASE}/{session_id}/note/sign")["signed_at"] is not None
    nurse.post(f"{BASE}/{session_id}/note/addenda", {"text": "called home: well"}, expect=201)


def test_retried_reading_is_stored_once(app_client: TestClient, app_db: Session) -> None:
    nurse, _, session_id = started(app_client, app_db)
    body = {"sbp_mmhg": 130, "dbp_mmhg": 85, "hr_bpm": 77,
            "taken_at": datetime.now(UTC).isoformat()}
    first = nurse.client.post(f"{BASE}/{session_id}/vitals", json=body,
                              headers=nurse.headers | {"Idempotency-Key": "tablet-7-0001"})
    again = nurse.client.post(f"{BASE}/{session_id}/vitals", json=body,
                              headers=nurse.headers | {"Idempotency-Key": "tablet-7-0001"})
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    count = app_db.scalar(select(func.count()).select_from(VitalsRecord).where(
        VitalsRecord.session_id == session_id))
    assert count == 2  # the pre-infusion reading and this one, once
    app_db.rollback()  # release SQLite's write lock before the next request
    other = nurse.client.post(f"{BASE}/{session_id}/vitals", json=body | {"hr_bpm": 78},
                              headers=nurse.headers | {"Idempotency-Key": "tablet-7-0001"})
    assert other.status_code == 422
    assert other.json()["field"] == "Idempotency-Key"


def test_concurrent_readings_are_written_together_each_once(app_client: TestClient,
                                                           app_db: Session) -> None:
    """Monitor gateways post at once: every reading is stored once with its own answer and
    audit event, a key repeated in the same burst is a replay, and a bad one only fails itself."""
    nurse, _, session_id = started(app_client, app_db)
    app_db.commit()
    path = f"{BASE}/{session_id}/vitals"
    good = [({"hr_bpm": 60 + n, "spo2_percent": 98}, f"gw-{n}") for n in range(20)]
    burst = [*good, good[3], ({"spo2_percent": 101}, "gw-bad")]

    async def post_all() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app_client.app)
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
            return await asyncio.gather(*(
                client.post(path, json=body, headers=nurse.headers | {"Idempotency-Key": key})
                for body, key in burst))

    responses = run_async(post_all())
    assert [r.status_code for r in responses] == [201] * 21 + [422]
    assert responses[20].json() == responses[3].json()
    assert responses[20].headers["Idempotent-Replayed"] == "true"
    assert responses[21].json()["field"] == "spo2_percent"
    heart_rates = app_db.scalars(select(VitalsRecord.hr_bpm).where(
        VitalsRecord.session_id == session_id, VitalsRecord.hr_bpm >= 60,
        VitalsRecord.sbp_mmhg.is_(None))).all()
    assert sorted(heart_rates) == [60 + n for n in range(20)]
    ids = {r.json()["vitals"]["id"] for r in responses[:20]}
    audited = app_db.scalars(select(AuditEvent.detail).where(
        AuditEvent.action == "infusion.vitals.record")).all()
    assert ids <= {json.loads(detail)["vitals_id"] for detail in audited}
    assert sealed_and_verified(app_db).ok
    app_db.rollback()


def test_refusals_are_problems_naming_the_field(app_client: TestClient,
                                                app_db: Session) -> None:
    nurse, _, session_id = started(app_client, app_db)
    response = nurse.client.post(f"{BASE}/{session_id}/vitals", json={"spo2_percent": 101},
                                 headers=nurse.headers | {"Idempotency-Key": "k1"})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["field"] == "spo2_percent"
    # A refused write stores nothing under its key: the corrected retry goes through.
    ok = nurse.client.post(f"{BASE}/{session_id}/vitals", json={"spo2_percent": 99},
                           headers=nurse.headers | {"Idempotency-Key": "k1"})
    assert ok.status_code == 201
    # A missing record named in the body is invalid input (422), not a missing path (404).
    second = nurse.client.post(BASE, json={"course_id": 999_999}, headers=nurse.headers)
    assert second.status_code == 422 and second.json()["field"] == "course_id"


def test_order_needs_prescriber_and_reads_are_audited(app_client: TestClient,
                                                      app_db: Session) -> None:
    nurse, _, course_id = arrange(app_client, app_db)
    session_id = nurse.post(BASE, {"course_id": course_id}, key="open-1", expect=201)["id"]
    assert nurse.post(BASE, {"course_id": course_id}, key="open-1", expect=201)["id"] == \
        session_id
    response = app_client.post(f"{BASE}/{session_id}/order", headers=nurse.headers, json={
        "drug": "ketamine_hcl", "lot_number": "L", "expiry_date": "2027-01-01",
        "concentration_mg_per_ml": 1, "duration_min": 40})
    assert response.status_code == 403
    nurse.get(f"{BASE}/{session_id}")
    reads = app_db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "infusion.session.read", AuditEvent.entity_id == str(session_id)))
    opens = app_db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "infusion.session.open"))
    assert (reads, opens) == (1, 1)


def test_ledger_api(app_client: TestClient, app_db: Session) -> None:
    nurse, prescriber, session_id = started(app_client, app_db)
    path = "/api/v1/controlled/entries"
    me = prescriber.get("/api/v1/me")
    receipt = {"kind": "received", "lot_number": "L-77", "drug": "ketamine_hcl",
               "expiry_date": str((datetime.now(UTC) + timedelta(days=300)).date()),
               "concentration_mg_per_ml": 50, "vial_count": 1, "vial_volume_ml": 10,
               "witness_user_id": me["id"]}
    assert nurse.post(path, receipt, expect=422)["field"] == "witness_password"
    nurse.post(path, {**receipt, "witness_password": DEFAULT_PASSWORD}, expect=201)
    nurse.post(path, {"kind": "drawn", "lot_number": "L-77", "amount_mg": 40,
                      "session_id": session_id}, expect=201)
    # The ordered 35 mg is administered once the pump has delivered it (41 min at the rate).
    backdate(app_db, app_db.get(InfusionSession, session_id), 41)  # type: ignore[arg-type]
    app_db.commit()
    nurse.post(path, {"kind": "administered", "lot_number": "L-77", "amount_mg": 35,
                      "session_id": session_id}, expect=201)
    waste = {"kind": "wasted", "lot_number": "L-77", "amount_mg": 5, "session_id": session_id,
             "witness_user_id": me["id"]}
    # Waste without the witness's password is refused: the API cannot skip the co-signature.
    refused = nurse.post(path, waste, expect=422)
    assert refused["field"] == "witness_password"
    nurse.post(path, {**waste, "witness_password": DEFAULT_PASSWORD}, expect=201)
    assert nurse.get("/api/v1/controlled/inventory") == {"L-77": 460.0,
                                                          ORDER_LOT: ORDER_LOT_MG}
    assert len(nurse.get(path)) == 5  # the order lot's receipt and the four above
    assert nurse.get("/api/v1/controlled/discrepancies") == []
    front = app_client.get("/api/v1/controlled/inventory", headers={
        "Authorization": f"Bearer {api_token(app_db, make_front_desk(app_db))}"})
    assert front.status_code == 403


def make_front_desk(db: Session) -> Any:
    from tests.web.helpers import committed_user
    return committed_user(db, Role.FRONT_DESK)


def in_prechecks(app_client: TestClient, app_db: Session, *, item9: int | None = None
                 ) -> tuple[Api, Api, int, int]:
    """A session in pre-checks; with `item9`, a PHQ-9 today (item 9 > 0 opens an alert)."""
    clinic = make_clinic(app_db)
    course = make_course(app_db, clinic)
    if item9 is not None:
        self_report(app_db, course.patient_id, item9=item9)
    app_db.commit()
    nurse = Api(app_client, api_token(app_db, clinic.nurse))
    prescriber = Api(app_client, api_token(app_db, clinic.prescriber))
    session_id = nurse.post(BASE, {"course_id": course.id}, expect=201)["id"]
    nurse.post(f"{BASE}/{session_id}/actions", {"action": "begin_prechecks"})
    return nurse, prescriber, session_id, course.patient_id


def test_prechecks_show_self_report_missing_then_overridden(app_client: TestClient,
                                                            app_db: Session) -> None:
    nurse, _, session_id, _ = in_prechecks(app_client, app_db)
    session = nurse.get(f"{BASE}/{session_id}")
    assert session["self_report"] == {"day": str(datetime.now(UTC).date()), "satisfied": False,
                                      "found": [], "override": None}
    assert "self_report" in [p["field"] for p in session["missing_prechecks"]]
    # The tick-box is gone: the record answers this check.
    old = app_client.post(f"{BASE}/{session_id}/prechecks", headers=nurse.headers,
                          json={"self_report_done": True})
    assert old.status_code == 422
    done = nurse.post(f"{BASE}/{session_id}/prechecks/self-report-override",
                      {"reason": "patient declined"})
    assert done["self_report"]["satisfied"] is True
    assert done["self_report"]["override"]["reason"] == "patient declined"
    assert "self_report" not in [p["field"] for p in done["missing_prechecks"]]


def test_prechecks_show_todays_self_report_and_open_alert(app_client: TestClient,
                                                          app_db: Session) -> None:
    nurse, prescriber, session_id, patient_id = in_prechecks(app_client, app_db, item9=1)
    session = nurse.get(f"{BASE}/{session_id}")
    [found] = session["self_report"]["found"]
    assert (found["instrument"], found["label"], found["rater"]) == (
        "phq9", "PHQ-9", "patient-portal")
    alerts = session["open_patient_alerts"]
    assert sorted(a["kind"] for a in alerts) == ["cssrs-screen", "suicidality-urgent"]
    for alert in alerts:
        assert alert["acknowledge_url"] == (
            f"/patients/{patient_id}/assessments#alert-{alert['id']}")
    assert "patient_alerts" in [p["field"] for p in session["missing_prechecks"]]
    for alert in alerts:
        prescriber.post(f"/api/v1/alerts/{alert['id']}/acknowledge",
                        {"note": "C-SSRS screen negative; safety plan reviewed"})
    after = nurse.get(f"{BASE}/{session_id}")
    assert after["open_patient_alerts"] == []
    assert "patient_alerts" not in [p["field"] for p in after["missing_prechecks"]]


def test_nurse_acknowledges_review_not_hold(app_client: TestClient, app_db: Session) -> None:
    nurse, prescriber, session_id = started(app_client, app_db)
    review = nurse.post(f"{BASE}/{session_id}/vitals", {"sbp_mmhg": 185, "dbp_mmhg": 100},
                        expect=201)["alerts"][0]
    hold = nurse.post(f"{BASE}/{session_id}/vitals", {"sbp_mmhg": 182, "dbp_mmhg": 104},
                      expect=201)["alerts"][0]
    assert (review["level"], hold["level"]) == ("review", "hold")
    refused = app_client.post(f"{BASE}/{session_id}/alerts/{hold['id']}/acknowledge",
                              headers=nurse.headers, json={"action_taken": "paused"})
    assert refused.status_code == 403 and "prescriber" in refused.json()["detail"]
    assert nurse.post(f"{BASE}/{session_id}/alerts/{review['id']}/acknowledge",
                      {"action_taken": "repeated"})["acknowledged_at"] is not None
    assert prescriber.post(f"{BASE}/{session_id}/alerts/{hold['id']}/acknowledge",
                           {"action_taken": "paused; reviewed"})["acknowledged_at"] is not None
