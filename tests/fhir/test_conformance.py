"""Every resource type, on the seeded clinic: read and search, each resource parses with the
fhir.resources R4B models, names its US Core profile and carries that profile's must-support
elements; the CapabilityStatement lists exactly the routes served."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import APIRoute
from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from ketaflow.config import Role
from ketaflow.fhir.capability import BULK_DATA, capability_statement
from ketaflow.fhir.codes import us_core
from ketaflow.fhir.registry import TYPES
from ketaflow.fhir.sources.questionnaires import SDC_RESPONSE
from ketaflow.web.app import mounted_routers
from tests.fhir.conftest import Clinic, validate

# Profile -> must-support elements the data always has ("a.b": some a has a b; "a|b": either).
MUST_SUPPORT: dict[str, tuple[str, ...]] = {
    us_core("patient"): ("identifier.system", "identifier.value", "name.family", "name.given",
                         "gender", "birthDate"),
    us_core("practitioner"): ("identifier.system", "identifier.value", "name.family"),
    us_core("organization"): ("active", "name", "identifier.value"),
    us_core("condition-problems-health-concerns"): (
        "clinicalStatus.coding.code", "verificationStatus.coding.code", "category.coding.code",
        "code.coding.code", "subject.reference", "recordedDate"),
    us_core("allergyintolerance"): ("clinicalStatus.coding.code",
                                    "verificationStatus.coding.code", "code",
                                    "patient.reference"),
    us_core("blood-pressure"): ("status", "category.coding.code", "code.coding.code",
                                "subject.reference", "effectiveDateTime",
                                "component.code.coding.code", "component.valueQuantity.value",
                                "component.valueQuantity.code"),
    us_core("observation-screening-assessment"): (
        "status", "category.coding.code", "code.coding.code", "subject.reference",
        "effectiveDateTime"),
    us_core("encounter"): ("identifier.system", "identifier.value", "status", "class.code",
                           "type.coding.code", "subject.reference", "participant.type.coding.code",
                           "participant.individual.reference", "period.start",
                           "serviceProvider.reference"),
    us_core("medicationrequest"): ("status", "intent", "reportedBoolean",
                                   "medicationCodeableConcept.text", "subject.reference",
                                   "encounter.reference", "authoredOn", "requester.reference",
                                   "dosageInstruction.text",
                                   "dosageInstruction.doseAndRate.doseQuantity.value"),
    us_core("careplan"): ("text.status", "text.div", "status", "intent", "category.coding.code",
                          "subject.reference", "period.start"),
    us_core("location"): ("status", "name", "managingOrganization.reference"),
    us_core("procedure"): ("status", "code.coding.code", "code.text", "subject.reference",
                           "encounter.reference", "performedPeriod.start", "basedOn.reference",
                           "performer.actor.reference"),
    # SDC's QuestionnaireResponse (US Core 6 has no profile for it).
    SDC_RESPONSE: ("questionnaire", "status", "subject.reference", "authored",
                   "author.reference", "item.linkId", "item.text",
                   "item.answer.valueCoding.code"),
}
# Elements one source of a shared profile always sends (both survey Observations).
BY_SOURCE: dict[str, tuple[str, ...]] = {
    "assessment-total": ("valueInteger|valueCodeableConcept", "derivedFrom.reference"),
    "mood-entry": ("performer.reference", "component.code.coding.code",
                   "component.valueInteger"),
}
# Base R4 (no US Core profile), by type: the elements FHIR requires and those we always send.
BASE_R4: dict[str, tuple[str, ...]] = {
    "MedicationStatement": ("status", "medicationCodeableConcept.text", "subject.reference",
                            "dosage.text"),
    "MedicationAdministration": (
        "status", "medicationReference.reference", "contained.batch.lotNumber",
        "subject.reference", "context.reference", "effectivePeriod.start", "request.reference",
        "dosage.dose.value", "dosage.dose.code", "dosage.rateQuantity.value",
        "performer.actor.reference"),
    "AdverseEvent": ("actuality", "event.text", "subject.reference", "encounter.reference",
                     "date", "recordedDate", "seriousness.coding.code", "recorder.reference"),
    "Consent": ("status", "scope.coding.code", "category.text", "patient.reference",
                "dateTime", "policyRule.text", "provision.type"),
    "Appointment": ("status", "start", "end", "serviceType.text", "participant.actor.reference",
                    "participant.status"),
    # What a Bulk Data client needs of a Group it exports (type, actual, the members).
    "Group": ("type", "actual", "name", "quantity", "member.entity.reference",
              "identifier.value"),
    "Questionnaire": ("url", "version", "name", "title", "status", "subjectType",
                      "item.linkId", "item.text", "item.type",
                      "item.answerOption.valueCoding.code",
                      "item.answerOption.extension.valueDecimal"),
    "AuditEvent": ("type.code", "subtype.code", "action", "recorded", "outcome",
                   "agent.who", "agent.requestor", "source.observer.reference", "entity.type.code"),
}
# Types only some roles read (the rest read as the prescriber).
READER: dict[str, Role] = {"AuditEvent": Role.ADMIN}
for _vital in ("heart-rate", "pulse-oximetry", "respiratory-rate", "body-weight", "body-height",
               "bmi"):
    MUST_SUPPORT[us_core(_vital)] = (
        "status", "category.coding.code", "code.coding.code", "subject.reference",
        "effectiveDateTime", "valueQuantity.value", "valueQuantity.unit",
        "valueQuantity.system", "valueQuantity.code")
# Must-support elements only some records have data for: at least one resource carries each.
WHEN_RECORDED: dict[str, tuple[str, ...]] = {
    "Patient": ("telecom.system", "telecom.value", "address.text", "contact.name.text"),
    "Organization": ("telecom.value", "address.text"),
    "Condition": ("onsetDateTime",),
    "AllergyIntolerance": ("reaction.manifestation.text", "reaction.severity"),
    "MedicationStatement": ("effectivePeriod.start", "dosage.doseAndRate.rateRatio"),
    "Observation": ("performer.reference", "valueQuantity.value", "component",
                    "valueInteger", "component.valueQuantity.value"),
    "Questionnaire": ("code.code", "item.code.code", "copyright"),
    "Encounter": ("period.end",),
    "MedicationAdministration": ("effectivePeriod.end",),
    "CarePlan": ("author.reference",),
    "Appointment": ("cancelationReason.text",),
    "Location": ("hoursOfOperation.daysOfWeek",),
    "AdverseEvent": ("suspectEntity.instance.reference",),
    "Procedure": ("performedPeriod.end",),
    "AuditEvent": ("agent.who.reference", "entity.what.reference", "entity.what.identifier"),
}
VITAL_LOINC = {us_core("blood-pressure"): "85354-9", us_core("heart-rate"): "8867-4",
               us_core("pulse-oximetry"): "59408-5", us_core("respiratory-rate"): "9279-1",
               us_core("body-weight"): "29463-7", us_core("body-height"): "8302-2",
               us_core("bmi"): "39156-5"}


def has(resource: Any, path: str) -> bool:
    if "|" in path:
        return any(has(resource, option) for option in path.split("|"))
    head, _, rest = path.partition(".")
    values = resource if isinstance(resource, list) else [resource]
    found = [v[head] for v in values if isinstance(v, dict) and v.get(head) not in (None, "", [])]
    return bool(found) and (not rest or any(has(value, rest) for value in found))


def _profile(resource: dict[str, Any]) -> str | None:
    profiles = resource["meta"].get("profile")
    return None if profiles is None else profiles[0]


@pytest.mark.parametrize("name", [t.name for t in TYPES])
def test_each_type_reads_searches_parses_and_carries_its_profile(clinic: Clinic,
                                                                 name: str) -> None:
    kind = next(t for t in TYPES if t.name == name)
    reader = READER.get(name, Role.PRESCRIBER)
    resources = clinic.resources(f"/{name}", reader)  # all of them, page by page
    assert resources, f"the demo clinic has no {name}"
    first_of_source: dict[str, dict[str, Any]] = {}
    for resource in resources:
        assert resource["resourceType"] == name
        validate(resource)
        profile = _profile(resource)
        assert profile in kind.profiles or (profile is None and not kind.profiles)
        source = next(s for s in kind.sources if s.profile == profile
                      and s.row_id(resource["id"]) is not None)
        required = BASE_R4[name] if profile is None else MUST_SUPPORT[profile]
        missing = [p for p in (*required, *BY_SOURCE.get(source.key, ()))
                   if not has(resource, p)]
        assert not missing, f"{resource['id']} ({profile}) lacks {missing}"
        if profile in VITAL_LOINC:
            codes = {c["code"] for c in resource["code"]["coding"]}
            assert VITAL_LOINC[profile] in codes
            assert resource["category"][0]["coding"][0]["code"] == "vital-signs"
        first_of_source.setdefault(source.key, resource)
    for path in WHEN_RECORDED.get(name, ()):
        assert any(has(r, path) for r in resources), f"no {name} carries {path}"
    # Every source of the type is in the demo data, so every mapper is checked; ids are unique.
    assert set(first_of_source) == {s.key for s in kind.sources}
    assert len({r["id"] for r in resources}) == len(resources)
    # A read answers the same resource as the search did.
    for resource in first_of_source.values():
        assert clinic.ok(f"/{name}/{resource['id']}", reader) == resource


def test_capability_statement_lists_exactly_what_is_served(clinic: Clinic) -> None:
    statement = clinic.ok("/metadata", role=None)  # type: ignore[arg-type]
    CapabilityStatement.model_validate(statement)
    listed = {r["type"]: r for r in statement["rest"][0]["resource"]}
    paths = [prefix + route.path for router, prefix in mounted_routers()
             for route in router.routes if isinstance(route, APIRoute)]
    routed = {path.split("/")[3] for path in paths if path.startswith("/fhir/R4/")
              and "{type_name}" not in path and path != "/fhir/R4/metadata"
              and "$" not in path  # operations ($export) are not types
              and not path.startswith(("/fhir/R4/auth/", "/fhir/R4/.well-known/"))}  # SMART
    assert set(listed) == routed == {t.name for t in TYPES}
    for kind in TYPES:
        entry = listed[kind.name]
        assert {i["code"] for i in entry["interaction"]} == {"read", "search-type"}
        assert {p["name"] for p in entry["searchParam"]} == set(kind.search_parameters)
        assert entry.get("supportedProfile", []) == list(kind.profiles)
        assert entry.get("searchInclude", []) == sorted(kind.includes)


def test_the_statement_declares_the_bulk_export() -> None:
    """$export is served (tests/fhir/test_bulk.py): the statement says so, and where."""
    statement = capability_statement("https://clinic.example")
    rest = statement["rest"][0]
    assert BULK_DATA in statement["instantiates"]
    assert [o["name"] for o in rest["operation"]] == ["export"]
    [patient] = [r for r in rest["resource"] if r["type"] == "Patient"]
    assert patient["operation"][0]["definition"].endswith("/patient-export")
