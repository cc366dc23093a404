"""The letter to the referring clinician on both databases: addressed to the recorded
referrer, what the induction gave and how the scores moved, signed by who printed it; and a
patient without an induction (or a referrer on record) gets a letter that says so."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.models import AuditEvent
from ketaflow.db import utcnow
from ketaflow.patients.models import Patient
from ketaflow.reports import service
from ketaflow.reports.letter import NOT_RECORDED, letter_pdf
from tests.assessments.factories import phq9, record
from tests.reports.factories import hand_made
from tests.reports.test_clinician import MRN, ZONE, _treated
from tests.screening.factories import ctx_for
from tests.support.pdftext import page_texts


def _text(pdf: bytes) -> str:
    return " ".join(" ".join(page_texts(pdf)).split())


def test_the_letter_reports_the_induction_to_the_referrer(db: Session) -> None:
    patient_id, session_id, clinic = _treated(db)
    # A pre-treatment baseline two days before the infusion (its own self-report, rated at
    # the chair before the pump started, is the latest: PHQ-9 10).
    record(db, db.get(Patient, patient_id), clinic.nurse, "phq9", phq9(20),
           rated_at=utcnow() - timedelta(days=2))
    ctx = clinic.prescriber_ctx
    ready = service.prepare(db, ctx, patient_id=patient_id, zone=ZONE)
    facts = service.referrer_letter(db, ctx, patient_id=patient_id, zone=ZONE)
    assert facts.referring_clinician == "Dr Rhea Referrer"
    assert [i.session_id for i in facts.infusions] == [session_id]
    assert [scale for scale, _ in facts.outcomes] == ["PHQ-9"]
    assert facts.outcomes[0][1].startswith("baseline 20 on ")
    assert "; latest 10" in facts.outcomes[0][1]
    assert facts.medications[0].startswith("lithium 800")
    text = _text(letter_pdf(facts, printout=ready.printout, signer=ready.prepared_by))
    for expected in ("To: Dr Rhea Referrer", "Dear Dr Rhea Referrer,",
                     "REPORTEE, Cleo (born", f"MRN {MRN}", "1 of 6 planned infusions given",
                     "35.9 mg delivered", "=1+1 dizzy on standing", "PHQ-9", "baseline 20 on",
                     "Yours sincerely,", "Test User (prescriber)", "page 1 of"):
        assert expected in text, expected
    event = db.scalars(select(AuditEvent).where(
        AuditEvent.action == "report.referrer_letter")).one()
    assert json.loads(event.detail)["session_ids"] == [session_id]
    assert "Rhea" not in event.detail and "Cleo" not in event.detail


def test_without_an_induction_or_a_referrer_the_letter_says_so(db: Session) -> None:
    made = hand_made(db)      # a planned course only, no referring clinician recorded
    ctx = ctx_for(made.prescriber)
    ready = service.prepare(db, ctx, patient_id=made.patient.id, zone=ZONE)
    facts = service.referrer_letter(db, ctx, patient_id=made.patient.id, zone=ZONE)
    assert facts.course_id is None and facts.referring_clinician is None
    text = _text(letter_pdf(facts, printout=ready.printout, signer=ready.prepared_by))
    # reportlab draws an apostrophe as a string of its own: compare the words around it
    before, after = NOT_RECORDED.split("'")
    assert f"({before}" in text and f"{after})" in text and "Dear colleague," in text
    assert "No induction course has started yet: there is no induction to report." in text
    assert "Dana Prescriber (prescriber)" in text
