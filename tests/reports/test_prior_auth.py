"""The prior-authorisation packet on both databases: each part of the JSON checked against a
hand-made patient, the PDF's text page by page, the service codes statement, and the audit."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.models import AuditEvent
from ketaflow.errors import NotFound
from ketaflow.reports import service
from ketaflow.reports.pdf import prior_auth_pdf
from ketaflow.reports.prior_auth import NO_SERVICE_CODES, packet_json
from ketaflow.reports.service_codes import ServiceCodeEntry, add_service_code
from tests.patients.factories import make_patient
from tests.reports.factories import EPISODE_DAYS, MRN, hand_made
from tests.screening.factories import ctx_for
from tests.support.pdftext import page_texts

ZONE = "America/New_York"


def _packet(db: Session, patient_id: int, ctx_user: object = None) -> tuple[dict, bytes]:
    ctx = ctx_for(ctx_user) if ctx_user is not None else ctx_for(
        db.info.get("prescriber"))  # type: ignore[arg-type]
    ready = service.prepare(db, ctx, patient_id=patient_id, zone=ZONE)
    packet = service.prior_auth_packet(db, ctx, patient_id=patient_id, formats=("pdf", "json"))
    body = packet_json(packet, ready.identity, clinic_name=ready.printout.clinic_name,
                       prepared_by=ready.prepared_by)
    # Through JSON text and back: what a client reads, dates as ISO strings.
    return json.loads(json.dumps(body)), prior_auth_pdf(packet, printout=ready.printout)


def test_the_json_packet_holds_every_part_of_the_hand_made_record(db: Session) -> None:
    made = hand_made(db)
    body, _ = _packet(db, made.patient.id, made.prescriber)

    assert body["patient"] == {"name": "TESTPERSON, Ada", "given_name": "Ada",
                               "family_name": "Testperson", "date_of_birth": "1980-03-01",
                               "mrn": MRN}
    assert body["prepared_by"] == "Dana Prescriber (prescriber)"
    d = body["diagnosis"]
    assert (d["icd10_code"], d["label"], d["episode"]) == (
        "F31.32", "Bipolar I disorder", "depressed")
    assert d["episode_duration_days"] == EPISODE_DAYS

    r = body["resistance"]
    assert (r["meets"], r["adequate_failed"], r["required"]) == (False, 1, 2)
    first, second = r["trials"]
    assert first["counts"] is True and first["regimen"] == "quetiapine 400 mg/d for 8 weeks"
    assert any(reason.startswith("counts: quetiapine") for reason in first["reasons"])
    assert second["counts"] is False
    assert "4 weeks < 6 weeks required for lurasidone" in second["reasons"]
    assert second["start_date"] == "2025-02-01" and second["response"] == "partial"

    madrs = [s for s in body["scores"] if s["instrument"] == "MADRS"]
    assert [(s["total"], s["rater"]) for s in madrs] == [(32, "Nia Nurse")]
    assert madrs[0]["rated_at"][:4].isdigit()

    s = body["suicidality"]
    assert (s["attempts"], s["last_attempt_date"]) == (1, "2019-05-01")
    assert [c["risk_level"] for c in s["cssrs"]] == ["high"]
    assert [a["title"].split(":")[0] for a in s["alerts"]] == ["C-SSRS high risk"]
    assert s["alerts"][0]["acknowledged_at"] is None

    sc = body["screening"]
    assert sc["signed_by"] == "Dana Prescriber (prescriber)"
    assert sc["outcome"] == "eligible with cautions"
    kinds = {(f["kind"], "CNS depressant" in f["message"] or "benzodiazepine" in f["message"])
             for f in sc["findings"]}
    assert ("caution", True) in kinds

    assert body["body"]["height_cm"] == 180 and body["body"]["weight_kg"] == 80
    assert body["body"]["bmi_kg_per_m2"] == 24.7          # 80 / 1.8^2 = 24.69
    assert [m["drug"] for m in body["medications"]] == ["lamotrigine"]  # lorazepam stopped
    assert body["medications"][0]["dose"] == "200 mg/day"

    c = body["course"]
    assert c["course_id"] == made.course_id and c["state"] == "planned"
    assert c["infusion_count"] == 6 and len(c["planned_dates"]) == 6
    assert body["service_codes"] == []
    assert body["service_codes_note"] == NO_SERVICE_CODES


def test_the_clinics_service_codes_are_listed_and_retired_ones_left_out(db: Session) -> None:
    made = hand_made(db)
    ctx = ctx_for(made.prescriber)
    add_service_code(db, ctx, entry=ServiceCodeEntry("TEST-SYSTEM", "T-1", "Test service one"))
    body, pdf = _packet(db, made.patient.id, made.prescriber)
    assert body["service_codes"] == [{"code_system": "TEST-SYSTEM", "code": "T-1",
                                      "label": "Test service one"}]
    assert body["service_codes_note"] is None
    text = "\n".join(page_texts(pdf))
    assert "T-1" in text and "Test service one" in text
    assert NO_SERVICE_CODES not in text.lower()


def test_the_pdf_names_the_patient_on_every_page_and_says_what_is_missing(db: Session) -> None:
    made = hand_made(db)
    _, pdf = _packet(db, made.patient.id, made.prescriber)
    pages = page_texts(pdf)
    assert len(pages) >= 2
    for number, page in enumerate(pages, start=1):
        assert "Patient TESTPERSON, Ada" in page and "Date of birth 1980-03-01" in page
        assert f"MRN {MRN}" in page and f"page {number} of {len(pages)}" in page
    text = " ".join(" ".join(pages).split())  # table cells wrap: compare the words
    for expected in ("F31.32", "quetiapine 400 mg/d for 8 weeks",
                     "4 weeks < 6 weeks required for lurasidone", "Dana Prescriber (prescriber)",
                     "Nia Nurse", "lamotrigine", "24.7 kg/m", "C-SSRS high risk",
                     "eligible with cautions", "No service codes configured by the clinic."):
        assert expected in text, expected
    assert "lorazepam" not in text


def test_a_patient_with_nothing_recorded_gets_a_packet_that_says_so(db: Session) -> None:
    patient = make_patient(db, given_name="Bare", family_name="Record")
    made = hand_made(db, mrn="PA-OTHER")
    body, pdf = _packet(db, patient.id, made.prescriber)
    assert body["diagnosis"] is None and body["resistance"] is None
    assert body["scores"] == [] and body["course"] is None and body["screening"] is None
    assert body["suicidality"]["attempts"] is None
    text = " ".join(" ".join(page_texts(pdf)).split())
    for expected in ("No diagnosis recorded.", "No ratings recorded.", "No course planned.",
                     "No signed screening on record.", "No C-SSRS screener recorded.",
                     "No current medications recorded."):
        assert expected in text, expected


def test_the_packet_is_audited_with_ids_only(db: Session) -> None:
    made = hand_made(db)
    _packet(db, made.patient.id, made.prescriber)
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "report.prior_auth")).one()
    assert event.entity_id == str(made.patient.id)
    assert event.actor_user_id == made.prescriber.id
    detail = event.detail
    assert json.loads(detail)["formats"] == ["pdf", "json"]
    for value in ("Testperson", "Ada", MRN, "1980", "quetiapine", "F31"):
        assert value not in detail


def test_an_unknown_mrn_is_refused_without_repeating_it(db: Session) -> None:
    with pytest.raises(NotFound) as refused:
        service.patient_id_for_mrn(db, "NO-SUCH-MRN")
    assert "NO-SUCH-MRN" not in refused.value.detail
