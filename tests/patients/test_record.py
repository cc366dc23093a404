"""Clinical record rules: measurements, allergies, diagnosis."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.models import AuditEvent
from ketaflow.errors import NotFound, ValidationFailed
from ketaflow.patients import service
from ketaflow.patients.diagnosis_codes import BipolarType, Episode, Severity
from ketaflow.patients.models import AllergySeverity
from tests.patients.factories import DIAGNOSIS, make_patient, medication_input, trial_input
from tests.support.factories import SYSTEM

TODAY = date.today()


def _actions(db: Session) -> list[str]:
    return [e.action for e in db.scalars(select(AuditEvent).order_by(AuditEvent.id))]


# ------------------------------------------------------------------ measurements


def test_weight_in_pounds_is_stored_in_kg_exactly_with_the_entry_kept(db: Session) -> None:
    patient = make_patient(db)
    row = service.record_measurement(
        db, SYSTEM, patient_id=patient.id, weight=154, weight_unit="lb", height=65, height_unit="in"
    )
    db.expire_all()
    assert row.weight_kg == 154 * 0.45359237
    assert row.height_cm == 65 * 2.54
    assert (row.weight_entered, row.weight_entered_unit) == (154, "lb")
    assert (row.height_entered, row.height_entered_unit) == (65, "in")
    assert "patient.measurement.record" in _actions(db)


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"weight": 70}, "weight_unit", "state the unit"),
        ({"weight": 70, "weight_unit": "st"}, "weight_unit", "unknown unit"),
        ({"height": 170}, "height_unit", "state the unit"),
        ({"height": 170, "height_unit": "m"}, "height_unit", "unknown unit"),
        ({"weight": 351, "weight_unit": "kg"}, "weight", "between 20 and 350 kg"),
        ({"weight": 40, "weight_unit": "lb"}, "weight", "between 20 and 350 kg"),
        ({"height": 99, "height_unit": "cm"}, "height", "between 100 and 250 cm"),
        ({"height": 99, "height_unit": "in"}, "height", "between 100 and 250 cm"),
        ({}, "weight", "enter a weight, a height or both"),
        ({"weight_unit": "kg"}, "weight", "enter a weight"),
    ],
)
def test_bad_measurements_are_refused(
    db: Session, kwargs: dict[str, object], field: str, message: str
) -> None:
    patient = make_patient(db)
    with pytest.raises(ValidationFailed, match=message) as err:
        service.record_measurement(db, SYSTEM, patient_id=patient.id, **kwargs)  # type: ignore[arg-type]
    assert err.value.field == field


def test_measurement_time_must_be_aware_and_not_in_the_future(db: Session) -> None:
    patient = make_patient(db)
    ahead = datetime.now(UTC) + timedelta(hours=1)
    with pytest.raises(ValidationFailed, match="in the future"):
        service.record_measurement(
            db, SYSTEM, patient_id=patient.id, weight=70, weight_unit="kg", measured_at=ahead
        )
    with pytest.raises(ValidationFailed, match="time zone"):
        service.record_measurement(
            db,
            SYSTEM,
            patient_id=patient.id,
            weight=70,
            weight_unit="kg",
            measured_at=datetime(2026, 1, 1, 9, 0),  # naive on purpose
        )


def test_measurement_history_is_newest_first(db: Session) -> None:
    patient = make_patient(db)
    earlier = datetime.now(UTC) - timedelta(days=30)
    service.record_measurement(
        db, SYSTEM, patient_id=patient.id, height=170, height_unit="cm", measured_at=earlier
    )
    service.record_measurement(db, SYSTEM, patient_id=patient.id, weight=80, weight_unit="kg")
    rows = service.list_measurements(db, patient_id=patient.id)
    assert [r.weight_kg for r in rows] == [80, None]
    record = service.read_patient(db, SYSTEM, patient_id=patient.id, clinical=True)
    assert record.clinical is not None
    assert record.clinical.latest_weight.weight_kg == 80  # type: ignore[union-attr]
    assert record.clinical.latest_height.height_cm == 170  # type: ignore[union-attr]


def test_unknown_patient_is_not_found_for_every_write(db: Session) -> None:
    with pytest.raises(NotFound):
        service.record_measurement(db, SYSTEM, patient_id=4242, weight=70, weight_unit="kg")
    with pytest.raises(NotFound):
        service.record_allergy(
            db, SYSTEM, patient_id=4242, substance="x", reaction=None, severity=AllergySeverity.MILD
        )
    with pytest.raises(NotFound):
        service.record_diagnosis(db, SYSTEM, patient_id=4242, diagnosis=DIAGNOSIS)
    with pytest.raises(NotFound):
        service.add_medication(db, SYSTEM, patient_id=4242, medication=medication_input())
    with pytest.raises(NotFound):
        service.add_treatment_trial(db, SYSTEM, patient_id=4242, trial=trial_input())


# ------------------------------------------------------------------ allergies


def test_allergies(db: Session) -> None:
    patient = make_patient(db)
    service.record_allergy(
        db,
        SYSTEM,
        patient_id=patient.id,
        substance=" Penicillin ",
        reaction="rash",
        severity=AllergySeverity.MODERATE,
    )
    with pytest.raises(ValidationFailed, match="substance is required") as err:
        service.record_allergy(
            db,
            SYSTEM,
            patient_id=patient.id,
            substance=" ",
            reaction=None,
            severity=AllergySeverity.MILD,
        )
    assert err.value.field == "substance"
    (allergy,) = service.list_allergies(db, patient_id=patient.id)
    assert (allergy.substance, allergy.severity) == ("Penicillin", AllergySeverity.MODERATE)


# ------------------------------------------------------------------ diagnosis


def test_diagnosis_code_is_derived_and_revisions_supersede(db: Session) -> None:
    patient = make_patient(db)
    first = service.record_diagnosis(db, SYSTEM, patient_id=patient.id, diagnosis=DIAGNOSIS)
    assert (first.icd10_code, first.snomed_code) == ("F31.32", "371596008")
    with pytest.raises(ValidationFailed, match="give a reason") as err:
        service.record_diagnosis(db, SYSTEM, patient_id=patient.id, diagnosis=DIAGNOSIS)
    assert err.value.field == "reason"
    revised = service.record_diagnosis(
        db,
        SYSTEM,
        patient_id=patient.id,
        diagnosis=replace(DIAGNOSIS, bipolar_type=BipolarType.BIPOLAR_II),
        reason="history of hypomania only",
    )
    assert revised.icd10_code == "F31.81" and revised.severity is Severity.MODERATE
    history = service.diagnosis_history(db, patient_id=patient.id)
    assert [d.icd10_code for d in history] == ["F31.32", "F31.81"]
    assert history[0].superseded_at is not None
    assert service.current_diagnosis(db, patient_id=patient.id).id == revised.id  # type: ignore[union-attr]
    assert _actions(db)[-2:] == ["patient.diagnosis.record", "patient.diagnosis.amend"]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"current_episode": Episode.HYPOMANIC}, "severity", "has no severity"),
        (
            {
                "bipolar_type": BipolarType.BIPOLAR_II,
                "current_episode": Episode.MANIC,
                "severity": None,
            },
            "current_episode",
            "means bipolar I",
        ),
        ({"onset_date": TODAY + timedelta(days=1)}, "onset_date", "in the future"),
        ({"onset_date": date(1980, 1, 1)}, "onset_date", "before the date of birth"),
        ({"episode_start_date": TODAY + timedelta(days=3)}, "episode_start_date", "future"),
        ({"episode_start_date": date(2004, 12, 31)}, "episode_start_date", "before the illness"),
        ({"suicide_attempts": -1}, "suicide_attempts", "between 0 and 100"),
        (
            {"last_suicide_attempt_date": date(2020, 1, 1)},
            "last_suicide_attempt_date",
            "needs at least one attempt",
        ),
        (
            {"suicide_attempts": 2, "last_suicide_attempt_date": TODAY + timedelta(days=1)},
            "last_suicide_attempt_date",
            "in the future",
        ),
    ],
)
def test_bad_diagnoses_are_refused(
    db: Session, changes: dict[str, object], field: str, message: str
) -> None:
    patient = make_patient(db)
    with pytest.raises(ValidationFailed, match=message) as err:
        service.record_diagnosis(
            db, SYSTEM, patient_id=patient.id, diagnosis=replace(DIAGNOSIS, **changes)
        )
    assert err.value.field == field


def test_episode_duration(db: Session) -> None:
    patient = make_patient(db)
    dx = service.record_diagnosis(db, SYSTEM, patient_id=patient.id, diagnosis=DIAGNOSIS)
    assert service.episode_duration_days(dx, on=date(2026, 9, 15)) == 14
