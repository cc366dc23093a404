"""Each referral resource as the patients domain's input: the inverse of `fhir.mappers`.

Pure (no database): what a resource says is read here, and refused here, naming the element,
when ketaflow cannot record it faithfully. Matching and writing are `service`'s.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ketaflow.errors import ValidationFailed
from ketaflow.fhir.codes import ICD10CM, MRN_SYSTEM, SNOMED
from ketaflow.fhir.mappers.allergies import NO_KNOWN_ALLERGY, NO_REACTION
from ketaflow.fhir.referrals.bundle import Entry
from ketaflow.patients import medication_catalogue as catalogue
from ketaflow.patients.diagnosis_codes import (
    BipolarType,
    Episode,
    Severity,
    icd10_code,
    snomed_code,
)
from ketaflow.patients.medication_catalogue import CLASS_LABELS, DoseUnit, DrugClass
from ketaflow.patients.models import Adherence, AllergySeverity, Sex, SubstanceUse
from ketaflow.patients.service import Demographics, DiagnosisInput, MedicationInput

# Administrative gender back to sex at birth, as the Patient search reads it
# (`fhir.sources.people`); a gender not stated is unknown.
_SEX = {"female": Sex.FEMALE, "male": Sex.MALE, "other": Sex.INTERSEX, "unknown": Sex.UNKNOWN}


def _diagnoses() -> dict[str, tuple[BipolarType, Episode, Severity | None]]:
    """Every ICD-10-CM code the diagnosis form can produce, back to what produced it. Bipolar
    II has one code (F31.81) for every episode: read as a depressive one (see `condition`)."""
    found: dict[str, tuple[BipolarType, Episode, Severity | None]] = {}
    for kind, episode, severity in itertools.product(
            (BipolarType.BIPOLAR_II, BipolarType.BIPOLAR_I), Episode, (None, *Severity)):
        try:
            code = icd10_code(kind, episode, severity)
        except ValueError:
            continue
        if kind is BipolarType.BIPOLAR_II and episode is not Episode.DEPRESSED:
            continue
        found.setdefault(code, (kind, episode, severity))
    return found


ICD10_DIAGNOSES = _diagnoses()
SNOMED_TYPES = {snomed_code(kind): kind for kind in BipolarType}
# What the referral cannot say (a Condition has no element for them): recorded with the
# diagnosis so the clinician sees the history is still to be taken.
HISTORY_NOT_STATED = ("Imported from a referral: psychosis history, substance use and suicide "
                      "attempts were not stated; take the history at intake.")


@dataclass(frozen=True)
class PatientReferral:
    identifiers: tuple[tuple[str, str], ...]
    demographics: Demographics

    @property
    def mrn(self) -> str | None:
        return next((value for system, value in self.identifiers if system == MRN_SYSTEM), None)

    @property
    def other_identifiers(self) -> tuple[tuple[str, str], ...]:
        return tuple(i for i in self.identifiers if i[0] != MRN_SYSTEM)


@dataclass(frozen=True)
class AllergyReferral:
    substance: str
    reaction: str | None
    severity: AllergySeverity
    # The "no known allergy" code: recorded as that statement, not as an allergy.
    none_known: bool = False


def _refuse(field: str, detail: str) -> ValidationFailed:
    return ValidationFailed(detail, field=field)


def patient(entry: Entry) -> PatientReferral:
    r = entry.resource
    identifiers = tuple(dict.fromkeys((str(i.system), str(i.value)) for i in r.identifier or ()
                                      if i.system and i.value))
    if not identifiers:
        raise _refuse(entry.at("identifier"), "a referred patient needs an identifier with a "
                      "system and a value (the sending system's, or our MRN)")
    name = _name(entry)
    gender = str(r.gender or "unknown")
    if gender not in _SEX:
        raise _refuse(entry.at("gender"), "gender must be female, male, other or unknown")
    if not isinstance(r.birthDate, date):
        raise _refuse(entry.at("birthDate"), "the full date of birth is required (YYYY-MM-DD)")
    phone = next((t.value for t in r.telecom or () if t.system == "phone" and t.value), None)
    email = next((t.value for t in r.telecom or () if t.system == "email" and t.value), None)
    return PatientReferral(identifiers, Demographics(
        given_name=" ".join(name.given or ()), family_name=str(name.family or ""),
        date_of_birth=r.birthDate, sex=_SEX[gender], phone=phone, email=email,
        address=_address(r.address)))


def _name(entry: Entry) -> Any:
    names = entry.resource.name or ()
    name = next((n for n in names if n.use == "official"), names[0] if names else None)
    if name is None or not name.family or not name.given:
        raise _refuse(entry.at("name"), "a family name and a given name are required")
    return name


def _address(addresses: Any) -> str | None:
    for address in addresses or ():
        if address.text:
            return str(address.text)
        parts = [*(address.line or ()), address.city, address.state, address.postalCode,
                 address.country]
        text = ", ".join(str(p) for p in parts if p)
        if text:
            return text
    return None


def condition(entry: Entry) -> DiagnosisInput:
    """A bipolar diagnosis, from its ICD-10-CM F31 code (type, episode and severity) or, for
    bipolar II, its SNOMED CT concept; the two must agree when both are sent."""
    r = entry.resource
    status = _code_of(r.clinicalStatus)
    if status not in (None, "active"):
        raise _refuse(entry.at("clinicalStatus"), "only an active diagnosis is imported")
    kind, episode, severity = _diagnosis_code(entry)
    return DiagnosisInput(
        bipolar_type=kind, current_episode=episode, severity=severity,
        psychosis_history=False, substance_use=SubstanceUse.NONE, suicide_attempts=0,
        onset_date=_onset(entry), substance_use_note=HISTORY_NOT_STATED)


def _diagnosis_code(entry: Entry) -> tuple[BipolarType, Episode, Severity | None]:
    codings = list(enumerate(entry.resource.code.coding or ())) if entry.resource.code else []
    icd = [(i, ICD10_DIAGNOSES.get(str(c.code))) for i, c in codings if c.system == ICD10CM]
    snomed = [(i, SNOMED_TYPES.get(str(c.code))) for i, c in codings if c.system == SNOMED]
    known_icd = [(i, found) for i, found in icd if found is not None]
    known_snomed = [(i, kind) for i, kind in snomed if kind is not None]
    if known_icd:
        found = known_icd[0][1]
        for at, kind in known_snomed:
            if kind is not found[0]:
                raise _refuse(entry.at(f"code.coding[{at}]"), "the SNOMED CT code names "
                              "another bipolar type than the ICD-10-CM code")
        return found
    if any(kind is BipolarType.BIPOLAR_II for _, kind in known_snomed):
        return BipolarType.BIPOLAR_II, Episode.DEPRESSED, None
    if known_snomed:
        raise _refuse(entry.at("code"), "SNOMED CT bipolar I disorder does not say the current "
                      "episode: send the ICD-10-CM F31 code as well")
    raise _refuse(entry.at("code"), "not a diagnosis ketaflow records: send an ICD-10-CM "
                  "F31 code (bipolar I or II) or SNOMED CT 83225003 (bipolar II)")


def _onset(entry: Entry) -> date | None:
    r = entry.resource
    value = r.onsetDateTime or (r.onsetPeriod.start if r.onsetPeriod else None)
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raise _refuse(entry.at("onsetDateTime"), "the onset must be a full date (YYYY-MM-DD)")


def _code_of(concept: Any) -> str | None:
    codings = concept.coding or () if concept is not None else ()
    return next((str(c.code) for c in codings if c.code), None)


def medication(entry: Entry) -> MedicationInput:
    r = entry.resource
    if r.status == "entered-in-error":
        raise _refuse(entry.at("status"), "an entry made in error is not imported")
    if r.medicationCodeableConcept is None:
        raise _refuse(entry.at("medicationReference"), "name the drug in "
                      "medicationCodeableConcept (a Medication reference is not supported)")
    name = _text(r.medicationCodeableConcept)
    if name is None:
        raise _refuse(entry.at("medicationCodeableConcept"), "the drug's name is required "
                      "(text or a coding's display)")
    amount, unit = _dose(entry)
    start, stop = _period(entry)
    notes = "\n".join(str(n.text) for n in r.note or () if n.text) or None
    return MedicationInput(drug_name=name, dose_amount=amount, dose_unit=unit,
                           adherence=Adherence.UNKNOWN, drug_class=_drug_class(entry, name),
                           start_date=start, stop_date=stop, note=notes)


def _text(concept: Any) -> str | None:
    if concept.text:
        return str(concept.text)
    return next((str(c.display) for c in concept.coding or () if c.display), None)


def _drug_class(entry: Entry, name: str) -> DrugClass | None:
    """None for a catalogue drug (the catalogue knows its class); otherwise the class the
    referral states in `category`, as our MedicationStatement writes it ("Antidepressants")."""
    if catalogue.lookup(name) is not None:
        return None
    category = entry.resource.category
    text = (_text(category) or "").strip().lower() if category is not None else ""
    for kind, label in CLASS_LABELS.items():
        if text in (label.lower(), kind.value, kind.value.replace("_", " ")):
            return kind
    raise _refuse(entry.at("category"), "this drug is not in ketaflow's catalogue: state its "
                  "class in category.text (" + ", ".join(CLASS_LABELS.values()) + ")")


# UCUM amount and period units back to the record's dose units.
_UNITS = {("mg", "d"): DoseUnit.MG_PER_DAY, ("ug", "d"): DoseUnit.MCG_PER_DAY,
          ("mg", "wk"): DoseUnit.MG_PER_WEEK, ("mg", "mo"): DoseUnit.MG_PER_MONTH}


def _dose(entry: Entry) -> tuple[float, DoseUnit]:
    """The total per day (week, month), as the record keeps it: a rateRatio (as our
    MedicationStatement sends it) or a doseQuantity with its timing's frequency and period."""
    where = "dosage[0]"
    dosage = (entry.resource.dosage or [None])[0]
    for rate in (dosage.doseAndRate or ()) if dosage is not None else ():
        ratio, dose = rate.rateRatio, rate.doseQuantity
        if ratio is not None and ratio.numerator and ratio.denominator:
            per = _number(ratio.denominator.value)
            unit = _UNITS.get((_unit(ratio.numerator), _unit(ratio.denominator)))
            if unit is not None and per == 1:
                return _number(ratio.numerator.value), unit
        if dose is not None and dosage.timing is not None and dosage.timing.repeat is not None:
            repeat = dosage.timing.repeat
            unit = _UNITS.get((_unit(dose), str(repeat.periodUnit)))
            period = _number(repeat.period)
            if unit is not None and period > 0:
                return _number(dose.value) * _number(repeat.frequency or 1) / period, unit
    raise _refuse(entry.at(where), "the dose is required as an amount per day, week or month: "
                  "doseAndRate.rateRatio (mg or ug over 1 d, wk or mo) or doseQuantity (mg or "
                  "ug) with timing.repeat frequency, period and periodUnit (d, wk or mo)")


def _unit(quantity: Any) -> str:
    return str(quantity.code or quantity.unit or "")


def _number(value: Decimal | int | float | None) -> float:
    return 0.0 if value is None else float(value)


def _period(entry: Entry) -> tuple[date | None, date | None]:
    r = entry.resource
    if r.effectivePeriod is not None:
        return (_day(entry, "effectivePeriod.start", r.effectivePeriod.start),
                _day(entry, "effectivePeriod.end", r.effectivePeriod.end))
    return _day(entry, "effectiveDateTime", r.effectiveDateTime), None


def _day(entry: Entry, element: str, value: object) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raise _refuse(entry.at(element), "must be a full date (YYYY-MM-DD)")


_SEVERITY = {"mild": AllergySeverity.MILD, "moderate": AllergySeverity.MODERATE,
             "severe": AllergySeverity.SEVERE}


def allergy(entry: Entry) -> AllergyReferral:
    r = entry.resource
    status = _code_of(r.clinicalStatus)
    if status not in (None, "active"):
        raise _refuse(entry.at("clinicalStatus"), "only an active allergy is imported")
    codings = r.code.coding or () if r.code is not None else ()
    if any(c.system == SNOMED and c.code == NO_KNOWN_ALLERGY[0] for c in codings):
        return AllergyReferral("", None, AllergySeverity.UNKNOWN, none_known=True)
    substance = _text(r.code) if r.code is not None else None
    if substance is None:
        raise _refuse(entry.at("code"), "the substance is required (code.text or a coding's "
                      "display)")
    reactions = r.reaction or ()
    manifestations = [m for reaction in reactions for m in reaction.manifestation or ()]
    described = "; ".join(t for t in (_text(m) for m in manifestations)
                          if t and t != NO_REACTION) or None
    severity = next((_SEVERITY[str(x.severity)] for x in reactions
                     if x.severity in _SEVERITY), AllergySeverity.UNKNOWN)
    return AllergyReferral(substance, described, severity)
