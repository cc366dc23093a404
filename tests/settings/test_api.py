"""Clinic settings over the JSON API: in force, history, a change; refusals as problems."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ketaflow.config import Role
from tests.web.helpers import api_token, committed_user


def bearer(db: Session, role: Role) -> dict[str, str]:
    user = committed_user(db, role)
    return {"Authorization": f"Bearer {api_token(db, user)}"}


def test_settings_in_force_change_and_history(app_client: TestClient, app_db: Session) -> None:
    nurse, admin = bearer(app_db, Role.NURSE), bearer(app_db, Role.ADMIN)
    got = app_client.get("/api/v1/settings/clinical", headers=nurse)
    assert got.status_code == 200
    groups = {g["key"]: g for g in got.json()["groups"]}
    hold = next(s for s in groups["infusion"]["settings"] if s["name"] == "hold_sbp_min_mmhg")
    assert (hold["value"], hold["minimum"], hold["maximum"], hold["ref"]) == (
        180, 160, 200, "vital-sign-criteria")
    body = {"group": "infusion", "name": "hold_sbp_min_mmhg", "value": 170,
            "reason": "clinic protocol v2"}
    assert app_client.post("/api/v1/settings/clinical/changes", headers=nurse,
                           json=body).status_code == 403
    made = app_client.post("/api/v1/settings/clinical/changes", headers=admin, json=body)
    assert made.status_code == 201, made.text
    assert (made.json()["value"], made.json()["is_reset"]) == (170, False)
    reset = app_client.post("/api/v1/settings/clinical/changes", headers=admin, json={
        "group": "infusion", "name": "hold_sbp_min_mmhg", "reset": True,
        "reason": "back to the default",
        "effective_from": "2099-01-01T00:00:00Z"})
    assert reset.status_code == 422 and reset.json()["field"] == "effective_from"
    history = app_client.get("/api/v1/settings/clinical/history", headers=nurse).json()
    assert [(h["name"], h["old_value"], h["new_value"], h["reason"]) for h in history] == [
        ("hold_sbp_min_mmhg", 180, 170, "clinic protocol v2")]


@pytest.mark.parametrize(("body", "field"), [
    ({"value": 250}, "value"),
    ({"value": 170.5}, "value"),
    ({"value": None}, "value"),
    ({"name": "hold_dbp_min_mmhg"}, "value"),
    ({"name": "made_up"}, "setting"),
    ({"reason": " "}, "reason"),
    ({"effective_from": "2020-01-01T00:00:00Z"}, "effective_from"),
])
def test_refusals_are_problems_naming_the_field(
    app_client: TestClient, app_db: Session, body: dict[str, Any], field: str
) -> None:
    admin = bearer(app_db, Role.ADMIN)
    response = app_client.post("/api/v1/settings/clinical/changes", headers=admin, json={
        "group": "infusion", "name": "hold_sbp_min_mmhg", "value": 170, "reason": "protocol",
        **body})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem.get("field") == field or field in str(problem.get("errors")), problem
    history = app_client.get("/api/v1/settings/clinical/history", headers=admin).json()
    assert history == []


def test_schema_refusals(app_client: TestClient, app_db: Session) -> None:
    admin = bearer(app_db, Role.ADMIN)
    for body in ({"group": "nowhere", "name": "x", "value": 1, "reason": "r"},
                 {"group": "infusion", "name": "hold_sbp_min_mmhg", "value": True,
                  "reason": "r"},
                 {"group": "infusion", "name": "hold_sbp_min_mmhg", "value": 170}):
        response = app_client.post("/api/v1/settings/clinical/changes", headers=admin,
                                   json=body)
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/problem+json")
