"""Rate and order safety through the JSON API and the chair page (both databases): the same
service rules answer 422 naming the rate field, and 409 under an open HOLD."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ketaflow.infusions import service
from ketaflow.infusions.rules import SessionAction
from tests.infusions.factories import ORDER_LOT, make_clinic, ready_to_start
from tests.infusions.test_api import BASE, started
from tests.infusions.test_pages import post
from tests.web.helpers import sign_in


def test_api_refuses_rate_above_order_and_increase_under_hold(app_client: TestClient,
                                                              app_db: Session) -> None:
    nurse, _, session_id = started(app_client, app_db)
    above = nurse.post(f"{BASE}/{session_id}/actions", {
        "action": "change_rate", "rate_ml_per_h": 60, "reason": "faster"}, expect=422)
    assert "52.5 mL/h" in above["detail"] and "New rate (mL/h)" in above["detail"]
    for sbp, dbp in ((192, 118), (192, 118)):
        nurse.post(f"{BASE}/{session_id}/vitals", {"sbp_mmhg": sbp, "dbp_mmhg": dbp,
                                                   "hr_bpm": 80, "spo2_percent": 98},
                   expect=201)
    refused = nurse.post(f"{BASE}/{session_id}/actions", {
        "action": "change_rate", "rate_ml_per_h": 9999, "reason": "faster"}, expect=409)
    assert "HOLD alert" in refused["detail"]
    nurse.post(f"{BASE}/{session_id}/actions", {"action": "pause"})
    again = nurse.post(f"{BASE}/{session_id}/actions", {"action": "resume"}, expect=409)
    assert "HOLD" in again["detail"]
    session = nurse.get(f"{BASE}/{session_id}")
    assert session["rate_ml_per_h"] == 52.5 and session["status"] == "paused"
    assert len(session["orders"]) == 1
    assert session["delivered"]["pauses"] == 1 and session["delivered"]["rate_changes"] == 0


def test_api_order_needs_a_duration(app_client: TestClient, app_db: Session) -> None:
    _nurse, prescriber, session_id = started(app_client, app_db)
    body = {"drug": "ketamine_hcl", "lot_number": ORDER_LOT,
            "concentration_mg_per_ml": 1.0, "supersede_reason": "new bag"}
    prescriber.post(f"{BASE}/{session_id}/order", body, expect=422)
    prescriber.post(f"{BASE}/{session_id}/order", body | {"duration_min": 0}, expect=422)


def test_page_refuses_9999_under_open_hold(app_client: TestClient, app_db: Session) -> None:
    clinic = make_clinic(app_db)
    record = ready_to_start(app_db, clinic)
    service.apply_action(app_db, clinic.nurse_ctx, session_id=record.id,
                         action=SessionAction.START)
    app_db.commit()
    assert sign_in(app_client, clinic.nurse.username) == 303
    page = f"/infusions/sessions/{record.id}"
    for _ in range(2):
        post(app_client, f"{page}/vitals", {"sbp_mmhg": "192", "dbp_mmhg": "118",
                                            "hr_bpm": "80", "spo2_percent": "98"})
    refused = post(app_client, f"{page}/action", {"action": "change_rate",
                                                  "rate_ml_per_h": "9999", "reason": "x"})
    assert refused.status_code == 409  # type: ignore[attr-defined]
    assert "HOLD alert" in refused.text  # type: ignore[attr-defined]
    html = app_client.get(page).text
    assert 'id="rate">52.5 mL/h' in html and "at most 52.5 mL/h" in html
    above = post(app_client, f"{page}/action", {"action": "change_rate",
                                                "rate_ml_per_h": "20", "reason": "slower"})
    assert above.status_code == 303  # type: ignore[attr-defined]


def test_page_order_duration_zero_is_refused(app_client: TestClient, app_db: Session) -> None:
    clinic = make_clinic(app_db)
    record = ready_to_start(app_db, clinic)
    app_db.commit()
    assert sign_in(app_client, clinic.prescriber.username) == 303
    page = f"/infusions/sessions/{record.id}"
    assert 'name="duration_min" type="number"' in app_client.get(page).text
    refused = post(app_client, f"{page}/order", {
        "drug": "ketamine_hcl", "lot_number": ORDER_LOT,
        "concentration_mg_per_ml": "1", "duration_min": "0", "supersede_reason": "x"})
    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert "Duration (min) must be more than 0" in refused.text  # type: ignore[attr-defined]
    signed = post(app_client, f"{page}/order", {
        "drug": "ketamine_hcl", "lot_number": ORDER_LOT,
        "concentration_mg_per_ml": "1", "duration_min": "40",
        "supersede_reason": "new lot"})
    assert signed.status_code == 303  # type: ignore[attr-defined]
    html = app_client.get(page).text
    assert "Order history (2 orders)" in html and "new lot" in html and "superseded" in html
