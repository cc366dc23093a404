"""Consent is witnessed by a second person: the recorder can never be the witness (422 naming
the field), on the service, the API and the page; the form offers only other clinical staff."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketaflow.config import Role
from ketaflow.errors import ValidationFailed
from ketaflow.screening import service
from ketaflow.screening.models import Consent
from tests.screening.factories import ctx_for, make_patient
from tests.support.factories import make_user
from tests.web.helpers import api_token, committed_user, csrf, sign_in


def _consents(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(Consent)) or 0


def test_recorder_cannot_witness_their_own_entry(db: Session) -> None:
    patient = make_patient(db)
    nurse, doctor = make_user(db, role=Role.NURSE), make_user(db, role=Role.PRESCRIBER)
    for witness_id in (nurse.id, None, 10_000):
        with pytest.raises(ValidationFailed) as error:
            service.record_consent(db, ctx_for(nurse), patient_id=patient.id, form_version="v1",
                                   consented_on=date(2026, 1, 5),
                                   witnessed_by_user_id=witness_id)
        assert error.value.field == "witnessed_by_user_id"
    assert _consents(db) == 0
    recorded = service.record_consent(db, ctx_for(nurse), patient_id=patient.id,
                                      form_version="v1", consented_on=date(2026, 1, 5),
                                      witnessed_by_user_id=doctor.id)
    assert recorded.witnessed_by_user_id == doctor.id
    assert nurse not in service.list_witnesses(db, recorder_id=nurse.id)
    assert doctor in service.list_witnesses(db, recorder_id=nurse.id)


def test_api_and_page_refuse_self_witnessing(app_client: TestClient, app_db: Session) -> None:
    patient = make_patient(app_db)
    nurse = committed_user(app_db, Role.NURSE, full_name="Nurse Recorder")
    committed_user(app_db, Role.PRESCRIBER, full_name="Doctor Witness")
    headers = {"Authorization": f"Bearer {api_token(app_db, nurse)}"}
    body = {"form_version": "OLC-1", "consented_on": "2026-01-05",
            "witnessed_by_user_id": nurse.id}
    api = app_client.post(f"/api/v1/patients/{patient.id}/consents", headers=headers, json=body)
    assert api.status_code == 422 and api.json()["field"] == "witnessed_by_user_id"
    missing = app_client.post(f"/api/v1/patients/{patient.id}/consents", headers=headers,
                              json={**body, "witnessed_by_user_id": 987654})
    assert missing.status_code == 422 and missing.json()["field"] == "witnessed_by_user_id"
    assert sign_in(app_client, nurse.username) == 303
    page = app_client.get(f"/patients/{patient.id}/consents/new")
    choices = page.text.split('id="f-witnessed_by_user_id"')[1].split("</select>")[0]
    assert "Doctor Witness" in choices and "Nurse Recorder" not in choices
    assert "selected" not in choices
    refused = app_client.post(f"/patients/{patient.id}/consents", data={
        **{k: str(v) for k, v in body.items()}, "csrf_token": csrf(app_client)})
    assert refused.status_code == 422 and "different staff member" in refused.text
    assert _consents(app_db) == 0
