"""Every resource type served under /fhir/R4: the one list the routes, the searches and the
CapabilityStatement all read, so the statement lists exactly what is served."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ketaflow.auth.permissions import Permission
from ketaflow.fhir.search import ID, LAST_UPDATED, Kind, Parameter, Source
from ketaflow.fhir.sources import audit as audit_trail
from ketaflow.fhir.sources import (
    booking,
    clinical,
    courses,
    infusions,
    observations,
    people,
    questionnaires,
)
from ketaflow.scales.fhir import QUESTIONNAIRE_BASE

PATIENT_PARAMETER = Parameter("patient", Kind.REFERENCE, "The patient the record is about",
                              target="Patient")
CATEGORY = Parameter("category", Kind.TOKEN, "The category (system|code or code)")
CODE = Parameter("code", Kind.TOKEN, "The code (system|code or code), e.g. LOINC")
STATUS = Parameter("status", Kind.TOKEN, "The status (code or system|code)")


@dataclass(frozen=True)
class ResourceType:
    name: str
    permission: Permission
    sources: tuple[Source, ...]
    parameters: tuple[Parameter, ...] = ()
    # The element holding the patient reference (for `<Type>:patient` includes), if any; a
    # dotted path walks into lists (Appointment's "participant.actor").
    patient_element: str | None = None
    documentation: str = ""
    # In the bulk export ($export): every clinical type; not the audit trail, which grows with
    # every request (the export's own included) and has its own export (/admin/audit.csv).
    exported: bool = True

    @property
    def search_parameters(self) -> Mapping[str, Parameter]:
        return {p.name: p for p in (ID, LAST_UPDATED, *self.parameters)}

    @property
    def includes(self) -> frozenset[str]:
        return frozenset({f"{self.name}:patient"} if self.patient_element else ())

    @property
    def profiles(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.profile for s in self.sources if s.profile is not None))


def _date(name: str, documentation: str, *, calendar: bool = False) -> Parameter:
    return Parameter(name, Kind.DATE, documentation, calendar=calendar)


CLINICAL = Permission.PATIENTS_CLINICAL_READ
DEMOGRAPHICS = Permission.PATIENTS_DEMOGRAPHICS

TYPES: tuple[ResourceType, ...] = (
    ResourceType(
        "Patient", DEMOGRAPHICS, (people.PATIENT,),
        (Parameter("identifier", Kind.TOKEN, "The MRN (system|value or value)"),
         Parameter("name", Kind.STRING, "Words that start the given or family name"),
         _date("birthdate", "The date of birth", calendar=True),
         Parameter("gender", Kind.TOKEN, "Administrative gender")),
        documentation="Demographics (the current version); front desk may read these."),
    ResourceType(
        "Practitioner", DEMOGRAPHICS, (people.PRACTITIONER,),
        (Parameter("identifier", Kind.TOKEN, "The staff account id"),
         Parameter("name", Kind.STRING, "Words that start the staff member's name")),
        documentation="Staff accounts, named as the record names who did what."),
    ResourceType("Organization", DEMOGRAPHICS, (people.ORGANIZATION,),
                 documentation="The clinic profile (one Organization, id 'clinic')."),
    ResourceType(
        "Condition", CLINICAL, (clinical.CONDITION,),
        (PATIENT_PARAMETER, CATEGORY, CODE,
         Parameter("clinical-status", Kind.TOKEN, "active or inactive (superseded)"),
         _date("recorded-date", "When the diagnosis was recorded"),
         _date("onset-date", "The onset date", calendar=True)),
        patient_element="subject",
        documentation="The bipolar diagnosis with ICD-10-CM and SNOMED CT codes."),
    ResourceType(
        "Observation", CLINICAL, observations.OBSERVATION_SOURCES,
        (PATIENT_PARAMETER, CATEGORY, CODE, _date("date", "When it was measured or rated")),
        patient_element="subject",
        documentation="Vital signs (LOINC), scale totals and mood chart entries (survey)."),
    ResourceType(
        "AllergyIntolerance", CLINICAL, (clinical.ALLERGY, clinical.NO_KNOWN_ALLERGIES),
        (PATIENT_PARAMETER,
         Parameter("clinical-status", Kind.TOKEN, "active or inactive")),
        patient_element="patient",
        documentation="Recorded allergies and 'no known allergies' as asked."),
    ResourceType(
        "MedicationStatement", CLINICAL, (clinical.MEDICATION_STATEMENT,), (PATIENT_PARAMETER,),
        patient_element="subject",
        documentation="Current and past medications as recorded (base R4: no US Core "
                      "profile exists for MedicationStatement)."),
    ResourceType(
        "Encounter", CLINICAL, (infusions.ENCOUNTER,),
        (PATIENT_PARAMETER, _date("date", "When the session was opened at the chair"),
         STATUS),
        patient_element="subject",
        documentation="Each infusion session (ambulatory), with the nurse and prescribers."),
    ResourceType(
        "MedicationRequest", CLINICAL, (infusions.MEDICATION_REQUEST,),
        (PATIENT_PARAMETER,
         Parameter("intent", Kind.TOKEN, "Always order (a signed infusion order)"),
         STATUS, _date("authoredon", "When the order was signed")),
        patient_element="subject",
        documentation="Each signed infusion order, dose per kg and as calculated."),
    ResourceType(
        "MedicationAdministration", CLINICAL, (infusions.MEDICATION_ADMINISTRATION,),
        (PATIENT_PARAMETER, _date("effective-time", "When the infusion started"), STATUS),
        patient_element="subject",
        documentation="Each infusion started: dose, rate, period and lot (base R4: no US "
                      "Core profile exists for MedicationAdministration)."),
    ResourceType(
        "CarePlan", CLINICAL, (courses.CARE_PLAN,),
        (PATIENT_PARAMETER, CATEGORY, STATUS,
         _date("date", "The course's start date", calendar=True)),
        patient_element="subject",
        documentation="Each treatment course (assess-plan), with a generated narrative."),
    ResourceType(
        "Appointment", Permission.CALENDAR_VIEW, (booking.APPOINTMENT,),
        (PATIENT_PARAMETER, _date("date", "When the appointment starts"), STATUS),
        patient_element="participant.actor",
        documentation="The clinic calendar's bookings (base R4: US Core has no Appointment "
                      "profile); the front desk, who books them, may read these."),
    ResourceType(
        "Location", DEMOGRAPHICS, (booking.LOCATION,),
        (Parameter("name", Kind.STRING, "Words that start the site's name"),
         Parameter("identifier", Kind.TOKEN, "The site's short code")),
        documentation="The sites infusions are given at, with their opening hours."),
    ResourceType(
        "AdverseEvent", CLINICAL, (infusions.ADVERSE_EVENT,),
        (PATIENT_PARAMETER, _date("date", "When the event occurred"),
         Parameter("seriousness", Kind.TOKEN, "serious or non-serious")),
        patient_element="subject",
        documentation="Adverse events charted during an infusion session (base R4: US Core "
                      "has no AdverseEvent profile)."),
    ResourceType(
        "Consent", CLINICAL, (courses.CONSENT,),
        (PATIENT_PARAMETER, _date("date", "The day consent was given", calendar=True), STATUS,
         Parameter("scope", Kind.TOKEN, "Always treatment")),
        patient_element="patient",
        documentation="The off-label treatment consent each course starts under (base R4)."),
    ResourceType(
        "Group", DEMOGRAPHICS, (booking.GROUP,),
        (Parameter("name", Kind.STRING, "Words that start the group's name"),
         Parameter("identifier", Kind.TOKEN, "The site's short code")),
        documentation="Each site's patients (everyone with an appointment there), for "
                      "Group/{id}/$export (base R4: US Core has no Group profile)."),
    ResourceType(
        "Questionnaire", CLINICAL, (questionnaires.QUESTIONNAIRE,),
        (Parameter("url", Kind.URI, "The canonical URL"),
         Parameter("name", Kind.STRING, "The start of the computable name (e.g. Phq9)"),
         Parameter("status", Kind.TOKEN, "Always active")),
        documentation="Each rating scale (id: the scale's id), with answer scores; item "
                      "wording only where its licence allows, else item names (base R4)."),
    ResourceType(
        "QuestionnaireResponse", CLINICAL, (questionnaires.QUESTIONNAIRE_RESPONSE,),
        (PATIENT_PARAMETER, _date("authored", "When the rating was given"),
         Parameter("questionnaire", Kind.REFERENCE,
                   "The scale: its canonical URL (optionally |version) or Questionnaire/<id>",
                   target="Questionnaire", canonical=QUESTIONNAIRE_BASE),
         Parameter("status", Kind.TOKEN, "completed, or amended for a correction")),
        patient_element="subject",
        documentation="Each current rating with its answers (SDC; US Core 6 has no "
                      "QuestionnaireResponse profile); a correction is amended."),
    ResourceType(
        "Procedure", CLINICAL, (infusions.PROCEDURE,),
        (PATIENT_PARAMETER, _date("date", "When the infusion started"), STATUS, CODE),
        patient_element="subject",
        documentation="Each infusion started, as a procedure (local code "
                      "ketamine-infusion), within its session's Encounter."),
    ResourceType(
        "AuditEvent", Permission.AUDIT_READ, (audit_trail.AUDIT_EVENT,),
        (_date("date", "When the event was recorded"),
         Parameter("agent", Kind.REFERENCE, "The staff member who acted (Practitioner)",
                   target="Practitioner", id_prefix="staff-"),
         Parameter("entity", Kind.REFERENCE, "What the event is about (Type/id)"),
         Parameter("action", Kind.TOKEN, "C, R, U or E (the event's verb)")),
        documentation="The audit trail, for admins (as the audit log page); no patient "
                      "values (base R4: US Core has no AuditEvent profile).", exported=False),
)

BY_NAME: Mapping[str, ResourceType] = {t.name: t for t in TYPES}


def _check() -> None:
    """Every source of a type filters by every parameter the type declares."""
    for kind in TYPES:
        for source in kind.sources:
            missing = {p.name for p in kind.parameters} - set(source.filters)
            if missing:
                raise RuntimeError(f"{kind.name} source {source.key} lacks {sorted(missing)}")


_check()
