"""Screening rules on both databases: drafts, signing, locking, amendments, resistance, audit."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.models import AuditEvent
from ketaflow.clinical.eligibility import Answer, Outcome, PregnancyStatus
from ketaflow.db import utcnow
from ketaflow.errors import Conflict, NotFound, ValidationFailed
from ketaflow.screening import service
from ketaflow.screening.models import ScreeningStatus
from tests.screening.factories import (
    ctx_for,
    entry,
    make_patient,
    prescriber,
    signed_screening,
    with_answer,
)
from tests.support.factories import SYSTEM


def test_partial_draft_is_incomplete_and_lists_what_is_missing(db: Session) -> None:
    patient = make_patient(db)
    row = service.start_screening(db, SYSTEM, patient_id=patient.id,
                                  entry=service.ScreeningEntry(systolic_mmhg=120))
    assert row.status is ScreeningStatus.DRAFT and row.outcome is Outcome.INCOMPLETE
    view = service.read_screening(db, SYSTEM, screening_id=row.id)
    missing = {m.key for m in view.evaluation.eligibility.unanswered}
    assert {"vitals", "ymrs", "pregnancy", "escort_arranged"} <= missing


def test_signing_an_incomplete_screening_is_refused_naming_the_items(db: Session) -> None:
    patient, doctor = make_patient(db), prescriber(db)
    row = service.start_screening(db, SYSTEM, patient_id=patient.id,
                                  entry=entry(ymrs_total=None, answers={}))
    with pytest.raises(ValidationFailed) as caught:
        service.sign_screening(db, ctx_for(doctor), screening_id=row.id)
    assert "cannot be signed" in caught.value.detail
    assert "Baseline YMRS" in caught.value.detail
    assert "Takes theophylline or aminophylline?" in caught.value.detail
    assert row.status is ScreeningStatus.DRAFT


def test_unknown_answers_block_signing(db: Session) -> None:
    patient, doctor = make_patient(db), prescriber(db)
    row = service.start_screening(db, SYSTEM, patient_id=patient.id,
                                  entry=entry(answers=with_answer("hypersensitivity",
                                                                  Answer.UNKNOWN)))
    with pytest.raises(ValidationFailed, match="hypersensitivity to ketamine"):
        service.sign_screening(db, ctx_for(doctor), screening_id=row.id)


def test_complete_screening_is_signed_and_locked(db: Session) -> None:
    patient, doctor = make_patient(db, adequate_trials=2), prescriber(db)
    row = signed_screening(db, patient, doctor)
    assert row.status is ScreeningStatus.SIGNED and row.outcome is Outcome.ELIGIBLE
    assert row.signed_by_user_id == doctor.id and row.signed_at is not None
    assert row.resistance_meets is True and row.resistance_adequate_trials == 2
    assert row.maudsley_total == 8
    with pytest.raises(Conflict, match="locked"):
        service.update_screening(db, SYSTEM, screening_id=row.id, entry=entry(ymrs_total=20))
    with pytest.raises(Conflict, match="locked"):
        service.sign_screening(db, ctx_for(doctor), screening_id=row.id)
    assert service.load_screening(db, row.id).ymrs_total == 4


def test_signing_needs_an_acting_user(db: Session) -> None:
    patient = make_patient(db)
    row = service.start_screening(db, SYSTEM, patient_id=patient.id, entry=entry())
    with pytest.raises(ValidationFailed, match="signed-in prescriber"):
        service.sign_screening(db, SYSTEM, screening_id=row.id)


def test_draft_update_replaces_answers_and_recomputes(db: Session) -> None:
    patient = make_patient(db)
    row = service.start_screening(db, SYSTEM, patient_id=patient.id, entry=entry())
    assert row.outcome is Outcome.ELIGIBLE_WITH_CAUTIONS  # no trials: resistance not met
    updated = service.update_screening(
        db, SYSTEM, screening_id=row.id,
        entry=entry(answers=with_answer("current_psychotic_features", Answer.YES)))
    assert updated.outcome is Outcome.NOT_ELIGIBLE
    answers = {a.item_key: a for a in service.load_screening(db, row.id).answers}
    assert answers["current_psychotic_features"].answer is Answer.YES
    assert answers["current_psychotic_features"].note == "entered in test"
    trimmed = service.update_screening(db, SYSTEM, screening_id=row.id,
                                       entry=entry(answers={}))
    assert trimmed.outcome is Outcome.INCOMPLETE and trimmed.answers == []


def test_high_ymrs_needs_the_prescribers_reason_at_signing(db: Session) -> None:
    patient, doctor = make_patient(db, adequate_trials=2), prescriber(db)
    row = service.start_screening(db, SYSTEM, patient_id=patient.id, entry=entry(ymrs_total=14))
    assert row.outcome is Outcome.NOT_ELIGIBLE
    signed = service.sign_screening(db, ctx_for(doctor), screening_id=row.id,
                                    ymrs_override_reason="irritability from akathisia")
    assert signed.outcome is Outcome.ELIGIBLE_WITH_CAUTIONS


def test_not_eligible_screening_can_still_be_signed(db: Session) -> None:
    patient, doctor = make_patient(db), prescriber(db)
    row = signed_screening(db, patient, doctor, pregnancy_status=PregnancyStatus.PREGNANT)
    assert row.is_signed and row.outcome is Outcome.NOT_ELIGIBLE


def test_amendment_keeps_the_signed_original(db: Session) -> None:
    patient, doctor = make_patient(db, adequate_trials=2), prescriber(db)
    original = signed_screening(db, patient, doctor)
    with pytest.raises(ValidationFailed, match="reason"):
        service.amend_screening(db, SYSTEM, screening_id=original.id, reason="  ")
    amendment = service.amend_screening(db, SYSTEM, screening_id=original.id,
                                        reason="new blood pressure reading")
    assert (amendment.version, amendment.amends_id) == (2, original.id)
    assert amendment.status is ScreeningStatus.DRAFT
    assert len(amendment.answers) == len(original.answers)
    with pytest.raises(Conflict, match="already in progress"):
        service.amend_screening(db, SYSTEM, screening_id=original.id, reason="again")
    with pytest.raises(Conflict, match="only a signed screening"):
        service.amend_screening(db, SYSTEM, screening_id=amendment.id, reason="draft")
    # Until the amendment is signed, the original stays the current signed screening.
    assert service.current_signed_screening(db, patient_id=patient.id) is original
    service.update_screening(db, SYSTEM, screening_id=amendment.id,
                             entry=entry(systolic_mmhg=150, diastolic_mmhg=85))
    service.sign_screening(db, ctx_for(doctor), screening_id=amendment.id)
    kept = service.read_screening(db, SYSTEM, screening_id=original.id)
    assert kept.screening.systolic_mmhg == 124 and kept.screening.superseded_at is not None
    assert kept.amended_by is amendment
    assert service.current_signed_screening(db, patient_id=patient.id) is amendment
    assert amendment.outcome is Outcome.ELIGIBLE_WITH_CAUTIONS  # BP above 140/90
    with pytest.raises(Conflict, match="superseded"):
        service.amend_screening(db, SYSTEM, screening_id=original.id, reason="old one")


def test_resistance_comes_from_the_patients_trials(db: Session) -> None:
    one = make_patient(db, adequate_trials=1)
    row = service.start_screening(db, SYSTEM, patient_id=one.id, entry=entry())
    view = service.read_screening(db, SYSTEM, screening_id=row.id)
    assert view.evaluation.resistance is not None and not view.evaluation.resistance.meets
    assert [f.key for f in view.evaluation.eligibility.findings] == ["treatment_resistance"]
    no_diagnosis = make_patient(db, bipolar_type=None)
    row = service.start_screening(db, SYSTEM, patient_id=no_diagnosis.id, entry=entry())
    assert row.resistance_meets is None and row.outcome is Outcome.ELIGIBLE


def test_signed_outcome_keeps_its_resistance_snapshot(db: Session) -> None:
    patient, doctor = make_patient(db, adequate_trials=2), prescriber(db)
    row = signed_screening(db, patient, doctor)
    from ketaflow.patients import service as patients
    from ketaflow.patients.diagnosis_codes import BipolarType, Episode, Severity
    from ketaflow.patients.models import SubstanceUse
    # Re-diagnosed as bipolar II: lumateperone still counts but the record now differs.
    patients.record_diagnosis(db, SYSTEM, patient_id=patient.id, reason="revised",
                              diagnosis=patients.DiagnosisInput(
                                  BipolarType.BIPOLAR_II, Episode.DEPRESSED, Severity.MODERATE,
                                  False, SubstanceUse.NONE, 0))
    view = service.read_screening(db, SYSTEM, screening_id=row.id)
    assert view.screening.resistance_meets is True
    assert view.evaluation.eligibility.outcome is Outcome.ELIGIBLE


@pytest.mark.parametrize(("overrides", "field"), [
    ({"systolic_mmhg": 400}, "systolic_mmhg"),
    ({"diastolic_mmhg": 130}, "diastolic_mmhg"),
    ({"spo2_pct": 101}, "spo2_pct"),
    ({"weight_kg": 0.5}, "weight_kg"),
    ({"ymrs_total": 61}, "ymrs_total"),
    ({"answers": {"made_up": service.AnswerEntry(Answer.YES)}}, "answers"),
    ({"pregnancy_status": PregnancyStatus.NEGATIVE_TEST,
      "pregnancy_test_on": utcnow().date() + timedelta(days=1)}, "pregnancy_test_on"),
    ({"maudsley": service.MaudsleyEntry(failed_antidepressants=0)},
     "maudsley_failed_antidepressants"),
    ({"note": "x" * 1001}, "note"),
])
def test_bad_input_is_refused_with_the_field(
    db: Session, overrides: dict[str, object], field: str
) -> None:
    patient = make_patient(db)
    with pytest.raises(ValidationFailed) as caught:
        service.start_screening(db, SYSTEM, patient_id=patient.id, entry=entry(**overrides))
    assert caught.value.field == field


def test_pregnancy_test_date_is_kept_only_with_a_negative_test(db: Session) -> None:
    patient = make_patient(db)
    day = utcnow().date()
    kept = service.start_screening(db, SYSTEM, patient_id=patient.id, entry=entry(
        pregnancy_status=PregnancyStatus.NEGATIVE_TEST, pregnancy_test_on=day))
    assert kept.pregnancy_test_on == day
    dropped = service.start_screening(db, SYSTEM, patient_id=patient.id, entry=entry(
        pregnancy_status=PregnancyStatus.NOT_APPLICABLE, pregnancy_test_on=day))
    assert dropped.pregnancy_test_on is None


def test_unknown_patient_and_screening(db: Session) -> None:
    with pytest.raises(NotFound):
        service.start_screening(db, SYSTEM, patient_id=999_999, entry=entry())
    with pytest.raises(NotFound):
        service.read_screening(db, SYSTEM, screening_id=999_999)
    with pytest.raises(NotFound):
        service.list_screenings(db, SYSTEM, patient_id=999_999)


def test_every_change_and_read_is_audited_without_values(db: Session) -> None:
    patient, doctor = make_patient(db, adequate_trials=2), prescriber(db)
    row = signed_screening(db, patient, doctor, ymrs_total=7)
    service.read_screening(db, SYSTEM, screening_id=row.id)
    service.list_screenings(db, SYSTEM, patient_id=patient.id)
    events = list(db.scalars(select(AuditEvent).where(
        AuditEvent.action.like("screening.%")).order_by(AuditEvent.id)))
    assert [e.action for e in events] == [
        "screening.start", "screening.sign", "screening.read", "screening.list"]
    assert all(e.entity_type == "patient" and e.entity_id == str(patient.id) for e in events)
    for event in events:
        detail = json.loads(event.detail)
        assert set(detail) <= {"screening_id", "version", "outcome", "count"}
        assert "124" not in event.detail and "Screening" not in event.detail


def test_list_is_newest_first(db: Session) -> None:
    patient = make_patient(db)
    first = service.start_screening(db, SYSTEM, patient_id=patient.id, entry=entry())
    second = service.start_screening(db, SYSTEM, patient_id=patient.id, entry=entry())
    assert [s.id for s in service.list_screenings(db, SYSTEM, patient_id=patient.id)] == [
        second.id, first.id]


def test_a_newer_signed_screening_supersedes_the_earlier_one(db: Session) -> None:
    patient, doctor = make_patient(db, adequate_trials=2), prescriber(db)
    first = signed_screening(db, patient, doctor)
    second = signed_screening(db, patient, doctor, ymrs_total=2)
    assert first.superseded_at is not None and second.superseded_at is None
    assert service.current_signed_screening(db, patient_id=patient.id) is second
    with pytest.raises(Conflict, match="superseded"):
        service.amend_screening(db, SYSTEM, screening_id=first.id, reason="late correction")
