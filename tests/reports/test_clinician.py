"""The clinician report on both databases: a treated patient's infusion, side effects,
dissociation, adverse event, medications and mood entries in the range; an empty range that
says so; the range rules (a Hypothesis property: refused, never clamped); CSV cells that
cannot run as formulas; the audit."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.models import AuditEvent
from ketaflow.db import utcnow
from ketaflow.errors import ValidationFailed
from ketaflow.infusions import service as infusions
from ketaflow.infusions.models import Seriousness
from ketaflow.moodchart import service as moodchart
from ketaflow.patients import service as patients
from ketaflow.patients.medication_catalogue import DrugClass
from ketaflow.reports import service
from ketaflow.reports.clinician import MAX_RANGE_DAYS, ClinicianReport, check_range
from ketaflow.reports.csvfile import clinician_csv
from ketaflow.reports.pdf import clinician_pdf
from ketaflow.scales import get_instrument
from tests.infusions.factories import Clinic, infused, make_clinic, make_course, ready_to_start
from tests.moodchart.test_service import entry
from tests.patients.factories import make_patient, medication_input
from tests.support.pdftext import page_texts

ZONE = "UTC"   # the zone moodchart's test entries are dated in
MRN = "CR-000777"


def _treated(db: Session) -> tuple[int, int, Clinic]:
    """One infusion with nausea graded moderate, CADSS-6 of 6 and an adverse event whose text
    starts like a formula; lithium taken in the range, olanzapine stopped before it, a drug
    name that starts like a formula; ten days of mood entries."""
    clinic = make_clinic(db)
    patient = make_patient(db, mrn=MRN, given_name="Cleo", family_name="Reportee",
                           referring_clinician="Dr Rhea Referrer")
    patient.created_at = utcnow() - timedelta(days=30)  # entries may start from registration
    course = make_course(db, clinic, patient=patient)
    record = infused(db, clinic, ready_to_start(db, clinic, course))
    effects = {item.id: 0 for item in get_instrument("side-effects").items}
    infusions.record_side_effects(db, clinic.nurse_ctx, session_id=record.id,
                                  answers=effects | {"nausea": 2})
    infusions.record_cadss6(db, clinic.nurse_ctx, session_id=record.id, answers={
        item.id: 1 for item in get_instrument("cadss6").items})
    infusions.record_adverse_event(db, clinic.nurse_ctx, session_id=record.id,
                                   description="=1+1 dizzy on standing",
                                   seriousness=Seriousness.NON_SERIOUS)
    today = utcnow().date()
    patients.add_medication(db, clinic.nurse_ctx, patient_id=patient.id,
                            medication=medication_input(drug_name="lithium", dose_amount=800,
                                                        start_date=today - timedelta(days=20)))
    patients.add_medication(db, clinic.nurse_ctx, patient_id=patient.id,
                            medication=medication_input(drug_name="olanzapine", dose_amount=10,
                                                        start_date=date(2020, 1, 1),
                                                        stop_date=date(2021, 1, 1)))
    patients.add_medication(db, clinic.nurse_ctx, patient_id=patient.id,
                            medication=medication_input(drug_name="+SUM(A1:A9)", dose_amount=5,
                                                        drug_class=DrugClass.OTHER,
                                                        start_date=today - timedelta(days=5)))
    for days_ago in range(10):
        moodchart.record_entry(db, clinic.nurse_ctx, patient_id=patient.id, zone=ZONE,
                               data=entry(days_ago, depressed=2, sleep_h=6.0))
    return patient.id, record.id, clinic


def _report(db: Session, patient_id: int, clinic: Clinic, start: date | None = None,
            end: date | None = None) -> ClinicianReport:
    return service.clinician_report(db, clinic.prescriber_ctx, patient_id=patient_id,
                                    start=start, end=end, zone=ZONE, today=utcnow().date(),
                                    formats=("pdf", "csv"))


def test_the_report_lists_the_infusion_its_effects_medications_and_mood(db: Session) -> None:
    patient_id, session_id, clinic = _treated(db)
    report = _report(db, patient_id, clinic)
    (infusion,) = report.infusions
    assert infusion.session_id == session_id and infusion.ordered_dose_mg == 35.0
    assert infusion.delivered_dose_mg == pytest.approx(35.9, abs=0.05)  # 41 min at the rate
    assert infusion.highest_cadss6 == 6
    assert [e.lower() for e in infusion.side_effects] == ["nausea: moderate"]
    assert infusion.adverse_events == ("=1+1 dizzy on standing",)
    assert [m.drug for m in report.medications] == ["lithium", "+SUM(A1:A9)"]
    assert report.life_chart is not None and len(report.life_chart.summaries) == 10
    assert [s.instrument for s in report.scores] == ["PHQ-9"]   # the pre-infusion self-report
    assert [name for name, _ in report.score_specs] == ["PHQ-9"]

    pages = page_texts(clinician_pdf(report, printout=service.prepare(
        db, clinic.prescriber_ctx, patient_id=patient_id, zone=ZONE).printout))
    for number, page in enumerate(pages, start=1):
        assert "REPORTEE, Cleo" in page and f"MRN {MRN}" in page
        assert f"page {number} of {len(pages)}" in page
    text = " ".join(" ".join(pages).split())
    for expected in ("35.0 mg (0.5 mg/kg)", "35.9 mg", "Moderate", "=1+1 dizzy on standing",
                     "lithium", "Life chart", "PHQ-9", "Generated by Test User (prescriber)"):
        assert expected in text, expected
    assert "olanzapine" not in text and "No mood entries in this range." not in text


def test_the_csv_neutralises_text_that_would_run_as_a_formula(db: Session) -> None:
    patient_id, _, clinic = _treated(db)
    rows = list(csv.reader(io.StringIO(clinician_csv(_report(db, patient_id, clinic)))))
    assert rows[0] == ["section", "when", "item", "value", "unit", "detail"]
    cells = [c for row in rows for c in row]
    assert "'+SUM(A1:A9)" in cells and "+SUM(A1:A9)" not in cells
    assert not any(c.startswith(("=", "+", "@")) for c in cells)
    sections = {row[0] for row in rows[1:]}
    assert sections >= {"score", "infusion", "medication", "mood"}
    delivered = next(r for r in rows if r[2] == "dose delivered")
    assert float(delivered[3]) == pytest.approx(35.9, abs=0.05) and delivered[4] == "mg"
    assert delivered[5].lower().startswith("nausea: moderate")


def test_a_range_with_nothing_recorded_says_so(db: Session) -> None:
    patient_id, _, clinic = _treated(db)
    today = utcnow().date()
    report = _report(db, patient_id, clinic, today - timedelta(days=500),
                     today - timedelta(days=400))
    assert report.empty
    ready = service.prepare(db, clinic.prescriber_ctx, patient_id=patient_id, zone=ZONE)
    text = " ".join(" ".join(page_texts(clinician_pdf(report, printout=ready.printout))).split())
    for expected in ("Nothing was recorded for this patient in this range",
                     "No ratings in this range.", "No mood entries in this range.",
                     "No infusions in this range.", "No alerts raised in this range.",
                     "No medications recorded for this range."):
        assert expected in text, expected
    assert clinician_csv(report).splitlines() == ["section,when,item,value,unit,detail"]


def test_the_report_is_audited_with_ids_only(db: Session) -> None:
    patient_id, session_id, clinic = _treated(db)
    _report(db, patient_id, clinic)
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "report.patient")).one()
    detail = json.loads(event.detail)
    assert event.entity_id == str(patient_id) and detail["session_ids"] == [session_id]
    assert len(detail["medication_ids"]) == 2
    text = event.detail
    for value in ("Cleo", "Reportee", MRN, "lithium", "dizzy"):
        assert value not in text


TODAY = date(2026, 6, 15)


@pytest.mark.parametrize(("start", "end", "field", "words"), [
    (date(2026, 6, 10), date(2026, 6, 1), "from", "From must be on or before To (2026-06-01)"),
    (None, date(2026, 6, 16), "to", "To must be today (2026-06-15) or earlier"),
    (date(2024, 6, 1), None, "from", f"From to To must be at most {MAX_RANGE_DAYS} days"),
])
def test_a_bad_range_is_refused_naming_the_field(start: date | None, end: date | None,
                                                 field: str, words: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_range(start, end, today=TODAY)
    assert refused.value.field == field and refused.value.detail == words


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.dates(date(2023, 1, 1), date(2027, 1, 1)), st.dates(date(2023, 1, 1), date(2027, 1, 1)))
def test_a_range_is_kept_as_asked_or_refused_never_clamped(start: date, end: date) -> None:
    allowed = start <= end <= TODAY and (end - start).days < MAX_RANGE_DAYS
    try:
        assert check_range(start, end, today=TODAY) == (start, end)
        assert allowed
    except ValidationFailed:
        assert not allowed
