"""The course page over HTTP: "no pre-treatment baseline", and a prescriber's labelled fallback."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ketaflow.config import Role
from ketaflow.db import utcnow
from tests.assessments.factories import madrs, make_course, make_patient, nurse, record
from tests.web.helpers import committed_user, csrf, sign_in


def test_course_page_says_no_pre_treatment_baseline_until_a_fallback_is_chosen(
        app_client: TestClient, app_db: Session) -> None:
    patient = make_patient(app_db)
    course = make_course(app_db, patient, (utcnow() - timedelta(days=6)).date())
    rater = nurse(app_db)
    record(app_db, patient, rater, "madrs", madrs(30), utcnow() - timedelta(days=4))
    record(app_db, patient, rater, "madrs", madrs(12), utcnow() - timedelta(days=1))
    course_id, patient_id = course.id, patient.id
    app_db.commit()
    doctor = committed_user(app_db, Role.PRESCRIBER).username
    assert sign_in(app_client, doctor) == 303
    page = app_client.get(f"/courses/{course_id}")
    assert page.status_code == 200
    assert ("MADRS</strong>: no pre-treatment baseline: response and remission not computed"
            in page.text)
    bad = app_client.post(f"/courses/{course_id}/baseline-fallback",
                          data={"csrf_token": csrf(app_client), "baseline_fallback": "guess"})
    assert bad.status_code == 422 and "choose a valid baseline fallback" in bad.text
    chosen = app_client.post(f"/courses/{course_id}/baseline-fallback",
                             data={"csrf_token": csrf(app_client),
                                   "baseline_fallback": "first-after-first-infusion"})
    assert chosen.status_code == 303
    shown = app_client.get(chosen.headers["location"])
    assert "Baseline choice saved." in shown.text
    assert ("baseline 30 on" in shown.text and "post-treatment baseline, the first rating after "
            "the first infusion: response understated" in shown.text)
    assert "latest 12: response" in shown.text
    scores = app_client.get(f"/patients/{patient_id}/assessments")
    assert "baseline 30 (post-treatment baseline" in scores.text
