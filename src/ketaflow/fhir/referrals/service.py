"""Import a referral: a transaction Bundle recorded through the patients domain's own use
cases (so every rule and audit event of a hand-entered record applies), or nothing at all.

Never commits: the route's unit of work (or the CLI's transaction) commits once this returns,
and rolls back whatever was flushed if it raises, so a refusal anywhere saves nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session

from ketaflow.audit.service import AuditContext, record_event
from ketaflow.db import utcnow
from ketaflow.errors import Conflict, FieldProblem, KetaflowError, ValidationFailed
from ketaflow.fhir.codes import Resource
from ketaflow.fhir.referrals import bundle, mapping
from ketaflow.fhir.referrals.bundle import Entry
from ketaflow.fhir.referrals.models import PatientIdentifier
from ketaflow.fhir.sources import clinical, people
from ketaflow.patients import medication_catalogue as catalogue
from ketaflow.patients import service as patients
from ketaflow.patients.diagnosis_codes import icd10_code
from ketaflow.patients.models import Allergy, Medication, NoKnownAllergies, Patient
from ketaflow.patients.service.registry import normalise_mrn

ENTITY = "Bundle"
CREATED, MATCHED = "201 Created", "200 OK"
IDENTIFIER_MAX = 255

# The patients services name their own fields; the referral's element for each.
_PATIENT_FIELDS = {"given_name": "name[0].given", "family_name": "name[0].family",
                   "date_of_birth": "birthDate", "phone": "telecom", "email": "telecom",
                   "address": "address", "mrn": "identifier"}
_DIAGNOSIS_FIELDS = {"onset_date": "onsetDateTime", "current_episode": "code",
                     "severity": "code"}
_MEDICATION_FIELDS = {"drug_name": "medicationCodeableConcept", "drug_class": "category",
                      "dose_amount": "dosage[0]", "above_max_daily_dose_reason": "dosage[0]",
                      "start_date": "effectivePeriod.start", "stop_date": "effectivePeriod.end",
                      "note": "note"}
_ALLERGY_FIELDS = {"substance": "code", "reaction": "reaction[0].manifestation",
                   "no_known_allergies": "code"}


@dataclass(frozen=True)
class Written:
    """What one entry did: created or matched, and the resource it is now."""

    status: str
    resource_type: str
    resource_id: str
    patient_id: int


def import_bundle(session: Session, ctx: AuditContext, *, body: bytes) -> Resource:
    """Record the referral and answer the transaction-response Bundle (one entry per request
    entry, in order). Raises, naming the element, on the first thing that cannot be recorded."""
    entries = bundle.parse(body)
    referrals = _map(entries)
    written: dict[int, Written] = {}
    patient_ids: dict[str, int] = {}
    for entry in entries:  # patients first: the other entries need their ids
        if entry.resource_type == bundle.PATIENT:
            result = _patient(session, ctx, entry, referrals[entry.index])
            written[entry.index] = result
            patient_ids[str(entry.full_url)] = result.patient_id
    for entry in entries:
        if entry.resource_type != bundle.PATIENT:
            patient_id = patient_ids[bundle.patient_url(entry)]
            written[entry.index] = _clinical(session, ctx, entry, referrals[entry.index],
                                             patient_id)
    results = [written[entry.index] for entry in entries]
    _audit(session, ctx, results)
    return _response(results)


def _map(entries: Sequence[Entry]) -> dict[int, object]:
    """Every entry read before anything is written, each refusal gathered (422)."""
    readers = {"Patient": mapping.patient, "Condition": mapping.condition,
               "MedicationStatement": mapping.medication, "AllergyIntolerance": mapping.allergy}
    found: dict[int, object] = {}
    problems: list[FieldProblem] = []
    for entry in entries:
        try:
            found[entry.index] = readers[entry.resource_type](entry)
        except ValidationFailed as exc:
            problems += exc.problems
    if problems:
        raise ValidationFailed.of(problems)
    return found


@contextmanager
def _naming(entry: Entry, fields: Mapping[str, str]) -> Iterator[None]:
    """A refusal of a patients service, re-raised naming the referral's element."""
    try:
        yield
    except KetaflowError as exc:
        problems = [FieldProblem(entry.at(fields.get(p.field or "", "")), p.detail)
                    for p in exc.problems]
        raise type(exc)(exc.detail, field=problems[0].field, problems=problems) from None


# ------------------------------------------------------------------------------ patients


def _patient(session: Session, ctx: AuditContext, entry: Entry, referral: object) -> Written:
    assert isinstance(referral, mapping.PatientReferral)
    _check_lengths(entry, referral)
    matched = _match(session, entry, referral)
    if matched is not None:
        born = patients.patient_identity(session, matched)
        if born is None or born.date_of_birth != referral.demographics.date_of_birth:
            raise Conflict("the patient this identifier names has another date of birth: "
                           "check the referral (it was not merged)", field=entry.at("birthDate"))
        _store_identifiers(session, ctx, matched, referral)
        return Written(MATCHED, "Patient", people.PATIENT.fhir_id(matched), matched)
    try:
        with _naming(entry, _PATIENT_FIELDS):
            patient = patients.register_patient(session, ctx, demographics=referral.demographics)
    except Conflict as exc:
        if exc.field != entry.at():
            raise
        raise Conflict("a patient with this name and date of birth is already registered "
                       "without this identifier: check whether it is the same person and, if "
                       "so, send our MRN as an identifier", field=entry.at()) from None
    _store_identifiers(session, ctx, patient.id, referral)
    return Written(CREATED, "Patient", people.PATIENT.fhir_id(patient.id), patient.id)


def _check_lengths(entry: Entry, referral: mapping.PatientReferral) -> None:
    for system, value in referral.identifiers:
        if len(system) > IDENTIFIER_MAX or len(value) > IDENTIFIER_MAX:
            raise ValidationFailed(f"an identifier's system and value may be at most "
                                   f"{IDENTIFIER_MAX} characters", field=entry.at("identifier"))


def _match(session: Session, entry: Entry, referral: mapping.PatientReferral) -> int | None:
    """Our MRN names the patient; another system's identifier names the patient it was stored
    against by an earlier referral. Two that name different patients are refused."""
    found: set[int] = set()
    if referral.mrn is not None:
        by_mrn = session.scalar(select(Patient.id).where(
            Patient.mrn == normalise_mrn(referral.mrn)))
        if by_mrn is None:
            raise ValidationFailed("no patient has this MRN (an identifier in our MRN system "
                                   "must name a registered patient)",
                                   field=entry.at("identifier"))
        found.add(by_mrn)
    others = referral.other_identifiers
    if others:
        stored = session.execute(select(PatientIdentifier.system, PatientIdentifier.value,
                                        PatientIdentifier.patient_id)
                                 .where(PatientIdentifier.system.in_({s for s, _ in others}),
                                        PatientIdentifier.value.in_({v for _, v in others})))
        found |= {patient_id for system, value, patient_id in stored
                  if (system, value) in others}
    if len(found) > 1:
        raise Conflict("the patient's identifiers name different patients here: check the "
                       "referral (nothing was merged)", field=entry.at("identifier"))
    return found.pop() if found else None


def _store_identifiers(session: Session, ctx: AuditContext, patient_id: int,
                       referral: mapping.PatientReferral) -> None:
    """Keep the sending systems' identifiers, so the next referral finds this patient."""
    known = set(session.execute(select(PatientIdentifier.system, PatientIdentifier.value)
                                .where(PatientIdentifier.patient_id == patient_id)).tuples())
    new = [pair for pair in referral.other_identifiers if pair not in known]
    session.add_all(PatientIdentifier(patient_id=patient_id, system=system, value=value,
                                      recorded_by_user_id=ctx.actor_user_id)
                    for system, value in new)
    if new:
        try:
            session.flush()
        except IntegrityError:  # the same identifier stored by an import running alongside
            raise Conflict("another import of this patient was recorded at the same time: "
                           "post the referral again (it will match)") from None
        record_event(session, ctx, action="patient.identifiers.add", entity_type="patient",
                     entity_id=patient_id, detail={"count": len(new)})


# ------------------------------------------------------------------------------ clinical


def _clinical(session: Session, ctx: AuditContext, entry: Entry, referral: object,
              patient_id: int) -> Written:
    if isinstance(referral, patients.DiagnosisInput):
        return _condition(session, ctx, entry, referral, patient_id)
    if isinstance(referral, patients.MedicationInput):
        return _medication(session, ctx, entry, referral, patient_id)
    assert isinstance(referral, mapping.AllergyReferral)
    return _allergy(session, ctx, entry, referral, patient_id)


def _condition(session: Session, ctx: AuditContext, entry: Entry,
               diagnosis: patients.DiagnosisInput, patient_id: int) -> Written:
    """One current diagnosis per patient: the same one again is a match; a different one is
    refused (a referral does not revise the clinic's diagnosis; the clinician does)."""
    current = patients.current_diagnosis(session, patient_id=patient_id)
    if current is not None:
        code = icd10_code(diagnosis.bipolar_type, diagnosis.current_episode,
                          diagnosis.severity)
        if current.icd10_code != code or current.bipolar_type is not diagnosis.bipolar_type:
            raise Conflict("the patient already has another current diagnosis: revise it on "
                           "the patient's record (a referral does not replace it)",
                           field=entry.at("code"))
        return Written(MATCHED, "Condition", clinical.CONDITION.fhir_id(current.id), patient_id)
    with _naming(entry, _DIAGNOSIS_FIELDS):
        row = patients.record_diagnosis(session, ctx, patient_id=patient_id,
                                        diagnosis=diagnosis)
    return Written(CREATED, "Condition", clinical.CONDITION.fhir_id(row.id), patient_id)


def _medication(session: Session, ctx: AuditContext, entry: Entry,
                medication: patients.MedicationInput, patient_id: int) -> Written:
    """Matched when the record has the same drug, dose, unit and dates (not in error)."""
    drug = catalogue.lookup(medication.drug_name)
    name = drug.name if drug is not None else medication.drug_name.strip()
    same = session.scalar(select(Medication.id).where(
        Medication.patient_id == patient_id, Medication.drug_name == name,
        Medication.dose_amount == medication.dose_amount,
        Medication.dose_unit == medication.dose_unit,
        _same_day(Medication.start_date, medication.start_date),
        _same_day(Medication.stop_date, medication.stop_date),
        Medication.entered_in_error_at.is_(None)).limit(1))
    if same is not None:
        return Written(MATCHED, "MedicationStatement",
                       clinical.MEDICATION_STATEMENT.fhir_id(same), patient_id)
    with _naming(entry, _MEDICATION_FIELDS):
        row = patients.add_medication(session, ctx, patient_id=patient_id,
                                      medication=medication)
    return Written(CREATED, "MedicationStatement", clinical.MEDICATION_STATEMENT.fhir_id(row.id),
                   patient_id)


def _same_day(column: InstrumentedAttribute[date | None], value: date | None
              ) -> ColumnElement[bool]:
    return column.is_(None) if value is None else column == value


def _allergy(session: Session, ctx: AuditContext, entry: Entry,
             allergy: mapping.AllergyReferral, patient_id: int) -> Written:
    """Matched by substance (ignoring case); "no known allergies" by the statement in force."""
    if allergy.none_known:
        return _no_known(session, ctx, entry, patient_id)
    same = session.scalar(select(Allergy.id).where(
        Allergy.patient_id == patient_id,
        func.lower(Allergy.substance) == allergy.substance.strip().lower()).limit(1))
    if same is not None:
        return Written(MATCHED, "AllergyIntolerance", clinical.ALLERGY.fhir_id(same), patient_id)
    with _naming(entry, _ALLERGY_FIELDS):
        row = patients.record_allergy(session, ctx, patient_id=patient_id,
                                      substance=allergy.substance, reaction=allergy.reaction,
                                      severity=allergy.severity)
    return Written(CREATED, "AllergyIntolerance", clinical.ALLERGY.fhir_id(row.id), patient_id)


def _no_known(session: Session, ctx: AuditContext, entry: Entry, patient_id: int) -> Written:
    current = session.scalar(select(NoKnownAllergies.id).where(
        NoKnownAllergies.patient_id == patient_id, NoKnownAllergies.superseded_at.is_(None)))
    if current is not None:
        return Written(MATCHED, "AllergyIntolerance",
                       clinical.NO_KNOWN_ALLERGIES.fhir_id(current), patient_id)
    with _naming(entry, _ALLERGY_FIELDS):
        row = patients.record_no_known_allergies(session, ctx, patient_id=patient_id)
    return Written(CREATED, "AllergyIntolerance", clinical.NO_KNOWN_ALLERGIES.fhir_id(row.id),
                   patient_id)


# ------------------------------------------------------------------------------ answer


def _audit(session: Session, ctx: AuditContext, results: Sequence[Written]) -> None:
    """Counts and ids only: nothing the referral said about the patient."""
    def counts(status: str) -> dict[str, int]:
        return dict(sorted(Counter(r.resource_type for r in results
                                   if r.status == status).items()))

    record_event(session, ctx, action="fhir.import", entity_type=ENTITY,
                 detail={"entries": len(results), "created": counts(CREATED),
                         "matched": counts(MATCHED),
                         "patient_ids": sorted({r.patient_id for r in results})[:100]})


def _response(results: Sequence[Written]) -> Resource:
    return {
        "resourceType": "Bundle",
        "type": "transaction-response",
        "timestamp": utcnow().isoformat(timespec="milliseconds"),
        "entry": [{"response": {"status": r.status,
                                "location": f"{r.resource_type}/{r.resource_id}"}}
                  for r in results],
    }
