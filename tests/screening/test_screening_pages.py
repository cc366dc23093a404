"""Screening, consent and course pages through the HTTP interface, as a browser uses them."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ketaflow.clinical.eligibility import CHECKLIST, ItemKind
from ketaflow.config import Role
from ketaflow.db import utcnow
from ketaflow.screening import service
from tests.screening.factories import consent, ctx_for, make_patient, signed_screening
from tests.web.helpers import committed_user, csrf, sign_in


def checklist_form(token: str, **overrides: str) -> dict[str, str]:
    form = {f"answer_{i.key}": "yes" if i.kind is ItemKind.REQUIREMENT else "no"
            for i in CHECKLIST}
    form |= {"csrf_token": token, "systolic_mmhg": "128", "diastolic_mmhg": "82",
             "heart_rate_bpm": "74", "spo2_pct": "97", "weight_kg": "81.5", "ymrs_total": "5",
             "pregnancy_status": "not_applicable"}
    return form | overrides


def test_nurse_screens_prescriber_signs_consents_and_plans(
    app_client: TestClient, app_db: Session
) -> None:
    patient = make_patient(app_db, adequate_trials=2)
    nurse = committed_user(app_db, Role.NURSE)
    doctor = committed_user(app_db, Role.PRESCRIBER)
    assert sign_in(app_client, nurse.username) == 303
    page = app_client.get(f"/patients/{patient.id}")
    assert page.status_code == 200
    assert f"/patients/{patient.id}/screenings/_summary" in page.text
    assert f"/patients/{patient.id}/courses/_summary" in page.text
    fragment = app_client.get(f"/patients/{patient.id}/screenings/_summary")
    assert "No eligibility screening yet" in fragment.text and "Start a screening" in fragment.text
    form_page = app_client.get(f"/patients/{patient.id}/screenings/new")
    assert form_page.status_code == 200
    assert form_page.text.count('type="radio"') == 3 * len(CHECKLIST)
    bad = app_client.post(f"/patients/{patient.id}/screenings",
                          data=checklist_form(csrf(app_client), spo2_pct="120"))
    assert bad.status_code == 422 and 'aria-invalid="true"' in bad.text
    assert 'value="81.5"' in bad.text  # what was typed is kept
    saved = app_client.post(f"/patients/{patient.id}/screenings",
                            data=checklist_form(csrf(app_client), answer_escort_arranged=""))
    assert saved.status_code == 303
    screening_url = saved.headers["location"].split("?")[0]
    view = app_client.get(screening_url)
    assert "incomplete" in view.text and "Still unanswered" in view.text
    assert "Sign as prescriber" not in view.text  # nurses fill in, prescribers sign
    sid = int(screening_url.rsplit("/", 1)[1])
    edited = app_client.post(f"/screenings/{sid}/edit", data=checklist_form(csrf(app_client)))
    assert edited.status_code == 303
    assert app_client.post(f"/screenings/{sid}/sign",
                           data={"csrf_token": csrf(app_client)}).status_code == 403

    app_client.cookies.clear()
    assert sign_in(app_client, doctor.username) == 303
    view = app_client.get(screening_url)
    assert "Sign as prescriber" in view.text and "eligible" in view.text
    assert "counts: quetiapine adequately dosed" in view.text
    signed = app_client.post(f"/screenings/{sid}/sign", data={"csrf_token": csrf(app_client)})
    assert signed.status_code == 303
    view = app_client.get(signed.headers["location"])
    assert "locked" in view.text and "Amend this signed screening" in view.text
    assert app_client.get(f"/screenings/{sid}/edit").status_code == 303

    course_page = app_client.get(f"/patients/{patient.id}/courses/new")
    assert "no informed consent is recorded" in course_page.text
    today = utcnow().date()
    consented = app_client.post(f"/patients/{patient.id}/consents", data={
        "csrf_token": csrf(app_client), "form_version": "OLC-2026.1",
        "consented_on": today.isoformat(), "witnessed_by_user_id": str(nurse.id)})
    assert consented.status_code == 303
    start = today + timedelta(days=7)
    planned = app_client.post(f"/patients/{patient.id}/courses", data={
        "csrf_token": csrf(app_client), "start_on": start.isoformat(), "infusion_count": "6",
        "frequency": "mon_wed_fri", "skip_weekends": "yes", "dose_mg_per_kg": "0.5",
        "max_dose_mg": "100"})
    assert planned.status_code == 303
    course = app_client.get(planned.headers["location"])
    assert course.status_code == 200
    assert len(re.findall(r'<span class="badge off">planned</span>', course.text)) == 6
    summary = app_client.get(f"/patients/{patient.id}/courses/_summary")
    assert "planned" in summary.text and "Plan a treatment course" not in summary.text


def test_signing_incomplete_names_the_missing_items(
    app_client: TestClient, app_db: Session
) -> None:
    patient = make_patient(app_db)
    doctor = committed_user(app_db, Role.PRESCRIBER)
    row = service.start_screening(app_db, ctx_for(doctor), patient_id=patient.id,
                                  entry=service.ScreeningEntry(systolic_mmhg=120))
    app_db.commit()
    assert sign_in(app_client, doctor.username) == 303
    refused = app_client.post(f"/screenings/{row.id}/sign", data={"csrf_token": csrf(app_client)})
    assert refused.status_code == 422
    assert "cannot be signed" in refused.text and "Baseline YMRS" in refused.text


def test_course_from_unsigned_or_ineligible_screening_is_refused_on_the_page(
    app_client: TestClient, app_db: Session
) -> None:
    from ketaflow.clinical.eligibility import PregnancyStatus
    patient = make_patient(app_db)
    doctor = committed_user(app_db, Role.PRESCRIBER)
    signed_screening(app_db, patient, doctor, pregnancy_status=PregnancyStatus.PREGNANT)
    consent(app_db, patient, doctor)
    app_db.commit()
    assert sign_in(app_client, doctor.username) == 303
    page = app_client.get(f"/patients/{patient.id}/courses/new")
    assert "A course cannot start yet" in page.text and "outcome is not eligible" in page.text
    refused = app_client.post(f"/patients/{patient.id}/courses", data={
        "csrf_token": csrf(app_client), "start_on": "2030-01-07", "infusion_count": "6",
        "frequency": "mon_wed_fri", "dose_mg_per_kg": "0.5", "max_dose_mg": "100"})
    assert refused.status_code == 409
    refusal = "a course cannot start: the signed screening&#39;s outcome is not eligible"
    assert refusal in refused.text


def test_course_state_buttons_and_stop_reason(app_client: TestClient, app_db: Session) -> None:
    from ketaflow.courses import service as courses
    patient = make_patient(app_db, adequate_trials=2)
    doctor = committed_user(app_db, Role.PRESCRIBER)
    signed_screening(app_db, patient, doctor)
    consent(app_db, patient, doctor)
    course = courses.plan_course(app_db, ctx_for(doctor), patient_id=patient.id,
                                 entry=courses.CourseEntry(start_on=utcnow().date()))
    app_db.commit()
    assert sign_in(app_client, doctor.username) == 303
    page = app_client.get(f"/courses/{course.id}")
    assert "Start course" in page.text and "Stop course" in page.text
    no_reason = app_client.post(f"/courses/{course.id}/state",
                                data={"csrf_token": csrf(app_client), "state": "stopped"})
    assert no_reason.status_code == 422 and "reason is required" in no_reason.text
    started = app_client.post(f"/courses/{course.id}/state",
                              data={"csrf_token": csrf(app_client), "state": "active"})
    assert started.status_code == 303
    page = app_client.get(f"/courses/{course.id}")
    assert "planned → active" in page.text and "Pause" in page.text
    assert "Start course" not in page.text
