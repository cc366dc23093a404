"""One-time submission keys on both databases: every state-changing form carries one, a
repeated post of the same form (a double click, a reload) stores one record and answers with
the first result, and two identical posts at once store one record too."""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketaflow.config import Role
from ketaflow.infusions.controlled.models import LedgerRow
from ketaflow.infusions.models import VitalsRecord
from ketaflow.infusions.rules import EntryKind
from ketaflow.patients import service as patients_service
from ketaflow.patients.models import PatientDemographics
from ketaflow.portal.models import PortalLink
from ketaflow.web.submissions import FIELD, KEEP_KEYS, FormSubmission, new_key, purge_expired
from tests.assessments.factories import make_patient as make_portal_patient
from tests.infusions.factories import make_clinic, ready_to_start, stock
from tests.support.factories import make_user
from tests.web.helpers import committed_user, csrf, sign_in

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "ketaflow"
PERSON = {"given_name": "Duplicata", "family_name": "Twiceclicked",
          "date_of_birth": "1981-04-05", "sex": "female"}


def _post(client: TestClient, path: str, data: dict[str, Any]) -> Any:
    return client.post(path, data={"csrf_token": csrf(client), **data})


def _count(db: Session, query: Any) -> int:
    """A fresh read of what the app committed, ended at once (on SQLite an open transaction
    here would hold the write lock the app's next request needs)."""
    db.rollback()
    try:
        return db.scalar(query) or 0
    finally:
        db.rollback()


def _registered(db: Session, family_name: str) -> int:
    return _count(db, select(func.count()).select_from(PatientDemographics)
                  .where(PatientDemographics.family_name == family_name))


def _stored_keys(db: Session) -> int:
    return _count(db, select(func.count()).select_from(FormSubmission))


def test_every_post_form_in_the_templates_carries_the_key() -> None:
    missing = []
    for template in TEMPLATES.glob("*/templates/**/*.html"):
        text = template.read_text()
        for form in re.finditer(r"<form\b[^>]*method=\"post\"[^>]*>(.*?)</form>", text, re.S):
            if "csrf()" not in form.group(1) and "submission_key" not in form.group(1):
                missing.append(template.name)
    assert missing == []


def test_the_register_form_renders_a_fresh_key(app_client: TestClient,
                                               app_db: Session) -> None:
    assert sign_in(app_client, committed_user(app_db, Role.FRONT_DESK).username) == 303
    keys = [re.search(r'name="submission_key" value="([^"]+)"',
                      app_client.get("/patients/new").text) for _ in range(2)]
    assert keys[0] is not None and keys[1] is not None
    assert keys[0].group(1) != keys[1].group(1)


def test_a_repeated_registration_stores_one_patient_and_shows_the_first(
        app_client: TestClient, app_db: Session) -> None:
    assert sign_in(app_client, committed_user(app_db, Role.FRONT_DESK).username) == 303
    key = new_key()
    first = _post(app_client, "/patients", {**PERSON, FIELD: key})
    again = _post(app_client, "/patients", {**PERSON, FIELD: key})
    assert first.status_code == again.status_code == 303
    assert again.headers["location"] == first.headers["location"]
    assert _registered(app_db, "Twiceclicked") == 1
    assert _stored_keys(app_db) == 1


def test_two_identical_registrations_at_once_store_one_patient(
        app_client: TestClient, app_db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    assert sign_in(app_client, committed_user(app_db, Role.FRONT_DESK).username) == 303
    register = patients_service.register_patient

    def slow_register(*args: Any, **kwargs: Any) -> Any:
        patient = register(*args, **kwargs)
        time.sleep(0.3)  # the second post arrives while the first is still in its transaction
        return patient

    monkeypatch.setattr(patients_service, "register_patient", slow_register)
    token, key = csrf(app_client), new_key()
    answers: list[Any] = []
    start = threading.Barrier(2)

    def click() -> None:
        start.wait()
        answers.append(app_client.post("/patients", data={
            **PERSON, "csrf_token": token, FIELD: key}))

    clicks = [threading.Thread(target=click) for _ in range(2)]
    for thread in clicks:
        thread.start()
        time.sleep(0.03)  # two clicks 30 ms apart
    for thread in clicks:
        thread.join(timeout=30)
    assert [a.status_code for a in answers] == [303, 303]
    assert answers[0].headers["location"] == answers[1].headers["location"]
    assert _registered(app_db, "Twiceclicked") == 1


def test_a_failed_post_keeps_no_key_so_the_corrected_form_goes_through(
        app_client: TestClient, app_db: Session) -> None:
    assert sign_in(app_client, committed_user(app_db, Role.FRONT_DESK).username) == 303
    key = new_key()
    refused = _post(app_client, "/patients", {**PERSON, "sex": "", FIELD: key})
    assert refused.status_code == 422 and _stored_keys(app_db) == 0
    assert _post(app_client, "/patients", {**PERSON, FIELD: key}).status_code == 303
    assert _registered(app_db, "Twiceclicked") == 1


def test_a_key_of_another_user_is_not_replayed(app_client: TestClient,
                                               app_db: Session) -> None:
    first_user = committed_user(app_db, Role.FRONT_DESK)
    second_user = committed_user(app_db, Role.FRONT_DESK)
    key = new_key()
    assert sign_in(app_client, first_user.username) == 303
    assert _post(app_client, "/patients", {**PERSON, FIELD: key}).status_code == 303
    app_client.cookies.clear()
    assert sign_in(app_client, second_user.username) == 303
    other = _post(app_client, "/patients", {**PERSON, FIELD: key})
    assert other.status_code == 409 and "already submitted" in other.text
    assert "/patients/" not in other.headers.get("location", "")
    assert _registered(app_db, "Twiceclicked") == 1


def test_the_same_name_and_birth_date_needs_confirmation(app_client: TestClient,
                                                         app_db: Session) -> None:
    assert sign_in(app_client, committed_user(app_db, Role.FRONT_DESK).username) == 303
    assert _post(app_client, "/patients", {**PERSON, FIELD: new_key()}).status_code == 303
    warned = _post(app_client, "/patients", {**PERSON, "family_name": "TWICECLICKED",
                                             FIELD: new_key()})
    assert warned.status_code == 422
    assert 'id="e-confirm_same_person"' in warned.text
    assert "same name and date of birth" in warned.text
    assert 'name="confirm_same_person"' in warned.text and 'value="TWICECLICKED"' in warned.text
    confirmed = _post(app_client, "/patients", {**PERSON, "confirm_same_person": "yes",
                                                FIELD: new_key()})
    assert confirmed.status_code == 303
    assert _registered(app_db, "Twiceclicked") == 2


def test_a_repeated_vitals_post_stores_one_reading(app_client: TestClient,
                                                   app_db: Session) -> None:
    clinic = make_clinic(app_db)
    record = ready_to_start(app_db, clinic)
    app_db.commit()
    assert sign_in(app_client, clinic.nurse.username) == 303
    page = f"/infusions/sessions/{record.id}"

    def readings() -> int:
        return _count(app_db, select(func.count()).select_from(VitalsRecord)
                      .where(VitalsRecord.session_id == record.id))

    before = readings()
    reading = {"sbp_mmhg": "124", "dbp_mmhg": "78", "hr_bpm": "70", "spo2_percent": "98",
               FIELD: new_key()}
    first = _post(app_client, f"{page}/vitals", reading)
    again = _post(app_client, f"{page}/vitals", reading)
    assert first.status_code == again.status_code == 303, first.text
    assert again.headers["location"] == first.headers["location"]
    assert readings() == before + 1


def test_a_repeated_ledger_draw_stores_one_draw(app_client: TestClient,
                                                app_db: Session) -> None:
    clinic = make_clinic(app_db)
    stock(app_db, clinic, "K-1", 500)
    record = ready_to_start(app_db, clinic, lot="K-1")
    app_db.commit()
    assert sign_in(app_client, clinic.nurse.username) == 303
    draw = {"session_id": str(record.id), "lot_number": "K-1", "amount_mg": "50",
            FIELD: new_key()}
    first = _post(app_client, "/controlled/draw", draw)
    again = _post(app_client, "/controlled/draw", draw)
    assert first.status_code == again.status_code == 303, first.text
    draws = _count(app_db, select(func.count()).select_from(LedgerRow).where(
        LedgerRow.kind == EntryKind.DRAWN, LedgerRow.session_id == record.id))
    assert draws == 1


def test_reloading_an_issued_portal_link_does_not_issue_a_second(
        app_client: TestClient, app_db: Session) -> None:
    patient = make_portal_patient(app_db, email="someone@example.org")
    nurse = committed_user(app_db, Role.NURSE)
    assert sign_in(app_client, nurse.username) == 303
    issue = {"instruments": ["phq9"], FIELD: new_key()}
    first = _post(app_client, f"/patients/{patient.id}/portal-links", issue)
    assert first.status_code == 200, first.text
    reload = app_client.post(f"/patients/{patient.id}/portal-links",
                             data={"csrf_token": csrf(app_client), **issue},
                             headers={"referer": f"https://testserver/patients/{patient.id}"})
    assert reload.status_code == 409 and "already submitted" in reload.text
    links = _count(app_db, select(func.count()).select_from(PortalLink)
                   .where(PortalLink.patient_id == patient.id))
    assert links == 1


def test_old_keys_are_forgotten_and_recent_ones_kept(db: Session) -> None:
    user = make_user(db)
    now = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    ages = {"old": KEEP_KEYS + timedelta(seconds=1), "recent": KEEP_KEYS - timedelta(hours=1)}
    for name, age in ages.items():
        db.add(FormSubmission(key=f"{name}-key-0123456789", user_id=user.id, path="/x",
                              created_at=now - age))
    db.flush()
    assert purge_expired(db, now=now) == 1
    assert db.scalars(select(FormSubmission.key)).all() == ["recent-key-0123456789"]
