"""The patients JSON API: problem details, role-by-role access, ids in URLs, amendments."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.models import AuditEvent
from ketaflow.config import Role
from tests.web.helpers import api_token, committed_user

PROBLEM = "application/problem+json"
PATIENT = {
    "given_name": "Orla",
    "family_name": "Fictitia",
    "date_of_birth": "1979-06-30",
    "sex": "female",
    "phone": "+44 20 7946 0000",
}
DIAGNOSIS = {
    "bipolar_type": "bipolar_i",
    "current_episode": "depressed",
    "severity": "severe",
    "psychosis_history": False,
    "substance_use": "past",
    "substance_use_note": "alcohol, abstinent 5 years",
    "suicide_attempts": 1,
    "last_suicide_attempt_date": "2019-03-01",
    "onset_date": "2001-01-01",
    "episode_start_date": "2026-08-01",
}
CLINICAL_SUBRESOURCES = ["measurements", "allergies", "diagnoses", "medications", "trials"]


def _as(client: TestClient, db: Session, role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_token(db, committed_user(db, role))}"}


@pytest.fixture
def nurse(app_client: TestClient, app_db: Session) -> dict[str, str]:
    return _as(app_client, app_db, Role.NURSE)


def _register(client: TestClient, headers: dict[str, str], **changes: object) -> dict:
    response = client.post("/api/v1/patients", headers=headers, json={**PATIENT, **changes})
    assert response.status_code == 201, response.text
    return response.json()


def _populate(client: TestClient, headers: dict[str, str], pid: int) -> None:
    base = f"/api/v1/patients/{pid}"
    for path, body in [
        ("measurements", {"weight": 154, "weight_unit": "lb", "height": 165, "height_unit": "cm"}),
        ("allergies", {"substance": "penicillin", "reaction": "rash", "severity": "moderate"}),
        ("diagnoses", DIAGNOSIS),
        (
            "medications",
            {
                "drug_name": "clonazepam",
                "dose_amount": 1,
                "dose_unit": "mg/day",
                "adherence": "good",
                "start_date": "2024-01-01",
            },
        ),
        ("medications", {"drug_name": "lamotrigine", "dose_amount": 200, "dose_unit": "mg/day"}),
        (
            "trials",
            {
                "drug_name": "quetiapine",
                "dose_mg_per_day": 400,
                "duration_weeks": 10,
                "adherence_verified": True,
                "response": "none",
            },
        ),
        (
            "trials",
            {
                "drug_name": "cariprazine",
                "dose_mg_per_day": 3,
                "duration_weeks": 6,
                "adherence_verified": True,
                "response": "partial",
            },
        ),
    ]:
        response = client.post(f"{base}/{path}", headers=headers, json=body)
        assert response.status_code == 201, (path, response.text)


def test_nurse_registers_and_reads_the_full_record(
    app_client: TestClient, app_db: Session, nurse: dict[str, str]
) -> None:
    created = _register(app_client, nurse)
    pid = created["id"]
    assert created["mrn"] == f"KF-{pid:06d}" and "clinical" not in created
    _populate(app_client, nurse, pid)
    body = app_client.get(f"/api/v1/patients/{pid}", headers=nurse).json()
    clinical = body["clinical"]
    assert body["demographics"]["family_name"] == "Fictitia"
    assert clinical["latest_weight_kg"] == 154 * 0.45359237
    assert clinical["diagnosis"]["icd10_code"] == "F31.4"
    assert clinical["diagnosis"]["snomed_code"] == "371596008"  # bipolar I
    clonazepam = next(m for m in clinical["medications"] if m["drug_name"] == "clonazepam")
    assert clonazepam["diazepam_equivalent_mg_per_day"] == 20 and clonazepam["current"] is True
    load = clinical["benzodiazepine_load"]
    assert load["total_diazepam_mg_per_day"] == 20 and load["flagged"]
    assert "Ashton" in load["source"]
    assert {n["kind"] for n in clinical["interaction_notes"]} == {"benzodiazepine", "lamotrigine"}
    resistance = clinical["resistance"]
    assert resistance["meets"] and resistance["adequate_failed_count"] == 2
    assert [t["counts"] for t in resistance["trials"]] == [True, True]
    for sub in CLINICAL_SUBRESOURCES:
        listed = app_client.get(f"/api/v1/patients/{pid}/{sub}", headers=nurse)
        assert listed.status_code == 200 and listed.json(), sub
    reads = app_db.scalars(select(AuditEvent).where(AuditEvent.action == "patient.read"))
    assert {json.loads(e.detail)["scope"] for e in reads} >= {"clinical", "diagnoses"}


def test_front_desk_gets_demographics_only(
    app_client: TestClient, app_db: Session, nurse: dict[str, str]
) -> None:
    pid = _register(app_client, nurse)["id"]
    _populate(app_client, nurse, pid)
    desk = _as(app_client, app_db, Role.FRONT_DESK)
    body = app_client.get(f"/api/v1/patients/{pid}", headers=desk).json()
    assert "clinical" not in body
    assert body["demographics"]["phone"] == "+44 20 7946 0000"
    text = json.dumps(body).lower()
    for clinical_word in ("f31", "clonazepam", "penicillin", "quetiapine", "weight"):
        assert clinical_word not in text
    for sub in CLINICAL_SUBRESOURCES:
        read = app_client.get(f"/api/v1/patients/{pid}/{sub}", headers=desk)
        assert read.status_code == 403 and read.headers["content-type"].startswith(PROBLEM), sub
        write = app_client.post(f"/api/v1/patients/{pid}/{sub}", headers=desk, json={})
        assert write.status_code == 403, sub
    # Front desk registers and amends demographics.
    assert _register(app_client, desk, family_name="Deskmade")["mrn"].startswith("KF-")
    amended = app_client.put(
        f"/api/v1/patients/{pid}/demographics",
        headers=desk,
        json={**PATIENT, "phone": "+44 20 7946 0999", "reason": "new number"},
    )
    assert amended.status_code == 200 and "clinical" not in amended.json()
    assert amended.json()["demographics"]["version"] == 2


@pytest.mark.parametrize("role", [Role.RESEARCHER, Role.ADMIN])
def test_researcher_and_admin_get_403_everywhere(
    app_client: TestClient, app_db: Session, nurse: dict[str, str], role: Role
) -> None:
    pid = _register(app_client, nurse)["id"]
    headers = _as(app_client, app_db, role)
    for path in ["", f"/{pid}", f"/{pid}/demographics/history"] + [
        f"/{pid}/{sub}" for sub in CLINICAL_SUBRESOURCES
    ]:
        response = app_client.get(f"/api/v1/patients{path}", headers=headers)
        assert response.status_code == 403, path
        assert "Fictitia" not in response.text
    assert app_client.post("/api/v1/patients", headers=headers, json=PATIENT).status_code == 403


def test_unknown_patient_ids_are_404_problems_and_never_another_patients_data(
    app_client: TestClient, nurse: dict[str, str]
) -> None:
    first = _register(app_client, nurse)["id"]
    second = _register(app_client, nurse, family_name="Otherova")["id"]
    med = app_client.post(
        f"/api/v1/patients/{first}/medications",
        headers=nurse,
        json={"drug_name": "lithium", "dose_amount": 800, "dose_unit": "mg/day"},
    ).json()
    missing = max(first, second) + 100
    for path in [f"/{missing}", f"/{missing}/demographics/history"] + [
        f"/{missing}/{sub}" for sub in CLINICAL_SUBRESOURCES
    ]:
        response = app_client.get(f"/api/v1/patients{path}", headers=nurse)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith(PROBLEM)
        assert response.json()["detail"] == "no such patient"
    # A medication id of the first patient under the second patient's URL is not found.
    crossed = app_client.post(
        f"/api/v1/patients/{second}/medications/{med['id']}/stop",
        headers=nurse,
        json={"stop_date": "2026-01-01"},
    )
    assert crossed.status_code == 404 and "lithium" not in crossed.text
    assert app_client.get(f"/api/v1/patients/{second}/medications", headers=nurse).json() == []


def test_validation_problems_name_the_field_and_never_echo_values(
    app_client: TestClient, nurse: dict[str, str]
) -> None:
    pid = _register(app_client, nurse, mrn="HOSP-9")["id"]
    duplicate = app_client.post(
        "/api/v1/patients", headers=nurse, json={**PATIENT, "mrn": "hosp-9"}
    )
    assert duplicate.status_code == 409 and duplicate.json()["field"] == "mrn"
    future = app_client.post(
        "/api/v1/patients",
        headers=nurse,
        json={**PATIENT, "given_name": "Secretname", "date_of_birth": "2999-01-01"},
    )
    assert future.status_code == 422 and future.headers["content-type"].startswith(PROBLEM)
    assert future.json()["field"] == "date_of_birth" and "Secretname" not in future.text
    no_unit = app_client.post(
        f"/api/v1/patients/{pid}/measurements", headers=nurse, json={"weight": 70}
    )
    assert no_unit.status_code == 422 and no_unit.json()["field"] == "weight_unit"
    heavy = app_client.post(
        f"/api/v1/patients/{pid}/measurements",
        headers=nurse,
        json={"weight": 800, "weight_unit": "lb"},
    )
    assert heavy.json()["detail"] == "weight must be between 20 and 350 kg"
    stop_first = app_client.post(
        f"/api/v1/patients/{pid}/medications",
        headers=nurse,
        json={
            "drug_name": "valproate",
            "dose_amount": 1000,
            "dose_unit": "mg/day",
            "start_date": "2025-05-01",
            "stop_date": "2025-04-01",
        },
    )
    assert stop_first.status_code == 422 and stop_first.json()["field"] == "stop_date"
    schema = app_client.post(
        f"/api/v1/patients/{pid}/trials", headers=nurse, json={"drug_name": "x", "extra": 1}
    )
    assert schema.status_code == 422
    assert {e["field"] for e in schema.json()["errors"]} >= {"extra", "dose_mg_per_day"}
    naive = app_client.post(
        f"/api/v1/patients/{pid}/measurements",
        headers=nurse,
        json={"weight": 70, "weight_unit": "kg", "measured_at": "2026-01-01T09:00:00"},
    )
    assert naive.status_code == 422


def test_amendment_over_the_api_keeps_history(
    app_client: TestClient, nurse: dict[str, str]
) -> None:
    pid = _register(app_client, nurse)["id"]
    no_reason = app_client.put(
        f"/api/v1/patients/{pid}/demographics",
        headers=nurse,
        json={**PATIENT, "family_name": "Renamed", "reason": " "},
    )
    assert no_reason.status_code == 422 and no_reason.json()["field"] == "reason"
    app_client.put(
        f"/api/v1/patients/{pid}/demographics",
        headers=nurse,
        json={**PATIENT, "family_name": "Renamed", "reason": "spelling"},
    )
    history = app_client.get(f"/api/v1/patients/{pid}/demographics/history", headers=nurse).json()
    assert [(v["version"], v["family_name"]) for v in history] == [
        (1, "Fictitia"),
        (2, "Renamed"),
    ]
    assert history[0]["superseded_at"] and history[1]["superseded_at"] is None
    hits = app_client.get("/api/v1/patients", headers=nurse, params={"q": "renam"}).json()
    assert [h["id"] for h in hits] == [pid]
    assert app_client.get("/api/v1/patients", headers=nurse, params={"q": "fictitia"}).json() == []
