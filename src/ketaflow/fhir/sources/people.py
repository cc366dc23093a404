"""Sources of Patient, Practitioner and Organization."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Row, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from ketaflow.auth.models import StaffUser
from ketaflow.clinic.models import ClinicProfile
from ketaflow.fhir import search
from ketaflow.fhir.codes import MRN_SYSTEM, STAFF_SYSTEM, Resource, us_core
from ketaflow.fhir.mappers import people
from ketaflow.fhir.params import Token
from ketaflow.fhir.referrals.models import PatientIdentifier
from ketaflow.patients.models import Patient, PatientDemographics, Sex

GENDER_SYSTEM = "http://hl7.org/fhir/administrative-gender"
_SEX_BY_GENDER = {(GENDER_SYSTEM, "female"): Sex.FEMALE.value,
                  (GENDER_SYSTEM, "male"): Sex.MALE.value,
                  (GENDER_SYSTEM, "other"): Sex.INTERSEX.value,
                  (GENDER_SYSTEM, "unknown"): Sex.UNKNOWN.value}
_CURRENT = and_(PatientDemographics.patient_id == Patient.id,
                PatientDemographics.superseded_at.is_(None))


def _patients(query: Select[Any]) -> Select[Any]:
    return query.select_from(Patient).join(PatientDemographics, _CURRENT)


# What the Patient mapper reads, as plain rows (the bulk export streams them; see search.Rows).
_PATIENT_COLUMNS = (Patient.mrn, PatientDemographics.given_name, PatientDemographics.family_name,
                    PatientDemographics.date_of_birth, PatientDemographics.sex,
                    PatientDemographics.phone, PatientDemographics.email,
                    PatientDemographics.address, PatientDemographics.emergency_contact_name,
                    PatientDemographics.emergency_contact_phone)


def _build_patients(session: Session, rows: Sequence[Row[Any]]) -> list[Resource]:
    """Each row with the identifiers other systems gave the patient (one query a chunk)."""
    others: dict[int, list[tuple[str, str]]] = {}
    for patient_id, system, value in session.execute(
            select(PatientIdentifier.patient_id, PatientIdentifier.system,
                   PatientIdentifier.value)
            .where(PatientIdentifier.patient_id.in_([row.row_id for row in rows]))
            .order_by(PatientIdentifier.id)):
        others.setdefault(patient_id, []).append((system, value))
    return [people.patient(row, row, others.get(row.row_id, ())) for row in rows]


_PATIENT_ROWS = search.Rows(_PATIENT_COLUMNS, _build_patients)


_MRN = search.column_tokens(Patient.mrn, MRN_SYSTEM)


def _identifiers(values: Sequence[Token]) -> search.Condition:
    """Our MRN, or an identifier another system gave the patient (stored from a referral,
    `fhir.referrals`): `system|value`, `value` in any system, or `system|` for any value."""
    mrn = _MRN(values)
    if mrn is True:
        return True
    wanted = [and_(*([PatientIdentifier.system == t.system] if t.system else []),
                   *([PatientIdentifier.value == t.code] if t.code is not None else []))
              for t in values if t.system != MRN_SYSTEM and (t.system or t.code is not None)]
    if not wanted:
        return mrn
    stored = Patient.id.in_(select(PatientIdentifier.patient_id).where(or_(*wanted)))
    return stored if mrn is False else or_(mrn, stored)


PATIENT = search.Source(
    key="patient", row=Patient.id, updated=PatientDemographics.recorded_at, base=_patients,
    load=search.rows_loader(Patient.id, _patients, _PATIENT_ROWS), rows=_PATIENT_ROWS,
    profile=us_core("patient"),
    filters={
        "identifier": _identifiers,
        "name": search.name_words(PatientDemographics.search_name),
        "birthdate": search.day_filter(PatientDemographics.date_of_birth),
        "gender": search.mapped_tokens(PatientDemographics.sex, _SEX_BY_GENDER),
    },
)


def _staff(query: Select[Any]) -> Select[Any]:
    return query.select_from(StaffUser)


def _load_staff(session: Session, ids: Sequence[int]) -> Mapping[int, Resource]:
    users = session.scalars(select(StaffUser).where(StaffUser.id.in_(ids)))
    return {user.id: people.practitioner(user) for user in users}


PRACTITIONER = search.Source(
    key="staff", row=StaffUser.id,
    updated=func.coalesce(StaffUser.deactivated_at, StaffUser.created_at),
    base=_staff, load=_load_staff, profile=us_core("practitioner"), prefix="staff-",
    filters={
        "identifier": search.column_tokens(StaffUser.id, STAFF_SYSTEM,
                                           lambda code: int(code) if code.isdigit() else -1),
        # Full names are matched without case (ASCII letters only: no folded column here).
        "name": search.name_words(func.lower(" " + StaffUser.full_name + " ")),
    },
)


def _newest_profile(query: Select[Any]) -> Select[Any]:
    newest = select(func.max(ClinicProfile.id)).scalar_subquery()
    return query.select_from(ClinicProfile).where(ClinicProfile.id == newest)


def _load_profile(session: Session, ids: Sequence[int]) -> Mapping[int, Resource]:
    profiles = session.scalars(select(ClinicProfile).where(ClinicProfile.id.in_(ids)))
    return {profile.id: people.organization(profile) for profile in profiles}


# One clinic, one Organization: its id stays "clinic" as the profile gains versions.
ORGANIZATION = search.Source(
    key="clinic", row=ClinicProfile.id, updated=ClinicProfile.saved_at, base=_newest_profile,
    load=_load_profile, profile=us_core("organization"), fixed_id="clinic",
)
