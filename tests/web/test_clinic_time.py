"""Times at the boundary: the API refuses naive datetimes; HTML forms read times in the clinic's
time zone (KETAFLOW_CLINIC_TIMEZONE) and store UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.assessments.models import Assessment
from ketaflow.config import Role, SettingsError, load_settings
from ketaflow.errors import ValidationFailed
from ketaflow.infusions.models import InfusionSession
from ketaflow.patients.models import Measurement
from ketaflow.scales import get_instrument
from ketaflow.web.forms import clinic_time_to_utc, optional_datetime
from tests.infusions.test_api import BASE, started
from tests.patients.factories import make_patient
from tests.web.helpers import committed_user, csrf, sign_in


def test_clinic_timezone_setting_is_validated_as_an_iana_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load_settings().clinic_timezone == "UTC"
    monkeypatch.setenv("KETAFLOW_CLINIC_TIMEZONE", "America/Chicago")
    assert load_settings().clinic_timezone == "America/Chicago"
    for bad in ("Mars/Olympus_Mons", "", "../../etc/passwd", "+02:00"):
        monkeypatch.setenv("KETAFLOW_CLINIC_TIMEZONE", bad)
        with pytest.raises(SettingsError) as error:
            load_settings()
        message = str(error.value)
        assert message.startswith("invalid setting KETAFLOW_CLINIC_TIMEZONE:")
        assert "\n" not in message


def test_form_times_are_read_in_the_clinic_zone() -> None:
    summer = clinic_time_to_utc(datetime(2026, 7, 1, 9, 30), "Europe/London", "t", "time")
    assert summer == datetime(2026, 7, 1, 8, 30, tzinfo=UTC)
    winter = clinic_time_to_utc(datetime(2026, 1, 15, 9, 30), "America/New_York", "t", "time")
    assert winter == datetime(2026, 1, 15, 14, 30, tzinfo=UTC)
    # Clocks back (New York, 2026-11-01 02:00 -> 01:00): 01:30 happens twice; the first counts.
    repeated = clinic_time_to_utc(datetime(2026, 11, 1, 1, 30), "America/New_York", "t", "t")
    assert repeated == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    # A value that carries its own offset is already unambiguous.
    offset = datetime(2026, 1, 1, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert clinic_time_to_utc(offset, "Europe/London", "t", "t") == datetime(2026, 1, 1, 0, 0,
                                                                             tzinfo=UTC)


def test_a_time_skipped_by_daylight_saving_is_refused_naming_the_field() -> None:
    # Clocks forward in London on 2026-03-29 01:00 -> 02:00: 01:30 never happened.
    with pytest.raises(ValidationFailed) as error:
        optional_datetime({"measured_at": "2026-03-29T01:30"}, "measured_at", "measured at",
                          "Europe/London")
    assert error.value.field == "measured_at" and "skipped" in error.value.detail


@pytest.mark.parametrize("raw", ["2026-01-01", "yesterday", "2026-13-01T10:00", "10:00"])
def test_a_form_time_that_is_not_a_date_and_time_is_refused(raw: str) -> None:
    with pytest.raises(ValidationFailed) as error:
        optional_datetime({"taken": raw}, "taken", "taken at", "UTC")
    assert error.value.field == "taken" and "date and time" in error.value.detail
    assert optional_datetime({"taken": ""}, "taken", "taken at", "UTC") is None


def _problem_fields(response: object) -> set[str]:
    body = response.json()  # type: ignore[attr-defined]
    return {e["field"] for e in body.get("errors", [])} | {body.get("field")}


def test_api_refuses_naive_datetimes_naming_the_field(app_client: TestClient,
                                                      app_db: Session) -> None:
    nurse, _, session_id = started(app_client, app_db)
    naive = datetime.now(UTC).replace(tzinfo=None).isoformat()
    vitals = app_client.post(f"{BASE}/{session_id}/vitals", headers=nurse.headers,
                             json={"taken_at": naive, "hr_bpm": 70})
    assert vitals.status_code == 422 and "taken_at" in _problem_fields(vitals)
    assert vitals.headers["content-type"].startswith("application/problem+json")
    event = app_client.post(f"{BASE}/{session_id}/events", headers=nurse.headers, json={
        "kind": "adverse_event", "description": "nausea", "occurred_at": naive})
    assert event.status_code == 422 and "occurred_at" in _problem_fields(event)
    patient_id = app_db.get_one(InfusionSession, session_id).patient_id
    app_db.rollback()  # SQLite: end the read before the app writes
    for path, body in (
        (f"/api/v1/patients/{patient_id}/measurements",
         {"weight": 70, "weight_unit": "kg", "measured_at": naive}),
        (f"/api/v1/patients/{patient_id}/assessments",
         {"instrument": "phq9", "answers": {}, "rated_at": naive}),
    ):
        refused = app_client.post(path, headers=nurse.headers, json=body)
        assert refused.status_code == 422, refused.text
        assert {"measured_at", "rated_at"} & _problem_fields(refused)
    # With an offset the same reading is charted.
    aware = datetime.now(UTC).isoformat()
    nurse.post(f"{BASE}/{session_id}/vitals", {"taken_at": aware, "hr_bpm": 70}, expect=201)


def test_measurement_form_reads_the_time_in_the_clinic_zone(app_client: TestClient,
                                                            app_db: Session) -> None:
    app_client.app.state.settings.clinic_timezone = "America/New_York"  # type: ignore[attr-defined]
    patient_id = make_patient(app_db).id
    app_db.commit()
    user = committed_user(app_db, Role.NURSE)
    assert sign_in(app_client, user.username) == 303
    page = app_client.get(f"/patients/{patient_id}/measurements/new")
    assert "clinic time, America/New_York" in page.text and 'type="datetime-local"' in page.text
    done = app_client.post(f"/patients/{patient_id}/measurements", data={
        "weight": "70", "weight_unit": "kg", "measured_at": "2026-01-15T09:30",
        "csrf_token": csrf(app_client)})
    assert done.status_code == 303, done.text
    stored = app_db.scalar(select(Measurement).where(Measurement.patient_id == patient_id))
    assert stored is not None
    assert stored.measured_at == datetime(2026, 1, 15, 14, 30, tzinfo=UTC)
    app_db.rollback()
    refused = app_client.post(f"/patients/{patient_id}/measurements", data={
        "weight": "70", "weight_unit": "kg", "measured_at": "2026-03-08T02:30",
        "csrf_token": csrf(app_client)})
    assert refused.status_code == 422 and 'id="e-measured_at"' in refused.text
    assert 'value="70"' in refused.text


def test_assessment_form_dates_are_clinic_days(app_client: TestClient,
                                               app_db: Session) -> None:
    app_client.app.state.settings.clinic_timezone = "Pacific/Auckland"  # type: ignore[attr-defined]
    patient_id = make_patient(app_db).id
    app_db.commit()
    user = committed_user(app_db, Role.PRESCRIBER)
    assert sign_in(app_client, user.username) == 303
    form = app_client.get(f"/patients/{patient_id}/assessments/new?instrument=phq9")
    assert "clinic time zone, Pacific/Auckland" in form.text
    answers = {f"item.{item.id}": "0" for item in get_instrument("phq9").asked_items}
    done = app_client.post(f"/patients/{patient_id}/assessments", data={
        **answers, "instrument": "phq9", "rated_on": "2026-02-10",
        "csrf_token": csrf(app_client)})
    assert done.status_code == 303, done.text
    stored = app_db.scalar(select(Assessment).where(Assessment.patient_id == patient_id))
    assert stored is not None
    # 12:00 in Auckland (UTC+13 in February) is 23:00 UTC the day before.
    assert stored.rated_at == datetime(2026, 2, 9, 23, 0, tzinfo=UTC)
    assessment_id = stored.id
    app_db.rollback()
    amend = app_client.get(f"/assessments/{assessment_id}/amend")
    assert 'value="2026-02-10"' in amend.text

