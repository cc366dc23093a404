"""Observation: chair-side vitals, body measurements (vital-signs, LOINC), scale totals
(survey, through `ketaflow.scales.fhir`) and mood chart entries (survey, local codes)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import date, datetime

from ketaflow.fhir.codes import (
    KETAFLOW_CODES,
    LOINC,
    OBSERVATION_CATEGORY,
    UCUM,
    Resource,
    concept,
    reference,
)

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
# Mood chart entries have no LOINC code (the NIMH Life Chart's daily ratings are not in LOINC):
# local codes, listed in docs/fhir.md.
MOOD_ENTRY = ("mood-chart-entry", "Mood chart entry (daily ratings 0-3 and sleep)")
MOOD_POLES = {
    "depressed": ("mood-depressed", "Depressed mood (0 none to 3 severe)"),
    "elevated": ("mood-elevated", "Elevated mood (0 none to 3 severe)"),
    "irritable": ("mood-irritable", "Irritable mood (0 none to 3 severe)"),
    "anxious": ("mood-anxious", "Anxious mood (0 none to 3 severe)"),
}
SLEEP = ("sleep-duration", "Hours slept the night before")


# Elements every vital sign of a kind carries alike, made once and shared by its resources
# (a bulk export builds hundreds of thousands; resources are encoded, never edited, once built).
_VITAL_SIGNS_CATEGORY = [concept(OBSERVATION_CATEGORY, "vital-signs", "Vital Signs")]


@functools.cache
def _vital_code(codes: tuple[tuple[str, str], ...]) -> Resource:
    return {"coding": [{"system": LOINC, "code": code, "display": display}
                       for code, display in codes], "text": codes[0][1]}


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
        "category": _VITAL_SIGNS_CATEGORY,
        "code": _vital_code(codes),
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


def mood_entry(*, patient_id: int, day: date, poles: Mapping[str, int],
               sleep_h: float | None, performer: dict[str, str] | None,
               entered_in_error: bool) -> Resource:
    """One mood chart entry: the day it is about (a date: the patient's calendar day), a
    component per pole (0-3) and the hours slept (UCUM h) when given."""
    components: list[Resource] = [
        {"code": concept(KETAFLOW_CODES, *MOOD_POLES[pole]), "valueInteger": poles[pole]}
        for pole in MOOD_POLES]
    if sleep_h is not None:
        components.append({"code": concept(KETAFLOW_CODES, *SLEEP),
                           "valueQuantity": quantity(sleep_h, "h")})
    resource: Resource = {
        "resourceType": "Observation",
        "status": "entered-in-error" if entered_in_error else "final",
        "category": [concept(OBSERVATION_CATEGORY, "survey", "Survey")],
        "code": concept(KETAFLOW_CODES, *MOOD_ENTRY, text="Mood chart entry"),
        "subject": reference("Patient", patient_id),
        "effectiveDateTime": day.isoformat(),
        "component": components,
    }
    if performer is not None:
        resource["performer"] = [performer]
    return resource
