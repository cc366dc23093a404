"""The referral mapping inverts the read mappers: what ketaflow sends, it reads back as the
same record (pure: no database)."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from ketaflow.errors import ValidationFailed
from ketaflow.fhir.mappers.allergies import allergy as allergy_resource
from ketaflow.fhir.mappers.conditions import condition as condition_resource
from ketaflow.fhir.mappers.medications import medication_statement
from ketaflow.fhir.referrals import bundle, mapping
from ketaflow.patients.diagnosis_codes import BipolarType, Episode, Severity, icd10_code
from ketaflow.patients.medication_catalogue import DoseUnit, DrugClass
from ketaflow.patients.models import (
    Adherence,
    Allergy,
    AllergySeverity,
    Diagnosis,
    Medication,
    SubstanceUse,
)

PATIENT_URL = "urn:uuid:0b0c3a8e-4f57-4c2b-9d8a-2f1f7e6a9c01"
PATIENT = {"fullUrl": PATIENT_URL, "request": {"method": "POST", "url": "Patient"},
           "resource": {"resourceType": "Patient",
                        "identifier": [{"system": "urn:example", "value": "1"}],
                        "name": [{"family": "Example", "given": ["Pat"]}],
                        "birthDate": "1980-01-01"}}


def entry(resource: dict[str, Any]) -> bundle.Entry:
    """`resource` (as our mapper wrote it, about patient 1) as entry 1 of a parsed bundle."""
    body = {k: v for k, v in resource.items() if k not in ("recorder", "informationSource")}
    element = bundle.PATIENT_ELEMENT[body["resourceType"]]
    body[element] = {"reference": PATIENT_URL}
    raw = {"resourceType": "Bundle", "type": "transaction",
           "entry": [PATIENT, {"resource": body, "request": {
               "method": "POST", "url": body["resourceType"]}}]}
    return bundle.parse(json.dumps(raw).encode())[1]


def _diagnoses() -> list[tuple[BipolarType, Episode, Severity | None]]:
    found = []
    for kind, episode, severity in itertools.product(BipolarType, Episode, (None, *Severity)):
        try:
            icd10_code(kind, episode, severity)
        except ValueError:
            continue
        found.append((kind, episode, severity))
    return found


@pytest.mark.parametrize(("kind", "episode", "severity"), _diagnoses())
def test_every_diagnosis_the_form_records_reads_back(
        kind: BipolarType, episode: Episode, severity: Severity | None) -> None:
    row = Diagnosis(id=1, patient_id=1, bipolar_type=kind, current_episode=episode,
                    severity=severity, icd10_code=icd10_code(kind, episode, severity),
                    snomed_code=("371596008" if kind is BipolarType.BIPOLAR_I else "83225003"),
                    onset_date=date(2010, 5, 1), psychosis_history=True,
                    substance_use=SubstanceUse.PAST, suicide_attempts=1,
                    recorded_at=datetime(2026, 1, 1, tzinfo=UTC))
    read = mapping.condition(entry(condition_resource(row)))
    assert read.bipolar_type is kind
    assert icd10_code(read.bipolar_type, read.current_episode, read.severity) == row.icd10_code
    if kind is BipolarType.BIPOLAR_I:  # bipolar II's code carries no episode
        assert (read.current_episode, read.severity) == (episode, severity)
    assert read.onset_date == date(2010, 5, 1)


@pytest.mark.parametrize("unit", list(DoseUnit))
def test_a_medication_statement_reads_back(unit: DoseUnit) -> None:
    row = Medication(id=1, patient_id=1, drug_name="sertraline",
                     drug_class=DrugClass.ANTIDEPRESSANT, dose_amount=12.5, dose_unit=unit,
                     start_date=date(2024, 2, 1), stop_date=date(2025, 3, 1),
                     adherence=Adherence.GOOD, note="Taken at night",
                     recorded_at=datetime(2026, 1, 1, tzinfo=UTC))
    read = mapping.medication(entry(medication_statement(row, date(2026, 1, 1))))
    assert (read.drug_name, read.dose_amount, read.dose_unit) == ("sertraline", 12.5, unit)
    assert (read.start_date, read.stop_date, read.note) == (
        date(2024, 2, 1), date(2025, 3, 1), "Taken at night")
    assert read.drug_class is None  # a catalogue drug: the catalogue knows its class


def test_an_unlisted_drug_reads_back_with_its_class() -> None:
    row = Medication(id=1, patient_id=1, drug_name="levothyroxine", drug_class=DrugClass.OTHER,
                     dose_amount=75, dose_unit=DoseUnit.MCG_PER_DAY,
                     adherence=Adherence.UNKNOWN, recorded_at=datetime(2026, 1, 1, tzinfo=UTC))
    assert mapping.medication(entry(medication_statement(row, date(2026, 1, 1)))
                              ).drug_class is DrugClass.OTHER


@pytest.mark.parametrize("reaction", [None, "Hives"])
def test_an_allergy_reads_back(reaction: str | None) -> None:
    row = Allergy(id=1, patient_id=1, substance="Penicillin", reaction=reaction,
                  severity=AllergySeverity.SEVERE, recorded_at=datetime(2026, 1, 1, tzinfo=UTC))
    read = mapping.allergy(entry(allergy_resource(row)))
    # "Reaction not recorded" is what we send for none: it reads back as none.
    assert (read.substance, read.reaction, read.severity) == (
        "Penicillin", reaction, AllergySeverity.SEVERE)


def test_snomed_bipolar_i_alone_is_refused_for_want_of_the_episode() -> None:
    resource = {"resourceType": "Condition", "subject": {"reference": PATIENT_URL},
                "code": {"coding": [{"system": "http://snomed.info/sct",
                                     "code": "371596008"}]}}
    with pytest.raises(ValidationFailed) as refused:
        mapping.condition(entry(resource))
    assert refused.value.field == "Bundle.entry[1].resource.code"
    assert "episode" in refused.value.detail
