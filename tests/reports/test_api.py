"""`GET /api/v1/patients/{mrn}/prior-auth` on both databases: the JSON the CLI's `--json`
writes, the packet PDF's roles, a 404 problem for an unknown MRN, and the audit event."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.models import AuditEvent
from ketaflow.config import Role, Settings
from tests.reports.factories import MRN, hand_made
from tests.reports.test_cli import _ketaflow
from tests.web.helpers import api_token, committed_user

URL = f"/api/v1/patients/{MRN}/prior-auth"


def _bearer(db: Session, user: Any) -> dict[str, str]:
    token = api_token(db, user)
    db.commit()
    return {"Authorization": f"Bearer {token}"}


def _undated(body: dict[str, Any]) -> dict[str, Any]:
    """The packet but when it was prepared (each call prepares it anew)."""
    return {k: v for k, v in body.items() if k != "prepared_at"}


def test_the_packet_is_the_clis_json(app_client: TestClient, app_db: Session,
                                     settings: Settings, tmp_path: Path) -> None:
    made = hand_made(app_db)
    username = made.prescriber.username
    headers = _bearer(app_db, made.prescriber)
    answer = app_client.get(URL, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert body["format"] == "ketaflow-prior-authorisation/1"
    who = body["patient"]
    assert (who["given_name"], who["family_name"], who["date_of_birth"], who["mrn"]) == (
        "Ada", "Testperson", "1980-03-01", MRN)
    assert body["diagnosis"]["icd10_code"] == "F31.32"
    assert body["prepared_by"] == "Dana Prescriber (prescriber)"
    written = tmp_path / "packet.json"
    done = _ketaflow(settings.effective_database_url, tmp_path, "prior-auth", MRN, "--out",
                     str(tmp_path / "packet.pdf"), "--json", str(written), "--by", username)
    assert done.returncode == 0, done.stderr
    assert _undated(body) == _undated(json.loads(written.read_text()))


def test_it_is_audited_like_the_pdf(app_client: TestClient, app_db: Session) -> None:
    made = hand_made(app_db)
    assert app_client.get(URL, headers=_bearer(app_db, made.nurse)).status_code == 200
    app_db.rollback()
    event = app_db.scalars(select(AuditEvent).where(AuditEvent.action == "report.prior_auth")
                           .order_by(AuditEvent.id.desc())).first()
    assert event is not None
    assert (event.entity_type, event.entity_id, event.actor_role) == (
        "patient", str(made.patient.id), "nurse")
    assert json.loads(event.detail)["formats"] == ["json"]
    assert MRN not in event.detail


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.RESEARCHER, Role.ADMIN])
def test_roles_without_clinical_read_are_refused(app_client: TestClient, app_db: Session,
                                                 role: Role) -> None:
    hand_made(app_db)
    answer = app_client.get(URL, headers=_bearer(app_db, committed_user(app_db, role)))
    assert answer.status_code == 403
    assert answer.headers["content-type"] == "application/problem+json"
    assert MRN not in answer.json()["detail"]


def test_an_unknown_mrn_is_a_404_problem_without_the_mrn(app_client: TestClient,
                                                         app_db: Session) -> None:
    made = hand_made(app_db)
    answer = app_client.get("/api/v1/patients/NO-SUCH-77/prior-auth",
                            headers=_bearer(app_db, made.prescriber))
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["status"] == 404 and problem["detail"] == "no patient has that MRN"
    assert "NO-SUCH-77" not in problem["detail"]
    assert app_client.get(URL).status_code == 401
