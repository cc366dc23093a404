"""Sources of Condition, AllergyIntolerance and MedicationStatement (the patients domain)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from ketaflow.db import utcnow
from ketaflow.fhir import search
from ketaflow.fhir.codes import (
    ALLERGY_CLINICAL,
    CONDITION_CATEGORY,
    CONDITION_CLINICAL,
    ICD10CM,
    SNOMED,
    Resource,
    us_core,
)
from ketaflow.fhir.mappers import allergies, conditions, medications
from ketaflow.fhir.params import Token
from ketaflow.patients.models import Allergy, Diagnosis, Medication, NoKnownAllergies


def _status_filter(superseded: search.Column, system: str) -> search.Filter:
    """clinical-status over a row that is active until superseded."""
    def condition(values: Sequence[Token]) -> search.Condition:
        active = any(t.matches(system, "active") for t in values)
        inactive = any(t.matches(system, "inactive") for t in values)
        if active and inactive:
            return True
        if active:
            return superseded.is_(None)
        return superseded.is_not(None) if inactive else False
    return condition


_ICD10_CODES = search.column_tokens(Diagnosis.icd10_code, ICD10CM)
_SNOMED_CODES = search.column_tokens(Diagnosis.snomed_code, SNOMED)


def _diagnosis_codes(values: Sequence[Token]) -> search.Condition:
    """Each diagnosis carries both an ICD-10-CM and a SNOMED CT code: either may match."""
    found = [_ICD10_CODES(values), _SNOMED_CODES(values)]
    if any(c is True for c in found):
        return True
    conditions = [c for c in found if not isinstance(c, bool)]
    return or_(*conditions) if conditions else False


def _diagnoses(query: Select[Any]) -> Select[Any]:
    return query.select_from(Diagnosis)


# Plain rows, as the vitals (the bulk export streams them; see search.Rows).
_DIAGNOSIS_ROWS = search.Rows(tuple(Diagnosis.__table__.c), search.each(conditions.condition))


CONDITION = search.Source(
    key="diagnosis", row=Diagnosis.id,
    updated=func.coalesce(Diagnosis.superseded_at, Diagnosis.recorded_at),
    base=_diagnoses, load=search.rows_loader(Diagnosis.id, _diagnoses, _DIAGNOSIS_ROWS),
    rows=_DIAGNOSIS_ROWS,
    profile=us_core("condition-problems-health-concerns"),
    filters={
        "patient": search.references(Diagnosis.patient_id),
        "category": search.static_tokens((CONDITION_CATEGORY, "problem-list-item")),
        "code": _diagnosis_codes,
        "clinical-status": _status_filter(Diagnosis.superseded_at, CONDITION_CLINICAL),
        "recorded-date": search.date_filter(Diagnosis.recorded_at),
        "onset-date": search.day_filter(Diagnosis.onset_date),
    },
)


def _allergies(query: Select[Any]) -> Select[Any]:
    return query.select_from(Allergy)


def _load_allergies(session: Session, ids: Sequence[int]) -> Mapping[int, Resource]:
    rows = session.scalars(select(Allergy).where(Allergy.id.in_(ids)))
    return {row.id: allergies.allergy(row) for row in rows}


def _always_active(values: Sequence[Token]) -> search.Condition:
    return any(t.matches(ALLERGY_CLINICAL, "active") for t in values)


ALLERGY = search.Source(
    key="allergy", row=Allergy.id, updated=Allergy.recorded_at, base=_allergies,
    load=_load_allergies, profile=us_core("allergyintolerance"), prefix="allergy-",
    filters={"patient": search.references(Allergy.patient_id),
             "clinical-status": _always_active},
)


def _no_known(query: Select[Any]) -> Select[Any]:
    return query.select_from(NoKnownAllergies)


def _load_no_known(session: Session, ids: Sequence[int]) -> Mapping[int, Resource]:
    rows = session.scalars(select(NoKnownAllergies).where(NoKnownAllergies.id.in_(ids)))
    return {row.id: allergies.no_known_allergies(row) for row in rows}


NO_KNOWN_ALLERGIES = search.Source(
    key="no-known-allergies", row=NoKnownAllergies.id,
    updated=func.coalesce(NoKnownAllergies.superseded_at, NoKnownAllergies.recorded_at),
    base=_no_known, load=_load_no_known, profile=us_core("allergyintolerance"),
    prefix="nka-",
    filters={"patient": search.references(NoKnownAllergies.patient_id),
             "clinical-status": _status_filter(NoKnownAllergies.superseded_at,
                                               ALLERGY_CLINICAL)},
)


def _medications(query: Select[Any]) -> Select[Any]:
    return query.select_from(Medication)


def _load_medications(session: Session, ids: Sequence[int]) -> Mapping[int, Resource]:
    rows = session.scalars(select(Medication).where(Medication.id.in_(ids)))
    on = utcnow().date()  # as the patients domain dates a stop (UTC)
    return {row.id: medications.medication_statement(row, on) for row in rows}


# US Core has no MedicationStatement profile (it moved to MedicationRequest): base R4.
MEDICATION_STATEMENT = search.Source(
    key="medication", row=Medication.id,
    updated=func.coalesce(Medication.entered_in_error_at, Medication.recorded_at),
    base=_medications, load=_load_medications, profile=None,
    filters={"patient": search.references(Medication.patient_id)},
)
