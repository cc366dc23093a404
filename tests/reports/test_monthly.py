"""The monthly clinic report's numbers on a hand-made month (tests/reports/monthly_factories.py
works each one out), exact, on both databases: the clinic's time zone at the month's edges,
sites, maintenance, early stops and aborts, safety per 100 infusions, end-of-induction
outcomes from the outcomes service, the ledger totals, the researcher's suppression, an empty
month, and the PDF and CSV made from it."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.models import AuditEvent
from ketaflow.errors import ValidationFailed
from ketaflow.infusions.rules import AlertLevel
from ketaflow.reports import service
from ketaflow.reports.monthly.csvfile import monthly_csv
from ketaflow.reports.monthly.month import parse_month
from ketaflow.reports.monthly.pdf import monthly_pdf
from ketaflow.reports.monthly.report import MonthlyReport
from ketaflow.reports.monthly.view import monthly_view
from tests.reports.monthly_factories import MONTH, ZONE, june
from tests.support.factories import SYSTEM
from tests.support.pdftext import page_texts

TODAY = date(2026, 12, 3)


def _report(db: Session, *, site_id: int | None = None, small_cells: bool = True,
            month: str = MONTH) -> MonthlyReport:
    return service.monthly_report(db, SYSTEM, month=parse_month(month, today=TODAY),
                                  site_id=site_id, zone=ZONE, today=TODAY,
                                  small_cells=small_cells, formats=("pdf",))


def test_activity_counts_the_clinic_s_month(db: Session) -> None:
    made = june(db)
    report = _report(db)
    a = report.activity
    assert (a.infusions, a.induction, a.maintenance) == (16, 14, 2)
    assert (a.first_infusions, a.inductions_completed, a.stopped_early, a.aborted) == (
        4, 2, 1, 1)
    assert report.new_patients == 3
    by_site = {row.label: row.activity for row in report.sites}
    assert set(by_site) == {made.north.name, made.south.name, "No site"}
    north, south, none = by_site[made.north.name], by_site[made.south.name], by_site["No site"]
    assert (north.infusions, north.maintenance, north.first_infusions,
            north.inductions_completed, north.stopped_early, north.aborted) == (10, 2, 2, 1, 1, 0)
    assert (south.infusions, south.maintenance, south.first_infusions,
            south.inductions_completed, south.stopped_early, south.aborted) == (5, 0, 1, 1, 0, 1)
    assert (none.infusions, none.first_infusions) == (1, 1)
    assert report.weeks == (("1-7", 6), ("8-14", 6), ("15-21", 0), ("22-28", 2), ("29-30", 2))


def test_safety_per_100_infusions(db: Session) -> None:
    june(db)
    report = _report(db)
    s = report.safety
    assert (s.adverse_events, s.serious, s.non_serious) == (3, 1, 2)
    assert s.by_kind == (("chest pain", 1), ("dyspnoea", 1), ("severe headache", 1),
                         ("no red-flag symptom", 1))
    assert (s.bp(AlertLevel.REVIEW), s.bp(AlertLevel.HOLD), s.bp(AlertLevel.STOP)) == (1, 1, 0)
    assert s.rescue == (("Labetalol", 1), ("Ondansetron", 2))
    assert s.discharges == 2 and s.overridden_discharges == 1
    delay = s.discharge_delay_minutes
    assert delay is not None
    assert (delay.n, delay.median, delay.q1, delay.q3) == (2, pytest.approx(20),
                                                          pytest.approx(15), pytest.approx(25))
    safety = dict((row[0], row[1:]) for row in _table(report, "safety").rows)
    assert safety["Adverse events"] == ("3", "18.8")  # 3 of 16 infusions
    assert safety["Blood-pressure alerts: hold"] == ("1", "6.2")
    assert safety["Rescue medication doses"] == ("3", "18.8")


def test_outcomes_are_the_inductions_that_ended_in_the_month(db: Session) -> None:
    made = june(db)
    report = _report(db)
    madrs = report.outcomes.endpoint("madrs")
    assert (madrs.courses, madrs.with_baseline, madrs.evaluable, madrs.responders,
            madrs.remitters) == (3, 2, 2, 2, 1)
    phq9 = report.outcomes.endpoint("phq9")
    assert (phq9.courses, phq9.with_baseline) == (3, 0)
    row = next(r for r in _table(report, "outcomes").rows if r[0] == "MADRS")
    assert row == ("MADRS", "3", "2", "2", "2", "100%", "1", "50%")
    north = _report(db, site_id=made.north.id)
    n_madrs = north.outcomes.endpoint("madrs")
    assert (n_madrs.courses, n_madrs.evaluable, n_madrs.responders, n_madrs.remitters) == (
        2, 1, 1, 0)
    assert north.activity.infusions == 10 and north.new_patients is None and not north.sites


def test_the_ledger_totals_of_the_month(db: Session) -> None:
    june(db)
    r = _report(db).reconciliation
    assert (r.opening_mg, r.received_mg, r.drawn_mg, r.administered_mg, r.wasted_mg,
            r.balance_mg) == (1000, 500, 50, 35, 15, 1450)
    assert (r.sessions, r.flagged_sessions, r.lots) == (16, 1, 1)


def test_the_researcher_sees_small_counts_suppressed(db: Session) -> None:
    june(db)
    report = _report(db, small_cells=False)
    activity = {row[0]: row[1] for row in _table(report, "activity").rows}
    assert activity["Infusions given (sessions started)"] == "16"
    # 2 maintenance infusions are small; 14 induction would reveal them by subtraction.
    assert activity["of which maintenance"] == "<11"
    assert activity["of which induction"] == "<11"
    madrs = next(r for r in _table(report, "outcomes").rows if r[0] == "MADRS")
    assert madrs[1:5] == ("<11", "<11", "<11", "<11") and "100%" not in madrs
    assert "18.8" not in str(_table(report, "safety").rows)
    view = monthly_view(report)
    assert view.rates_spec is None  # no rate a researcher may see
    assert any("Researcher view" in note for note in view.notes)


def test_an_empty_month_and_a_site_without_data_say_why(db: Session) -> None:
    made = june(db)
    empty = _report(db, month="2025-02")
    assert empty.empty and empty.activity.infusions == 0
    view = monthly_view(empty)
    assert view.empty is not None and "nothing to count" in view.empty
    assert view.weekly_spec is None and view.rates_spec is None
    safety = dict((row[0], row[1:]) for row in _table(empty, "safety").rows)
    assert safety["Adverse events"] == ("0", "no infusions")
    text = " ".join(page_texts(monthly_pdf(view, printout=service.clinic_printout(
        db, SYSTEM, zone=ZONE))))
    assert "nothing to count" in text
    del made


def test_bad_months_are_refused_with_the_field(db: Session) -> None:
    for raw in ("2026-13", "June", "2026-6", "1999-12"):
        with pytest.raises(ValidationFailed) as refused:
            parse_month(raw, today=TODAY)
        assert refused.value.field == "month"
        assert refused.value.detail == "Month must be a month (YYYY-MM)"
    with pytest.raises(ValidationFailed, match="Month must be 2026-12 or earlier"):
        parse_month("2027-01", today=TODAY)
    assert parse_month("", today=TODAY).iso == "2026-11"  # the last whole month
    with pytest.raises(ValidationFailed, match="Site: no site with id 999999"):
        service.monthly_report(db, SYSTEM, month=parse_month(MONTH, today=TODAY),
                               site_id=999999, zone=ZONE, today=TODAY, small_cells=True,
                               formats=("pdf",))


def test_the_report_is_audited_without_patient_ids(db: Session) -> None:
    made = june(db)
    _report(db, site_id=made.south.id)
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "report.monthly")).one()
    assert event.entity_id is None
    assert json.loads(event.detail) == {"formats": ["pdf"], "month": MONTH,
                                        "site_id": made.south.id, "small_cells": True}


def test_the_pdf_and_the_csv_carry_the_numbers_and_no_patient(db: Session,
                                                              tmp_path: Path) -> None:
    made = june(db)
    report = _report(db)
    view = monthly_view(report)
    pdf = monthly_pdf(view, printout=service.clinic_printout(db, SYSTEM, zone=ZONE))
    path = tmp_path / "monthly.pdf"
    path.write_bytes(pdf)
    tool = shutil.which("pdftotext")
    assert tool is not None, "pdftotext (poppler-utils) is needed to read the printout"
    text = subprocess.run([tool, "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True, timeout=60).stdout
    flat = " ".join(text.split())
    assert "Monthly clinic report: June 2026" in flat
    assert "2026-06-01 to 2026-06-30 (America/New_York)" in flat
    assert "Infusions given (sessions started) 16" in flat
    assert "Adverse events 3 18.8" in flat
    assert "MADRS 3 2 2 2 100% 1 50%" in flat
    assert "Balance at the month's end 1,450.0 mg" in flat
    assert made.north.name in flat and "Generated by" in flat
    assert "aggregate: no patient identifiers" in flat
    _no_patient_identifiers(db, flat)
    # Two charts drawn as images through the charting path.
    assert pdf.count(b"/Subtype /Image") >= 2
    rendered = tmp_path / "page"
    pdftoppm = shutil.which("pdftoppm")
    assert pdftoppm is not None
    subprocess.run([pdftoppm, "-png", "-r", "50", "-f", "1", "-l", "1", "-singlefile",
                    str(path), str(rendered)], check=True, timeout=60)
    assert rendered.with_suffix(".png").stat().st_size > 10_000

    rows = list(csv.DictReader(io.StringIO(monthly_csv(view))))
    assert set(rows[0]) == {"month", "site", "section", "row", "measure", "value"}
    found = {(r["section"], r["row"], r["measure"]): r["value"] for r in rows}
    assert found[("Activity", "Infusions given (sessions started)", "Count")] == "16"
    assert found[("By site", made.south.name, "Aborted")] == "1"
    assert found[("Safety", "Adverse events", "Per 100 infusions")] == "18.8"
    assert found[("Outcomes at the end of induction", "MADRS", "Remission")] == "50%"
    assert found[("Controlled substances (ketamine)", "Flagged sessions", "Amount")] == "1"
    assert {r["month"] for r in rows} == {MONTH} and {r["site"] for r in rows} == {"All sites"}
    _no_patient_identifiers(db, monthly_csv(view))


def test_a_site_name_that_would_start_a_formula_is_quoted_in_the_csv(db: Session) -> None:
    made = june(db)
    made.south.name = "=HYPERLINK(\"http://x\")"
    db.flush()
    rows = list(csv.DictReader(io.StringIO(monthly_csv(monthly_view(_report(db))))))
    sites = {r["row"] for r in rows if r["section"] == "By site"}
    assert "'=HYPERLINK(\"http://x\")" in sites
    assert not any(value.startswith("=") for r in rows for value in r.values())


def _no_patient_identifiers(db: Session, text: str) -> None:
    from ketaflow.patients.models import Patient

    mrns = db.scalars(select(Patient.mrn)).all()
    assert mrns and not any(mrn in text for mrn in mrns)


def _table(report: MonthlyReport, key: str):  # type: ignore[no-untyped-def]
    return next(t for t in monthly_view(report).tables if t.key == key)
