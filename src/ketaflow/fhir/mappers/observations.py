"""Observation: chair-side vitals, body measurements (vital-signs, LOINC) and scale totals
(survey, through `ketaflow.scales.fhir`)."""

from __future__ import annotations

from datetime import datetime

from ketaflow.fhir.codes import LOINC, OBSERVATION_CATEGORY, UCUM, Resource, concept, reference

VITAL_SIGNS = (OBSERVATION_CATEGORY, "vital-signs")
SURVEY = (OBSERVATION_CATEGORY, "survey")

BP_PANEL = ("85354-9", "Blood pressure panel with all children optional")
SYSTOLIC = ("8480-6", "Systolic blood pressure")
DIASTOLIC = ("8462-4", "Diastolic blood pressure")
HEART_RATE = ("8867-4", "Heart rate")
SPO2 = ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry")
SAO2 = ("2708-6", "Oxygen saturation in Arterial blood")
RESP_RATE = ("9279-1", "Respiratory rate")
BODY_WEIGHT = ("29463-7", "Body weight")
BODY_HEIGHT = ("8302-2", "Body height")
BMI = ("39156-5", "Body mass index (BMI) [Ratio]")


def quantity(value: float, unit: str) -> Resource:
    return {"value": round(value, 2), "unit": unit, "system": UCUM, "code": unit}


def vital_sign(*, patient_id: int, at: datetime, codes: tuple[tuple[str, str], ...],
               value: Resource | None = None, components: list[Resource] | None = None,
               performer_id: str | None = None) -> Resource:
    """A final vital-signs Observation coded with every LOINC code in `codes` (the first is
    the profile's own)."""
    resource: Resource = {
        "resourceType": "Observation",
        "status": "final",
        "category": [concept(OBSERVATION_CATEGORY, "vital-signs", "Vital Signs")],
        "code": {"coding": [{"system": LOINC, "code": code, "display": display}
                            for code, display in codes], "text": codes[0][1]},
        "subject": reference("Patient", patient_id),
        "effectiveDateTime": at.isoformat(),
    }
    if value is not None:
        resource["valueQuantity"] = value
    if components is not None:
        resource["component"] = components
    if performer_id is not None:
        resource["performer"] = [reference("Practitioner", performer_id)]
    return resource


def blood_pressure(*, patient_id: int, at: datetime, systolic_mmhg: float,
                   diastolic_mmhg: float, performer_id: str | None = None) -> Resource:
    components = [
        {"code": {"coding": [{"system": LOINC, "code": code, "display": display}]},
         "valueQuantity": quantity(value, "mm[Hg]")}
        for (code, display), value in ((SYSTOLIC, systolic_mmhg), (DIASTOLIC, diastolic_mmhg))
    ]
    return vital_sign(patient_id=patient_id, at=at, codes=(BP_PANEL,), components=components,
                      performer_id=performer_id)
