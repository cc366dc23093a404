"""Sources of Observation: chair-side vitals, body measurements, scale totals and mood chart
entries.

One vitals row gives up to four Observations (blood pressure, heart rate, SpO2, respiratory
rate) and one measurement row up to three (weight, height, BMI): each is a source of its own,
over the rows where its value was taken, with ids like "vitals-12-bp" and "measurement-3-bmi".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Row, Select, func, select
from sqlalchemy.orm import Session, selectinload

from ketaflow.assessments import fhir as assessments_fhir
from ketaflow.assessments.models import Assessment, AssessmentResult
from ketaflow.fhir import search
from ketaflow.fhir.codes import (
    KETAFLOW_CODES,
    LOINC,
    OBSERVATION_CATEGORY,
    Resource,
    practitioner_id,
    reference,
    us_core,
)
from ketaflow.fhir.mappers import observations as obs
from ketaflow.infusions.models import InfusionSession, VitalsRecord
from ketaflow.moodchart.models import MoodEntry
from ketaflow.patients.models import Measurement
from ketaflow.scales import fhir as scales_fhir
from ketaflow.scales.instruments import KETAFLOW_SCORES, ScoringRule, get_instrument, instrument_ids

# A vitals or measurement row as the builders read it: the ORM object, or the plain row the
# loaders select (the same column names).
Vitals = VitalsRecord | Row[Any]
Measured = Measurement | Row[Any]

_VITAL_SIGNS = search.static_tokens((OBSERVATION_CATEGORY, "vital-signs"))
_SURVEY = search.static_tokens((OBSERVATION_CATEGORY, "survey"))


# ---------------------------------------------------------------- vitals


def _vitals_base(*present: search.Column) -> Callable[[Select[Any]], Select[Any]]:
    def base(query: Select[Any]) -> Select[Any]:
        return (query.select_from(VitalsRecord)
                .join(InfusionSession, InfusionSession.id == VitalsRecord.session_id)
                .where(*(column.is_not(None) for column in present)))
    return base


# Plain rows, not ORM objects: the builders read the columns only, and making objects was a
# third of a bulk export's time.
_VITALS_COLUMNS = (*VitalsRecord.__table__.c, InfusionSession.patient_id.label("of_patient"))


def _performer(user_id: int | None) -> str | None:
    return None if user_id is None else practitioner_id(user_id)


def _bp(row: Vitals, patient_id: int) -> Resource:
    assert row.sbp_mmhg is not None and row.dbp_mmhg is not None  # the frame's condition
    return obs.blood_pressure(patient_id=patient_id, at=row.taken_at,
                              systolic_mmhg=row.sbp_mmhg, diastolic_mmhg=row.dbp_mmhg,
                              performer_id=_performer(row.recorded_by_user_id))


def _single(codes: tuple[tuple[str, str], ...], column: str, unit: str
            ) -> Callable[[Vitals, int], Resource]:
    def build(row: Vitals, patient_id: int) -> Resource:
        value: float = getattr(row, column)
        return obs.vital_sign(patient_id=patient_id, at=row.taken_at, codes=codes,
                              value=obs.quantity(value, unit),
                              performer_id=_performer(row.recorded_by_user_id))
    return build


def _vitals_source(key: str, profile: str, codes: tuple[tuple[str, str], ...],
                   present: Sequence[search.Column],
                   build: Callable[[Vitals, int], Resource]) -> search.Source:
    base = _vitals_base(*present)
    rows = search.Rows(_VITALS_COLUMNS, search.each(lambda row: build(row, row.of_patient)))
    return search.Source(
        key=f"vitals-{key}", row=VitalsRecord.id, updated=VitalsRecord.recorded_at,
        base=base, load=search.rows_loader(VitalsRecord.id, base, rows), rows=rows,
        profile=us_core(profile), prefix="vitals-", suffix=f"-{key}",
        filters={"patient": search.references(InfusionSession.patient_id),
                 "category": _VITAL_SIGNS,
                 "code": search.static_tokens(*((LOINC, code) for code, _ in codes)),
                 "date": search.date_filter(VitalsRecord.taken_at)},
    )


BLOOD_PRESSURE = _vitals_source("bp", "blood-pressure", (obs.BP_PANEL,),
                                (VitalsRecord.sbp_mmhg, VitalsRecord.dbp_mmhg), _bp)
HEART_RATE = _vitals_source("hr", "heart-rate", (obs.HEART_RATE,), (VitalsRecord.hr_bpm,),
                            _single((obs.HEART_RATE,), "hr_bpm", "/min"))
PULSE_OXIMETRY = _vitals_source("spo2", "pulse-oximetry", (obs.SPO2, obs.SAO2),
                                (VitalsRecord.spo2_percent,),
                                _single((obs.SPO2, obs.SAO2), "spo2_percent", "%"))
RESPIRATORY_RATE = _vitals_source("rr", "respiratory-rate", (obs.RESP_RATE,),
                                  (VitalsRecord.rr_per_min,),
                                  _single((obs.RESP_RATE,), "rr_per_min", "/min"))


# ---------------------------------------------------------------- body measurements


def _bmi(weight_kg: float, height_cm: float) -> float:
    return weight_kg / (height_cm / 100.0) ** 2


def _measurement_builder(kind: str) -> Callable[[Measured], Resource]:
    def build(row: Measured) -> Resource:
        weight, height = row.weight_kg, row.height_cm
        if kind == "weight":
            assert weight is not None
            codes, value = (obs.BODY_WEIGHT,), obs.quantity(weight, "kg")
        elif kind == "height":
            assert height is not None
            codes, value = (obs.BODY_HEIGHT,), obs.quantity(height, "cm")
        else:
            assert weight is not None and height is not None
            codes, value = (obs.BMI,), obs.quantity(_bmi(weight, height), "kg/m2")
        resource = obs.vital_sign(patient_id=row.patient_id, at=row.measured_at, codes=codes,
                                  value=value, performer_id=_performer(row.recorded_by_user_id))
        if row.entered_in_error_at is not None:  # a column: plain rows have no properties
            resource["status"] = "entered-in-error"
        return resource
    return build


def _measurement_source(kind: str, profile: str, code: tuple[str, str],
                        present: Sequence[search.Column]) -> search.Source:
    build = _measurement_builder(kind)

    def base(query: Select[Any]) -> Select[Any]:
        return query.select_from(Measurement).where(*(c.is_not(None) for c in present))

    rows = search.Rows(tuple(Measurement.__table__.c), search.each(build))  # as the vitals
    return search.Source(
        key=f"measurement-{kind}", row=Measurement.id,
        updated=func.coalesce(Measurement.entered_in_error_at, Measurement.recorded_at),
        base=base, load=search.rows_loader(Measurement.id, base, rows), rows=rows,
        profile=us_core(profile), prefix="measurement-", suffix=f"-{kind}",
        filters={"patient": search.references(Measurement.patient_id),
                 "category": _VITAL_SIGNS,
                 "code": search.static_tokens((LOINC, code[0])),
                 "date": search.date_filter(Measurement.measured_at)},
    )


BODY_WEIGHT = _measurement_source("weight", "body-weight", obs.BODY_WEIGHT,
                                  (Measurement.weight_kg,))
BODY_HEIGHT = _measurement_source("height", "body-height", obs.BODY_HEIGHT,
                                  (Measurement.height_cm,))
BMI = _measurement_source("bmi", "bmi", obs.BMI, (Measurement.weight_kg, Measurement.height_cm))


# ---------------------------------------------------------------- scale totals


def instrument_code(instrument_id: str) -> tuple[str, str]:
    """The (system, code) of an instrument's total Observation, as `scales.fhir` codes it."""
    definition = get_instrument(instrument_id)
    if definition.rule is ScoringRule.RISK_LEVEL:
        return KETAFLOW_SCORES, f"{definition.id}-risk-level"
    if definition.total_code is not None:
        return definition.total_code.system, definition.total_code.code
    return KETAFLOW_SCORES, f"{definition.id}-total"


def _scale_codes() -> dict[tuple[str, str], object]:
    return {instrument_code(instrument): instrument for instrument in instrument_ids()}


def _assessments(query: Select[Any]) -> Select[Any]:
    # Amended originals are left out, as in the assessments export: the correction replaces
    # them (and keeps a link to them in the record).
    return query.select_from(Assessment).where(Assessment.superseded_at.is_(None))


def _load_totals(session: Session, ids: Sequence[int]) -> Mapping[int, Resource]:
    rows = session.scalars(select(Assessment).where(Assessment.id.in_(ids))
                           .options(selectinload(Assessment.results)))
    return {row.id: _total(row) for row in rows}


def _total(row: Assessment) -> Resource:
    export = assessments_fhir.scale_export(row)
    resource = scales_fhir.total_observation(export)
    if row.rater_user_id is not None:
        resource["performer"] = [{"reference": export.author_reference}]
    return resource


# A rescore adds a result version: the newest one's time is the Observation's last change.
_LAST_SCORED = (select(func.max(AssessmentResult.scored_at))
                .where(AssessmentResult.assessment_id == Assessment.id)
                .correlate(Assessment).scalar_subquery())

SCALE_TOTAL = search.Source(
    key="assessment-total", row=Assessment.id, updated=func.coalesce(_LAST_SCORED,
                                                                     Assessment.recorded_at),
    base=_assessments, load=_load_totals, profile=us_core("observation-screening-assessment"),
    prefix="assessment-", suffix="-total",
    filters={"patient": search.references(Assessment.patient_id),
             "category": _SURVEY,
             "code": search.mapped_tokens(Assessment.instrument_id, _scale_codes()),
             "date": search.date_filter(Assessment.rated_at)},
)



# ---------------------------------------------------------------- mood chart entries


def _mood_entries(query: Select[Any]) -> Select[Any]:
    return query.select_from(MoodEntry)


def _mood_entry(row: MoodEntry) -> Resource:
    # Who reported it: the patient through their link, or the clinician who typed it in.
    performer = (reference("Patient", row.patient_id) if row.entered_by_user_id is None
                 else reference("Practitioner", practitioner_id(row.entered_by_user_id)))
    return obs.mood_entry(
        patient_id=row.patient_id, day=row.day,
        poles={"depressed": row.depressed, "elevated": row.elevated,
               "irritable": row.irritable, "anxious": row.anxious},
        sleep_h=row.sleep_h, performer=performer,
        entered_in_error=row.entered_in_error_at is not None)


def _load_mood_entries(session: Session, ids: Sequence[int]) -> Mapping[int, Resource]:
    return {row.id: _mood_entry(row)
            for row in session.scalars(select(MoodEntry).where(MoodEntry.id.in_(ids)))}


# An entry is never changed: marking it entered in error is its only (and last) change.
MOOD_ENTRY = search.Source(
    key="mood-entry", row=MoodEntry.id,
    updated=func.coalesce(MoodEntry.entered_in_error_at, MoodEntry.recorded_at),
    base=_mood_entries, load=_load_mood_entries,
    profile=us_core("observation-screening-assessment"), prefix="mood-entry-",
    filters={"patient": search.references(MoodEntry.patient_id),
             "category": _SURVEY,
             "code": search.static_tokens((KETAFLOW_CODES, obs.MOOD_ENTRY[0])),
             # The patient's calendar day, read in the clinic's zone.
             "date": search.day_filter(MoodEntry.day)},
)

OBSERVATION_SOURCES = (BLOOD_PRESSURE, HEART_RATE, PULSE_OXIMETRY, RESPIRATORY_RATE,
                       BODY_WEIGHT, BODY_HEIGHT, BMI, SCALE_TOTAL, MOOD_ENTRY)
