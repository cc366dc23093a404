"""Encounter (each infusion session), MedicationRequest (its signed order),
MedicationAdministration (the infusion given) and AdverseEvent (one charted at the chair), from
the infusions domain's rows.

Statuses are worked out in SQL by the sources (`ketaflow.fhir.sources.infusions`), so a search
by status and the resource agree; the mappers take them as given.
"""

from __future__ import annotations

from datetime import datetime

from ketaflow.fhir.codes import (
    ACT_CODE,
    KETAFLOW_CODES,
    ORDER_SYSTEM,
    PARTICIPATION_TYPE,
    SESSION_SYSTEM,
    UCUM,
    Resource,
    coding,
    concept,
    practitioner_id,
    reference,
)
from ketaflow.infusions.formulary import drug_name
from ketaflow.infusions.models import InfusionOrder, InfusionSession, SessionEvent
from ketaflow.infusions.rules.delivery import Delivery

DOSE_RATE_TYPE = "http://terminology.hl7.org/CodeSystem/dose-rate-type"
AE_SERIOUSNESS = "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness"
_SERIOUSNESS = {"serious": "Serious", "non-serious": "Non-serious"}
# No standard code is stored for the session type or the route (the RxNorm and SNOMED CT
# candidates in docs/clinical-sources.md#codes are unverified): a local code and text.
SESSION_TYPE = (KETAFLOW_CODES, "ketamine-infusion-session", "Ketamine infusion session")
_ROUTE = {"text": "Intravenous"}
# Id prefixes: a session's Encounter, an order's MedicationRequest, a session's infusion.
ENCOUNTER_PREFIX = "session-"
REQUEST_PREFIX = "order-"
ADMINISTRATION_PREFIX = "infusion-"


def encounter(row: InfusionSession, status: str) -> Resource:
    """`row.orders` loaded: the signers of its orders are the prescribers taking part."""
    resource: Resource = {
        "resourceType": "Encounter",
        "identifier": [{"system": SESSION_SYSTEM, "value": str(row.id)}],
        "status": status,
        "class": coding(ACT_CODE, "AMB", "ambulatory"),
        "type": [concept(*SESSION_TYPE, text=SESSION_TYPE[2])],
        "subject": reference("Patient", row.patient_id),
        "period": _period(row.opened_at, row.discharged_at or row.aborted_at),
        "serviceProvider": reference("Organization", "clinic"),
    }
    participants = []
    if row.opened_by_user_id is not None:
        participants.append(_participant("PPRF", "primary performer", row.opened_by_user_id))
    for signer in dict.fromkeys(order.signed_by_user_id for order in row.orders):
        participants.append(_participant("ATND", "attender", signer))
    if participants:
        resource["participant"] = participants
    return resource


def _participant(code: str, display: str, user_id: int) -> Resource:
    return {"type": [concept(PARTICIPATION_TYPE, code, display)],
            "individual": reference("Practitioner", practitioner_id(user_id))}


def _period(start: datetime | None, end: datetime | None) -> Resource:
    return {key: value.isoformat() for key, value in (("start", start), ("end", end))
            if value is not None}


def medication_text(order: InfusionOrder) -> str:
    return (f"{drug_name(order.drug)} {order.concentration_mg_per_ml:g} mg/mL "
            f"(as {order.concentration_salt.value})")


def _quantity(value: float, unit: str) -> Resource:
    return {"value": round(value, 2), "unit": unit, "system": UCUM, "code": unit}


def _dose_text(order: InfusionOrder) -> str:
    return (f"{order.dose_mg_per_kg:g} mg/kg ({order.dose_mg:g} mg as "
            f"{order.dose_salt.value}) over {order.duration_min:g} min at "
            f"{order.rate_ml_per_h:g} mL/h")


def medication_request(order: InfusionOrder, patient_id: int, status: str) -> Resource:
    resource: Resource = {
        "resourceType": "MedicationRequest",
        "identifier": [{"system": ORDER_SYSTEM, "value": str(order.id)}],
        "status": status,
        "intent": "order",
        "reportedBoolean": False,
        "medicationCodeableConcept": {"text": medication_text(order)},
        "subject": reference("Patient", patient_id),
        "encounter": reference("Encounter", encounter_id(order.session_id)),
        "authoredOn": order.signed_at.isoformat(),
        "requester": reference("Practitioner", practitioner_id(order.signed_by_user_id)),
        "dosageInstruction": [{
            "text": _dose_text(order),
            "route": _ROUTE,
            "timing": {"repeat": {"count": 1, "duration": order.duration_min,
                                  "durationUnit": "min"}},
            # As ordered (per kilogram) and as calculated for the dosing weight.
            "doseAndRate": [
                {"type": concept(DOSE_RATE_TYPE, "ordered", "Ordered"),
                 "doseQuantity": _quantity(order.dose_mg_per_kg, "mg/kg")},
                {"type": concept(DOSE_RATE_TYPE, "calculated", "Calculated"),
                 "doseQuantity": _quantity(order.dose_mg, "mg"),
                 "rateQuantity": _quantity(order.rate_ml_per_h, "mL/h")},
            ],
        }],
    }
    if order.supersedes_order_id is not None:
        resource["priorPrescription"] = reference(
            "MedicationRequest", request_id(order.supersedes_order_id))
    return resource


def medication_administration(row: InfusionSession, order: InfusionOrder, status: str,
                              given: Delivery | None) -> Resource:
    """The infusion given under the order in force (the session's latest); the drug with its
    lot is a contained Medication, since the lot belongs to the product, not the act. Once the
    infusion is over, the dose is what the pump record shows delivered (`given`: less than
    ordered after an early stop or a pause), while it runs the ordered dose."""
    assert row.started_at is not None  # the source's frame holds started sessions only
    rate = row.rate_ml_per_h if row.rate_ml_per_h is not None else order.rate_ml_per_h
    dose_mg, text = order.dose_mg, f"ordered {_dose_text(order)}"
    if status != "in-progress" and given is not None:
        dose_mg = given.dose_mg
        text = (f"{dose_mg:.1f} mg as {order.dose_salt.value} delivered in "
                f"{given.running_min:.0f} min of infusion; {text}")
    resource: Resource = {
        "resourceType": "MedicationAdministration",
        "contained": [{
            "resourceType": "Medication", "id": "drug",
            "code": {"text": medication_text(order)},
            "batch": {"lotNumber": order.lot_number,
                      "expirationDate": order.expiry_date.isoformat()},
        }],
        "status": status,
        "medicationReference": {"reference": "#drug", "display": medication_text(order)},
        "subject": reference("Patient", row.patient_id),
        "context": reference("Encounter", encounter_id(row.id)),
        "effectivePeriod": _period(row.started_at, row.ended_at),
        "request": reference("MedicationRequest", request_id(order.id)),
        "dosage": {"text": text, "route": _ROUTE, "dose": _quantity(dose_mg, "mg"),
                   "rateQuantity": _quantity(rate, "mL/h")},
    }
    if row.opened_by_user_id is not None:
        resource["performer"] = [{"actor": reference(
            "Practitioner", practitioner_id(row.opened_by_user_id))}]
    return resource


def adverse_event(row: SessionEvent, patient_id: int, seriousness: str, started: bool
                  ) -> Resource:
    """`started`: the infusion had begun, so it is the suspected cause (its
    MedicationAdministration); before that the event is charted against the session only."""
    text = row.reason or "Adverse event"
    symptoms = row.detail.get("symptoms") or []
    if symptoms:
        text = f"{text} (symptoms: {', '.join(str(s) for s in symptoms)})"
    resource: Resource = {
        "resourceType": "AdverseEvent",
        "actuality": "actual",
        "event": {"text": text},
        "subject": reference("Patient", patient_id),
        "encounter": reference("Encounter", encounter_id(row.session_id)),
        "date": row.occurred_at.isoformat(),
        "recordedDate": row.recorded_at.isoformat(),
        "seriousness": concept(AE_SERIOUSNESS, seriousness, _SERIOUSNESS[seriousness]),
    }
    if started:
        resource["suspectEntity"] = [{"instance": reference(
            "MedicationAdministration", f"{ADMINISTRATION_PREFIX}{row.session_id}")}]
    if row.recorded_by_user_id is not None:
        resource["recorder"] = reference("Practitioner", practitioner_id(row.recorded_by_user_id))
    return resource


def encounter_id(session_id: int) -> str:
    return f"{ENCOUNTER_PREFIX}{session_id}"


def request_id(order_id: int) -> str:
    return f"{REQUEST_PREFIX}{order_id}"


# No SNOMED CT code for the procedure is confirmed in docs/clinical-sources.md#codes: a local
# code with text, as for the session type.
PROCEDURE_CODE = (KETAFLOW_CODES, "ketamine-infusion", "Intravenous ketamine infusion")
PROCEDURE_PREFIX = "procedure-"


def procedure(row: InfusionSession, status: str) -> Resource:
    """The infusion as a procedure done to the patient: from its start to its stop (or the
    abort), by the nurse who ran the session, within the session's Encounter, under its
    course's CarePlan."""
    assert row.started_at is not None  # the source's frame holds started sessions only
    resource: Resource = {
        "resourceType": "Procedure",
        "identifier": [{"system": SESSION_SYSTEM, "value": str(row.id)}],
        "status": status,
        "code": concept(*PROCEDURE_CODE, text=PROCEDURE_CODE[2]),
        "subject": reference("Patient", row.patient_id),
        "encounter": reference("Encounter", encounter_id(row.id)),
        "performedPeriod": _period(row.started_at, row.ended_at or row.aborted_at),
        "basedOn": [reference("CarePlan", f"course-{row.course_id}")],
    }
    if row.opened_by_user_id is not None:
        resource["performer"] = [{"actor": reference(
            "Practitioner", practitioner_id(row.opened_by_user_id))}]
    return resource
