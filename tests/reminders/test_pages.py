"""Reminder pages over HTTP: the plan form (defaults, saving, refusals), the staff opt-out and
the patient's opt-out link."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.config import Role, Settings
from ketaflow.reminders import service
from ketaflow.reminders.models import ReminderPlan
from tests.patients.factories import make_patient
from tests.web.helpers import committed_user, csrf, sign_in

FORM = {"time_zone": "America/New_York", "channel": "email", "mood_enabled": "yes",
        "mood_at": "19:00", "scales_enabled": "yes", "scales_weekday": "6", "scales_at": "18:00",
        "infusion_enabled": "yes", "infusion_at": "17:00", "repeat_every_h": "2",
        "repeat_count": "2", "quiet_start": "21:30", "quiet_end": "08:00"}


def _plan(db: Session, patient_id: int) -> dict[str, Any] | None:
    """The stored plan's columns, read in a transaction of their own (no ORM object kept:
    it would expire with the rollback)."""
    db.rollback()
    try:
        plan = db.scalar(select(ReminderPlan).where(ReminderPlan.patient_id == patient_id))
        return None if plan is None else {
            c.key: getattr(plan, c.key) for c in ReminderPlan.__table__.columns}
    finally:
        db.rollback()


def test_staff_set_a_plan_and_bad_fields_are_named(app_client: TestClient, app_db: Session
                                                   ) -> None:
    nurse = committed_user(app_db, Role.NURSE).username
    patient = make_patient(app_db, family_name="Remy", given_name="Jo")
    patient_id = patient.id
    app_db.commit()
    assert sign_in(app_client, nurse) == 303
    page = app_client.get(f"/patients/{patient_id}/reminders")
    assert page.status_code == 200 and "REMY, Jo" in page.text and patient.mrn in page.text
    assert 'value="19:00"' in page.text and 'value="21:30"' in page.text
    assert "No reminder plan yet" in page.text
    bad = app_client.post(f"/patients/{patient_id}/reminders", data={
        **FORM, "csrf_token": csrf(app_client), "mood_at": "7pm", "repeat_count": "9",
        "time_zone": "Nowhere/Land"})
    assert bad.status_code == 422
    assert "Daily check-in time must be a time such as 19:00 (00:00 to 23:59)" in bad.text
    assert 'value="7pm"' in bad.text  # what was typed is kept
    assert "please correct these 3 problems" in bad.text
    assert _plan(app_db, patient_id) is None
    assert "Repeats must be 0 to 5" in bad.text
    assert "Patient&#39;s time zone must be an IANA time zone" in bad.text
    saved = app_client.post(f"/patients/{patient_id}/reminders",
                            data={**FORM, "csrf_token": csrf(app_client), "mood_at": "20:15",
                                  "scales_enabled": ""}, follow_redirects=False)
    assert saved.status_code == 303
    stored = _plan(app_db, patient_id)
    assert stored is not None and stored["mood_at"].strftime("%H:%M") == "20:15"
    assert not stored["scales_enabled"] and stored["time_zone"] == "America/New_York"
    page = app_client.get(saved.headers["location"])
    assert "Reminder plan saved." in page.text and "daily check-in at 20:15" in page.text
    assert "Test User (nurse)" in page.text  # staff by name
    stop = app_client.post(f"/patients/{patient_id}/reminders/opt-out",
                           data={"csrf_token": csrf(app_client), "opted_out": "yes"})
    assert stop.status_code == 303
    stopped = app_client.get(stop.headers["location"])
    assert "Reminders stopped for this patient." in stopped.text
    assert "by Test User (nurse)" in stopped.text
    plan = _plan(app_db, patient_id)
    assert plan is not None and plan["opted_out_at"] is not None


def test_the_patients_opt_out_link(app_client: TestClient, app_db: Session,
                                   settings: Settings) -> None:
    nurse = committed_user(app_db, Role.NURSE)
    patient = make_patient(app_db, family_name="Remy", given_name="Jo")
    plan = service.save_plan(app_db, service.system_context(), patient_id=patient.id,
                             data=service.PlanInput(time_zone="UTC"), user_id=nurse.id)
    token = service.opt_out_token(plan, settings.effective_secret_key)
    plan_id, patient_id = plan.id, patient.id
    app_db.commit()
    page = app_client.get(f"/reminders/opt-out/{token}")
    assert page.status_code == 200 and "Stop reminders?" in page.text
    assert "Remy" not in page.text and "Jo" not in page.text.split()
    assert app_client.get(f"/reminders/opt-out/{plan_id}.{'0' * 32}").status_code == 404
    assert app_client.get("/reminders/opt-out/nonsense").status_code == 404
    assert (_plan(app_db, patient_id) or {}).get("opted_out_at", 1) is None
    field = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert field is not None
    done = app_client.post(f"/reminders/opt-out/{token}", data={"csrf_token": field.group(1)})
    assert done.status_code == 200 and "Reminders stopped" in done.text
    stored = _plan(app_db, patient_id)
    assert stored is not None and stored["opted_out_at"] is not None
    assert stored["opted_out_by_user_id"] is None
    assert "Reminders stopped" in app_client.get(f"/reminders/opt-out/{token}").text
