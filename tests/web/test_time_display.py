"""Times shown on pages and printouts are the clinic's wall clock with the zone stated; dates
of birth stay dates."""

from __future__ import annotations

from datetime import UTC, date, datetime

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ketaflow.config import Role
from ketaflow.infusions.summary import clinic_time_text
from ketaflow.web.templating import clinic_date, clinic_time
from tests.patients.factories import make_patient
from tests.web.helpers import committed_user, csrf, sign_in

SUMMER = datetime(2026, 7, 1, 13, 5, tzinfo=UTC)
WINTER = datetime(2026, 1, 15, 23, 30, tzinfo=UTC)


def test_filters_show_the_clinic_clock_and_zone() -> None:
    assert clinic_time(SUMMER, "Europe/London") == "14:05 BST"
    assert clinic_time(WINTER, "America/New_York", "%Y-%m-%d %H:%M") == "2026-01-15 18:30 EST"
    assert clinic_time(None, "UTC") == "-"
    # A moment a driver returned without its zone is a stored UTC one.
    assert clinic_time(SUMMER.replace(tzinfo=None), "Europe/London") == "14:05 BST"
    # The clinic's calendar day: 23:30 UTC is already tomorrow in Auckland.
    assert clinic_date(WINTER, "Pacific/Auckland") == "2026-01-16"


def test_printouts_state_the_zone() -> None:
    assert clinic_time_text(WINTER, "America/New_York") == "2026-01-15 18:30 EST"
    assert clinic_time_text(WINTER) == "2026-01-15 23:30 UTC"  # the signed note keeps UTC


def test_the_measurements_table_is_in_the_clinic_zone(app_client: TestClient,
                                                      app_db: Session) -> None:
    app_client.app.state.settings.clinic_timezone = "America/New_York"  # type: ignore[attr-defined]
    patient_id = make_patient(app_db, date_of_birth=date(1980, 3, 14)).id
    app_db.commit()
    user = committed_user(app_db, Role.NURSE)
    assert sign_in(app_client, user.username) == 303
    for weight in ("70", "71"):  # the table shows from the second measurement on
        done = app_client.post(f"/patients/{patient_id}/measurements", data={
            "weight": weight, "weight_unit": "kg", "measured_at": "2026-01-15T09:30",
            "csrf_token": csrf(app_client)})
        assert done.status_code == 303, done.text
    page = app_client.get(f"/patients/{patient_id}").text
    assert "2026-01-15 09:30 EST" in page
    assert "14:30 UTC" not in page
    assert "1980-03-14" in page  # a date of birth stays a date
    assert "Weight (kg)" in page  # readings tables carry units
