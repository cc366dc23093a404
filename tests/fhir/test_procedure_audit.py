"""Procedure (each infusion started) and AuditEvent (the audit trail, admins only) on the
seeded clinic (both databases): checked against the rows they come from, with statuses and
action codes mapped here independently of the SQL that maps them, searched by every declared
parameter, and refused to other roles with a 403 OperationOutcome."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from sqlalchemy import select

from ketaflow.audit.models import AuditEvent
from ketaflow.auth.models import StaffUser
from ketaflow.config import Role
from ketaflow.infusions.models import InfusionSession
from ketaflow.infusions.rules import SessionStatus
from ketaflow.patients.models import Patient, PatientDemographics
from tests.fhir.conftest import Clinic, fresh, ids, validate
from tests.fhir.test_infusions import instant, sessions

S = SessionStatus
LOCAL = "https://ketaflow.org/fhir/CodeSystem/ketaflow"


def procedure_status(row: InfusionSession) -> str:
    if row.status in (S.STOPPED, S.OBSERVATION, S.DISCHARGED):
        return "completed"
    return {S.ABORTED: "stopped", S.PAUSED: "on-hold"}.get(row.status, "in-progress")


def started(clinic: Clinic, patient_id: int | None = None) -> list[InfusionSession]:
    return [row for row in sessions(clinic, patient_id) if row.started_at is not None]


# ---------------------------------------------------------------- Procedure


def test_procedures_are_the_patients_infusions(clinic: Clinic) -> None:
    rows = started(clinic, clinic.patient_id)
    assert rows
    found = {r["id"]: r for r in clinic.resources("/Procedure", patient=str(clinic.patient_id))}
    assert set(found) == {f"procedure-{row.id}" for row in rows}
    for row in rows:
        resource = found[f"procedure-{row.id}"]
        validate(resource)
        assert resource["status"] == procedure_status(row)
        assert resource["code"]["coding"] == [{"system": LOCAL, "code": "ketamine-infusion",
                                               "display": "Intravenous ketamine infusion"}]
        assert resource["subject"]["reference"] == f"Patient/{clinic.patient_id}"
        assert resource["encounter"]["reference"] == f"Encounter/session-{row.id}"
        assert resource["basedOn"] == [{"reference": f"CarePlan/course-{row.course_id}"}]
        assert resource["performer"] == [
            {"actor": {"reference": f"Practitioner/staff-{row.opened_by_user_id}"}}]
        assert datetime.fromisoformat(resource["performedPeriod"]["start"]) == row.started_at
        end = row.ended_at or row.aborted_at
        assert resource["performedPeriod"].get("end") == (end and end.isoformat())
    # The Encounter it points at is served.
    clinic.ok(f"/Encounter/session-{rows[0].id}")


def test_a_session_never_started_has_no_procedure(clinic: Clinic) -> None:
    never = [row for row in sessions(clinic) if row.started_at is None]
    assert never, "the demo has sessions not yet started"
    answer = clinic.get(f"/Procedure/procedure-{never[0].id}")
    assert answer.status_code == 404
    assert answer.json()["resourceType"] == "OperationOutcome"


def test_procedure_status_code_and_id_searches(clinic: Clinic) -> None:
    expected: dict[str, set[str]] = {}
    for row in started(clinic):
        expected.setdefault(procedure_status(row), set()).add(f"procedure-{row.id}")
    assert len(expected) >= 2, "the demo should hold infusions in more than one state"
    for status, wanted in expected.items():
        assert ids(clinic.resources("/Procedure", status=status)) == wanted
        assert ids(clinic.resources(
            "/Procedure", status=f"http://hl7.org/fhir/event-status|{status}")) == wanted
    everything = set().union(*expected.values())
    assert ids(clinic.resources("/Procedure", code=f"{LOCAL}|ketamine-infusion")) == everything
    assert ids(clinic.resources("/Procedure", code="ketamine-infusion")) == everything
    assert clinic.resources("/Procedure", code="http://snomed.info/sct|ketamine-infusion") == []
    one = sorted(everything)[0]
    assert ids(clinic.resources("/Procedure", _id=one)) == {one}


def test_procedure_date_prefixes_split_at_an_infusion_start(clinic: Clinic) -> None:
    rows = started(clinic, clinic.patient_id)
    assert len(rows) >= 2
    pivot = rows[len(rows) // 2]
    assert pivot.started_at is not None
    at, cut = instant(pivot.started_at), pivot.started_at.replace(microsecond=0)
    patient = str(clinic.patient_id)
    after = ids(clinic.resources("/Procedure", patient=patient, date=f"ge{at}"))
    before = ids(clinic.resources("/Procedure", patient=patient, date=f"lt{at}"))
    assert after == {f"procedure-{r.id}" for r in rows if r.started_at and r.started_at >= cut}
    assert before == {f"procedure-{r.id}" for r in rows if r.started_at and r.started_at < cut}
    day = pivot.started_at.date().isoformat()
    assert f"procedure-{pivot.id}" in ids(clinic.resources("/Procedure", date=day))
    bad = clinic.get("/Procedure", date="yesterday")
    assert bad.status_code == 400 and bad.json()["resourceType"] == "OperationOutcome"


def test_procedures_are_clinical(clinic: Clinic) -> None:
    assert clinic.get("/Procedure", role=Role.NURSE).status_code == 200
    for role in (Role.FRONT_DESK, Role.RESEARCHER, Role.ADMIN):
        refused = clinic.get("/Procedure", role=role)
        assert refused.status_code == 403, role
        assert refused.json()["resourceType"] == "OperationOutcome"


# ---------------------------------------------------------------- AuditEvent


def _trail(clinic: Clinic) -> list[AuditEvent]:
    fresh(clinic)
    return list(clinic.db.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def action_code(action: str) -> str:
    verb = action.rsplit(".", 1)[-1]
    if verb in {"read", "search", "list", "view", "open", "live", "download"}:
        return "R"
    if verb in {"create", "add", "record", "book", "register", "generate", "start"}:
        return "C"
    if verb in {"update", "amend", "change_password", "move", "revoke", "retire", "supersede",
                "deactivate", "acknowledge", "reset", "cancel", "complete", "week_replan",
                "entered_in_error", "enrol_mfa", "reset_mfa"}:
        return "U"
    return "E"


@pytest.mark.parametrize("role", [Role.PRESCRIBER, Role.NURSE, Role.FRONT_DESK,
                                  Role.RESEARCHER])
def test_only_admins_read_the_audit_trail(clinic: Clinic, role: Role) -> None:
    event = _trail(clinic)[0]
    for path in ("/AuditEvent", f"/AuditEvent/audit-{event.id}"):
        refused = clinic.get(path, role=role)
        assert refused.status_code == 403, (role, path)
        assert refused.headers["content-type"].startswith("application/fhir+json")
        assert refused.json()["resourceType"] == "OperationOutcome"
    assert clinic.get("/AuditEvent", role=None).status_code == 401


def test_each_event_is_the_trails_without_patient_values(clinic: Clinic) -> None:
    trail = _trail(clinic)
    sample = trail[:: max(len(trail) // 40, 1)]
    for row in sample:
        resource = clinic.ok(f"/AuditEvent/audit-{row.id}", Role.ADMIN)
        validate(resource)
        assert resource["subtype"][0]["code"] == row.action
        assert resource["type"]["code"] == row.action.split(".")[0]
        assert resource["action"] == action_code(row.action)
        assert datetime.fromisoformat(resource["recorded"]) == row.occurred_at
        assert resource["outcome"] == ("0" if row.outcome == "success" else "4")
        who = resource["agent"][0]["who"]
        if row.actor_user_id is not None:
            assert who == {"reference": f"Practitioner/staff-{row.actor_user_id}"}
        assert resource["entity"][0]["type"]["code"] == row.entity_type
        # The event's free-form detail is not sent.
        assert "detail" not in json.dumps(resource)
    # No patient's name, MRN or birth date is in any event sent.
    fresh(clinic)
    people = clinic.db.execute(select(Patient.mrn, PatientDemographics.family_name,
                                      PatientDemographics.date_of_birth)
                               .join(PatientDemographics,
                                     PatientDemographics.patient_id == Patient.id)).all()
    text = json.dumps(clinic.resources("/AuditEvent", Role.ADMIN, action="C,U"))
    for mrn, family, born in people:
        assert f'"{mrn}"' not in text and f'"{family}"' not in text
        assert born.isoformat() not in text


def test_a_patients_events_are_found_by_entity(clinic: Clinic) -> None:
    patient = clinic.patient_id
    # A FHIR read of the patient is audited by FHIR type; the record's own events by kind.
    clinic.ok(f"/Patient/{patient}")
    trail = _trail(clinic)
    expected = {f"audit-{e.id}" for e in trail if e.entity_id == str(patient)
                and e.entity_type in ("patient", "Patient")}
    assert any(e.entity_type == "Patient" for e in trail if f"audit-{e.id}" in expected)
    found = clinic.resources("/AuditEvent", Role.ADMIN, entity=f"Patient/{patient}",
                             date=f"le{instant(trail[-1].occurred_at)}")
    assert ids(found) == expected
    assert all(r["entity"][0]["what"] == {"reference": f"Patient/{patient}"} for r in found)
    sessions_of = {f"audit-{e.id}" for e in trail if e.entity_type == "infusion_session"}
    session_id = next(e.entity_id for e in trail if e.entity_type == "infusion_session")
    by_session = ids(clinic.resources("/AuditEvent", Role.ADMIN,
                                      entity=f"Encounter/session-{session_id}"))
    assert by_session and by_session <= sessions_of
    bad = clinic.get("/AuditEvent", role=Role.ADMIN, entity="12")
    assert bad.status_code == 400 and "entity" in json.dumps(bad.json())


def test_agent_action_and_date_searches(clinic: Clinic) -> None:
    trail = _trail(clinic)
    fresh(clinic)
    nurse = clinic.db.scalar(select(StaffUser.id).where(StaffUser.role == Role.NURSE)
                             .order_by(StaffUser.id))
    last = instant(trail[-1].occurred_at)
    by_nurse = {f"audit-{e.id}" for e in trail if e.actor_user_id == nurse}
    assert by_nurse
    for value in (f"Practitioner/staff-{nurse}", f"staff-{nurse}"):
        assert ids(clinic.resources("/AuditEvent", Role.ADMIN, agent=value,
                                    date=f"le{last}")) == by_nurse
    creates = {f"audit-{e.id}" for e in trail if action_code(e.action) == "C"}
    assert creates
    assert ids(clinic.resources("/AuditEvent", Role.ADMIN, action="C",
                                date=f"le{last}")) == creates
    pivot = trail[len(trail) // 2]
    at, cut = instant(pivot.occurred_at), pivot.occurred_at.replace(microsecond=0)
    before = ids(clinic.resources("/AuditEvent", Role.ADMIN, date=f"lt{at}"))
    assert before == {f"audit-{e.id}" for e in trail if e.occurred_at < cut}
    bad = clinic.get("/AuditEvent", role=Role.ADMIN, agent="Practitioner/someone")
    assert bad.status_code == 400 and bad.json()["resourceType"] == "OperationOutcome"
