"""Mood chart pages over HTTP: the patient's link page, the clinician's chart and forms."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketaflow.config import Role
from ketaflow.db import utcnow
from ketaflow.moodchart.models import MoodEntry
from tests.patients.factories import make_patient
from tests.web.helpers import committed_user, csrf, sign_in

SCORES = {"depressed": "2", "elevated": "0", "irritable": "1", "anxious": "1", "sleep_h": "6.5"}


def _count(db: Session) -> int:
    db.rollback()
    try:
        return db.scalar(select(func.count()).select_from(MoodEntry)) or 0
    finally:
        db.rollback()


def test_clinician_issues_a_link_and_the_patient_enters_the_day(app_client: TestClient,
                                                                app_db: Session) -> None:
    nurse = committed_user(app_db, Role.NURSE).username
    patient = make_patient(app_db, family_name="Moodley", given_name="Asha")
    patient_id, mrn = patient.id, patient.mrn
    app_db.commit()
    assert sign_in(app_client, nurse) == 303
    page = app_client.post(f"/patients/{patient_id}/mood/links",
                           data={"csrf_token": csrf(app_client)})
    assert page.status_code == 200 and "MOODLEY, Asha" in page.text
    url = re.search(r'href="(https?://[^"]+/mood/[^"]+)"', page.text)
    assert url is not None
    path = "/mood/" + url.group(1).rsplit("/mood/", 1)[1]

    app_client.cookies.clear()  # the patient has no staff session
    form = app_client.get(path)
    assert form.status_code == 200 and "How was your day?" in form.text
    assert "Moodley" not in form.text  # the link page names no one
    key = re.search(r'name="form_key" value="([^"]+)"', form.text)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert key is not None and token is not None
    data = {"csrf_token": token.group(1), "form_key": key.group(1), **SCORES}
    missing = app_client.post(path, data={**data, "depressed": ""}, follow_redirects=False)
    assert missing.status_code == 422 and "Low or depressed mood: choose 0 to 3" in missing.text
    assert _count(app_db) == 0
    first = app_client.post(path, data=data, follow_redirects=False)
    again = app_client.post(path, data=data, follow_redirects=False)
    assert first.status_code == again.status_code == 303
    assert app_client.get(first.headers["location"]).status_code == 200
    assert _count(app_db) == 1  # the same form twice: one entry

    assert sign_in(app_client, nurse) == 303
    chart = app_client.get(f"/patients/{patient_id}/mood?days=30")
    assert chart.status_code == 200
    assert 'id="life-chart"' in chart.text and "patient (link)" in chart.text
    assert "MOODLEY, Asha" in chart.text and mrn in chart.text


def test_clinician_enters_an_earlier_day_and_bad_input_keeps_the_form(
        app_client: TestClient, app_db: Session) -> None:
    nurse = committed_user(app_db, Role.NURSE).username
    patient = make_patient(app_db)
    patient.created_at = utcnow() - timedelta(days=10)
    patient_id = patient.id
    app_db.commit()
    assert sign_in(app_client, nurse) == 303
    day = (utcnow() - timedelta(days=3)).date().isoformat()
    bad = app_client.post(f"/patients/{patient_id}/mood/entries", data={
        "csrf_token": csrf(app_client), "day": day, **SCORES, "sleep_h": "1e1"})
    assert bad.status_code == 422 and "Hours slept must be a number" in bad.text
    assert 'value="1e1"' in bad.text and _count(app_db) == 0
    saved = app_client.post(f"/patients/{patient_id}/mood/entries", data={
        "csrf_token": csrf(app_client), "day": day, **SCORES}, follow_redirects=False)
    assert saved.status_code == 303 and _count(app_db) == 1
    assert "Entry saved." in app_client.get(saved.headers["location"]).text


def test_a_front_desk_user_cannot_read_the_chart(app_client: TestClient,
                                                 app_db: Session) -> None:
    desk = committed_user(app_db, Role.FRONT_DESK)
    patient_id = make_patient(app_db).id
    app_db.commit()
    assert sign_in(app_client, desk.username) == 303
    assert app_client.get(f"/patients/{patient_id}/mood").status_code == 403
