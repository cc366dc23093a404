"""Storing, re-scoring, amending and reading assessments (both databases)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.assessments import service
from ketaflow.assessments.models import AssessmentResult, RaterKind, ResultReason
from ketaflow.audit.models import AuditEvent
from ketaflow.db import utcnow
from ketaflow.errors import Conflict, NotFound, ValidationFailed
from ketaflow.scales import Flag
from tests.assessments.factories import (
    answers,
    ctx_for,
    days_ago,
    madrs,
    make_patient,
    nurse,
    record,
)


def _events(db: Session, action: str) -> list[AuditEvent]:
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_store_keeps_raw_answers_rater_time_and_result(db: Session) -> None:
    patient, rater = make_patient(db), nurse(db)
    rated_at = days_ago(2)
    stored = record(db, patient, rater, "madrs", madrs(32), rated_at)
    assert stored.instrument_id == "madrs" and stored.instrument_version == "1.0.0"
    assert stored.rated_at == rated_at and stored.rated_at.tzinfo is not None
    assert stored.rater_kind is RaterKind.STAFF and stored.rater_user_id == rater.id
    assert stored.rater_label == rater.full_name
    assert stored.answers == madrs(32)
    result = stored.current_result
    assert (result.version, result.reason, result.total) == (1, ResultReason.ENTERED, 32)
    assert result.severity == "moderate" and result.flags == []
    assert json.loads(result.result_json)["total_range"] == [0, 60]


def test_store_is_audited_without_patient_values(db: Session) -> None:
    patient, rater = make_patient(db), nurse(db)
    stored = record(db, patient, rater, "madrs", madrs(32))
    (event,) = _events(db, "assessment.create")
    detail = json.loads(event.detail)
    assert event.entity_id == str(stored.id) and detail["patient_id"] == patient.id
    assert "32" not in event.detail and "Fictional" not in event.detail
    assert set(detail) == {"patient_id", "instrument", "rater_kind"}


def test_incomplete_or_out_of_range_answers_name_the_item(db: Session) -> None:
    patient, rater = make_patient(db), nurse(db)
    missing = madrs(20) | {"inner_tension": None}
    with pytest.raises(ValidationFailed) as exc:
        record(db, patient, rater, "madrs", missing)
    assert exc.value.field == "inner_tension" and "item 3" in exc.value.detail
    with pytest.raises(ValidationFailed) as exc:
        record(db, patient, rater, "madrs", madrs(20) | {"inner_tension": 7})
    assert exc.value.field == "inner_tension" and "0-6" in exc.value.detail
    assert db.scalar(select(AssessmentResult)) is None


def test_cssrs_skip_logic_is_enforced(db: Session) -> None:
    patient, rater = make_patient(db), nurse(db)
    inconsistent = {"wish_to_be_dead": 1, "suicidal_thoughts": 0, "thoughts_with_method": 1,
                    "behaviour_lifetime": 0}
    with pytest.raises(ValidationFailed) as exc:
        record(db, patient, rater, "cssrs-screener", inconsistent)
    assert exc.value.field == "thoughts_with_method" and "left out" in exc.value.detail
    high = {"wish_to_be_dead": 1, "suicidal_thoughts": 1, "thoughts_with_method": 1,
            "intent_without_plan": 1, "intent_with_plan": 0, "behaviour_lifetime": 0}
    stored = record(db, patient, rater, "cssrs-screener", high)
    assert stored.current_result.risk_level == "high"
    assert stored.current_result.flags == [str(Flag.CSSRS_HIGH)]


def test_future_time_unknown_instrument_and_patient_are_refused(db: Session) -> None:
    patient, rater = make_patient(db), nurse(db)
    with pytest.raises(ValidationFailed) as exc:
        record(db, patient, rater, "madrs", madrs(20), utcnow() + timedelta(hours=1))
    assert exc.value.field == "rated_at"
    with pytest.raises(ValidationFailed) as exc:
        record(db, patient, rater, "hamd", {})
    assert exc.value.field == "instrument"
    with pytest.raises(NotFound):
        service.record_assessment(db, ctx_for(rater), patient_id=999_999,
                                  instrument_id="madrs", answers=madrs(20),
                                  rater=service.Rater.staff(rater.id))


def test_rescore_adds_a_result_version_and_keeps_the_old_one(db: Session) -> None:
    patient, rater = make_patient(db), nurse(db)
    stored = record(db, patient, rater, "madrs", madrs(30))
    first = stored.current_result
    # Simulate a result computed by older scoring code, then re-score from the raw answers.
    first.total, first.severity, first.scored_with_version = 29, "old-band", "0.9.0"
    db.flush()
    rescored = service.rescore_assessment(db, ctx_for(rater), assessment_id=stored.id)
    assert [r.version for r in rescored.results] == [1, 2]
    old, new = rescored.results
    assert (old.total, old.severity, old.scored_with_version) == (29, "old-band", "0.9.0")
    assert old.superseded_at is not None and new.superseded_at is None
    assert (new.total, new.severity, new.reason) == (30, "moderate", ResultReason.RESCORED)
    assert rescored.current_result.id == new.id
    assert len(_events(db, "assessment.rescore")) == 1


def test_amendment_supersedes_and_keeps_the_original(db: Session) -> None:
    patient, rater = make_patient(db), nurse(db)
    original = record(db, patient, rater, "madrs", madrs(30), days_ago(1))
    corrected = service.amend_assessment(
        db, ctx_for(rater), assessment_id=original.id, answers=madrs(26),
        reason="item 1 entered in the wrong row", rater=service.Rater.staff(rater.id))
    assert corrected.id != original.id and corrected.supersedes_id == original.id
    assert corrected.amendment_reason == "item 1 entered in the wrong row"
    assert corrected.rated_at == original.rated_at and corrected.current_result.total == 26
    kept = service.load_assessment(db, original.id)
    assert kept.superseded_at is not None and kept.current_result.total == 30
    current = service.list_assessments(db, ctx_for(rater), patient_id=patient.id)
    assert [a.id for a in current] == [corrected.id]
    everything = service.list_assessments(db, ctx_for(rater), patient_id=patient.id,
                                          include_superseded=True)
    assert {a.id for a in everything} == {original.id, corrected.id}
    with pytest.raises(Conflict):
        service.amend_assessment(db, ctx_for(rater), assessment_id=original.id,
                                 answers=madrs(20), reason="again",
                                 rater=service.Rater.staff(rater.id))


def test_amendment_needs_a_reason_and_valid_answers(db: Session) -> None:
    patient, rater = make_patient(db), nurse(db)
    original = record(db, patient, rater, "madrs", madrs(30))
    with pytest.raises(ValidationFailed) as exc:
        service.amend_assessment(db, ctx_for(rater), assessment_id=original.id,
                                 answers=madrs(20), reason="  ",
                                 rater=service.Rater.staff(rater.id))
    assert exc.value.field == "reason"
    with pytest.raises(ValidationFailed):
        service.amend_assessment(db, ctx_for(rater), assessment_id=original.id,
                                 answers=answers("madrs", [1] * 9 + [9]), reason="typo",
                                 rater=service.Rater.staff(rater.id))
    assert service.load_assessment(db, original.id).is_current


def test_every_read_is_audited(db: Session) -> None:
    patient, rater = make_patient(db), nurse(db)
    stored = record(db, patient, rater, "madrs", madrs(12))
    service.list_assessments(db, ctx_for(rater), patient_id=patient.id)
    service.get_assessment(db, ctx_for(rater), assessment_id=stored.id)
    (listed,) = _events(db, "assessment.list")
    assert json.loads(listed.detail) == {"patient_id": patient.id, "count": 1}
    (read,) = _events(db, "assessment.read")
    assert read.entity_id == str(stored.id) and read.actor_user_id == rater.id


def test_stored_result_round_trips_to_a_score_result(db: Session) -> None:
    patient, rater = make_patient(db), nurse(db)
    stored = record(db, patient, rater, "qids-sr16", answers("qids-sr16", [3, 1, 0, 2, 2, 0, 1,
                                                                          0, 1, 2, 2, 1, 1, 1,
                                                                          0, 2]))
    result = service.stored_result(stored.current_result)
    assert result.total == stored.current_result.total
    assert dict(result.subscores) == stored.current_result.subscores
    assert result.flags == (Flag.SUICIDALITY_ITEM_POSITIVE, Flag.CSSRS_SCREEN_NEEDED,
                            Flag.SUICIDALITY_URGENT)
