"""The screening and consent JSON API: roles, locking, amendments, problem details."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ketaflow.clinical.eligibility import CHECKLIST, ItemKind
from ketaflow.config import Role
from tests.screening.factories import make_patient
from tests.web.helpers import api_token, committed_user

PROBLEM = "application/problem+json"


def bearer(db: Session, role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_token(db, committed_user(db, role))}"}


def complete_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "answers": {item.key: {"answer": "yes" if item.kind is ItemKind.REQUIREMENT else "no"}
                    for item in CHECKLIST},
        "systolic_mmhg": 122, "diastolic_mmhg": 76, "heart_rate_bpm": 70, "spo2_pct": 98,
        "weight_kg": 68.5, "ymrs_total": 3, "pregnancy_status": "not_applicable",
        "maudsley": {"episode_months": 30, "severity": "severe_without_psychosis",
                     "failed_antidepressants": 5, "augmentation_used": True, "ect_used": False},
    }
    return body | overrides


def test_nurse_fills_prescriber_signs_and_it_locks(app_client: TestClient, app_db: Session) -> None:
    patient = make_patient(app_db, adequate_trials=2)
    app_db.commit()
    nurse, doctor = bearer(app_db, Role.NURSE), bearer(app_db, Role.PRESCRIBER)
    created = app_client.post(f"/api/v1/patients/{patient.id}/screenings", headers=nurse,
                              json=complete_body(ymrs_total=None))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "draft" and body["outcome"] == "incomplete"
    assert body["unanswered"] == [{"key": "ymrs", "label": "Baseline YMRS"}]
    assert body["resistance"]["meets"] is True
    assert [t["counts"] for t in body["resistance"]["trials"]] == [True, True]
    assert body["maudsley"]["total"] == 3 + 4 + 3 + 1 + 0 and body["maudsley"]["band"] == "severe"
    sid = body["id"]
    incomplete = app_client.post(f"/api/v1/screenings/{sid}/sign", headers=doctor, json={})
    assert incomplete.status_code == 422 and "Baseline YMRS" in incomplete.json()["detail"]
    assert incomplete.headers["content-type"].startswith(PROBLEM)
    updated = app_client.put(f"/api/v1/screenings/{sid}", headers=nurse, json=complete_body())
    assert updated.status_code == 200 and updated.json()["outcome"] == "eligible"
    assert app_client.post(f"/api/v1/screenings/{sid}/sign", headers=nurse,
                           json={}).status_code == 403
    signed = app_client.post(f"/api/v1/screenings/{sid}/sign", headers=doctor, json={})
    assert signed.status_code == 200 and signed.json()["status"] == "signed"
    locked = app_client.put(f"/api/v1/screenings/{sid}", headers=nurse,
                            json=complete_body(ymrs_total=30))
    assert locked.status_code == 409 and "locked" in locked.json()["detail"]
    amended = app_client.post(f"/api/v1/screenings/{sid}/amendments", headers=nurse,
                              json={"reason": "repeat BP"})
    assert amended.status_code == 201
    assert amended.json()["amends_id"] == sid and amended.json()["version"] == 2
    original = app_client.get(f"/api/v1/screenings/{sid}", headers=nurse).json()
    assert original["status"] == "signed" and original["amended_by_id"] == amended.json()["id"]
    listed = app_client.get(f"/api/v1/patients/{patient.id}/screenings", headers=doctor)
    assert [s["version"] for s in listed.json()] == [2, 1]


def test_validation_problems_name_fields_without_echoing_values(
    app_client: TestClient, app_db: Session
) -> None:
    patient = make_patient(app_db)
    app_db.commit()
    nurse = bearer(app_db, Role.NURSE)
    bad = app_client.post(f"/api/v1/patients/{patient.id}/screenings", headers=nurse,
                          json=complete_body(systolic_mmhg=987))
    assert bad.status_code == 422 and bad.json()["field"] == "systolic_mmhg"
    # The request id is random hex, which may hold any digits: look at the other members.
    echoed = {k: v for k, v in bad.json().items() if k != "request_id"}
    assert "987" not in json.dumps(echoed)
    schema = app_client.post(f"/api/v1/patients/{patient.id}/screenings", headers=nurse,
                             json={"answers": {"hypersensitivity": {"answer": "maybe"}}})
    assert schema.status_code == 422 and "maybe" not in schema.text
    missing = app_client.get("/api/v1/screenings/999999", headers=nurse)
    assert missing.status_code == 404


def test_researcher_and_front_desk_are_refused(app_client: TestClient, app_db: Session) -> None:
    patient = make_patient(app_db)
    app_db.commit()
    for role in (Role.RESEARCHER, Role.FRONT_DESK, Role.ADMIN):
        headers = bearer(app_db, role)
        for method, path in (("GET", f"/api/v1/patients/{patient.id}/screenings"),
                             ("POST", f"/api/v1/patients/{patient.id}/screenings"),
                             ("GET", f"/api/v1/patients/{patient.id}/consents")):
            response = app_client.request(method, path, headers=headers,
                                          json=complete_body() if method == "POST" else None)
            assert response.status_code == 403, (role, path)


def test_consent_api(app_client: TestClient, app_db: Session) -> None:
    patient = make_patient(app_db)
    witness = committed_user(app_db, Role.NURSE)
    recorder = committed_user(app_db, Role.PRESCRIBER)
    headers = {"Authorization": f"Bearer {api_token(app_db, recorder)}"}
    recorded = app_client.post(f"/api/v1/patients/{patient.id}/consents", headers=headers, json={
        "form_version": "OLC-2026.1", "consented_on": "2026-01-05",
        "witnessed_by_user_id": witness.id})
    assert recorded.status_code == 201, recorded.text
    listed = app_client.get(f"/api/v1/patients/{patient.id}/consents", headers=headers).json()
    assert [(c["form_version"], c["witnessed_by_user_id"]) for c in listed] == [
        ("OLC-2026.1", witness.id)]
    empty = app_client.post(f"/api/v1/patients/{patient.id}/consents", headers=headers, json={
        "form_version": "", "consented_on": "2026-01-05", "witnessed_by_user_id": witness.id})
    assert empty.status_code == 422
