"""Person names refuse bidi controls and zero-width characters, on pages, the API and the
service, naming the field and storing nothing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketaflow.config import Role
from ketaflow.errors import ValidationFailed
from ketaflow.patients import service
from ketaflow.patients.models import Patient
from tests.patients.factories import demographics, make_patient
from tests.support.factories import SYSTEM
from tests.web.helpers import api_token, committed_user, csrf, sign_in

NAME_FIELDS = ["given_name", "family_name", "emergency_contact_name", "referring_clinician"]


@pytest.mark.parametrize("field", NAME_FIELDS)
@pytest.mark.parametrize("hidden", ["\u202e", "\u2067", "\ufeff"])
def test_service_refuses_invisible_characters_in_names(db: Session, field: str,
                                                       hidden: str) -> None:
    with pytest.raises(ValidationFailed) as error:
        make_patient(db, **{field: f"Mar{hidden}y"})
    assert error.value.field == field
    assert f"U+{ord(hidden):04X}" in error.value.detail and "Mar" not in error.value.detail
    assert db.scalar(select(func.count()).select_from(Patient)) == 0


def test_amendment_refuses_them_too(db: Session) -> None:
    patient = make_patient(db)
    with pytest.raises(ValidationFailed) as error:
        service.amend_demographics(db, SYSTEM, patient_id=patient.id, reason="typo",
                                   demographics=demographics(family_name="Smi\u200dth"))
    assert error.value.field == "family_name"


def test_api_and_page_refuse_them_with_422(app_client: TestClient, app_db: Session) -> None:
    user = committed_user(app_db, Role.FRONT_DESK)
    headers = {"Authorization": f"Bearer {api_token(app_db, user)}"}
    body = {"given_name": "Ann\u202ea", "family_name": "Ficta", "date_of_birth": "1980-01-01",
            "sex": "female"}
    api = app_client.post("/api/v1/patients", headers=headers, json=body)
    assert api.status_code == 422 and api.json()["field"] == "given_name"
    assert api.headers["content-type"].startswith("application/problem+json")
    assert "U+202E" in api.json()["detail"]
    assert sign_in(app_client, user.username) == 303
    page = app_client.post("/patients", data={**body, "family_name": "Fic\u200bta",
                                              "given_name": "Anna",
                                              "csrf_token": csrf(app_client)})
    assert page.status_code == 422 and 'id="e-family_name"' in page.text
    assert app_db.scalar(select(func.count()).select_from(Patient)) == 0
