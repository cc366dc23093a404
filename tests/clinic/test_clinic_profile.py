"""The clinic profile: admin edits (audited), staff read, the time zone in force, crisis lines,
and production's refusal to run without a crisis line."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.models import AuditEvent
from ketaflow.cli import production_clinic_problem
from ketaflow.clinic import service
from ketaflow.clinic.crisis_lines import (
    NATIONAL_LINES,
    NO_LINE_CONFIGURED,
    CrisisLines,
    emergency_pathway,
)
from ketaflow.clinic.models import ClinicProfile
from ketaflow.config import Role, Settings, load_settings
from ketaflow.errors import ValidationFailed
from tests.support.factories import SYSTEM, make_user
from tests.web.helpers import api_token, committed_user, csrf, sign_in

ENTRY = service.ProfileEntry(name="Lakeside Clinic", phone="+1 (555) 010-0100",
                             timezone="America/Chicago", crisis_line="555-010-0199",
                             national_line_country="us", after_hours="Call the on-call line.")


def test_profile_is_saved_audited_and_read(db: Session) -> None:
    assert service.get_profile(db) is None and not service.crisis_lines(db).configured
    profile = service.update_profile(db, SYSTEM, entry=ENTRY, production=False)
    assert profile.national_line_country == "US"
    lines = service.crisis_lines(db)
    assert lines == CrisisLines("555-010-0199", "988 Suicide & Crisis Lifeline: 988 (call or "
                                "text)", True, "Call the on-call line.")
    service.update_profile(db, SYSTEM, production=False, entry=service.ProfileEntry(
        name="Lakeside Clinic", crisis_line="555-010-0199", national_line_custom="Local 12345"))
    events = list(db.scalars(select(AuditEvent).where(AuditEvent.entity_type == "clinic_profile")
                             .order_by(AuditEvent.id)))
    assert [e.action for e in events] == ["clinic_profile.create", "clinic_profile.update"]
    assert '"national_line_custom"' in events[1].detail and '"phone"' in events[1].detail
    assert service.crisis_lines(db).national_line == "Local 12345"
    assert not service.crisis_lines(db).national_always_open
    # Versions: the first is kept, the newest is in force.
    versions = list(db.scalars(select(ClinicProfile).order_by(ClinicProfile.id)))
    assert [v.phone for v in versions] == ["+1 (555) 010-0100", None]
    assert service.get_profile(db) is versions[-1]


@pytest.mark.parametrize(("change", "field"), [
    ({"name": " "}, "name"),
    ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
    ({"timezone": "../etc/passwd"}, "timezone"),
    ({"phone": "call us"}, "phone"),
    ({"crisis_line": "ask reception"}, "crisis_line"),
    ({"national_line_country": "FR"}, "national_line_country"),
    ({"national_line_custom": "Other line 12345"}, "national_line_custom"),  # with a country
    ({"name": "x" * 201}, "name"),
])
def test_bad_input_is_refused_naming_the_field_and_nothing_changes(
        db: Session, change: dict[str, str], field: str) -> None:
    service.update_profile(db, SYSTEM, entry=ENTRY, production=False)
    with pytest.raises(ValidationFailed) as refused:
        service.update_profile(db, SYSTEM, production=False,
                               entry=service.ProfileEntry(**{**ENTRY.__dict__, **change}))
    assert refused.value.field == field
    assert service.current_entry(db) == service.ProfileEntry(**{**ENTRY.__dict__,
                                                               "national_line_country": "US"})


def test_production_requires_a_crisis_line(db: Session) -> None:
    empty = service.ProfileEntry(name="Lakeside Clinic", timezone="Europe/London")
    with pytest.raises(ValidationFailed) as refused:
        service.update_profile(db, SYSTEM, entry=empty, production=True)
    assert refused.value.field == "crisis_line" and service.get_profile(db) is None
    service.update_profile(db, SYSTEM, entry=empty, production=False)  # allowed outside
    assert "no crisis line" in (service.crisis_line_problem(db) or "")
    national_only = service.ProfileEntry(name="Lakeside Clinic", national_line_country="GB")
    service.update_profile(db, SYSTEM, entry=national_only, production=True)
    assert service.crisis_line_problem(db) is None


def test_profile_time_zone_wins_over_the_setting(db: Session, tmp_path: Path) -> None:
    settings = load_settings(var_dir=tmp_path, clinic_timezone="Europe/London")
    assert service.effective_timezone(db, settings) == "Europe/London"
    service.update_profile(db, SYSTEM, production=False,
                           entry=service.ProfileEntry(name="C", timezone="Asia/Tokyo"))
    assert service.effective_timezone(db, settings) == "Asia/Tokyo"
    service.update_profile(db, SYSTEM, production=False, entry=service.ProfileEntry(name="C"))
    assert service.effective_timezone(db, settings) == "Europe/London"


def test_crisis_words_never_hold_a_placeholder() -> None:
    for lines in (CrisisLines(), CrisisLines(clinic_line="555 0100"),
                  CrisisLines(national_line="Samaritans: 116 123", national_always_open=True),
                  CrisisLines("555 0100", "Lifeline: 13 11 14", True, "Go to A&E.")):
        words = " ".join(emergency_pathway(lines))
        assert "[" not in words and "to be configured" not in words
        assert words.startswith("If you are in danger now, call your local emergency number.")
        assert (NO_LINE_CONFIGURED in words) is (not lines.configured)
    assert {line.number for line in NATIONAL_LINES.values()} >= {"116 123", "13 11 14"}
    assert all(line.source for line in NATIONAL_LINES.values())


def test_production_start_check(db_url: str, tmp_path: Path, db: Session) -> None:
    prod = load_settings(var_dir=tmp_path, database_url=db_url, mode="production",
                         secret_key="s" * 40, audit_key="a" * 40)
    problem = production_clinic_problem(prod)
    assert problem is not None and "clinic profile: crisis line" in problem
    assert production_clinic_problem(prod.model_copy(update={"mode": "demo"})) is None


# ---------------------------------------------------------------- the page


def test_admin_edits_and_staff_only_read(app_client: TestClient, app_db: Session,
                                         settings: Settings) -> None:
    admin = committed_user(app_db, Role.ADMIN).username
    nurse = committed_user(app_db, Role.NURSE).username
    assert sign_in(app_client, admin) == 303
    page = app_client.get("/settings/clinic")
    assert page.status_code == 200 and "No clinic profile yet" in page.text
    form = {"csrf_token": csrf(app_client), "name": "Lakeside Clinic",
            "timezone": "Mars/Base", "crisis_line": "555 010 0199",
            "national_line_country": "US"}
    bad = app_client.post("/settings/clinic", data=form)
    assert bad.status_code == 422
    assert 'id="f-timezone" name="timezone" type="text" value="Mars/Base"' in bad.text
    assert 'id="e-timezone"' in bad.text and "Time zone" in bad.text
    assert 'value="555 010 0199"' in bad.text  # the rest kept
    app_db.rollback()
    assert app_db.scalar(select(ClinicProfile)) is None
    app_db.rollback()
    saved = app_client.post("/settings/clinic", data={**form, "timezone": "America/Chicago"})
    assert saved.status_code == 303
    shown = app_client.get(saved.headers["location"])
    assert "Clinic profile saved." in shown.text
    assert "America/Chicago (clinic profile)" in shown.text
    app_client.post("/logout", data={"csrf_token": csrf(app_client)})
    assert sign_in(app_client, nurse) == 303
    read = app_client.get("/settings/clinic")
    assert read.status_code == 200 and "Lakeside Clinic" in read.text
    assert 'action="/settings/clinic"' not in read.text
    refused = app_client.post("/settings/clinic", data={**form, "csrf_token": csrf(app_client),
                                                        "timezone": "UTC"})
    assert refused.status_code == 403


def test_profile_over_the_api(app_client: TestClient, app_db: Session) -> None:
    admin = {"Authorization": f"Bearer {api_token(app_db, make_user(app_db, role=Role.ADMIN))}"}
    nurse = {"Authorization": f"Bearer {api_token(app_db, make_user(app_db, role=Role.NURSE))}"}
    empty = app_client.get("/api/v1/clinic/profile", headers=nurse).json()
    assert empty["version"] is None and empty["name"] is None
    assert empty["timezone_in_force"] == "UTC" and not empty["crisis_lines_configured"]
    body = {"name": "Lakeside Clinic", "timezone": "America/Chicago",
            "crisis_line": "555-010-0199", "national_line_country": "us"}
    assert app_client.put("/api/v1/clinic/profile", json=body, headers=nurse).status_code == 403
    saved = app_client.put("/api/v1/clinic/profile", json=body, headers=admin)
    assert saved.status_code == 200, saved.text
    out = saved.json()
    assert (out["name"], out["timezone_in_force"], out["national_line_country"]) == (
        "Lakeside Clinic", "America/Chicago", "US")
    assert out["crisis_lines_configured"] and out["version"] is not None
    assert app_client.get("/api/v1/clinic/profile", headers=nurse).json() == out

    refused = app_client.put("/api/v1/clinic/profile", headers=admin,
                             json={**body, "timezone": "Mars/Olympus"})
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["field"] == "timezone" and "IANA" in refused.json()["detail"]
    assert app_client.get("/api/v1/clinic/profile", headers=nurse).json() == out
