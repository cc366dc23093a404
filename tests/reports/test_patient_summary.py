"""The plain-language summary for the patient on both databases: the infusions given of those
planned, each depression rating against the course's pre-treatment baseline in words (response
named as the clinic counts it), nothing compared without such a baseline, the visits booked
ahead, whom to call; audited with ids only; served from the reports page."""

from __future__ import annotations

import json
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.models import AuditEvent
from ketaflow.db import utcnow
from ketaflow.patients.models import Patient
from ketaflow.reports import service
from ketaflow.reports.patient_summary import TITLE, summary_pdf
from tests.assessments.factories import phq9, record
from tests.reports.factories import hand_made
from tests.reports.test_clinician import MRN, ZONE, _treated
from tests.screening.factories import ctx_for
from tests.support.pdftext import page_texts
from tests.web.helpers import sign_in


def _text(pdf: bytes) -> str:
    return " ".join(" ".join(page_texts(pdf)).split()).replace(" ' ", "'")


def test_the_summary_tells_the_patient_how_the_course_went(db: Session) -> None:
    patient_id, _session_id, clinic = _treated(db)
    before = utcnow() - timedelta(days=2)
    record(db, db.get(Patient, patient_id), clinic.nurse, "phq9", phq9(20), rated_at=before)
    ctx = clinic.prescriber_ctx
    ready = service.prepare(db, ctx, patient_id=patient_id, zone=ZONE)
    summary = service.patient_summary(db, ctx, patient_id=patient_id)
    [change] = summary.changes
    assert (change.scale, change.before, change.latest) == ("PHQ-9", 20, 10)
    assert change.response and not change.remission
    text = _text(summary_pdf(summary, printout=ready.printout, prepared_by=ready.prepared_by))
    for expected in (TITLE, "REPORTEE, Cleo", f"MRN: {MRN}", "You have had 1 of the 6 infusions",
                     f"PHQ-9: 20 before your first infusion ({before:%d %B %Y})",
                     "50% lower", "counts a drop of this size as a response to treatment",
                     "No visit is booked yet", "call your local emergency number",
                     "Prepared by Test User (prescriber)"):
        assert expected in text, expected
    event = db.scalars(select(AuditEvent).where(
        AuditEvent.action == "report.patient_summary")).one()
    assert json.loads(event.detail) == {"format": "pdf", "course_id": summary.course_id,
                                        "scores": 1, "visits": 0}


def test_without_a_pre_treatment_rating_nothing_is_compared(db: Session) -> None:
    patient_id, _session_id, clinic = _treated(db)   # only the chair's own self-report
    ctx = clinic.prescriber_ctx
    ready = service.prepare(db, ctx, patient_id=patient_id, zone=ZONE)
    summary = service.patient_summary(db, ctx, patient_id=patient_id)
    text = _text(summary_pdf(summary, printout=ready.printout, prepared_by=ready.prepared_by))
    assert "PHQ-9: there is no rating from before your first infusion" in text
    assert "% lower" not in text and "response" not in text


def test_a_planned_course_only_has_no_infusions_to_tell(db: Session) -> None:
    made = hand_made(db)
    ctx = ctx_for(made.prescriber)
    ready = service.prepare(db, ctx, patient_id=made.patient.id, zone=ZONE)
    summary = service.patient_summary(db, ctx, patient_id=made.patient.id)
    text = _text(summary_pdf(summary, printout=ready.printout, prepared_by=ready.prepared_by))
    assert "No treatment course has started yet." in text


def test_the_reports_page_serves_the_summary(app_client: TestClient, app_db: Session) -> None:
    made = hand_made(app_db)
    app_db.commit()
    pid = made.patient.id
    assert sign_in(app_client, made.prescriber.username) == 303
    page = app_client.get(f"/patients/{pid}/reports").text
    assert f'href="/patients/{pid}/reports/patient-summary.pdf"' in page
    pdf = app_client.get(f"/patients/{pid}/reports/patient-summary.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert TITLE in _text(pdf.content)
