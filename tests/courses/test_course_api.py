"""The course JSON API: refusals naming the reason, planning, transitions, baseline, roles."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ketaflow.clinical.eligibility import PregnancyStatus
from ketaflow.config import Role
from tests.screening.factories import consent, make_patient, monday_ahead, signed_screening
from tests.web.helpers import api_token, committed_user

PROBLEM = "application/problem+json"


def test_course_lifecycle_over_the_api(app_client: TestClient, app_db: Session) -> None:
    patient = make_patient(app_db, adequate_trials=2)
    doctor = committed_user(app_db, Role.PRESCRIBER)
    headers = {"Authorization": f"Bearer {api_token(app_db, doctor)}"}
    path = f"/api/v1/patients/{patient.id}/courses"
    unsigned = app_client.post(path, headers=headers, json={"start_on": "2030-01-07"})
    assert unsigned.status_code == 409 and unsigned.headers["content-type"].startswith(PROBLEM)
    assert "no signed screening" in unsigned.json()["detail"]
    assert "no informed consent" in unsigned.json()["detail"]
    signed_screening(app_db, patient, doctor)
    consent(app_db, patient, doctor)
    app_db.commit()
    monday = monday_ahead()
    created = app_client.post(path, headers=headers, json={
        "start_on": monday.isoformat(), "frequency": "every_2_days", "dose_mg_per_kg": 0.75,
        "max_dose_mg": 90})
    assert created.status_code == 201, created.text
    course = created.json()
    assert course["state"] == "planned" and course["baseline_on"] == monday.isoformat()
    assert [i["on"] for i in course["infusions"]] == [
        (monday + timedelta(days=d)).isoformat() for d in (0, 2, 4, 7, 9, 11)]
    assert course["allowed_transitions"] == ["active", "stopped"]
    assert course["maintenance"]["label"] == "configurable suggestion, unverified as a standard"
    cid = course["id"]
    stop = app_client.post(f"/api/v1/courses/{cid}/transitions", headers=headers,
                           json={"state": "stopped"})
    assert stop.status_code == 422 and stop.json()["field"] == "reason"
    active = app_client.post(f"/api/v1/courses/{cid}/transitions", headers=headers,
                             json={"state": "active"})
    assert active.status_code == 200 and active.json()["state"] == "active"
    baseline = app_client.put(f"/api/v1/courses/{cid}/baseline", headers=headers,
                              json={"baseline_on": str(monday - timedelta(days=4))})
    assert baseline.status_code == 200
    assert baseline.json()["baseline_on"] == str(monday - timedelta(days=4))
    second = app_client.post(path, headers=headers,
                             json={"start_on": str(monday + timedelta(days=28))})
    assert second.status_code == 409 and f"course {cid} is still active" in second.json()["detail"]
    over = app_client.get(path, headers=headers).json()
    assert [c["id"] for c in over] == [cid]


def test_not_eligible_screening_is_named(app_client: TestClient, app_db: Session) -> None:
    patient = make_patient(app_db)
    doctor = committed_user(app_db, Role.PRESCRIBER)
    signed_screening(app_db, patient, doctor, pregnancy_status=PregnancyStatus.PREGNANT)
    consent(app_db, patient, doctor)
    headers = {"Authorization": f"Bearer {api_token(app_db, doctor)}"}
    refused = app_client.post(f"/api/v1/patients/{patient.id}/courses", headers=headers,
                              json={"start_on": "2030-01-07"})
    assert refused.status_code == 409
    assert "outcome is not eligible" in refused.json()["detail"]


def test_roles(app_client: TestClient, app_db: Session) -> None:
    patient = make_patient(app_db)
    app_db.commit()
    for role, expected in ((Role.NURSE, 403), (Role.RESEARCHER, 403), (Role.FRONT_DESK, 403)):
        headers = {"Authorization": f"Bearer {api_token(app_db, committed_user(app_db, role))}"}
        planned = app_client.post(f"/api/v1/patients/{patient.id}/courses", headers=headers,
                                  json={"start_on": "2030-01-07"})
        assert planned.status_code == expected, role
    nurse = {"Authorization": f"Bearer {api_token(app_db, committed_user(app_db, Role.NURSE))}"}
    listed = app_client.get(f"/api/v1/patients/{patient.id}/courses", headers=nurse)
    assert listed.status_code == 200 and listed.json() == []
    for role in (Role.RESEARCHER, Role.FRONT_DESK):
        headers = {"Authorization": f"Bearer {api_token(app_db, committed_user(app_db, role))}"}
        assert app_client.get(f"/api/v1/patients/{patient.id}/courses",
                              headers=headers).status_code == 403
        assert app_client.get("/api/v1/courses/1", headers=headers).status_code == 403
