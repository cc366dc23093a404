"""The researcher's page and download over HTTP: who may, what the zip holds, the audit."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.models import AuditEvent
from ketaflow.config import Role
from ketaflow.research import columns
from tests.infusions.factories import make_clinic
from tests.research.factories import people, seed_person
from tests.support.web import flush_audit
from tests.web.helpers import committed_user, sign_in


@pytest.mark.parametrize("role", [Role.ADMIN, Role.PRESCRIBER, Role.NURSE, Role.FRONT_DESK])
def test_other_roles_are_refused_and_the_refusal_is_audited(
        app_client: TestClient, app_db: Session, role: Role) -> None:
    user = committed_user(app_db, role)
    assert sign_in(app_client, user.username) == 303
    assert "Research export" not in app_client.get("/").text
    for path in ("/research/export", "/research/export.zip?format=csv"):
        response = app_client.get(path)
        assert response.status_code == 403, path
        assert "PK" not in response.text[:2]
    flush_audit(app_client.app)
    app_db.rollback()
    refused = app_db.scalars(select(AuditEvent).where(
        AuditEvent.actor_username == user.username, AuditEvent.outcome == "denied")).all()
    assert len(refused) == 2
    assert app_db.scalar(select(AuditEvent.id).where(
        AuditEvent.action == "research.export")) is None


def test_anonymous_is_sent_to_sign_in(app_client: TestClient) -> None:
    response = app_client.get("/research/export.zip")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_a_researcher_downloads_the_zip(app_client: TestClient, app_db: Session) -> None:
    clinic = make_clinic(app_db)
    base = datetime.now(UTC).date() - timedelta(days=20)
    seeded = [seed_person(app_db, clinic, person, base) for person in people(base)]
    researcher = committed_user(app_db, Role.RESEARCHER, full_name="Ada Researcher")
    assert sign_in(app_client, researcher.username) == 303
    page = app_client.get("/research/export")
    assert page.status_code == 200
    assert 'href="/research/export"' in page.text and "You have not exported yet" in page.text
    for spec in columns.TABLES:
        assert f"<code>{spec.name}</code>" in page.text
    response = app_client.get("/research/export.zip?format=both")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert "attachment" in response.headers["content-disposition"]
    bundle = zipfile.ZipFile(io.BytesIO(response.content))
    names = set(bundle.namelist())
    assert {"manifest.json", "data_dictionary.json", "data_dictionary.md"} <= names
    assert {f"{t.name}.{ext}" for t in columns.TABLES for ext in ("csv", "parquet")} <= names
    manifest = json.loads(bundle.read("manifest.json"))
    assert manifest["rows"]["patients"] == 3 and manifest["rows"]["vitals"] == 18
    text = b"".join(bundle.read(name) for name in names if name.endswith(".csv")).decode()
    for seed in seeded:
        assert seed.person.family_name not in text and seed.person.mrn not in text
    app_db.rollback()
    event = app_db.scalars(select(AuditEvent).where(AuditEvent.action == "research.export")).one()
    assert event.actor_username == researcher.username
    assert json.loads(event.detail)["rows"] == manifest["rows"]
    app_db.rollback()
    again = app_client.get("/research/export")
    assert "You have not exported yet" not in again.text
    assert f"{sum(manifest['rows'].values()):,} rows (csv+parquet)" in again.text


def test_an_unknown_format_is_named(app_client: TestClient, app_db: Session) -> None:
    researcher = committed_user(app_db, Role.RESEARCHER)
    assert sign_in(app_client, researcher.username) == 303
    response = app_client.get("/research/export.zip?format=xlsx")
    assert response.status_code == 422
    assert "Format must be csv, parquet or both" in response.text
    app_db.rollback()
    assert app_db.scalar(select(AuditEvent.id).where(
        AuditEvent.action == "research.export")) is None
