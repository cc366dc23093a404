"""Plausible entries: a large weight change needs confirmation, entries made in error are kept
but counted nowhere, daily doses above the label maximum need a reason, "no known allergies" is
a recorded state. Each rule on both databases."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.models import AuditEvent
from ketaflow.clinical.body import needs_weight_change_confirmation, weight_change_percent
from ketaflow.errors import Conflict, ValidationFailed
from ketaflow.infusions import service as infusions
from ketaflow.patients import medication_catalogue as catalogue
from ketaflow.patients import service
from ketaflow.patients.medication_catalogue import DoseUnit
from ketaflow.patients.models import AllergySeverity, Measurement
from ketaflow.screening.service.prefill import record_suggestions
from ketaflow.settings.service import change_setting
from tests.infusions.factories import make_clinic, make_course, order_input
from tests.patients.factories import make_patient, medication_input
from tests.support.factories import SYSTEM

NOW = datetime.now(UTC)


def _events(db: Session, action: str) -> list[dict[str, object]]:
    rows = db.scalars(select(AuditEvent).where(AuditEvent.action == action)
                      .order_by(AuditEvent.id))
    return [json.loads(e.detail) for e in rows]


def _weigh(db: Session, patient_id: int, kg: float, *, hours_ago: float = 0,
           confirm: bool = False) -> Measurement:
    return service.record_measurement(
        db, SYSTEM, patient_id=patient_id, weight=kg, weight_unit="kg",
        measured_at=NOW - timedelta(hours=hours_ago), confirm_weight_change=confirm)


# ------------------------------------------------------------------ weight change


@given(previous=st.floats(20, 350), factor=st.floats(0.2, 5.0),
       threshold=st.floats(2, 50))
def test_confirmation_is_needed_exactly_when_the_change_exceeds_the_threshold(
    previous: float, factor: float, threshold: float
) -> None:
    new = previous * factor
    change = abs(new - previous) / previous * 100
    needed = needs_weight_change_confirmation(previous, new, threshold)
    # Away from the boundary the answer is the plain comparison, and it is symmetric in sign.
    if abs(change - threshold) > 1e-6:
        assert needed == (change > threshold)
    assert needs_weight_change_confirmation(previous, previous, threshold) is False
    assert needs_weight_change_confirmation(None, new, threshold) is False
    assert (weight_change_percent(previous, new) < 0) == (new < previous)


def test_a_change_of_exactly_the_threshold_passes() -> None:
    assert not needs_weight_change_confirmation(72.5, 79.75, 10.0)
    assert not needs_weight_change_confirmation(72.5, 65.25, 10.0)
    assert needs_weight_change_confirmation(72.5, 79.76, 10.0)


def test_a_large_weight_change_is_refused_until_confirmed_and_the_confirmation_is_audited(
    db: Session,
) -> None:
    patient = make_patient(db)
    _weigh(db, patient.id, 72.5, hours_ago=2)
    with pytest.raises(ValidationFailed) as refused:
        _weigh(db, patient.id, 25)
    assert refused.value.field == "confirm_weight_change"
    assert "more than 10%" in refused.value.detail
    assert "25" not in refused.value.detail and "72.5" not in refused.value.detail
    assert len(service.list_measurements(db, patient_id=patient.id)) == 1

    row = _weigh(db, patient.id, 25, confirm=True)
    assert row.confirmed_weight_change_percent == pytest.approx(-65.5, abs=0.05)
    [event] = _events(db, "patient.measurement.weight_change_confirm")
    assert event == {"measurement_id": row.id, "threshold_percent": 10.0}


def test_a_small_change_and_a_first_weight_need_no_confirmation(db: Session) -> None:
    patient = make_patient(db)
    first = _weigh(db, patient.id, 70, hours_ago=3)
    second = _weigh(db, patient.id, 77, hours_ago=1)  # exactly 10%
    assert first.confirmed_weight_change_percent is None
    assert second.confirmed_weight_change_percent is None
    # A confirmation given where none is needed stores nothing.
    third = _weigh(db, patient.id, 76, confirm=True)
    assert third.confirmed_weight_change_percent is None
    assert _events(db, "patient.measurement.weight_change_confirm") == []


def test_the_threshold_is_the_clinic_setting(db: Session) -> None:
    patient = make_patient(db)
    _weigh(db, patient.id, 70, hours_ago=2)
    change_setting(db, SYSTEM, group="dosing", name="weight_change_confirm_above_percent",
                   value=5, reason="tighter check for this clinic",
                   effective_from=datetime.now(UTC) - timedelta(minutes=1))
    with pytest.raises(ValidationFailed, match="more than 5%"):
        _weigh(db, patient.id, 74)


def test_the_comparison_skips_a_weight_marked_entered_in_error(db: Session) -> None:
    patient = make_patient(db)
    _weigh(db, patient.id, 72.5, hours_ago=3)
    wrong = _weigh(db, patient.id, 25, hours_ago=2, confirm=True)
    service.mark_measurement_entered_in_error(db, SYSTEM, patient_id=patient.id,
                                              measurement_id=wrong.id, reason="lb typed as kg")
    # Compared with 72.5 kg, not the 25 kg made in error.
    assert _weigh(db, patient.id, 73).confirmed_weight_change_percent is None


# ------------------------------------------------------------------ entered in error


def test_a_measurement_marked_in_error_is_kept_and_left_out_of_every_calculation(
    db: Session,
) -> None:
    patient = make_patient(db)
    good = service.record_measurement(db, SYSTEM, patient_id=patient.id, weight=70,
                                      weight_unit="kg", height=170, height_unit="cm",
                                      measured_at=NOW - timedelta(days=2))
    wrong = service.record_measurement(db, SYSTEM, patient_id=patient.id, weight=75,
                                       weight_unit="kg", height=150, height_unit="cm",
                                       measured_at=NOW - timedelta(days=1))
    with pytest.raises(ValidationFailed, match="Reason is required"):
        service.mark_measurement_entered_in_error(db, SYSTEM, patient_id=patient.id,
                                                  measurement_id=wrong.id, reason=" ")
    service.mark_measurement_entered_in_error(db, SYSTEM, patient_id=patient.id,
                                              measurement_id=wrong.id, reason="wrong patient")
    with pytest.raises(Conflict):
        service.mark_measurement_entered_in_error(db, SYSTEM, patient_id=patient.id,
                                                  measurement_id=wrong.id, reason="again")
    clinical = service.load_clinical(db, patient_id=patient.id)
    assert [m.id for m in clinical.measurements] == [wrong.id, good.id]  # kept
    assert wrong.entered_in_error_reason == "wrong patient"
    assert wrong.entered_in_error_at is not None
    assert clinical.latest_weight is good and clinical.latest_height is good
    assert clinical.bmi == pytest.approx(70 / 1.7**2)
    assert service.latest_weight(db, patient_id=patient.id) is good
    assert record_suggestions(db, SYSTEM, patient_id=patient.id).weight_kg == 70
    assert _events(db, "patient.measurement.entered_in_error") == [
        {"measurement_id": wrong.id}]


def test_the_next_order_uses_the_previous_valid_weight_and_a_signed_order_is_flagged(
    db: Session,
) -> None:
    clinic = make_clinic(db)
    course = make_course(db, clinic, weight_kg=70.0, patient=make_patient(db),
                         order_lot=True)
    later = service.record_measurement(db, SYSTEM, patient_id=course.patient_id, weight=74,
                                       weight_unit="kg")
    record = infusions.open_session(db, clinic.nurse_ctx, course_id=course.id)
    first = infusions.sign_order(db, clinic.prescriber_ctx, session_id=record.id,
                                 order=order_input())
    assert first.weight_measurement_id == later.id and first.dosing_weight_kg == 74
    service.mark_measurement_entered_in_error(db, SYSTEM, patient_id=course.patient_id,
                                              measurement_id=later.id, reason="scale not zeroed")
    view = infusions.chair_view(db, clinic.nurse_ctx, session_id=record.id)
    assert view.dosing_weight is later and view.dosing_weight.entered_in_error
    second = infusions.sign_order(db, clinic.prescriber_ctx, session_id=record.id,
                                  order=order_input(supersede_reason="weight made in error"))
    assert second.dosing_weight_kg == 70 and second.weight_measurement_id != later.id
    assert first.weight_measurement_id == later.id  # the earlier order keeps its reference


def test_a_medication_marked_in_error_leaves_the_lists_and_the_load(db: Session) -> None:
    patient = make_patient(db)
    kept = service.add_medication(db, SYSTEM, patient_id=patient.id,
                                  medication=medication_input(dose_amount=2))
    wrong = service.add_medication(db, SYSTEM, patient_id=patient.id,
                                   medication=medication_input(drug_name="clonazepam",
                                                               dose_amount=1))
    service.mark_medication_entered_in_error(db, SYSTEM, patient_id=patient.id,
                                             medication_id=wrong.id, reason="other patient's")
    clinical = service.load_clinical(db, patient_id=patient.id)
    [group] = clinical.medication_overview.groups
    assert [v.medication.id for v in group.current] == [kept.id]
    assert [v.medication.id for v in group.in_error] == [wrong.id]
    assert group.past == []
    load = clinical.medication_overview.benzodiazepine_load
    assert load is not None and load.total_diazepam_mg_per_day == pytest.approx(20)
    suggestions = record_suggestions(db, SYSTEM, patient_id=patient.id)
    assert (suggestions.answers["cns_depressants"].note or "").endswith(": lorazepam")
    with pytest.raises(Conflict):
        service.stop_medication(db, SYSTEM, patient_id=patient.id, medication_id=wrong.id,
                                stop_date=NOW.date())
    assert _events(db, "patient.medication.entered_in_error") == [{"medication_id": wrong.id}]


# ------------------------------------------------------------------ daily-dose maximum


def test_lorazepam_above_its_label_maximum_is_refused_naming_the_field_and_the_limit(
    db: Session,
) -> None:
    patient = make_patient(db)
    with pytest.raises(ValidationFailed) as refused:
        service.add_medication(db, SYSTEM, patient_id=patient.id,
                               medication=medication_input(dose_amount=500))
    assert refused.value.field == "dose_amount"
    assert "Dose" in refused.value.detail and "10 mg/day" in refused.value.detail
    assert service.list_medications(db, patient_id=patient.id) == []
    # Confirmation alone is not enough: the reason is required.
    with pytest.raises(ValidationFailed) as no_reason:
        service.add_medication(db, SYSTEM, patient_id=patient.id, medication=medication_input(
            dose_amount=500, confirm_above_max_daily_dose=True))
    assert no_reason.value.field == "above_max_daily_dose_reason"


def test_a_dose_above_the_maximum_is_stored_with_confirmation_and_reason(db: Session) -> None:
    patient = make_patient(db)
    row = service.add_medication(db, SYSTEM, patient_id=patient.id, medication=medication_input(
        dose_amount=12, confirm_above_max_daily_dose=True,
        above_max_daily_dose_reason="alcohol withdrawal protocol, specialist advice"))
    assert row.above_max_daily_dose_reason.startswith("alcohol withdrawal")
    assert _events(db, "patient.medication.add")[-1]["above_max_daily_dose"] is True


@pytest.mark.parametrize(("drug", "amount", "unit"), [
    ("lorazepam", 10, DoseUnit.MG_PER_DAY),  # at the maximum
    ("lorazepam", 9000, DoseUnit.MCG_PER_DAY),  # 9 mg/day
    ("lithium", 3000, DoseUnit.MG_PER_DAY),  # no maximum in the catalogue
    ("aripiprazole", 400, DoseUnit.MG_PER_MONTH),  # depot: not a daily dose
])
def test_doses_within_the_maximum_or_without_one_are_not_checked(
    db: Session, drug: str, amount: float, unit: DoseUnit
) -> None:
    patient = make_patient(db)
    row = service.add_medication(db, SYSTEM, patient_id=patient.id, medication=medication_input(
        drug_name=drug, dose_amount=amount, dose_unit=unit, above_max_daily_dose_reason="x"))
    assert row.above_max_daily_dose_reason is None


def test_brand_names_use_the_generic_maximum() -> None:
    assert catalogue.max_daily_dose_exceeded("Ativan", 11, DoseUnit.MG_PER_DAY) == 10
    assert catalogue.max_daily_dose_exceeded("unlisted-zine", 1e4, DoseUnit.MG_PER_DAY) is None


# ------------------------------------------------------------------ no known allergies


def test_allergy_states_not_asked_no_known_allergies_then_listed(db: Session) -> None:
    patient = make_patient(db)
    assert service.load_clinical(db, patient_id=patient.id).allergy_status is (
        service.AllergyStatus.NOT_ASKED)
    statement = service.record_no_known_allergies(db, SYSTEM, patient_id=patient.id)
    clinical = service.load_clinical(db, patient_id=patient.id)
    assert clinical.allergy_status is service.AllergyStatus.NO_KNOWN_ALLERGIES
    assert clinical.current_no_known_allergies is statement
    with pytest.raises(Conflict, match="already recorded"):
        service.record_no_known_allergies(db, SYSTEM, patient_id=patient.id)

    allergy = service.record_allergy(db, SYSTEM, patient_id=patient.id, substance="penicillin",
                                     reaction="rash", severity=AllergySeverity.MODERATE)
    clinical = service.load_clinical(db, patient_id=patient.id)
    assert clinical.allergy_status is service.AllergyStatus.LISTED
    assert clinical.current_no_known_allergies is None
    assert [s.id for s in clinical.no_known_allergies] == [statement.id]  # kept as history
    assert statement.superseded_at is not None
    with pytest.raises(Conflict, match="while allergies are listed"):
        service.record_no_known_allergies(db, SYSTEM, patient_id=patient.id)
    assert _events(db, "patient.allergy.no_known_allergies") == [{"statement_id": statement.id}]
    assert _events(db, "patient.allergy.record")[-1] == {
        "allergy_id": allergy.id, "superseded_no_known_allergies_id": statement.id}
