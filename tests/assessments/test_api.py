"""The JSON API (assessments, portal links, alerts) and the FHIR R4 export, validated."""

from __future__ import annotations

from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from sqlalchemy.orm import Session

from ketaflow.config import Role
from ketaflow.scales import INSTRUMENTS
from tests.assessments.factories import answers, madrs, make_patient, phq9
from tests.web.helpers import api_token, committed_user


def _bearer(db: Session, role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_token(db, committed_user(db, role))}"}


def test_create_list_get_amend_rescore(app_client: TestClient, app_db: Session) -> None:
    patient = make_patient(app_db)
    app_db.commit()
    nurse = _bearer(app_db, Role.NURSE)
    created = app_client.post(f"/api/v1/patients/{patient.id}/assessments", headers=nurse,
                              json={"instrument": "madrs", "answers": madrs(32),
                                    "rated_at": "2026-11-01T09:30:00+01:00"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["result"]["total"] == 32 and body["result"]["severity"] == "moderate"
    assert body["rated_at"].startswith("2026-11-01T08:30:00") and body["rater"] == "Test User"
    listed = app_client.get(f"/api/v1/patients/{patient.id}/assessments", headers=nurse)
    assert [a["id"] for a in listed.json()] == [body["id"]]
    got = app_client.get(f"/api/v1/assessments/{body['id']}", headers=nurse)
    assert got.json()["answers"] == madrs(32)
    amended = app_client.post(f"/api/v1/assessments/{body['id']}/amend", headers=nurse,
                              json={"answers": madrs(30), "reason": "typo in item 1"})
    assert amended.status_code == 201 and amended.json()["supersedes_id"] == body["id"]
    rescored = app_client.post(f"/api/v1/assessments/{amended.json()['id']}/rescore",
                               headers=nurse)
    assert [r["version"] for r in rescored.json()["result_history"]] == [1, 2]
    everything = app_client.get(f"/api/v1/patients/{patient.id}/assessments",
                                params={"include_superseded": "true"}, headers=nurse)
    assert len(everything.json()) == 2


def test_invalid_answers_are_a_problem_naming_the_item(app_client: TestClient,
                                                       app_db: Session) -> None:
    patient = make_patient(app_db)
    app_db.commit()
    response = app_client.post(f"/api/v1/patients/{patient.id}/assessments",
                               headers=_bearer(app_db, Role.PRESCRIBER),
                               json={"instrument": "phq9", "answers": phq9(10) | {"sleep": 4}})
    assert response.status_code == 422
    problem = response.json()
    assert problem["field"] == "sleep" and "phq9 item 3 (sleep)" in problem["detail"]
    assert response.headers["content-type"].startswith("application/problem+json")


def test_roles_without_clinical_access_are_refused(app_client: TestClient,
                                                   app_db: Session) -> None:
    patient = make_patient(app_db)
    app_db.commit()
    for role in (Role.FRONT_DESK, Role.RESEARCHER, Role.ADMIN):
        headers = _bearer(app_db, role)
        assert app_client.get(f"/api/v1/patients/{patient.id}/assessments",
                              headers=headers).status_code == 403
        assert app_client.get("/api/v1/alerts", headers=headers).status_code == 403
        assert app_client.get("/api/v1/fhir/Questionnaire/phq9",
                              headers=headers).status_code == 403


def test_portal_link_and_alert_acknowledgement(app_client: TestClient, app_db: Session) -> None:
    patient = make_patient(app_db)
    app_db.commit()
    nurse, prescriber = _bearer(app_db, Role.NURSE), _bearer(app_db, Role.PRESCRIBER)
    link = app_client.post(f"/api/v1/patients/{patient.id}/portal-links", headers=nurse,
                           json={"instruments": ["phq9"]})
    assert link.status_code == 201 and link.json()["url"].count("/portal/") == 1
    assert link.json()["mail_queued"] is False and link.json()["mail_queued_to"] is None
    bad = app_client.post(f"/api/v1/patients/{patient.id}/portal-links", headers=nurse,
                          json={"instruments": ["ymrs"]})
    assert bad.status_code == 422 and bad.json()["field"] == "instruments"
    app_client.post(f"/api/v1/patients/{patient.id}/assessments", headers=nurse,
                    json={"instrument": "asrm", "answers": answers("asrm", [2, 2, 1, 1, 0])})
    (alert,) = app_client.get("/api/v1/alerts", headers=nurse).json()
    assert alert["kind"] == "possible-switch" and alert["instrument"] == "asrm"
    refused = app_client.post(f"/api/v1/alerts/{alert['id']}/acknowledge", headers=nurse,
                              json={"note": "reviewed in clinic"})
    assert refused.status_code == 403
    short = app_client.post(f"/api/v1/alerts/{alert['id']}/acknowledge", headers=prescriber,
                            json={"note": "ok"})
    assert short.status_code == 422
    done = app_client.post(f"/api/v1/alerts/{alert['id']}/acknowledge", headers=prescriber,
                           json={"note": "reviewed in clinic: no switch"})
    assert done.status_code == 200 and done.json()["acknowledged_at"] is not None
    assert app_client.get("/api/v1/alerts", headers=nurse).json() == []
    mine = app_client.get(f"/api/v1/patients/{patient.id}/alerts", headers=nurse).json()
    assert [a["action_note"] for a in mine] == ["reviewed in clinic: no switch"]


def test_fhir_questionnaires_validate(app_client: TestClient, app_db: Session) -> None:
    headers = _bearer(app_db, Role.NURSE)
    for instrument_id in INSTRUMENTS:
        response = app_client.get(f"/api/v1/fhir/Questionnaire/{instrument_id}",
                                  headers=headers)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/fhir+json")
        questionnaire = Questionnaire.model_validate(response.json())
        assert questionnaire.id == instrument_id
    assert app_client.get("/api/v1/fhir/Questionnaire/hamd", headers=headers).status_code == 404


def test_fhir_bundle_of_assessments_validates(app_client: TestClient, app_db: Session) -> None:
    patient = make_patient(app_db)
    app_db.commit()
    headers = _bearer(app_db, Role.NURSE)
    for instrument, values in (("madrs", madrs(28)), ("phq9", phq9(12, item9=1)),
                               ("qids-sr16", answers("qids-sr16", [2] * 16)),
                               ("cssrs-screener", {"wish_to_be_dead": 1, "suicidal_thoughts": 0,
                                                   "behaviour_lifetime": 0})):
        created = app_client.post(f"/api/v1/patients/{patient.id}/assessments",
                                  headers=headers, json={"instrument": instrument,
                                                         "answers": values})
        assert created.status_code == 201, created.text
    response = app_client.get(f"/api/v1/patients/{patient.id}/fhir/assessments",
                              headers=headers)
    assert response.status_code == 200
    bundle = Bundle.model_validate(response.json())
    assert bundle.type == "collection" and len(bundle.entry) == 8
    kinds = [entry.resource.get_resource_type() for entry in bundle.entry]
    assert kinds == ["QuestionnaireResponse", "Observation"] * 4
    for entry in bundle.entry:
        data = entry.resource.model_dump(mode="json")
        model = QuestionnaireResponse if data["resourceType"] == "QuestionnaireResponse" \
            else Observation
        model.model_validate(data)
        assert data["subject"]["reference"] == f"Patient/{patient.id}"
    phq_total = bundle.entry[3].resource
    assert phq_total.code.coding[0].code == "44261-6" and phq_total.valueInteger == 12
    risk = bundle.entry[7].resource
    assert risk.valueCodeableConcept.coding[0].code == "low"
