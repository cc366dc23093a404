"""Storing, re-scoring, amending and reading assessments. Services never commit.

Every write and every read of a patient's assessments is audited; audit detail carries ids,
instrument ids and counts only (answers and scores could identify a patient's state).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ketaflow.alerts import mood as mood_alerts
from ketaflow.alerts import service as alerts_service
from ketaflow.assessments import courses
from ketaflow.assessments.models import Assessment, AssessmentResult, RaterKind, ResultReason
from ketaflow.audit.service import AuditContext, record_event
from ketaflow.clinic.service import service_timezone
from ketaflow.clinical import dates
from ketaflow.db import utcnow
from ketaflow.errors import Conflict, NotFound, ValidationFailed
from ketaflow.patients.models import Patient, PatientDemographics
from ketaflow.patients.service.identity import PatientIdentity, patient_identity
from ketaflow.scales import (
    Flag,
    RiskLevel,
    ScaleInputError,
    ScaleThresholds,
    ScoreResult,
    UnknownInstrumentError,
    get_instrument,
    score,
)
from ketaflow.scales.instruments import Band
from ketaflow.settings.service import settings_in_force

ENTITY = "assessment"
REASON_MAX_LENGTH = 500
# Patient self-reports (the issue 6 pre-infusion check), with the short names staff know them by.
SELF_REPORT_INSTRUMENTS: Mapping[str, str] = MappingProxyType({
    "phq9": "PHQ-9", "qids-sr16": "QIDS-SR16", "gad7": "GAD-7", "asrm": "ASRM"})


@dataclass(frozen=True)
class Rater:
    """Who gave the answers: a staff member (by id) or the patient through the portal."""

    kind: RaterKind
    user_id: int | None = None

    @classmethod
    def staff(cls, user_id: int) -> Rater:
        return cls(RaterKind.STAFF, user_id)

    @classmethod
    def portal(cls) -> Rater:
        return cls(RaterKind.PATIENT_PORTAL, None)


def require_patient(session: Session, patient_id: int) -> Patient:
    patient = session.get(Patient, patient_id)
    if patient is None:
        raise NotFound("no such patient")
    return patient


def check_instrument(instrument_id: str) -> str:
    try:
        return get_instrument(instrument_id).id
    except UnknownInstrumentError:
        raise ValidationFailed("unknown instrument", field="instrument") from None


def thresholds_at(session: Session, moment: datetime) -> ScaleThresholds:
    """The clinic's rating-scale thresholds in force at `moment`: a rating is scored, and its
    alerts raised, with the settings in force when it was rated, so a later change of a
    threshold never rewrites it (re-scoring one keeps its own moment too)."""
    return settings_in_force(session, moment).scales


def score_answers(
    instrument_id: str,
    answers: Mapping[str, object],
    thresholds: ScaleThresholds,
) -> ScoreResult:
    """Score or refuse: the message names the item (never a patient value)."""
    try:
        return score(instrument_id, answers, thresholds)
    except ScaleInputError as exc:
        raise ValidationFailed(str(exc), field=exc.item_id) from None
    except UnknownInstrumentError:
        raise ValidationFailed("unknown instrument", field="instrument") from None


def _check_rated_at(session: Session, patient_id: int, rated_at: datetime) -> datetime:
    """Not in the future (beyond clock skew), not before 1900 or the patient's birth date."""
    born = session.scalar(select(PatientDemographics.date_of_birth).where(
        PatientDemographics.patient_id == patient_id,
        PatientDemographics.superseded_at.is_(None)))
    return dates.past_moment(rated_at, now=utcnow(), field="rated_at", label="rated at",
                             born=born)


def _result_row(assessment_id: int, result: ScoreResult, version: int, reason: ResultReason
                ) -> AssessmentResult:
    return AssessmentResult(
        assessment_id=assessment_id,
        version=version,
        reason=reason,
        scored_with_version=result.instrument_version,
        scored_at=utcnow(),
        total=result.total,
        severity=None if result.severity is None else result.severity.label,
        risk_level=None if result.risk_level is None else str(result.risk_level),
        flags_json=json.dumps([str(flag) for flag in result.flags]),
        subscores_json=json.dumps(dict(result.subscores), sort_keys=True),
        result_json=json.dumps(result.to_dict(), sort_keys=True),
    )


def _audit(session: Session, ctx: AuditContext, action: str, entity_id: int | None,
           **detail: object) -> None:
    record_event(session, ctx, action=action, entity_type=ENTITY, entity_id=entity_id,
                 detail=detail)


def _store(
    session: Session,
    *,
    patient_id: int,
    result: ScoreResult,
    answers: Mapping[str, object],
    rated_at: datetime,
    rater: Rater,
    portal_link_id: int | None = None,
    course_id: int | None = None,
    supersedes: Assessment | None = None,
    amendment_reason: str | None = None,
) -> Assessment:
    assessment = Assessment(
        course_id=course_id,
        patient_id=patient_id,
        instrument_id=result.instrument_id,
        instrument_version=result.instrument_version,
        rated_at=rated_at,
        rater_kind=rater.kind,
        rater_user_id=rater.user_id,
        answers_json=json.dumps(dict(answers), sort_keys=True),
        portal_link_id=portal_link_id,
        recorded_at=utcnow(),
        supersedes_id=None if supersedes is None else supersedes.id,
        amendment_reason=amendment_reason,
    )
    session.add(assessment)
    session.flush()
    session.add(_result_row(assessment.id, result, 1, ResultReason.ENTERED))
    session.flush()
    return assessment


def record_assessment(
    session: Session,
    ctx: AuditContext,
    *,
    patient_id: int,
    instrument_id: str,
    answers: Mapping[str, object],
    rater: Rater,
    rated_at: datetime | None = None,
    course_id: int | None = None,
    portal_link_id: int | None = None,
    thresholds: ScaleThresholds | None = None,
) -> Assessment:
    """Score and store one completed rating, then raise any safety alerts it signals.

    Without `course_id` the rating is linked to the patient's latest course that had started by
    the rating day (if any).
    """
    require_patient(session, patient_id)
    instrument_id = check_instrument(instrument_id)
    moment = _check_rated_at(session, patient_id, rated_at or utcnow())
    thresholds = thresholds or thresholds_at(session, moment)
    result = score_answers(instrument_id, answers, thresholds)
    course = courses.course_for_rating(session, patient_id=patient_id, course_id=course_id,
                                       rated_at=moment)
    assessment = _store(session, patient_id=patient_id, result=result, answers=answers,
                        rated_at=moment, rater=rater, portal_link_id=portal_link_id,
                        course_id=course)
    _audit(session, ctx, "assessment.create", assessment.id, patient_id=patient_id,
           instrument=instrument_id, rater_kind=str(rater.kind))
    alerts_service.raise_alerts(session, ctx, patient_id=patient_id,
                                assessment_id=assessment.id, rated_at=moment, result=result,
                                thresholds=thresholds)
    _refresh_mood_alerts(session, ctx, patient_id)
    return load_assessment(session, assessment.id)


def _refresh_mood_alerts(session: Session, ctx: AuditContext, patient_id: int) -> None:
    """A QIDS-SR16 or MADRS total can signal a relapse the mood chart's alerts carry (the
    rating's own alerts cover suicidality and switch only)."""
    zone = service_timezone(session)
    mood_alerts.refresh_mood_alerts(session, ctx, patient_id=patient_id,
                                    today=utcnow().astimezone(ZoneInfo(zone)).date(), zone=zone,
                                    disengagement=False)


def load_assessment(session: Session, assessment_id: int) -> Assessment:
    """Fetch with results and rater loaded; not audited (callers audit what they show)."""
    query = (
        select(Assessment)
        .where(Assessment.id == assessment_id)
        .options(selectinload(Assessment.results), selectinload(Assessment.rater))
        .execution_options(populate_existing=True)
    )
    assessment = session.scalar(query)
    if assessment is None:
        raise NotFound("no such assessment")
    return assessment


def get_assessment(session: Session, ctx: AuditContext, *, assessment_id: int) -> Assessment:
    assessment = load_assessment(session, assessment_id)
    _audit(session, ctx, "assessment.read", assessment.id, patient_id=assessment.patient_id)
    return assessment


def list_assessments(
    session: Session,
    ctx: AuditContext,
    *,
    patient_id: int,
    include_superseded: bool = False,
) -> list[Assessment]:
    """A patient's assessments, oldest first (amended originals only when asked for)."""
    require_patient(session, patient_id)
    query = (
        select(Assessment)
        .where(Assessment.patient_id == patient_id)
        .options(selectinload(Assessment.results), selectinload(Assessment.rater))
        .order_by(Assessment.rated_at, Assessment.id)
    )
    if not include_superseded:
        query = query.where(Assessment.superseded_at.is_(None))
    assessments = list(session.scalars(query))
    _audit(session, ctx, "assessment.list", None, patient_id=patient_id,
           count=len(assessments))
    return assessments


def self_reports_on(session: Session, *, patient_id: int, day: date) -> list[Assessment]:
    """The patient's current self-reports rated on `day` (a day in the clinic's time zone, so
    an evening rating west of UTC counts for its own day), oldest first.

    Portal and staff-entered ratings both count; amended originals do not (their correction
    does). Not audited: callers audit what they show.
    """
    start = datetime.combine(day, time(0), ZoneInfo(service_timezone(session))).astimezone(UTC)
    query = (
        select(Assessment)
        .where(Assessment.patient_id == patient_id,
               Assessment.instrument_id.in_(SELF_REPORT_INSTRUMENTS),
               Assessment.superseded_at.is_(None),
               Assessment.rated_at >= start, Assessment.rated_at < start + timedelta(days=1))
        .order_by(Assessment.rated_at, Assessment.id)
    )
    return list(session.scalars(query))


def rescore_assessment(
    session: Session,
    ctx: AuditContext,
    *,
    assessment_id: int,
    thresholds: ScaleThresholds | None = None,
) -> Assessment:
    """Recompute from the stored raw answers with the current scoring; keep the old result."""
    assessment = load_assessment(session, assessment_id)
    if not assessment.is_current:
        raise Conflict("this assessment was corrected; re-score the correction instead")
    previous = assessment.current_result
    thresholds = thresholds or thresholds_at(session, assessment.rated_at)
    result = score_answers(assessment.instrument_id, assessment.answers, thresholds)
    previous.superseded_at = utcnow()
    session.add(_result_row(assessment.id, result, previous.version + 1, ResultReason.RESCORED))
    session.flush()
    _audit(session, ctx, "assessment.rescore", assessment.id,
           patient_id=assessment.patient_id, result_version=previous.version + 1)
    alerts_service.raise_alerts(session, ctx, patient_id=assessment.patient_id,
                                assessment_id=assessment.id, rated_at=assessment.rated_at,
                                result=result, thresholds=thresholds)
    _refresh_mood_alerts(session, ctx, assessment.patient_id)
    return load_assessment(session, assessment.id)


def amend_assessment(
    session: Session,
    ctx: AuditContext,
    *,
    assessment_id: int,
    answers: Mapping[str, object],
    reason: str,
    rater: Rater,
    rated_at: datetime | None = None,
    thresholds: ScaleThresholds | None = None,
) -> Assessment:
    """Store corrected answers as a new assessment superseding the original (which stays)."""
    original = load_assessment(session, assessment_id)
    if not original.is_current:
        raise Conflict("this assessment has already been corrected; amend the newest version")
    cleaned = (reason or "").strip()
    if not cleaned:
        raise ValidationFailed("a reason for the correction is required", field="reason")
    if len(cleaned) > REASON_MAX_LENGTH:
        raise ValidationFailed(f"the reason must be at most {REASON_MAX_LENGTH} characters",
                               field="reason")
    moment = _check_rated_at(session, original.patient_id, rated_at or original.rated_at)
    thresholds = thresholds or thresholds_at(session, moment)
    result = score_answers(original.instrument_id, answers, thresholds)
    corrected = _store(session, patient_id=original.patient_id, result=result, answers=answers,
                       rated_at=moment, rater=rater, portal_link_id=original.portal_link_id,
                       course_id=original.course_id, supersedes=original, amendment_reason=cleaned)
    original.superseded_at = utcnow()
    session.flush()
    _audit(session, ctx, "assessment.amend", corrected.id, patient_id=original.patient_id,
           supersedes=original.id, instrument=original.instrument_id)
    alerts_service.raise_alerts(session, ctx, patient_id=original.patient_id,
                                assessment_id=corrected.id, rated_at=moment, result=result,
                                thresholds=thresholds)
    _refresh_mood_alerts(session, ctx, original.patient_id)
    return load_assessment(session, corrected.id)


def stored_result(row: AssessmentResult) -> ScoreResult:
    """A stored result version as the ScoreResult it was (for longitudinal rules and FHIR)."""
    data = json.loads(row.result_json)
    severity = data["severity"]
    return ScoreResult(
        instrument_id=data["instrument"],
        instrument_version=data["version"],
        answers=MappingProxyType(dict(data["answers"])),
        total=data["total"],
        total_range=None if data["total_range"] is None else tuple(data["total_range"]),
        severity=None if severity is None else Band(severity["label"], severity["low"],
                                                    severity["high"]),
        subscores=MappingProxyType(dict(data["subscores"])),
        flags=tuple(Flag(flag) for flag in data["flags"]),
        risk_level=None if data["risk_level"] is None else RiskLevel(data["risk_level"]),
    )


@dataclass(frozen=True)
class PatientLabel:
    """What a page header shows so staff know whose scores they are looking at: the identity
    banner's full name, date of birth and MRN (`identity`)."""

    id: int
    mrn: str
    name: str
    identity: PatientIdentity | None = None


def patient_label(session: Session, ctx: AuditContext, patient_id: int) -> PatientLabel:
    """The header's MRN and name: a read of identifiable data, audited (ids only)."""
    patient = require_patient(session, patient_id)
    record_event(session, ctx, action="patient.read", entity_type="patient",
                 entity_id=patient_id, detail={"scope": "banner"})
    current = session.scalar(
        select(PatientDemographics).where(PatientDemographics.patient_id == patient_id,
                                          PatientDemographics.superseded_at.is_(None)))
    name = "" if current is None else f"{current.given_name} {current.family_name}"
    return PatientLabel(patient.id, patient.mrn, name, patient_identity(session, patient_id))
