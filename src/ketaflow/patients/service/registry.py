"""Registering patients, finding them, and amending their demographics (never overwriting)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, fields
from datetime import date

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select
from sqlalchemy.orm import Session

from ketaflow.audit.service import AuditContext, record_event
from ketaflow.clinical import dates
from ketaflow.db import utcnow
from ketaflow.errors import Conflict, ValidationFailed, collect_problems
from ketaflow.patients.models import Patient, PatientDemographics, Sex
from ketaflow.patients.search_text import query_words
from ketaflow.patients.service._common import (
    ENTITY,
    audit,
    clean_text,
    current_demographics,
    get_patient,
    person_name,
    required_text,
    today,
)

GENERATED_MRN_PREFIX = "KF-"
_GENERATED_MRN = re.compile(r"^KF-\d+$")
_MRN = re.compile(r"^[A-Z0-9][A-Z0-9./-]{0,31}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9 ()./-]{6,40}$")
SEARCH_LIMIT = 50


@dataclass(frozen=True)
class Demographics:
    """Who the patient is, as entered; validated by `validate_demographics`."""

    given_name: str
    family_name: str
    date_of_birth: date
    sex: Sex
    phone: str | None = None
    email: str | None = None
    address: str | None = None
    emergency_contact_name: str | None = None
    emergency_contact_phone: str | None = None
    referring_clinician: str | None = None

    def values(self) -> dict[str, object]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class PatientSummary:
    """A search hit or list row: the patient and their current demographics."""

    patient: Patient
    demographics: PatientDemographics


def validate_demographics(value: Demographics) -> Demographics:
    """Return the cleaned demographics or raise ValidationFailed naming every bad field (by its
    label on the registration form)."""
    with collect_problems() as check:
        check(dates.birth_date, value.date_of_birth, today=today(), label="Date of birth")
        email = check(clean_text, value.email, "email", "Email", max_length=254)
        if email and not _EMAIL.match(email):
            check.add("email", "Email is not a valid address")
        phones = {field: check(_phone, getattr(value, field), field, label)
                  for field, label in (("phone", "Phone"),
                                       ("emergency_contact_phone", "Emergency contact phone"))}
        given = check(person_name, value.given_name, "given_name", "Given name", max_length=100,
                      required=True)
        family = check(person_name, value.family_name, "family_name", "Family name",
                       max_length=100, required=True)
        address = check(clean_text, value.address, "address", "Address", max_length=1000)
        contact = check(person_name, value.emergency_contact_name, "emergency_contact_name",
                        "Emergency contact name", max_length=200)
        referrer = check(person_name, value.referring_clinician, "referring_clinician",
                         "Referring clinician", max_length=200)
    assert given is not None and family is not None  # required=True never returns None
    return Demographics(
        given_name=given,
        family_name=family,
        date_of_birth=value.date_of_birth,
        sex=Sex(value.sex),
        phone=phones["phone"],
        email=email,
        address=address,
        emergency_contact_name=contact,
        emergency_contact_phone=phones["emergency_contact_phone"],
        referring_clinician=referrer,
    )


def _phone(value: str | None, field: str, label: str) -> str | None:
    phone = clean_text(value, field, label, max_length=40)
    if phone and (not _PHONE.match(phone) or sum(c.isdigit() for c in phone) < 6):
        raise ValidationFailed(f"{label} must be digits, spaces and + ( ) - only", field=field)
    return phone


def normalise_mrn(mrn: str) -> str:
    return "".join(mrn.split()).upper()


SAME_PERSON_FIELD = "confirm_same_person"
SAME_PERSON_LABEL = "This is a different person with the same name and date of birth"


def register_patient(
    session: Session, ctx: AuditContext, *, demographics: Demographics, mrn: str | None = None,
    confirm_same_person: bool = False,
) -> Patient:
    """Register a patient. Without an MRN one is generated (KF-000123) from the patient id.

    A patient whose current name and date of birth match one already registered is most
    often the same person registered twice: refused unless `confirm_same_person` says the
    user checked and it is someone else (the audit event records the confirmation)."""
    clean = validate_demographics(demographics)
    entered = normalise_mrn(mrn) if mrn and mrn.strip() else None
    if entered is not None:
        _check_entered_mrn(session, entered)
    same = _same_name_and_birth(session, clean)
    if same and not confirm_same_person:
        raise Conflict(
            "a patient with this name and date of birth is already registered: open the "
            "patient list to check, or tick the box to confirm this is a different person "
            f"({SAME_PERSON_LABEL.lower()})", field=SAME_PERSON_FIELD)
    # A unique placeholder until the id is known; the KF- namespace is reserved for generated
    # numbers, so a generated MRN can never collide with an entered one.
    patient = Patient(mrn=entered or f"pending-{uuid.uuid4().hex[:24]}")
    session.add(patient)
    session.flush()
    if entered is None:
        patient.mrn = f"{GENERATED_MRN_PREFIX}{patient.id:06d}"
    session.add(
        PatientDemographics(
            patient_id=patient.id,
            version=1,
            recorded_by_user_id=ctx.actor_user_id,
            **clean.values(),
        )
    )
    session.flush()
    audit(session, ctx, "patient.register", patient.id, mrn_generated=entered is None,
          **({"confirmed_same_name_and_birth": True} if same else {}))
    return patient


def _same_name_and_birth(session: Session, value: Demographics) -> bool:
    """Whether a patient with these current names (ignoring case) and birth date exists."""
    found = session.scalar(
        select(PatientDemographics.id).where(
            PatientDemographics.superseded_at.is_(None),
            PatientDemographics.date_of_birth == value.date_of_birth,
            func.lower(PatientDemographics.family_name) == value.family_name.lower(),
            func.lower(PatientDemographics.given_name) == value.given_name.lower(),
        ).limit(1))
    return found is not None


def _check_entered_mrn(session: Session, mrn: str) -> None:
    if _GENERATED_MRN.match(mrn):
        raise ValidationFailed(
            "medical-record numbers starting KF- followed by digits are generated; leave the "
            "field empty to get one",
            field="mrn",
        )
    if not _MRN.match(mrn):
        raise ValidationFailed(
            "medical-record number must be 1-32 letters, digits, '.', '/' or '-'", field="mrn"
        )
    if session.scalar(select(Patient.id).where(Patient.mrn == mrn)) is not None:
        raise Conflict("medical-record number is already in use by another patient", field="mrn")


def amend_demographics(
    session: Session,
    ctx: AuditContext,
    *,
    patient_id: int,
    demographics: Demographics,
    reason: str,
) -> PatientDemographics:
    """Correct demographics: the current version is kept and superseded by a new one."""
    get_patient(session, patient_id)
    why = required_text(reason, "reason", "reason for the amendment", max_length=500)
    clean = validate_demographics(demographics)
    current = current_demographics(session, patient_id)
    changed = [name for name, value in clean.values().items() if getattr(current, name) != value]
    if not changed:
        raise ValidationFailed("nothing was changed: edit a field or cancel")
    current.superseded_at = utcnow()
    session.flush()
    amended = PatientDemographics(
        patient_id=patient_id,
        version=current.version + 1,
        recorded_by_user_id=ctx.actor_user_id,
        amendment_reason=why,
        **clean.values(),
    )
    session.add(amended)
    session.flush()
    audit(session, ctx, "patient.amend", patient_id, fields=changed, version=amended.version)
    return amended


def demographics_history(
    session: Session, ctx: AuditContext, *, patient_id: int
) -> list[PatientDemographics]:
    """Every version, oldest first (reading identifiable history is audited)."""
    get_patient(session, patient_id)
    query = (
        select(PatientDemographics)
        .where(PatientDemographics.patient_id == patient_id)
        .order_by(PatientDemographics.version)
    )
    versions = list(session.scalars(query))
    audit(session, ctx, "patient.read", patient_id, scope="demographics_history")
    return versions


def _current_versions() -> Select[tuple[Patient, PatientDemographics]]:
    return select(Patient, PatientDemographics).join(
        PatientDemographics,
        and_(
            PatientDemographics.patient_id == Patient.id,
            PatientDemographics.superseded_at.is_(None),
        ),
    )


def search_patients(
    session: Session, ctx: AuditContext, *, query: str, limit: int = SEARCH_LIMIT
) -> list[PatientSummary]:
    """Find patients by name ("Last, First", "First Last" or a part of either: every word
    must start a word of the given or family name), MRN (or part of it) or date of birth
    (YYYY-MM-DD or DD/MM/YYYY), ignoring case and accents. An empty query lists the most
    recently registered."""
    statement = _current_versions()
    if query.strip():
        statement = statement.where(_search_condition(query.strip())).order_by(
            PatientDemographics.family_name, PatientDemographics.given_name, Patient.id
        )
    else:
        statement = statement.order_by(Patient.id.desc())
    rows = session.execute(statement.limit(limit)).tuples().all()
    # Which records were shown, by id: the query text may be a name, so it is never recorded.
    record_event(
        session,
        ctx,
        action="patient.search",
        entity_type=ENTITY,
        detail={"results": len(rows), "patient_ids": [patient.id for patient, _ in rows]},
    )
    return [PatientSummary(patient, demographics) for patient, demographics in rows]


def _search_condition(text: str) -> ColumnElement[bool]:
    options: list[ColumnElement[bool]] = []
    words = query_words(text)
    if words:
        # " smi" within " john smith ": each word matches the start of a name word, in any
        # order, so "Smith, John", "John Smith" and "smi" all find John Smith.
        options.append(and_(*(
            PatientDemographics.search_name.contains(f" {word}", autoescape=True)
            for word in words)))
    mrn = normalise_mrn(text)
    if mrn:
        options.append(func.upper(Patient.mrn).contains(mrn, autoescape=True))
    birth = parse_birth_date(text)
    if birth is not None:
        options.append(PatientDemographics.date_of_birth == birth)
    return or_(*options) if options else false()


_DAY_MONTH_YEAR = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")


def parse_birth_date(text: str) -> date | None:
    """A date typed into the search box: ISO (1980-03-14) or day/month/year (14/03/1980),
    the order a clinic outside the US writes; anything else is not a date."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    found = _DAY_MONTH_YEAR.fullmatch(text)
    if found is None:
        return None
    day, month, year = (int(part) for part in found.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None
