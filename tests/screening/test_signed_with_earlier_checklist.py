"""A screening signed with the first checklist (before issue 11 added items and made theophylline
a caution) keeps its stored verdict, is shown with the items its signer saw, and is amended
onto the current checklist without pre-answering the new questions."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ketaflow.clinical.eligibility import CHECKLIST_V1, Answer, ItemKind, Outcome, PregnancyStatus
from ketaflow.config import Role
from ketaflow.db import utcnow
from ketaflow.screening import service
from ketaflow.screening.models import Screening, ScreeningAnswer, ScreeningStatus
from tests.screening.factories import make_patient
from tests.support.factories import SYSTEM, make_user
from tests.web.helpers import committed_user, sign_in

OLD_BP_QUESTION = ("Uncontrolled hypertension, or a condition in which raised blood pressure "
                   "would be a serious hazard?")


def signed_v1(db: Session, patient_id: int, signer_id: int) -> Screening:
    """Written as the first release stored it: version-1 keys, theophylline "yes", and the
    verdict computed then (not eligible: theophylline was a contraindication)."""
    answers = [ScreeningAnswer(item_key=i.key, answer=(
        Answer.YES if i.kind is ItemKind.REQUIREMENT or i.key == "theophylline" else Answer.NO))
        for i in CHECKLIST_V1]
    row = Screening(patient_id=patient_id, version=1, status=ScreeningStatus.SIGNED,
                    outcome=Outcome.NOT_ELIGIBLE, systolic_mmhg=124, diastolic_mmhg=78,
                    heart_rate_bpm=72, spo2_pct=98, weight_kg=70.0, ymrs_total=4,
                    pregnancy_status=PregnancyStatus.NOT_APPLICABLE, signed_at=utcnow(),
                    signed_by_user_id=signer_id, answers=answers)
    db.add(row)
    db.flush()
    return row


def committed_signer(db: Session) -> int:
    return make_user(db, role=Role.PRESCRIBER).id


def test_signed_v1_screening_keeps_its_verdict(db: Session) -> None:
    patient = make_patient(db)
    row = signed_v1(db, patient.id, committed_signer(db))
    view = service.read_screening(db, SYSTEM, screening_id=row.id)
    assert view.evaluation.checklist is CHECKLIST_V1
    result = view.evaluation.eligibility
    assert result.complete and result.outcome is Outcome.NOT_ELIGIBLE
    assert [(f.key, f.kind.value) for f in result.findings] == [
        ("theophylline", "contraindication")]
    assert row.outcome is Outcome.NOT_ELIGIBLE


def test_amending_a_v1_screening_asks_the_new_items(db: Session) -> None:
    patient = make_patient(db)
    row = signed_v1(db, patient.id, committed_signer(db))
    draft = service.amend_screening(db, SYSTEM, screening_id=row.id, reason="new checklist")
    view = service.read_screening(db, SYSTEM, screening_id=draft.id)
    assert draft.outcome is Outcome.INCOMPLETE
    assert {m.key for m in view.evaluation.eligibility.unanswered} == {
        "dissociative_use_disorder", "bp_icp_hazard", "cardio_cerebrovascular",
        "hypertensive_encephalopathy", "severe_hepatic_impairment"}
    # Theophylline is judged as today's caution in the amendment.
    kinds = {f.key: f.kind.value for f in view.evaluation.eligibility.findings}
    assert kinds["theophylline"] == "caution"


def test_signed_v1_screening_page_renders_with_its_own_items(
        app_client: TestClient, app_db: Session) -> None:
    patient = make_patient(app_db)
    doctor = committed_user(app_db, Role.PRESCRIBER)
    row = signed_v1(app_db, patient.id, doctor.id)
    app_db.commit()
    assert sign_in(app_client, doctor.username) == 303
    page = app_client.get(f"/screenings/{row.id}")
    assert page.status_code == 200
    html = page.text
    assert '<span class="badge warn" data-testid="outcome">not eligible</span>' in html
    assert "Still unanswered" not in html
    assert OLD_BP_QUESTION in html and "hepatic impairment" not in html
    assert "lowers the seizure threshold: do not co-administer" in html
