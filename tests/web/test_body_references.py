"""Ids named in a request body or form (not the path) that name no record: 422 naming the
field, never a 404 for the page nor a 500 from an integer overflow in the database."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketaflow.audit.models import AuditEvent
from ketaflow.infusions.models import InfusionSession
from tests.assessments.factories import phq9
from tests.infusions.test_api import started
from tests.infusions.test_pages import post
from tests.patients.factories import make_patient
from tests.web.helpers import sign_in

HUGE = 2**40


def _expect_field(response: object, field: str) -> None:
    body = response.json()  # type: ignore[attr-defined]
    assert response.status_code == 422, body  # type: ignore[attr-defined]
    fields = {body.get("field")} | {e["field"] for e in body.get("errors", [])}
    assert field in fields, body


@pytest.mark.parametrize("missing", [424_242, HUGE])
def test_api_bodies(app_client: TestClient, app_db: Session, missing: int) -> None:
    nurse, _, session_id = started(app_client, app_db)
    patient_id = app_db.get_one(InfusionSession, session_id).patient_id
    app_db.rollback()

    def ledger_events() -> int:  # the setup's own lot receipt is one
        count = app_db.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action.like("controlled.%"))) or 0
        app_db.rollback()
        return count

    before = ledger_events()
    entries = "/api/v1/controlled/entries"
    cases = [
        ("/api/v1/infusions/sessions", {"course_id": missing}, "course_id"),
        (entries, {"kind": "drawn", "lot_number": "L", "amount_mg": 1, "session_id": missing},
         "session_id"),
        (entries, {"kind": "reversal", "reverses_id": missing, "reason": "typo"},
         "reverses_id"),
        (entries, {"kind": "wasted", "lot_number": "L", "amount_mg": 1,
                   "session_id": session_id, "witness_user_id": missing,
                   "witness_password": "x"}, "witness_user_id"),
        (f"/api/v1/patients/{patient_id}/consents",
         {"form_version": "v1", "consented_on": "2026-01-05", "witnessed_by_user_id": missing},
         "witnessed_by_user_id"),
        (f"/api/v1/patients/{patient_id}/assessments",
         {"instrument": "phq9", "answers": phq9(10, 0), "course_id": missing}, "course_id"),
    ]
    for path, body, field in cases:
        _expect_field(app_client.post(path, headers=nurse.headers, json=body), field)
    # Refusals are audited as refusals; nothing else was written.
    assert ledger_events() == before


def test_form_fields(app_client: TestClient, app_db: Session) -> None:
    nurse, _, _ = started(app_client, app_db)
    patient_id = make_patient(app_db).id  # with demographics: the consent page shows them
    app_db.commit()
    username = nurse.get("/api/v1/me")["username"]
    assert sign_in(app_client, username) == 303
    for value in (str(HUGE), "424242"):
        refused = post(app_client, "/controlled/draw", {"session_id": value, "lot_number": "L",
                                                        "amount_mg": "5"})
        assert refused.status_code == 422  # type: ignore[attr-defined]
        assert 'name="session_id"' in refused.text  # type: ignore[attr-defined]
    consent = post(app_client, f"/patients/{patient_id}/consents", {
        "form_version": "v1", "consented_on": "2026-01-05", "witnessed_by_user_id": str(HUGE)})
    assert consent.status_code == 422  # type: ignore[attr-defined]
    assert "out of range" in consent.text  # type: ignore[attr-defined]
