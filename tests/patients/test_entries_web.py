"""Plausible entries over the JSON API (problem details naming the field) and the HTML forms
(a refused entry re-renders with everything typed kept)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ketaflow.config import Role
from tests.patients.test_api import PROBLEM, _as, _register
from tests.patients.test_pages import _post, _signed_in


@pytest.fixture
def nurse(app_client: TestClient, app_db: Session) -> dict[str, str]:
    return _as(app_client, app_db, Role.NURSE)


def test_api_large_weight_change_needs_confirm_weight_change(
    app_client: TestClient, nurse: dict[str, str]
) -> None:
    pid = _register(app_client, nurse)["id"]
    base = f"/api/v1/patients/{pid}/measurements"
    assert app_client.post(base, headers=nurse,
                           json={"weight": 72.5, "weight_unit": "kg"}).status_code == 201
    refused = app_client.post(base, headers=nurse, json={"weight": 25, "weight_unit": "kg"})
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith(PROBLEM)
    problem = refused.json()
    assert problem["field"] == "confirm_weight_change" and "10%" in problem["detail"]
    assert "25" not in problem["detail"]
    stored = app_client.post(base, headers=nurse, json={"weight": 25, "weight_unit": "kg",
                                                         "confirm_weight_change": True})
    assert stored.status_code == 201
    assert stored.json()["confirmed_weight_change_percent"] == pytest.approx(-65.5, abs=0.05)
    assert stored.json()["status"] == "final"


def test_api_entered_in_error_keeps_the_entry_with_its_status(
    app_client: TestClient, nurse: dict[str, str]
) -> None:
    pid = _register(app_client, nurse)["id"]
    base = f"/api/v1/patients/{pid}"
    first = app_client.post(f"{base}/measurements", headers=nurse,
                            json={"weight": 70, "weight_unit": "kg"}).json()
    second = app_client.post(f"{base}/measurements", headers=nurse,
                             json={"weight": 71, "weight_unit": "kg"}).json()
    no_reason = app_client.post(f"{base}/measurements/{second['id']}/entered-in-error",
                                headers=nurse, json={})
    assert no_reason.status_code == 422 and no_reason.json()["field"] == "reason"
    marked = app_client.post(f"{base}/measurements/{second['id']}/entered-in-error",
                             headers=nurse, json={"reason": "wrong chart"})
    assert marked.status_code == 200 and marked.json()["status"] == "entered-in-error"
    again = app_client.post(f"{base}/measurements/{second['id']}/entered-in-error",
                            headers=nurse, json={"reason": "wrong chart"})
    assert again.status_code == 409 and again.headers["content-type"].startswith(PROBLEM)
    listed = app_client.get(f"{base}/measurements", headers=nurse).json()
    assert {m["id"]: m["status"] for m in listed} == {
        first["id"]: "final", second["id"]: "entered-in-error"}
    clinical = app_client.get(base, headers=nurse).json()["clinical"]
    assert clinical["latest_weight_kg"] == 70

    med = app_client.post(f"{base}/medications", headers=nurse, json={
        "drug_name": "clonazepam", "dose_amount": 1, "dose_unit": "mg/day"}).json()
    assert med["status"] == "active"
    app_client.post(f"{base}/medications/{med['id']}/entered-in-error", headers=nurse,
                    json={"reason": "never prescribed"})
    meds = app_client.get(f"{base}/medications", headers=nurse).json()
    assert [(m["status"], m["current"]) for m in meds] == [("entered-in-error", False)]
    assert app_client.get(base, headers=nurse).json()["clinical"]["benzodiazepine_load"] is None


def test_api_daily_dose_maximum(app_client: TestClient, nurse: dict[str, str]) -> None:
    pid = _register(app_client, nurse)["id"]
    url = f"/api/v1/patients/{pid}/medications"
    body = {"drug_name": "lorazepam", "dose_amount": 500, "dose_unit": "mg/day"}
    refused = app_client.post(url, headers=nurse, json=body)
    assert refused.status_code == 422 and refused.headers["content-type"].startswith(PROBLEM)
    assert refused.json()["field"] == "dose_amount"
    assert "10 mg/day" in refused.json()["detail"]
    stored = app_client.post(url, headers=nurse, json={
        **body, "dose_amount": 12, "confirm_above_max_daily_dose": True,
        "above_max_daily_dose_reason": "specialist plan"})
    assert stored.status_code == 201
    assert stored.json()["above_max_daily_dose_reason"] == "specialist plan"


def test_api_no_known_allergies(app_client: TestClient, nurse: dict[str, str]) -> None:
    pid = _register(app_client, nurse)["id"]
    base = f"/api/v1/patients/{pid}"
    assert app_client.get(base, headers=nurse).json()["clinical"]["allergy_status"] == (
        "not_asked")
    assert app_client.post(f"{base}/no-known-allergies", headers=nurse).status_code == 201
    assert app_client.get(base, headers=nurse).json()["clinical"]["allergy_status"] == (
        "no_known_allergies")
    app_client.post(f"{base}/allergies", headers=nurse, json={"substance": "latex"})
    clinical = app_client.get(base, headers=nurse).json()["clinical"]
    assert clinical["allergy_status"] == "listed"
    assert clinical["no_known_allergies"][0]["superseded_at"] is not None
    refused = app_client.post(f"{base}/no-known-allergies", headers=nurse)
    assert refused.status_code == 409 and refused.json()["field"] == "no_known_allergies"


def test_weight_form_keeps_what_was_typed_and_offers_the_confirmation(
    app_client: TestClient, app_db: Session
) -> None:
    headers = _as(app_client, app_db, Role.NURSE)
    pid = _register(app_client, headers)["id"]
    app_client.post(f"/api/v1/patients/{pid}/measurements", headers=headers,
                    json={"weight": 72.5, "weight_unit": "kg"})
    _signed_in(app_client, app_db, Role.NURSE)
    form = {"weight": "25", "weight_unit": "kg"}
    refused = _post(app_client, f"/patients/{pid}/measurements", form)
    assert refused.status_code == 422
    assert 'name="confirm_weight_change"' in refused.text
    assert 'value="25"' in refused.text
    assert "The previous recorded weight is 72.5 kg" in refused.text
    done = _post(app_client, f"/patients/{pid}/measurements",
                 {**form, "confirm_weight_change": "yes"})
    assert done.status_code == 303
    page = app_client.get(f"/patients/{pid}").text
    assert 'data-testid="weight-change-flag"' in page and "-65.5%" in page
