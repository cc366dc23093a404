"""One seeded clinic per module and backend (the demo data set: every kind of record the FHIR
API serves) and a token per role. The FHIR API only reads (and audits), so the tests of a
module share it; each test counts only the audit events it caused."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from fhir.resources.R4B import get_fhir_model_class
from httpx2 import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketaflow.assessments.models import Assessment
from ketaflow.auth.models import StaffUser
from ketaflow.config import Role, load_settings
from ketaflow.db import READ_ONLY, make_engine, make_session_factory
from ketaflow.demo import seed_demo
from ketaflow.infusions import service as infusions
from ketaflow.infusions.models import InfusionSession, Seriousness, VitalsRecord
from ketaflow.infusions.service.charting import CHARTING_STATES
from ketaflow.web.app import create_app, dispose_engines
from tests.conftest import BACKENDS, TEST_AUDIT_KEY
from tests.infusions.factories import ctx_for
from tests.support.databases import PostgresDatabases, SqliteDatabases
from tests.support.factories import SYSTEM
from tests.support.web import browser_client
from tests.web.helpers import api_token, committed_user

FHIR = "/fhir/R4"


@dataclass
class Clinic:
    client: TestClient
    db: Session
    tokens: dict[Role, str]
    # The patient with the most vitals readings, and the one with the most ratings.
    patient_id: int
    rated_patient_id: int

    def get(self, path: str, role: Role | None = Role.PRESCRIBER, **params: Any) -> Response:
        headers = {} if role is None else {"Authorization": f"Bearer {self.tokens[role]}"}
        url = path if path.startswith(FHIR) else FHIR + path
        return self.client.get(url, params=params or None, headers=headers)

    def ok(self, path: str, role: Role = Role.PRESCRIBER, **params: Any) -> dict[str, Any]:
        response = self.get(path, role, **params)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/fhir+json")
        body: dict[str, Any] = response.json()
        return body

    def resources(self, path: str, role: Role = Role.PRESCRIBER, **params: Any
                  ) -> list[dict[str, Any]]:
        """Every match of a search, following the next links to the end."""
        bundle = self.ok(path, role, _count="100", **params)
        found = [e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "match"]
        while (after := next_link(bundle)) is not None:
            bundle = self.ok(after, role)
            found += [e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "match"]
        return found


def next_link(bundle: dict[str, Any]) -> str | None:
    links = {link["relation"]: link["url"] for link in bundle.get("link", [])}
    url = links.get("next")
    # Links carry the configured public address; the test client serves the same paths.
    return None if url is None else url[url.index(FHIR):]


def fresh(clinic: Clinic) -> None:
    """A new read-only transaction (on SQLite a deferred one, which takes no write lock the
    app would wait for), seeing what the app has committed."""
    clinic.db.rollback()
    clinic.db.connection(execution_options=READ_ONLY)


def ids(found: list[dict[str, Any]]) -> set[str]:
    return {r["id"] for r in found}


def validate(resource: dict[str, Any]) -> None:
    """Parses as its R4B (R4 family) model in fhir.resources, or raises."""
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def _chart_adverse_events(db: Session) -> None:
    """The demo charts no adverse event: a nurse charts a serious and a non-serious one on
    the sessions at the chair (through the service, as the chart does)."""
    nurse = db.scalar(select(StaffUser).where(StaffUser.role == Role.NURSE)
                      .order_by(StaffUser.id))
    at_chair = list(db.scalars(select(InfusionSession.id)
                               .where(InfusionSession.status.in_(CHARTING_STATES))
                               .order_by(InfusionSession.id)))
    assert nurse is not None and at_chair, "the demo has a session at the chair"
    for session_id, seriousness, description in (
            (at_chair[0], Seriousness.NON_SERIOUS, "Nausea, settled with ondansetron"),
            (at_chair[-1], Seriousness.SERIOUS, "Vasovagal syncope after the infusion")):
        infusions.record_adverse_event(db, ctx_for(nurse), session_id=session_id,
                                       description=description, seriousness=seriousness)


@contextmanager
def fresh_app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[tuple[FastAPI, Session]]:
    """A fresh migrated database of the test's backend, the app over it and a session; all
    dropped at the end (each FHIR test module shares one)."""
    fixture = "sqlite_databases" if request.param == "sqlite" else "postgres_databases"
    databases: SqliteDatabases | PostgresDatabases = request.getfixturevalue(fixture)
    url = databases.fresh()
    settings = load_settings(database_url=url, var_dir=tmp_path_factory.mktemp("var"),
                             mode="demo", secret_key="t" * 48, audit_key=TEST_AUDIT_KEY)
    app = create_app(settings)
    engine = make_engine(url)
    db = make_session_factory(engine)()
    try:
        yield app, db
    finally:
        db.rollback()
        db.close()
        engine.dispose()
        dispose_engines(app)
        databases.drop(url)


@pytest.fixture(scope="module", params=BACKENDS)
def clinic(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Clinic]:
    with fresh_app(request, tmp_path_factory) as (app, db):
        # Seeded before the app starts, so its background duties do not wait on the seed.
        seed_demo(db, SYSTEM)
        _chart_adverse_events(db)
        db.commit()
        tokens = {role: api_token(db, committed_user(db, role)) for role in Role}
        busiest = db.scalar(
            select(InfusionSession.patient_id)
            .join(VitalsRecord, VitalsRecord.session_id == InfusionSession.id)
            .group_by(InfusionSession.patient_id).order_by(func.count().desc()))
        rated = db.scalar(select(Assessment.patient_id).group_by(Assessment.patient_id)
                          .order_by(func.count().desc()))
        db.commit()
        assert busiest is not None and rated is not None
        with browser_client(app) as client:
            yield Clinic(client, db, tokens, busiest, rated)
