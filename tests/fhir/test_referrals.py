"""Referral import (`POST /fhir/R4`, a transaction Bundle) on both databases: a referral
imports and reads back through the searches, a second post duplicates nothing, every refusal
names its element and leaves every table as it was, and only clinical writers may import."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B import get_fhir_model_class
from httpx2 import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from ketaflow.audit.models import AuditEvent
from ketaflow.cli import app as cli_app
from ketaflow.config import Role
from ketaflow.db import READ_ONLY
from ketaflow.fhir.codes import MRN_SYSTEM
from ketaflow.fhir.referrals.bundle import MAX_BUNDLE_BYTES
from ketaflow.fhir.referrals.mapping import HISTORY_NOT_STATED
from ketaflow.fhir.referrals.models import PatientIdentifier
from ketaflow.patients.models import (
    Allergy,
    Diagnosis,
    Medication,
    NoKnownAllergies,
    Patient,
    PatientDemographics,
)
from tests.conftest import BACKENDS, TEST_AUDIT_KEY
from tests.fhir.conftest import fresh_app
from tests.support.web import browser_client
from tests.web.helpers import api_token, committed_user

FHIR = "/fhir/R4"
EXAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "referral-bundle.json"
SENDER = "https://ehr.example-psychiatry.org/fhir/sid/patient"
TABLES = (Patient, PatientDemographics, PatientIdentifier, Diagnosis, Medication, Allergy,
          NoKnownAllergies)


@dataclass
class Clinic:
    client: TestClient
    db: Session
    tokens: dict[Role, str]

    def post(self, body: bytes | dict[str, Any], role: Role | None = Role.NURSE,
             content_type: str = "application/fhir+json") -> Response:
        headers = {"Content-Type": content_type}
        if role is not None:
            headers["Authorization"] = f"Bearer {self.tokens[role]}"
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.client.post(FHIR, content=content, headers=headers)

    def search(self, path: str, **params: str) -> list[dict[str, Any]]:
        response = self.client.get(
            FHIR + path, params=params,
            headers={"Authorization": f"Bearer {self.tokens[Role.PRESCRIBER]}"})
        assert response.status_code == 200, response.text
        return [e["resource"] for e in response.json()["entry"]
                if e["search"]["mode"] == "match"]

    def counts(self) -> dict[str, int]:
        """Rows in every table an import writes, as committed."""
        self.db.rollback()
        self.db.connection(execution_options=READ_ONLY)
        return {t.__tablename__: self.db.scalar(select(func.count()).select_from(t)) or 0
                for t in TABLES}


@pytest.fixture(scope="module", params=BACKENDS)
def clinic(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Clinic]:
    with fresh_app(request, tmp_path_factory) as (app, db):
        tokens = {role: api_token(db, committed_user(db, role)) for role in Role}
        with browser_client(app) as client:
            yield Clinic(client, db, tokens)


def referral(**patient: Any) -> dict[str, Any]:
    """The example referral for a new person: its own identifier and name (each test its
    own patient, so tests do not depend on each other)."""
    bundle: dict[str, Any] = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    value = f"EX-{uuid.uuid4().hex[:10]}"
    person = bundle["entry"][0]
    person["resource"]["identifier"][0]["value"] = value
    person["resource"]["name"][0]["family"] = f"Testperson{uuid.uuid4().hex[:6]}"
    person["resource"].update(patient)
    person["request"]["url"] = f"Patient?identifier={SENDER}|{value}"
    return bundle


def identifier(bundle: dict[str, Any]) -> str:
    return str(bundle["entry"][0]["resource"]["identifier"][0]["value"])


def outcome(response: Response, status: int) -> list[dict[str, Any]]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    body = response.json()
    get_fhir_model_class("OperationOutcome").model_validate(body)
    issues: list[dict[str, Any]] = body["issue"]
    return issues


def expressions(issues: list[dict[str, Any]]) -> set[str]:
    return {e for issue in issues for e in issue.get("expression", [])}


def test_a_referral_imports_and_reads_back(clinic: Clinic) -> None:
    bundle = referral()
    response = clinic.post(bundle)
    assert response.status_code == 200, response.text
    answer = response.json()
    get_fhir_model_class("Bundle").model_validate(answer)
    assert answer["type"] == "transaction-response"
    statuses = [e["response"]["status"] for e in answer["entry"]]
    assert statuses == ["201 Created"] * 5
    locations = [e["response"]["location"] for e in answer["entry"]]
    assert [loc.split("/")[0] for loc in locations] == [
        "Patient", "Condition", "MedicationStatement", "MedicationStatement",
        "AllergyIntolerance"]

    [patient] = clinic.search("/Patient", identifier=f"{SENDER}|{identifier(bundle)}")
    assert f"Patient/{patient['id']}" == locations[0]
    assert patient["birthDate"] == "1984-06-21" and patient["gender"] == "female"
    assert patient["name"][0]["given"] == ["Avery Jo"]
    systems = {i["system"]: i["value"] for i in patient["identifier"]}
    assert systems[SENDER] == identifier(bundle) and systems[MRN_SYSTEM].startswith("KF-")
    # Our MRN finds the same patient.
    assert [p["id"] for p in clinic.search("/Patient",
                                           identifier=f"{MRN_SYSTEM}|{systems[MRN_SYSTEM]}")
            ] == [patient["id"]]

    [condition] = clinic.search("/Condition", patient=patient["id"])
    assert f"Condition/{condition['id']}" == locations[1]
    codes = {c["system"]: c["code"] for c in condition["code"]["coding"]}
    assert codes == {"http://hl7.org/fhir/sid/icd-10-cm": "F31.4",
                     "http://snomed.info/sct": "371596008"}
    assert condition["onsetDateTime"] == "2006-09-01"

    medications = {m["medicationCodeableConcept"]["text"]: m
                   for m in clinic.search("/MedicationStatement", patient=patient["id"])}
    assert set(medications) == {"lamotrigine", "Levothyroxine"}
    # 100 mg twice a day is the record's 200 mg/day.
    lamotrigine = medications["lamotrigine"]["dosage"][0]["doseAndRate"][0]["rateRatio"]
    assert (lamotrigine["numerator"]["value"], lamotrigine["denominator"]["code"]) == (200, "d")
    assert medications["lamotrigine"]["effectivePeriod"] == {"start": "2021-03-15"}
    assert medications["Levothyroxine"]["category"]["text"] == "Other"

    [allergy] = clinic.search("/AllergyIntolerance", patient=patient["id"])
    assert f"AllergyIntolerance/{allergy['id']}" == locations[4]
    assert allergy["code"]["text"] == "Penicillin"
    assert allergy["reaction"][0]["manifestation"][0]["text"] == "Urticaria"
    assert allergy["reaction"][0]["severity"] == "moderate"

    # The history a Condition cannot carry is marked as not taken, on the record.
    clinic.counts()
    diagnosis = clinic.db.scalar(select(Diagnosis).where(Diagnosis.patient_id ==
                                                         int(patient["id"])))
    assert diagnosis is not None and diagnosis.substance_use_note == HISTORY_NOT_STATED
    # Audited with counts and ids, never what the referral said about the patient.
    event = clinic.db.scalar(select(AuditEvent).where(AuditEvent.action == "fhir.import")
                             .order_by(AuditEvent.id.desc()))
    assert event is not None and event.actor_role == Role.NURSE.value
    detail = json.loads(event.detail)
    assert detail["created"] == {"AllergyIntolerance": 1, "Condition": 1,
                                 "MedicationStatement": 2, "Patient": 1}
    assert detail["patient_ids"] == [int(patient["id"])]
    text = event.detail
    assert identifier(bundle) not in text and "Testperson" not in text and "1984" not in text


def test_posting_the_same_referral_twice_duplicates_nothing(clinic: Clinic) -> None:
    bundle = referral()
    first = clinic.post(bundle)
    assert first.status_code == 200, first.text
    before = clinic.counts()
    second = clinic.post(bundle, role=Role.PRESCRIBER)
    assert second.status_code == 200, second.text
    assert [e["response"]["status"] for e in second.json()["entry"]] == ["200 OK"] * 5
    assert ([e["response"]["location"] for e in second.json()["entry"]]
            == [e["response"]["location"] for e in first.json()["entry"]])
    assert clinic.counts() == before


def test_a_referral_naming_our_mrn_adds_to_that_patient(clinic: Clinic) -> None:
    first = clinic.post(referral()).json()
    patient_id = first["entry"][0]["response"]["location"].split("/")[1]
    [patient] = clinic.search("/Patient", _id=patient_id)
    mrn = next(i["value"] for i in patient["identifier"] if i["system"] == MRN_SYSTEM)
    bundle = referral(identifier=[{"system": MRN_SYSTEM, "value": mrn}])
    bundle["entry"][0]["request"] = {"method": "POST", "url": "Patient"}
    bundle["entry"][4]["resource"]["code"]["text"] = "Latex"
    answer = clinic.post(bundle).json()
    statuses = [e["response"]["status"] for e in answer["entry"]]
    # Same person, same diagnosis and medications; the latex allergy is new.
    assert statuses == ["200 OK", "200 OK", "200 OK", "200 OK", "201 Created"]
    assert answer["entry"][0]["response"]["location"] == f"Patient/{patient_id}"
    assert {a["code"]["text"] for a in clinic.search("/AllergyIntolerance",
                                                     patient=patient_id)} == {"Penicillin",
                                                                             "Latex"}


def test_a_matched_patient_with_another_birth_date_is_refused(clinic: Clinic) -> None:
    bundle = referral()
    assert clinic.post(bundle).status_code == 200
    before = clinic.counts()
    bundle["entry"][0]["resource"]["birthDate"] = "1985-06-21"
    bundle["entry"][4]["resource"]["code"]["text"] = "Latex"
    issues = outcome(clinic.post(bundle), 409)
    assert expressions(issues) == {"Bundle.entry[0].resource.birthDate"}
    assert issues[0]["code"] == "conflict"
    assert clinic.counts() == before


def test_a_different_diagnosis_does_not_replace_the_clinics(clinic: Clinic) -> None:
    bundle = referral()
    assert clinic.post(bundle).status_code == 200
    before = clinic.counts()
    bundle["entry"][1]["resource"]["code"]["coding"] = [
        {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "F31.81"}]
    issues = outcome(clinic.post(bundle), 409)
    assert expressions(issues) == {"Bundle.entry[1].resource.code"}
    assert clinic.counts() == before


def test_the_same_name_and_birth_date_without_the_identifier_is_not_a_new_patient(
        clinic: Clinic) -> None:
    first = referral()
    assert clinic.post(first).status_code == 200
    before = clinic.counts()
    second = referral()  # another sender's identifier, same person's name and birth date
    second["entry"][0]["resource"]["name"] = first["entry"][0]["resource"]["name"]
    issues = outcome(clinic.post(second), 409)
    assert expressions(issues) == {"Bundle.entry[0].resource"}
    assert "our MRN" in issues[0]["diagnostics"]
    assert clinic.counts() == before


def test_an_mrn_no_patient_has_is_refused(clinic: Clinic) -> None:
    bundle = referral(identifier=[{"system": MRN_SYSTEM, "value": "NO-SUCH-MRN-1"}])
    bundle["entry"][0]["request"] = {"method": "POST", "url": "Patient"}
    before = clinic.counts()
    issues = outcome(clinic.post(bundle), 422)
    assert expressions(issues) == {"Bundle.entry[0].resource.identifier"}
    assert clinic.counts() == before


def test_no_known_allergies_imports_once(clinic: Clinic) -> None:
    bundle = referral()
    bundle["entry"][4]["resource"]["code"] = {"coding": [
        {"system": "http://snomed.info/sct", "code": "716186003"}]}
    del bundle["entry"][4]["resource"]["reaction"]
    first = clinic.post(bundle).json()
    location = first["entry"][4]["response"]["location"]
    assert location.startswith("AllergyIntolerance/nka-")
    assert first["entry"][4]["response"]["status"] == "201 Created"
    again = clinic.post(bundle).json()
    assert again["entry"][4]["response"] == {"status": "200 OK", "location": location}
    patient_id = first["entry"][0]["response"]["location"].split("/")[1]
    [statement] = clinic.search("/AllergyIntolerance", patient=patient_id)
    assert statement["code"]["coding"][0]["code"] == "716186003"


def _without_status(bundle: dict[str, Any]) -> None:
    del bundle["entry"][2]["resource"]["status"]


def _unknown_code(bundle: dict[str, Any]) -> None:
    bundle["entry"][1]["resource"]["code"] = {"coding": [
        {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "F32.9"}]}


def _broken_reference(bundle: dict[str, Any]) -> None:
    bundle["entry"][4]["resource"]["patient"]["reference"] = f"urn:uuid:{uuid.uuid4()}"


def _mistyped_element(bundle: dict[str, Any]) -> None:
    bundle["entry"][1]["resource"]["code"]["coding"][0]["system"] = 42


def _unlisted_drug_without_class(bundle: dict[str, Any]) -> None:
    del bundle["entry"][3]["resource"]["category"]


def _dose_above_the_label_maximum(bundle: dict[str, Any]) -> None:
    bundle["entry"][2]["resource"]["medicationCodeableConcept"]["text"] = "quetiapine"
    bundle["entry"][2]["resource"]["dosage"][0]["doseAndRate"][0]["doseQuantity"]["value"] = 900


def _batch(bundle: dict[str, Any]) -> None:
    bundle["type"] = "batch"


def _delete_request(bundle: dict[str, Any]) -> None:
    bundle["entry"][3]["request"]["method"] = "DELETE"


def _observation(bundle: dict[str, Any]) -> None:
    bundle["entry"][3]["resource"] = {"resourceType": "Observation", "status": "final",
                                      "code": {"text": "weight"}}


@pytest.mark.parametrize(("spoil", "status", "element", "words"), [
    (_without_status, 400, "Bundle.entry[2].resource.status", "required"),
    (_mistyped_element, 400, "Bundle.entry[1].resource.code.coding[0].system", "string"),
    (_unknown_code, 422, "Bundle.entry[1].resource.code", "ICD-10-CM F31"),
    (_broken_reference, 400, "Bundle.entry[4].resource.patient.reference", "Patient entry"),
    (_batch, 400, "Bundle.type", "only a transaction"),
    (_delete_request, 400, "Bundle.entry[3].request.method", "only POST"),
    (_observation, 400, "Bundle.entry[3].resource.resourceType", "only Patient"),
    # Refused after the patient and the first entries were written: all rolled back.
    (_unlisted_drug_without_class, 422, "Bundle.entry[3].resource.category", "catalogue"),
    (_dose_above_the_label_maximum, 422, "Bundle.entry[2].resource.dosage[0]", "maximum"),
])
def test_a_bad_referral_names_the_element_and_saves_nothing(
        clinic: Clinic, spoil: Any, status: int, element: str, words: str) -> None:
    bundle = referral()
    spoil(bundle)
    before = clinic.counts()
    issues = outcome(clinic.post(bundle), status)
    assert element in expressions(issues), issues
    assert any(words in issue["diagnostics"] for issue in issues), issues
    assert all(identifier(bundle) not in issue["diagnostics"] for issue in issues)
    assert clinic.counts() == before


def test_every_problem_is_reported_at_once(clinic: Clinic) -> None:
    bundle = referral()
    _without_status(bundle)
    _broken_reference(bundle)
    del bundle["entry"][0]["resource"]["birthDate"]  # parses; refused when read
    issues = outcome(clinic.post(bundle), 400)
    assert expressions(issues) == {"Bundle.entry[2].resource.status"}
    fixed = copy.deepcopy(bundle)
    fixed["entry"][2]["resource"]["status"] = "active"
    issues = outcome(clinic.post(fixed), 400)
    assert expressions(issues) == {"Bundle.entry[4].resource.patient.reference"}
    _unknown_code(fixed)
    fixed["entry"][4]["resource"]["patient"]["reference"] = fixed["entry"][0]["fullUrl"]
    issues = outcome(clinic.post(fixed), 422)
    assert expressions(issues) == {"Bundle.entry[0].resource.birthDate",
                                   "Bundle.entry[1].resource.code"}


@pytest.mark.parametrize(("body", "status", "element"), [
    (b"{not json", 400, "Bundle"),
    (b'{"resourceType": "Patient"}', 400, "Bundle.resourceType"),
    (b'{"resourceType": "Bundle", "type": "transaction", "entry": []}', 400, "Bundle.entry"),
    (b" " * (MAX_BUNDLE_BYTES + 1), 413, "Bundle"),
])
def test_a_body_that_is_not_a_referral_is_refused(clinic: Clinic, body: bytes, status: int,
                                                  element: str) -> None:
    before = clinic.counts()
    issues = outcome(clinic.post(body), status)
    assert expressions(issues) == {element}
    assert clinic.counts() == before


def test_a_body_not_sent_as_json_is_refused(clinic: Clinic) -> None:
    before = clinic.counts()
    body = json.dumps(referral()).encode()
    issues = outcome(clinic.post(body, content_type="text/plain"), 415)
    assert issues[0]["code"] == "not-supported" and expressions(issues) == {"Bundle"}
    assert clinic.counts() == before


@pytest.mark.parametrize(("role", "status"), [
    (None, 401), (Role.FRONT_DESK, 403), (Role.RESEARCHER, 403), (Role.ADMIN, 403),
])
def test_only_clinical_writers_import(clinic: Clinic, role: Role | None, status: int) -> None:
    before = clinic.counts()
    issues = outcome(clinic.post(referral(), role=role), status)
    assert issues[0]["code"] == ("login" if status == 401 else "forbidden")
    assert clinic.counts() == before


def test_the_capability_statement_lists_the_transaction(clinic: Clinic) -> None:
    statement = clinic.client.get(f"{FHIR}/metadata").json()
    assert statement["rest"][0]["interaction"] == [{"code": "transaction"}]


def test_the_cli_imports_a_file(clinic: Clinic, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    settings = clinic.client.app.state.settings  # type: ignore[attr-defined]
    monkeypatch.setenv("KETAFLOW_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("KETAFLOW_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("KETAFLOW_MODE", "demo")
    monkeypatch.setenv("KETAFLOW_AUDIT_KEY", TEST_AUDIT_KEY)
    bundle = referral()
    path = tmp_path / "referral.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    result = CliRunner().invoke(cli_app, ["fhir", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output.count("201 Created") == 5
    assert clinic.search("/Patient", identifier=f"{SENDER}|{identifier(bundle)}")
    before = clinic.counts()
    _unknown_code(bundle)
    bundle["entry"][4]["resource"]["code"]["text"] = "Latex"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    refused = CliRunner().invoke(cli_app, ["fhir", "import", str(path)])
    assert refused.exit_code == 2 and "Bundle.entry[1].resource.code" in refused.output
    assert clinic.counts() == before
