"""A seeded clinic (the demo data set: every kind of record) and a token per role."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketaflow.assessments.models import Assessment
from ketaflow.config import Role
from ketaflow.demo import seed_demo
from ketaflow.infusions.models import InfusionSession, VitalsRecord
from tests.support.factories import SYSTEM
from tests.web.helpers import api_token, committed_user

FHIR = "/fhir/R4"


@dataclass
class Clinic:
    client: TestClient
    db: Session
    tokens: dict[Role, str]
    # The patient with the most vitals readings, and one with rated scales.
    patient_id: int
    rated_patient_id: int

    def get(self, path: str, role: Role = Role.PRESCRIBER, **params: Any) -> Response:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"}
        return self.client.get(path if path.startswith("http") else FHIR + path,
                               params=params or None, headers=headers)

    def ok(self, path: str, role: Role = Role.PRESCRIBER, **params: Any) -> dict[str, Any]:
        response = self.get(path, role, **params)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/fhir+json")
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture
def clinic(app_client: TestClient, app_db: Session) -> Clinic:
    seed_demo(app_db, SYSTEM)
    app_db.commit()
    tokens = {role: api_token(app_db, committed_user(app_db, role)) for role in Role}
    busiest = app_db.execute(
        select(InfusionSession.patient_id, func.count())
        .join(VitalsRecord, VitalsRecord.session_id == InfusionSession.id)
        .group_by(InfusionSession.patient_id).order_by(func.count().desc())).first()
    rated = app_db.scalar(select(Assessment.patient_id).group_by(Assessment.patient_id)
                          .order_by(func.count().desc()))
    app_db.commit()
    assert busiest is not None and rated is not None
    return Clinic(app_client, app_db, tokens, busiest[0], rated)
