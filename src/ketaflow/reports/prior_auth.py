"""The prior-authorisation packet: what a payer asks before it covers a ketamine course, read
from the record as it stands (each part from the domain that owns it, never re-derived here).

Diagnosis with its ICD-10-CM code and episode duration; the treatment-resistance history with
each trial's adequacy and the reasons (the patients domain's ISBD 2025 evaluation); scale scores
with dates; the suicidality history (attempts, C-SSRS results, suicidality alerts); the signed
screening's contraindications and cautions; height, weight and BMI; concomitant medications;
the planned course; and the service codes the clinic configured (none invented: with none, the
packet says so). `packet_json` is the JSON form; `ketaflow.reports.pdf` prints the same packet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from ketaflow.alerts import service as alerts_service
from ketaflow.assessments import service as assessments_service
from ketaflow.audit.service import AuditContext
from ketaflow.courses import service as courses_service
from ketaflow.db import utcnow
from ketaflow.patients import service as patients
from ketaflow.patients.diagnosis_codes import SEVERITY_LABELS
from ketaflow.patients.service.medications import is_current
from ketaflow.reports.service_codes import list_service_codes
from ketaflow.scales import get_instrument
from ketaflow.screening import service as screening

NO_SERVICE_CODES = "no service codes configured by the clinic"
BIPOLAR_LABELS = {"bipolar_i": "Bipolar I disorder", "bipolar_ii": "Bipolar II disorder"}
CSSRS = "cssrs-screener"


def short_name(instrument_id: str) -> str:
    """The instrument's abbreviation as its name gives it ("PHQ-9"), else its id."""
    name = get_instrument(instrument_id).name
    found = re.search(r"\(([^()]+)\)\s*$", name)
    return found.group(1) if found else instrument_id


@dataclass(frozen=True)
class DiagnosisPart:
    label: str
    icd10_code: str
    snomed_code: str
    episode: str
    severity: str | None
    onset_date: date | None
    episode_start_date: date | None
    episode_duration_days: int | None
    psychosis_history: bool


@dataclass(frozen=True)
class TrialPart:
    number: int
    regimen: str
    start_date: date | None
    duration_weeks: float
    adherence_verified: bool
    response: str
    counts: bool
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class ResistancePart:
    verdict: str
    meets: bool
    adequate_failed: int
    required: int
    source: str
    trials: tuple[TrialPart, ...]


@dataclass(frozen=True)
class ScorePart:
    rated_at: datetime
    instrument: str
    total: int | None
    severity: str | None
    risk_level: str | None
    rater: str


@dataclass(frozen=True)
class AlertPart:
    raised_at: datetime
    title: str
    acknowledged_at: datetime | None
    acknowledged_by: str | None


@dataclass(frozen=True)
class SuicidalityPart:
    attempts: int | None            # None without a recorded diagnosis (history not taken)
    last_attempt_date: date | None
    cssrs: tuple[ScorePart, ...]
    alerts: tuple[AlertPart, ...]


@dataclass(frozen=True)
class FindingPart:
    kind: str
    message: str
    source: str


@dataclass(frozen=True)
class ScreeningPart:
    signed_at: datetime
    signed_by: str
    outcome: str
    findings: tuple[FindingPart, ...]


@dataclass(frozen=True)
class BodyPart:
    height_cm: float | None
    height_measured_at: datetime | None
    weight_kg: float | None
    weight_measured_at: datetime | None
    bmi_kg_per_m2: float | None


@dataclass(frozen=True)
class MedicationPart:
    drug: str
    drug_class: str
    dose: str
    start_date: date | None


@dataclass(frozen=True)
class CoursePart:
    course_id: int
    state: str
    infusion_count: int
    frequency: str
    dose_mg_per_kg: float
    max_dose_mg: float
    salt_form: str
    planned_dates: tuple[date, ...]


@dataclass(frozen=True)
class CodePart:
    code_system: str
    code: str
    label: str


@dataclass(frozen=True)
class PriorAuthPacket:
    patient_id: int
    prepared_at: datetime
    diagnosis: DiagnosisPart | None
    resistance: ResistancePart | None
    scores: tuple[ScorePart, ...]
    suicidality: SuicidalityPart
    screening: ScreeningPart | None
    body: BodyPart
    medications: tuple[MedicationPart, ...]
    course: CoursePart | None
    service_codes: tuple[CodePart, ...]


def _diagnosis(record: patients.ClinicalRecord) -> DiagnosisPart | None:
    d = record.diagnosis
    if d is None:
        return None
    return DiagnosisPart(
        label=BIPOLAR_LABELS[d.bipolar_type.value], icd10_code=d.icd10_code,
        snomed_code=d.snomed_code, episode=d.current_episode.value,
        severity=None if d.severity is None else SEVERITY_LABELS[d.severity],
        onset_date=d.onset_date, episode_start_date=d.episode_start_date,
        episode_duration_days=record.episode_days, psychosis_history=d.psychosis_history)


def _resistance(record: patients.ClinicalRecord) -> ResistancePart | None:
    evaluation = record.resistance
    if evaluation is None:
        return None
    trials = []
    for stored, judged in zip(record.trials, evaluation.trials, strict=True):
        trials.append(TrialPart(
            number=judged.index, regimen=judged.trial.describe(), start_date=stored.start_date,
            duration_weeks=stored.duration_weeks, adherence_verified=stored.adherence_verified,
            response=stored.response.value.replace("_", " "), counts=judged.counts,
            reasons=judged.reasons))
    return ResistancePart(evaluation.verdict, evaluation.meets,
                          evaluation.adequate_failed_count, evaluation.required_count,
                          evaluation.source, tuple(trials))


def _scores(session: Session, ctx: AuditContext, patient_id: int) -> tuple[ScorePart, ...]:
    rows = []
    for a in assessments_service.list_assessments(session, ctx, patient_id=patient_id):
        result = a.current_result
        rows.append(ScorePart(a.rated_at, short_name(a.instrument_id), result.total,
                              result.severity, result.risk_level, a.rater_label))
    return tuple(rows)


def _suicidality(session: Session, ctx: AuditContext, record: patients.ClinicalRecord,
                 patient_id: int, scores: tuple[ScorePart, ...]) -> SuicidalityPart:
    rows = [r for r in alerts_service.list_patient_alerts(session, ctx, patient_id=patient_id)
            if r.alert.kind in alerts_service.SUICIDALITY_KINDS]
    staff = patients.staff_labels(session, [r.alert.acknowledged_by_user_id for r in rows])
    alerts = tuple(sorted((AlertPart(
        r.alert.created_at, r.title, r.alert.acknowledged_at,
        None if r.alert.acknowledged_by_user_id is None
        else staff.get(r.alert.acknowledged_by_user_id, "a former staff member"))
        for r in rows), key=lambda a: a.raised_at))
    d = record.diagnosis
    return SuicidalityPart(
        attempts=None if d is None else d.suicide_attempts,
        last_attempt_date=None if d is None else d.last_suicide_attempt_date,
        cssrs=tuple(s for s in scores if s.instrument == short_name(CSSRS)), alerts=alerts)


def _screening(session: Session, patient_id: int) -> ScreeningPart | None:
    current = screening.current_signed_screening(session, patient_id=patient_id)
    if current is None or current.signed_at is None:
        return None
    row = screening.load_screening(session, current.id)
    evaluation = screening.evaluate_row(session, row)
    signer = patients.staff_labels(session, [row.signed_by_user_id]).get(
        row.signed_by_user_id or 0, "a former staff member")
    return ScreeningPart(row.signed_at or current.signed_at, signer, row.outcome.label, tuple(
        FindingPart(str(f.kind).replace("_", " "), f.message, f.source)
        for f in evaluation.eligibility.findings))


def _body(record: patients.ClinicalRecord) -> BodyPart:
    height, weight = record.latest_height, record.latest_weight
    return BodyPart(
        height_cm=None if height is None else height.height_cm,
        height_measured_at=None if height is None else height.measured_at,
        weight_kg=None if weight is None else weight.weight_kg,
        weight_measured_at=None if weight is None else weight.measured_at,
        bmi_kg_per_m2=None if record.bmi is None else round(record.bmi, 1))


def _medications(record: patients.ClinicalRecord) -> tuple[MedicationPart, ...]:
    return tuple(MedicationPart(m.drug_name, m.drug_class.value.replace("_", " "),
                                f"{m.dose_amount:g} {m.dose_unit.value}", m.start_date)
                 for m in record.medications if is_current(m))


def _course(session: Session, ctx: AuditContext, patient_id: int) -> CoursePart | None:
    courses = courses_service.list_courses(session, ctx, patient_id=patient_id)
    if not courses:
        return None
    view = courses_service.read_course(session, ctx, course_id=courses[0].id)
    c = view.course
    return CoursePart(c.id, c.state.value, c.infusion_count, c.frequency.label,
                      c.dose_mg_per_kg, c.max_dose_mg, c.salt_form.value,
                      tuple(i.on for i in view.infusions))


def build_packet(session: Session, ctx: AuditContext, *, patient_id: int) -> PriorAuthPacket:
    """Read every part (each domain audits its own read; the caller audits the packet)."""
    record = patients.load_clinical(session, patient_id=patient_id)
    scores = _scores(session, ctx, patient_id)
    return PriorAuthPacket(
        patient_id=patient_id, prepared_at=utcnow(), diagnosis=_diagnosis(record),
        resistance=_resistance(record), scores=scores,
        suicidality=_suicidality(session, ctx, record, patient_id, scores),
        screening=_screening(session, patient_id), body=_body(record),
        medications=_medications(record), course=_course(session, ctx, patient_id),
        service_codes=tuple(CodePart(c.code_system, c.code, c.label)
                            for c in list_service_codes(session)))


def _plain(value: Any) -> Any:
    """Dataclasses to dicts, dates to ISO text, tuples to lists (for JSON)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {name: _plain(getattr(value, name)) for name in value.__dataclass_fields__}
    return value


def packet_json(packet: PriorAuthPacket, identity: patients.PatientIdentity, *,
                clinic_name: str | None, prepared_by: str) -> dict[str, Any]:
    """The packet as JSON: the same parts, with who it is about and who prepared it, and the
    service-codes statement when the clinic configured none."""
    body = _plain(packet)
    body["patient"] = {"name": identity.full_name, "given_name": identity.given_name,
                       "family_name": identity.family_name, "date_of_birth": identity.born,
                       "mrn": identity.mrn}
    body["clinic_name"] = clinic_name
    body["prepared_by"] = prepared_by
    body["service_codes_note"] = None if packet.service_codes else NO_SERVICE_CODES
    return {"format": "ketaflow-prior-authorisation/1", **body}
