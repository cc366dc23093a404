"""Medication history and prior treatment trials: rules, grouping, benzodiazepine load,
resistance evaluation."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.models import AuditEvent
from ketaflow.errors import Conflict, NotFound, ValidationFailed
from ketaflow.patients import service
from ketaflow.patients.diagnosis_codes import BipolarType
from ketaflow.patients.medication_catalogue import DrugClass, Interaction
from ketaflow.patients.models import AllergySeverity, TrialResponse
from tests.patients.factories import DIAGNOSIS, make_patient, medication_input, trial_input
from tests.support.factories import SYSTEM

TODAY = date.today()


def _actions(db: Session) -> list[str]:
    return [e.action for e in db.scalars(select(AuditEvent).order_by(AuditEvent.id))]


# ------------------------------------------------------------------ medications


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"start_date": date(2025, 3, 1), "stop_date": date(2025, 2, 28)},
            "stop_date",
            "stop date cannot be before the start date",
        ),
        ({"start_date": TODAY + timedelta(days=1)}, "start_date", "in the future"),
        ({"stop_date": TODAY + timedelta(days=1)}, "stop_date", "in the future"),
        ({"start_date": date(1980, 1, 1)}, "start_date", "before the date of birth"),
        ({"dose_amount": 0}, "dose_amount", "more than 0"),
        ({"dose_amount": float("nan")}, "dose_amount", "more than 0"),
        ({"drug_name": " "}, "drug_name", "Drug is required"),
        ({"drug_name": "unlisted-zine"}, "drug_class", "choose its class"),
        ({"drug_class": DrugClass.ANTIDEPRESSANT}, "drug_class", "lists this drug as benzo"),
        (
            {"lithium_level_mmol_per_l": 0.7, "lithium_level_date": date(2025, 5, 1)},
            "lithium_level_mmol_per_l",
            "lithium only",
        ),
        (
            {"drug_name": "lithium", "lithium_level_mmol_per_l": 0.7},
            "lithium_level_mmol_per_l",
            "give both",
        ),
        (
            {
                "drug_name": "lithium",
                "lithium_level_mmol_per_l": 7.0,
                "lithium_level_date": date(2025, 5, 1),
            },
            "lithium_level_mmol_per_l",
            "between 0.1 and 5",
        ),
        (
            {
                "drug_name": "lithium",
                "lithium_level_mmol_per_l": 0.8,
                "lithium_level_date": TODAY + timedelta(days=1),
            },
            "lithium_level_date",
            "future",
        ),
    ],
)
def test_bad_medications_are_refused(
    db: Session, changes: dict[str, object], field: str, message: str
) -> None:
    patient = make_patient(db)
    with pytest.raises(ValidationFailed, match=message) as err:
        service.add_medication(
            db, SYSTEM, patient_id=patient.id, medication=medication_input(**changes)
        )
    assert err.value.field == field


def test_medications_group_by_class_with_benzodiazepine_load_and_notes(db: Session) -> None:
    patient = make_patient(db)
    add = lambda **c: service.add_medication(  # noqa: E731
        db, SYSTEM, patient_id=patient.id, medication=medication_input(**c)
    )
    ativan = add(drug_name="Ativan")
    assert (ativan.drug_name, ativan.drug_class) == ("lorazepam", DrugClass.BENZODIAZEPINE)
    add(
        drug_name="lithium",
        dose_amount=800,
        lithium_level_mmol_per_l=0.7,
        lithium_level_date=date(2025, 6, 1),
    )
    add(drug_name="lamotrigine", dose_amount=200)
    add(drug_name="quetiapine", dose_amount=300, stop_date=date(2025, 6, 1))
    add(drug_name="Herbal calm", dose_amount=1, drug_class=DrugClass.OTHER)
    overview = service.medication_overview(service.list_medications(db, patient_id=patient.id))
    groups = {g.drug_class: g for g in overview.groups}
    assert list(groups) == [
        DrugClass.MOOD_STABILISER,
        DrugClass.ANTIPSYCHOTIC,
        DrugClass.BENZODIAZEPINE,
        DrugClass.OTHER,
    ]
    assert [v.medication.drug_name for v in groups[DrugClass.MOOD_STABILISER].current] == [
        "lamotrigine",
        "lithium",
    ]
    assert groups[DrugClass.ANTIPSYCHOTIC].current == []
    assert [v.medication.drug_name for v in groups[DrugClass.ANTIPSYCHOTIC].past] == ["quetiapine"]
    (lorazepam,) = groups[DrugClass.BENZODIAZEPINE].current
    assert lorazepam.diazepam_equivalent_mg_per_day == 20
    load = overview.benzodiazepine_load
    assert load is not None and load.total_diazepam_mg_per_day == 20 and load.flagged
    assert [note.kind for note, _ in overview.notes] == [
        Interaction.BENZODIAZEPINE,
        Interaction.LAMOTRIGINE,
    ]


def test_stopped_benzodiazepines_do_not_count_toward_the_load(db: Session) -> None:
    patient = make_patient(db)
    service.add_medication(
        db, SYSTEM, patient_id=patient.id, medication=medication_input(stop_date=date(2025, 2, 1))
    )
    overview = service.medication_overview(service.list_medications(db, patient_id=patient.id))
    assert overview.benzodiazepine_load is None and overview.notes == []


def test_stop_medication(db: Session) -> None:
    patient = make_patient(db)
    other = make_patient(db)
    med = service.add_medication(db, SYSTEM, patient_id=patient.id, medication=medication_input())
    with pytest.raises(NotFound):
        service.stop_medication(
            db, SYSTEM, patient_id=other.id, medication_id=med.id, stop_date=TODAY
        )
    with pytest.raises(ValidationFailed, match="before the start date"):
        service.stop_medication(
            db, SYSTEM, patient_id=patient.id, medication_id=med.id, stop_date=date(2024, 12, 31)
        )
    service.stop_medication(
        db, SYSTEM, patient_id=patient.id, medication_id=med.id, stop_date=TODAY
    )
    assert med.stop_date == TODAY and not service.medications.is_current(med)
    with pytest.raises(Conflict, match="already has a stop date"):
        service.stop_medication(
            db, SYSTEM, patient_id=patient.id, medication_id=med.id, stop_date=TODAY
        )
    assert _actions(db)[-1] == "patient.medication.stop"


# ------------------------------------------------------------------ trials


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"drug_name": ""}, "drug_name", "Drug is required"),
        ({"dose_mg_per_day": 0}, "dose_mg_per_day", "more than 0"),
        ({"duration_weeks": 0}, "duration_weeks", "more than 0"),
        ({"duration_weeks": 600}, "duration_weeks", "at most 520"),
        ({"start_date": TODAY + timedelta(days=1)}, "start_date", "in the future"),
        ({"partner_drug_name": "fluoxetine"}, "partner_dose_mg_per_day", "both"),
        ({"partner_dose_mg_per_day": 25.0}, "partner_drug_name", "both"),
        ({"serum_level_mmol_per_l": 9.0}, "serum_level_mmol_per_l", "between 0.1 and 5"),
    ],
)
def test_bad_trials_are_refused(
    db: Session, changes: dict[str, object], field: str, message: str
) -> None:
    patient = make_patient(db)
    with pytest.raises(ValidationFailed, match=message) as err:
        service.add_treatment_trial(db, SYSTEM, patient_id=patient.id, trial=trial_input(**changes))
    assert err.value.field == field


def test_resistance_is_evaluated_from_recorded_trials(db: Session) -> None:
    patient = make_patient(db)
    service.add_treatment_trial(
        db, SYSTEM, patient_id=patient.id, trial=trial_input(drug_name="Seroquel")
    )
    service.add_treatment_trial(
        db,
        SYSTEM,
        patient_id=patient.id,
        trial=trial_input(
            drug_name="olanzapine",
            dose_mg_per_day=10,
            partner_drug_name="Prozac",
            partner_dose_mg_per_day=50,
            response=TrialResponse.PARTIAL,
        ),
    )
    service.add_treatment_trial(
        db,
        SYSTEM,
        patient_id=patient.id,
        trial=trial_input(
            drug_name="lithium", dose_mg_per_day=900, duration_weeks=12, serum_level_mmol_per_l=0.9
        ),
    )
    record = service.read_patient(db, SYSTEM, patient_id=patient.id, clinical=True)
    assert record.clinical is not None and record.clinical.resistance is None  # no diagnosis yet
    service.record_diagnosis(db, SYSTEM, patient_id=patient.id, diagnosis=DIAGNOSIS)
    record = service.read_patient(db, SYSTEM, patient_id=patient.id, clinical=True)
    evaluation = record.clinical.resistance  # type: ignore[union-attr]
    assert evaluation is not None and evaluation.meets
    assert evaluation.adequate_failed_count == 2
    assert [t.counts for t in evaluation.trials] == [True, True, False]
    assert [t.drug_name for t in record.clinical.trials] == [  # type: ignore[union-attr]
        "quetiapine",
        "olanzapine",
        "lithium",
    ]
    # Bipolar II: olanzapine + fluoxetine is not an approved regimen there.
    service.record_diagnosis(
        db,
        SYSTEM,
        patient_id=patient.id,
        reason="revised",
        diagnosis=replace(DIAGNOSIS, bipolar_type=BipolarType.BIPOLAR_II),
    )
    record = service.read_patient(db, SYSTEM, patient_id=patient.id, clinical=True)
    assert not record.clinical.resistance.meets  # type: ignore[union-attr]


@pytest.mark.parametrize(("drug", "partner"), [
    ("Symbyax", None), ("Symbyax", "fluoxetine"), ("olanzapine/fluoxetine", None),
    ("OFC", "Prozac")])
def test_a_symbyax_trial_counts(db: Session, drug: str, partner: str | None) -> None:
    """The combination under its brand or combined name, the fluoxetine dose given as the
    second drug's dose with or without a name (issue 11, item 6)."""
    patient = make_patient(db)
    service.record_diagnosis(db, SYSTEM, patient_id=patient.id, diagnosis=DIAGNOSIS)
    row = service.add_treatment_trial(db, SYSTEM, patient_id=patient.id, trial=trial_input(
        drug_name=drug, dose_mg_per_day=6, partner_drug_name=partner,
        partner_dose_mg_per_day=25))
    assert row.drug_name == "olanzapine-fluoxetine"
    assert row.partner_drug_name == "fluoxetine"
    record = service.read_patient(db, SYSTEM, patient_id=patient.id, clinical=True)
    [judged] = record.clinical.resistance.trials  # type: ignore[union-attr]
    assert judged.counts and judged.regimen is not None
    assert judged.regimen.name == "olanzapine + fluoxetine"


def test_every_clinical_write_is_audited_by_id_only(db: Session) -> None:
    patient = make_patient(db)
    service.add_medication(db, SYSTEM, patient_id=patient.id, medication=medication_input())
    service.add_treatment_trial(db, SYSTEM, patient_id=patient.id, trial=trial_input())
    service.record_allergy(
        db,
        SYSTEM,
        patient_id=patient.id,
        substance="Latex",
        reaction="hives",
        severity=AllergySeverity.SEVERE,
    )
    events = list(db.scalars(select(AuditEvent).where(AuditEvent.entity_type == "patient")))
    assert {e.action for e in events} >= {
        "patient.medication.add",
        "patient.trial.add",
        "patient.allergy.record",
    }
    for event in events:
        assert event.entity_id == str(patient.id)
        detail = json.loads(event.detail)
        assert all(isinstance(v, bool | int | list) for v in detail.values()), detail
        for secret in ("lorazepam", "quetiapine", "latex", "hives"):
            assert secret not in event.detail.lower()
