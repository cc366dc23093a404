"""`ketaflow demo generate` on both databases: a small synthetic clinic whose printed counts
are the rows in the tables, on which the dashboard, a report PDF, the prior-authorisation
packet and the research export all work, whose audit trail still verifies, which the same seed
repeats exactly, and which refuses a database that already has patients."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketaflow.assessments.models import Assessment, AssessmentResult
from ketaflow.config import Role
from ketaflow.courses.models import TreatmentCourse
from ketaflow.db import make_engine, make_session_factory
from ketaflow.demo_data import service
from ketaflow.demo_data.service import TABLES
from ketaflow.errors import Conflict
from ketaflow.infusions.models import InfusionSession, VitalsRecord
from ketaflow.moodchart.models import MoodEntry
from ketaflow.outcomes import service as outcomes
from ketaflow.patients.models import Patient, PatientDemographics
from ketaflow.reports import service as reports
from ketaflow.reports.pdf import clinician_pdf, prior_auth_pdf
from ketaflow.research import service as research
from ketaflow.research.writers import Format
from tests.conftest import TEST_AUDIT_KEY
from tests.infusions.factories import ctx_for
from tests.support.audit import sealed_and_verified
from tests.support.factories import SYSTEM, make_user
from tests.support.pdftext import page_texts

PATIENTS = 60
TODAY = date(2026, 11, 30)
ROOT_KEY = b"research-root-key-of-the-tests-" + b"g" * 24


def _count(db: Session, model: type) -> int:
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def generated(db: Session) -> service.GenerationSummary:
    return service.generate_clinic(db, SYSTEM, patients=PATIENTS, seed=7, sites=2, today=TODAY)


def test_the_summary_counts_the_rows_in_every_table(db: Session,
                                                    generated: service.GenerationSummary
                                                    ) -> None:
    assert set(generated.rows) == {t.name for t in TABLES}
    for table in TABLES:
        stored = db.scalar(select(func.count()).select_from(table))
        assert stored == generated.rows[table.name], table.name
    assert generated.rows["patients"] == PATIENTS and generated.rows["sites"] == 2
    # Every course has at least its first infusion; every session a reading every 5 minutes
    # from 5 before the start to 100 after it (22).
    assert _count(db, VitalsRecord) == 22 * _count(db, InfusionSession)
    assert _count(db, InfusionSession) >= _count(db, TreatmentCourse) > PATIENTS // 2
    assert _count(db, Assessment) == _count(db, AssessmentResult) > 0
    assert _count(db, MoodEntry) > 0


def test_the_ratings_are_stored_as_the_scoring_would_score_them(
        db: Session, generated: service.GenerationSummary) -> None:
    from ketaflow.scales.scoring import score

    del generated
    rows = db.execute(select(Assessment.instrument_id, Assessment.answers_json,
                             AssessmentResult.total)
                      .join(AssessmentResult, AssessmentResult.assessment_id == Assessment.id)
                      ).all()
    for instrument, answers, total in rows:
        assert score(instrument, json.loads(answers)).total == total


def test_the_dashboard_computes_rates_in_the_range_the_generator_aims_for(
        db: Session, generated: service.GenerationSummary) -> None:
    del generated
    board = outcomes.outcome_dashboard(db, SYSTEM, filters=outcomes.Filters(), small_cells=True)
    madrs = board.endpoint("madrs")
    assert madrs.evaluable >= 40
    # Aimed at: half finish six infusions, 60% of those respond, 30% remit (rates in
    # ketaflow.demo_data.plan); over every course whose induction is over that is about 30%
    # response and 15% remission. Wide bounds: 60 patients are a small sample.
    assert 0.10 <= madrs.responders / madrs.evaluable <= 0.55
    assert 0.02 <= madrs.remitters / madrs.evaluable <= 0.35
    assert madrs.remitters <= madrs.responders
    funnel = board.funnel
    assert funnel.screened == PATIENTS and funnel.consented < funnel.screened
    assert funnel.infusions[0] > funnel.infusions[5] > 0  # drop-outs before the sixth
    assert board.curves["madrs"] is not None


def test_a_report_and_a_packet_print_for_a_generated_patient(
        db: Session, generated: service.GenerationSummary) -> None:
    del generated
    patient_id, mrn = db.execute(select(Patient.id, Patient.mrn)
                                 .join(TreatmentCourse, TreatmentCourse.patient_id == Patient.id)
                                 .order_by(Patient.id).limit(1)).one()
    family = db.scalar(select(PatientDemographics.family_name)
                       .where(PatientDemographics.patient_id == patient_id))
    prescriber = make_user(db, role=Role.PRESCRIBER, full_name="Dr Test Reader")
    ctx = ctx_for(prescriber)
    ready = reports.prepare(db, ctx, patient_id=patient_id, zone="UTC")
    report = reports.clinician_report(db, ctx, patient_id=patient_id,
                                      start=TODAY - timedelta(days=729), end=TODAY, zone="UTC",
                                      today=TODAY, formats=("pdf",))
    assert report.infusions and report.scores
    pages = page_texts(clinician_pdf(report, printout=ready.printout))
    assert all(f"MRN {mrn}" in page and str(family).upper() in page for page in pages)
    packet = reports.prior_auth_packet(db, ctx, patient_id=patient_id, formats=("pdf",))
    text = " ".join(page_texts(prior_auth_pdf(packet, printout=ready.printout)))
    assert "F31." in text and f"MRN {mrn}" in text


def test_the_research_export_runs_on_the_generated_clinic(
        db: Session, generated: service.GenerationSummary, tmp_path: Path) -> None:
    researcher = make_user(db, role=Role.RESEARCHER, full_name="Ada Researcher")
    summary = research.export_research(db, ctx_for(researcher), root_key=ROOT_KEY,
                                       folder=tmp_path / "bundle", formats=(Format.CSV,))
    assert summary.rows["patients"] == PATIENTS
    assert summary.rows["vitals"] == generated.rows["infusion_vitals"]
    assert summary.rows["ratings"] == generated.rows["assessments"]


def test_the_audit_trail_still_verifies(db: Session,
                                        generated: service.GenerationSummary) -> None:
    del generated
    report = sealed_and_verified(db)
    assert report.ok, report.reason
    assert report.events_checked == 1  # the one demo.generate event


def test_the_same_seed_gives_the_same_data(db_url: str) -> None:
    def snapshot(seed: int) -> list[tuple[object, ...]]:
        engine = make_engine(db_url)
        try:
            with make_session_factory(engine)() as db:
                service.generate_clinic(db, SYSTEM, patients=25, seed=seed, sites=2,
                                        today=TODAY)
                rows = [*db.execute(select(PatientDemographics.given_name,
                                           PatientDemographics.family_name,
                                           PatientDemographics.date_of_birth)
                                    .order_by(PatientDemographics.id)).all(),
                        *db.execute(select(InfusionSession.started_at,
                                           InfusionSession.rate_ml_per_h)
                                    .order_by(InfusionSession.id)).all(),
                        *db.execute(select(VitalsRecord.sbp_mmhg, VitalsRecord.taken_at)
                                    .order_by(VitalsRecord.id)).all(),
                        *db.execute(select(Assessment.rated_at, Assessment.answers_json)
                                    .order_by(Assessment.id)).all(),
                        *db.execute(select(MoodEntry.day, MoodEntry.depressed)
                                    .order_by(MoodEntry.id)).all()]
                db.rollback()
                return rows
        finally:
            engine.dispose()

    first = snapshot(11)
    assert first == snapshot(11)
    assert first != snapshot(12)


def test_a_database_with_patients_is_refused(db: Session,
                                             generated: service.GenerationSummary) -> None:
    del generated
    with pytest.raises(Conflict, match="already has patients"):
        service.generate_clinic(db, SYSTEM, patients=1, today=TODAY)


def test_the_cli_prints_the_counts_and_refuses_a_second_run(db_url: str,
                                                            tmp_path: Path) -> None:
    env = os.environ | {"KETAFLOW_VAR_DIR": str(tmp_path / "var"),
                        "KETAFLOW_DATABASE_URL": db_url, "KETAFLOW_MODE": "demo",
                        "KETAFLOW_SECRET_KEY": "s" * 48, "KETAFLOW_AUDIT_KEY": TEST_AUDIT_KEY}

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "ketaflow", "demo", "generate",
                               "--patients", "12", "--seed", "3", "--sites", "1"], env=env,
                              capture_output=True, text=True, timeout=180, check=False)

    first = run()
    assert first.returncode == 0, first.stderr
    printed = dict(line.split() for line in first.stdout.splitlines()[:-1])
    assert printed["patients"] == "12" and printed["sites"] == "1"
    engine = make_engine(db_url)
    try:
        with make_session_factory(engine)() as db:
            for table in TABLES:
                stored = db.scalar(select(func.count()).select_from(table))
                assert str(stored) == printed[table.name].replace(",", ""), table.name
    finally:
        engine.dispose()
    second = run()
    assert second.returncode == 2
    assert second.stderr.strip() == ("error: the database already has patients: demo "
                                     "generate fills an empty one")
    production = env | {"KETAFLOW_MODE": "production"}
    refused = subprocess.run([sys.executable, "-m", "ketaflow", "serve", "--port", "1"],
                             env=production, capture_output=True, text=True, timeout=60,
                             check=False)
    assert refused.returncode == 1
    assert refused.stderr.strip() == ("error: refusing to start in production: the database "
                                      "holds generated data (made by ketaflow demo generate)")
