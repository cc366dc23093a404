"""Encounter, MedicationRequest and MedicationAdministration on the seeded clinic (both
databases): each is checked against the infusion rows it comes from, with statuses mapped here
independently of the SQL that maps them, and searched by patient, date prefixes and status."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from ketaflow.audit.models import AuditEvent
from ketaflow.config import Role
from ketaflow.fhir.mappers import infusions as mapper
from ketaflow.infusions.models import EventKind, InfusionOrder, InfusionSession, SessionEvent
from ketaflow.infusions.rules import SessionStatus
from tests.fhir.conftest import Clinic, fresh, ids, validate

S = SessionStatus
_IN_PROGRESS = (S.RUNNING, S.PAUSED, S.STOPPED, S.OBSERVATION)


def encounter_status(row: InfusionSession) -> str:
    if row.status is S.ABORTED:
        return "cancelled" if row.started_at is None else "finished"
    return {S.PLANNED: "planned", S.PRECHECKS: "arrived", S.DISCHARGED: "finished"}.get(
        row.status, "in-progress")


def administration_status(row: InfusionSession) -> str:
    if row.status in (S.STOPPED, S.OBSERVATION, S.DISCHARGED):
        return "completed"
    return "stopped" if row.status is S.ABORTED else "in-progress"


def request_status(order: InfusionOrder, row: InfusionSession) -> str:
    if order.superseded_at is not None:
        return "stopped"
    if row.status is S.ABORTED:
        return "cancelled" if row.started_at is None else "stopped"
    return "completed" if row.status in (S.STOPPED, S.OBSERVATION, S.DISCHARGED) else "active"


def sessions(clinic: Clinic, patient_id: int | None = None) -> list[InfusionSession]:
    fresh(clinic)
    query = select(InfusionSession).order_by(InfusionSession.id)
    if patient_id is not None:
        query = query.where(InfusionSession.patient_id == patient_id)
    return list(clinic.db.scalars(query))


def orders(clinic: Clinic) -> dict[int, tuple[InfusionOrder, InfusionSession]]:
    fresh(clinic)
    rows = clinic.db.execute(select(InfusionOrder, InfusionSession)
                             .join(InfusionSession,
                                   InfusionSession.id == InfusionOrder.session_id)).all()
    return {order.id: (order, row) for order, row in rows}


def instant(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def audits(clinic: Clinic, entity_type: str) -> int:
    fresh(clinic)
    return clinic.db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "fhir.search", AuditEvent.entity_type == entity_type)) or 0


# ---------------------------------------------------------------- Encounter


def test_encounters_are_the_patients_sessions_with_mapped_status(clinic: Clinic) -> None:
    rows = sessions(clinic, clinic.patient_id)
    found = {r["id"]: r for r in clinic.resources("/Encounter", patient=str(clinic.patient_id))}
    assert set(found) == {f"session-{row.id}" for row in rows}
    signers = {o.session_id: o.signed_by_user_id for o, _ in orders(clinic).values()}
    for row in rows:
        resource = found[f"session-{row.id}"]
        assert resource["status"] == encounter_status(row)
        assert resource["class"]["code"] == "AMB"
        assert resource["subject"]["reference"] == f"Patient/{clinic.patient_id}"
        assert resource["serviceProvider"]["reference"] == "Organization/clinic"
        assert datetime.fromisoformat(resource["period"]["start"]) == row.opened_at
        people = {p["individual"]["reference"]: p["type"][0]["coding"][0]["code"]
                  for p in resource["participant"]}
        assert people[f"Practitioner/staff-{row.opened_by_user_id}"] == "PPRF"
        if row.id in signers:
            assert people[f"Practitioner/staff-{signers[row.id]}"] == "ATND"


def test_encounter_status_search_matches_each_mapped_status(clinic: Clinic) -> None:
    rows = sessions(clinic)
    expected: dict[str, set[str]] = {}
    for row in rows:
        expected.setdefault(encounter_status(row), set()).add(f"session-{row.id}")
    assert len(expected) >= 2, "the demo should hold sessions in more than one state"
    for status, wanted in expected.items():
        assert ids(clinic.resources("/Encounter", status=status)) == wanted
    finished = expected.get("finished", set())
    assert ids(clinic.resources(
        "/Encounter", status="http://hl7.org/fhir/encounter-status|finished")) == finished
    assert clinic.resources("/Encounter", status="http://example.org/other|finished") == []
    either = ",".join(sorted(expected)[:2])
    assert ids(clinic.resources("/Encounter", status=either)) == set().union(
        *(expected[s] for s in sorted(expected)[:2]))


def test_encounter_date_prefixes_split_at_a_session_start(clinic: Clinic) -> None:
    rows = sessions(clinic, clinic.patient_id)
    assert len(rows) >= 2
    pivot = rows[len(rows) // 2]
    at = instant(pivot.opened_at)
    patient = str(clinic.patient_id)
    cut = pivot.opened_at.replace(microsecond=0)
    after = ids(clinic.resources("/Encounter", patient=patient, date=f"ge{at}"))
    before = ids(clinic.resources("/Encounter", patient=patient, date=f"lt{at}"))
    assert after == {f"session-{r.id}" for r in rows if r.opened_at >= cut}
    assert before == {f"session-{r.id}" for r in rows if r.opened_at < cut}
    assert f"session-{pivot.id}" in after
    # eq on a value to the second: the sessions opened within that second.
    same = ids(clinic.resources("/Encounter", patient=patient, date=at))
    assert f"session-{pivot.id}" in same and same <= after
    # A whole year before any session: nothing; the year of the pivot: the pivot among them.
    assert clinic.resources("/Encounter", patient=patient, date="lt2000") == []
    year = str(pivot.opened_at.year)
    assert f"session-{pivot.id}" in ids(clinic.resources("/Encounter", patient=patient,
                                                         date=year))


def test_encounter_include_patient_and_read(clinic: Clinic) -> None:
    bundle = clinic.ok("/Encounter", patient=str(clinic.patient_id),
                       _include="Encounter:patient")
    included = [e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "include"]
    assert [(r["resourceType"], r["id"]) for r in included] == [
        ("Patient", str(clinic.patient_id))]
    first = next(e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "match")
    assert clinic.ok(f"/Encounter/{first['id']}") == first


# ---------------------------------------------------------------- MedicationRequest


def test_medication_requests_are_the_signed_orders(clinic: Clinic) -> None:
    by_id = orders(clinic)
    found = clinic.resources("/MedicationRequest")
    assert ids(found) == {f"order-{order_id}" for order_id in by_id}
    for resource in found:
        order, row = by_id[int(resource["id"].removeprefix("order-"))]
        assert resource["status"] == request_status(order, row)
        assert resource["intent"] == "order"
        assert resource["subject"]["reference"] == f"Patient/{row.patient_id}"
        assert resource["encounter"]["reference"] == f"Encounter/session-{row.id}"
        assert resource["requester"]["reference"] == f"Practitioner/staff-{order.signed_by_user_id}"
        assert datetime.fromisoformat(resource["authoredOn"]) == order.signed_at
        ordered, calculated = resource["dosageInstruction"][0]["doseAndRate"]
        assert ordered["doseQuantity"] == {"value": round(order.dose_mg_per_kg, 2),
                                           "unit": "mg/kg", "system": "http://unitsofmeasure.org",
                                           "code": "mg/kg"}
        assert calculated["doseQuantity"]["value"] == round(order.dose_mg, 2)
        assert calculated["rateQuantity"]["value"] == round(order.rate_ml_per_h, 2)
        assert calculated["rateQuantity"]["code"] == "mL/h"
        # The calculated dose is the ordered dose for the order's dosing weight.
        assert order.dose_mg == pytest.approx(order.dose_mg_per_kg * order.dosing_weight_kg,
                                              rel=0.01)


def test_medication_request_search_by_patient_intent_status_and_authoredon(
        clinic: Clinic) -> None:
    by_id = orders(clinic)
    patient = clinic.patient_id
    mine = {f"order-{i}" for i, (_, row) in by_id.items() if row.patient_id == patient}
    assert mine
    assert ids(clinic.resources("/MedicationRequest", patient=f"Patient/{patient}")) == mine
    assert ids(clinic.resources("/MedicationRequest", patient=str(patient),
                                intent="order")) == mine
    assert clinic.resources("/MedicationRequest", patient=str(patient), intent="plan") == []
    statuses: dict[str, set[str]] = {}
    for order_id, (order, row) in by_id.items():
        statuses.setdefault(request_status(order, row), set()).add(f"order-{order_id}")
    for status, wanted in statuses.items():
        assert ids(clinic.resources("/MedicationRequest", status=status)) == wanted
    signed = sorted(order.signed_at for order, row in by_id.values() if row.patient_id == patient)
    pivot = signed[len(signed) // 2].replace(microsecond=0)
    at = instant(pivot)
    later = ids(clinic.resources("/MedicationRequest", patient=str(patient),
                                 authoredon=f"ge{at}"))
    earlier = ids(clinic.resources("/MedicationRequest", patient=str(patient),
                                   authoredon=f"lt{at}"))
    assert later == {f"order-{i}" for i, (o, r) in by_id.items()
                     if r.patient_id == patient and o.signed_at >= pivot}
    assert earlier | later == mine and not earlier & later


# ---------------------------------------------------------------- MedicationAdministration


def test_administrations_are_the_started_infusions(clinic: Clinic) -> None:
    started = [row for row in sessions(clinic) if row.started_at is not None]
    by_id = orders(clinic)
    latest = {}
    for order, row in sorted(by_id.values(), key=lambda pair: pair[0].id):
        latest[row.id] = order
    found = {r["id"]: r for r in clinic.resources("/MedicationAdministration")}
    assert set(found) == {f"infusion-{row.id}" for row in started}
    for row in started:
        resource = found[f"infusion-{row.id}"]
        order = latest[row.id]
        assert resource["status"] == administration_status(row)
        assert resource["context"]["reference"] == f"Encounter/session-{row.id}"
        assert resource["request"]["reference"] == f"MedicationRequest/order-{order.id}"
        assert resource["contained"][0]["batch"]["lotNumber"] == order.lot_number
        if administration_status(row) == "in-progress":
            assert resource["dosage"]["dose"]["value"] == round(order.dose_mg, 2)
        else:  # what the pump gave, never more than ordered
            assert resource["dosage"]["dose"]["value"] <= round(order.dose_mg, 2)
        rate = row.rate_ml_per_h if row.rate_ml_per_h is not None else order.rate_ml_per_h
        assert resource["dosage"]["rateQuantity"]["value"] == round(rate, 2)
        assert datetime.fromisoformat(resource["effectivePeriod"]["start"]) == row.started_at
    # The references resolve to resources this server serves.
    some = next(iter(found.values()))
    assert clinic.ok(f"/{some['context']['reference']}")["resourceType"] == "Encounter"
    assert clinic.ok(f"/{some['request']['reference']}")["resourceType"] == "MedicationRequest"


def test_an_infusion_stopped_early_gives_the_dose_delivered(clinic: Clinic) -> None:
    # The demo's early stop: the pump ran at the order's constant rate for 24 of its 40
    # minutes, so 24/40 of the ordered dose went in (the FHIR record must not say all of it).
    fresh(clinic)
    stop = clinic.db.scalars(select(SessionEvent).where(
        SessionEvent.kind == EventKind.STATUS)).all()
    early = next(e for e in stop if e.detail.get("action") == "stop" and e.detail.get("early"))
    order = orders_of(clinic, early.session_id)[-1]
    resource = clinic.ok(f"/MedicationAdministration/infusion-{early.session_id}")
    assert resource["status"] == "completed"
    assert resource["dosage"]["dose"]["value"] == pytest.approx(order.dose_mg * 24 / 40,
                                                                abs=0.05)
    assert resource["dosage"]["text"].startswith(
        f"{order.dose_mg * 24 / 40:.1f} mg as {order.dose_salt.value} delivered in 24 min")


def orders_of(clinic: Clinic, session_id: int) -> list[InfusionOrder]:
    return sorted((o for o, row in orders(clinic).values() if row.id == session_id),
                  key=lambda o: o.id)


def test_administration_search_by_effective_time_and_status(clinic: Clinic) -> None:
    started = [r for r in sessions(clinic, clinic.patient_id) if r.started_at is not None]
    assert len(started) >= 2
    patient = str(clinic.patient_id)
    pivot = started[len(started) // 2].started_at
    assert pivot is not None
    cut = pivot.replace(microsecond=0)
    later = ids(clinic.resources("/MedicationAdministration", patient=patient,
                                 **{"effective-time": f"ge{instant(pivot)}"}))
    assert later == {f"infusion-{r.id}" for r in started
                     if r.started_at is not None and r.started_at >= cut}
    earlier = ids(clinic.resources("/MedicationAdministration", patient=patient,
                                   **{"effective-time": f"le{instant(pivot)}"}))
    assert f"infusion-{started[len(started) // 2].id}" in earlier & later
    everyone = [r for r in sessions(clinic) if r.started_at is not None]
    for status in {administration_status(r) for r in everyone}:
        assert ids(clinic.resources("/MedicationAdministration", status=status)) == {
            f"infusion-{r.id}" for r in everyone if administration_status(r) == status}


# ---------------------------------------------------------------- AdverseEvent


def test_adverse_events_are_the_charted_events(clinic: Clinic) -> None:
    fresh(clinic)
    rows = clinic.db.execute(select(SessionEvent, InfusionSession)
                             .join(InfusionSession, InfusionSession.id == SessionEvent.session_id)
                             .where(SessionEvent.kind == EventKind.ADVERSE_EVENT)).all()
    assert len(rows) == 2  # charted by the fixture
    found = {r["id"]: r for r in clinic.resources("/AdverseEvent")}
    assert set(found) == {f"adverse-event-{event.id}" for event, _ in rows}
    for event, row in rows:
        resource = found[f"adverse-event-{event.id}"]
        assert resource["event"]["text"] == event.reason
        assert resource["subject"]["reference"] == f"Patient/{row.patient_id}"
        assert resource["encounter"]["reference"] == f"Encounter/session-{row.id}"
        assert resource["seriousness"]["coding"][0]["code"] == (
            "serious" if event.serious else "non-serious")
        assert ("suspectEntity" in resource) == (row.started_at is not None)
        by_seriousness = ids(clinic.resources(
            "/AdverseEvent", seriousness=resource["seriousness"]["coding"][0]["code"]))
        assert by_seriousness == {resource["id"]}
        mine = ids(clinic.resources("/AdverseEvent", patient=str(row.patient_id),
                                    date=f"ge{instant(event.occurred_at)}"))
        assert resource["id"] in mine
        assert clinic.resources("/AdverseEvent", patient=str(row.patient_id),
                                date=f"lt{instant(row.opened_at)}") == []


# ---------------------------------------------------------------- access and bad input


@pytest.mark.parametrize("name", ["Encounter", "MedicationRequest", "MedicationAdministration",
                                  "AdverseEvent"])
def test_clinical_types_refuse_front_desk_and_audit_searches(clinic: Clinic, name: str) -> None:
    refused = clinic.get(f"/{name}", Role.FRONT_DESK)
    assert refused.status_code == 403
    assert refused.json()["resourceType"] == "OperationOutcome"
    assert clinic.get(f"/{name}", None).status_code == 401
    before = audits(clinic, name)
    clinic.ok(f"/{name}", Role.NURSE, patient=str(clinic.patient_id))
    assert audits(clinic, name) == before + 1


@pytest.mark.parametrize(("name", "query"), [
    ("Encounter", {"date": "2026-13-01"}),
    ("Encounter", {"location": "x"}),
    ("MedicationRequest", {"authoredon": "yesterday"}),
    ("MedicationAdministration", {"effective-time": "ge2026-03-01T10:00"}),
    ("MedicationAdministration", {"patient": "Group/1"}),
])
def test_bad_search_values_answer_400_naming_the_parameter(clinic: Clinic, name: str,
                                                           query: dict[str, str]) -> None:
    response = clinic.get(f"/{name}", **query)
    assert response.status_code == 400
    issue = response.json()["issue"][0]
    assert issue["expression"] == [next(iter(query))]


def test_a_replacing_order_names_the_order_it_replaces(clinic: Clinic) -> None:
    """The demo replaces no order: a signed order row, copied as a replacement of itself,
    is mapped and parsed (the mapping only; the statuses are covered above)."""
    fresh(clinic)
    order, row = next(iter(orders(clinic).values()))
    replacement = InfusionOrder(**{c.key: getattr(order, c.key)
                                   for c in InfusionOrder.__table__.columns})
    replacement.id, replacement.supersedes_order_id = order.id + 1000, order.id
    resource = mapper.medication_request(replacement, row.patient_id, "active")
    validate(resource | {"id": "order-x"})
    assert resource["priorPrescription"] == {"reference": f"MedicationRequest/order-{order.id}"}
