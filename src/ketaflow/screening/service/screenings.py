"""Screening use cases: start, update a draft, sign (prescribers), amend a signed one, read.

A signed screening is locked: every write below refuses it, and a change is an amendment (a new
draft, version + 1, linked to the signed one). Signing refuses an incomplete screening and names
what is missing. Error messages and audit details carry ids, field names and item labels only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ketaflow.audit.service import AuditContext, record_event
from ketaflow.clinical import dates
from ketaflow.clinical.eligibility import (
    CHECKLIST_BY_KEY,
    Answer,
    Outcome,
    PregnancyStatus,
    check_vital,
)
from ketaflow.clinical.maudsley import MAX_DURATION_MONTHS, MAX_FAILURES
from ketaflow.clinical.maudsley import Severity as MaudsleySeverity
from ketaflow.db import utcnow
from ketaflow.errors import Conflict, NotFound, ValidationFailed
from ketaflow.patients.models import Patient, PatientDemographics
from ketaflow.screening.models import Consent, Screening, ScreeningAnswer, ScreeningStatus
from ketaflow.screening.service.consent import list_consents, staff_names
from ketaflow.screening.service.evaluation import ScreeningEvaluation, evaluate_row

ENTITY = "patient"
MAX_NOTE = 1000


@dataclass(frozen=True)
class AnswerEntry:
    answer: Answer
    note: str | None = None


@dataclass(frozen=True)
class MaudsleyEntry:
    episode_months: int | None = None
    severity: MaudsleySeverity | None = None
    failed_antidepressants: int | None = None
    augmentation_used: bool | None = None
    ect_used: bool | None = None


@dataclass(frozen=True)
class ScreeningEntry:
    """What a nurse or prescriber fills in; every part may be left empty in a draft."""

    answers: Mapping[str, AnswerEntry] = field(default_factory=dict)
    systolic_mmhg: int | None = None
    diastolic_mmhg: int | None = None
    heart_rate_bpm: int | None = None
    spo2_pct: int | None = None
    weight_kg: float | None = None
    ymrs_total: int | None = None
    pregnancy_status: PregnancyStatus | None = None
    pregnancy_test_on: date | None = None
    maudsley: MaudsleyEntry = field(default_factory=MaudsleyEntry)
    note: str | None = None


@dataclass(frozen=True)
class ScreeningView:
    screening: Screening
    evaluation: ScreeningEvaluation
    # The amendment of this screening, if one was started (draft or signed).
    amended_by: Screening | None
    # The version this one amends, if it is an amendment.
    amends: Screening | None
    signer_name: str | None


def start_screening(
    session: Session, ctx: AuditContext, *, patient_id: int, entry: ScreeningEntry
) -> Screening:
    if session.get(Patient, patient_id) is None:
        raise NotFound("no such patient")
    _validate(entry, _born(session, patient_id))
    row = Screening(patient_id=patient_id, version=1, status=ScreeningStatus.DRAFT,
                    outcome=Outcome.INCOMPLETE, recorded_by_user_id=ctx.actor_user_id,
                    answers=[])
    _apply(row, entry)
    session.add(row)
    _refresh_outcome(session, row)
    _audit(session, ctx, "screening.start", row)
    return row


def update_screening(
    session: Session, ctx: AuditContext, *, screening_id: int, entry: ScreeningEntry
) -> Screening:
    row = load_screening(session, screening_id)
    _require_draft(row)
    _validate(entry, _born(session, row.patient_id))
    _apply(row, entry)
    row.updated_at = utcnow()
    _refresh_outcome(session, row)
    _audit(session, ctx, "screening.update", row)
    return row


def sign_screening(
    session: Session, ctx: AuditContext, *, screening_id: int,
    ymrs_override_reason: str | None = None,
) -> Screening:
    """Sign as the acting prescriber (the route requires `screening:sign`)."""
    if ctx.actor_user_id is None:
        raise ValidationFailed("signing needs a signed-in prescriber")
    row = load_screening(session, screening_id)
    _require_draft(row)
    row.ymrs_override_reason = _text(ymrs_override_reason, "ymrs_override_reason")
    evaluation = _refresh_outcome(session, row)
    missing = evaluation.eligibility.unanswered
    if missing:
        raise ValidationFailed(
            "the screening is incomplete and cannot be signed; still unanswered: "
            + "; ".join(m.label for m in missing), field="unanswered")
    now = utcnow()
    row.status, row.signed_at = ScreeningStatus.SIGNED, now
    row.signed_by_user_id = ctx.actor_user_id
    # The newest signed screening is the current one: the one it amends, and any earlier
    # signed screening of the patient, stay readable but are marked superseded.
    earlier = select(Screening).where(
        Screening.patient_id == row.patient_id, Screening.id != row.id,
        Screening.status == ScreeningStatus.SIGNED, Screening.superseded_at.is_(None))
    for previous in session.scalars(earlier):
        previous.superseded_at = now
    session.flush()
    _audit(session, ctx, "screening.sign", row, outcome=row.outcome.value)
    return row


def amend_screening(
    session: Session, ctx: AuditContext, *, screening_id: int, reason: str
) -> Screening:
    """Start a draft amendment of a signed, current screening, copying its answers."""
    original = load_screening(session, screening_id)
    why = _text(reason, "reason")
    if why is None:
        raise ValidationFailed("an amendment needs a reason", field="reason")
    if not original.is_signed:
        raise Conflict("only a signed screening is amended; edit the draft instead")
    if original.superseded_at is not None:
        raise Conflict("this screening was superseded; amend the current version")
    if (pending := _amendment_of(session, original.id)) is not None:
        raise Conflict(f"an amendment is already in progress (screening {pending.id})")
    row = Screening(
        patient_id=original.patient_id, version=original.version + 1, amends_id=original.id,
        amendment_reason=why, status=ScreeningStatus.DRAFT, outcome=Outcome.INCOMPLETE,
        recorded_by_user_id=ctx.actor_user_id,
        answers=[ScreeningAnswer(item_key=a.item_key, answer=a.answer, note=a.note)
                 for a in original.answers])
    for name in _COPIED:
        setattr(row, name, getattr(original, name))
    session.add(row)
    _refresh_outcome(session, row)
    _audit(session, ctx, "screening.amend", row, amends_id=original.id)
    return row


def read_screening(session: Session, ctx: AuditContext, *, screening_id: int) -> ScreeningView:
    """The screening with its evaluation, audited as a read of the patient's record."""
    row = load_screening(session, screening_id)
    view = ScreeningView(
        screening=row,
        evaluation=evaluate_row(session, row),
        amended_by=_amendment_of(session, row.id),
        amends=load_screening(session, row.amends_id) if row.amends_id is not None else None,
        signer_name=(staff_names(session, {row.signed_by_user_id}).get(row.signed_by_user_id)
                     if row.signed_by_user_id is not None else None),
    )
    _audit(session, ctx, "screening.read", row)
    return view


def list_screenings(session: Session, ctx: AuditContext, *, patient_id: int) -> list[Screening]:
    """Every screening of the patient, newest first (answers not loaded), audited."""
    if session.get(Patient, patient_id) is None:
        raise NotFound("no such patient")
    query = (select(Screening).where(Screening.patient_id == patient_id)
             .order_by(Screening.id.desc()))
    rows = list(session.scalars(query))
    record_event(session, ctx, action="screening.list", entity_type=ENTITY,
                 entity_id=patient_id, detail={"count": len(rows)})
    return rows


def current_signed_screening(session: Session, *, patient_id: int) -> Screening | None:
    """The patient's latest signed screening that no signed amendment has superseded."""
    query = (select(Screening)
             .where(Screening.patient_id == patient_id,
                    Screening.status == ScreeningStatus.SIGNED,
                    Screening.superseded_at.is_(None))
             .order_by(Screening.id.desc()).limit(1))
    return session.scalar(query)


def load_screening(session: Session, screening_id: int) -> Screening:
    """One screening with its answers (unaudited: callers audit the read they perform)."""
    query = (select(Screening).where(Screening.id == screening_id)
             .options(selectinload(Screening.answers)))
    row = session.scalar(query)
    if row is None:
        raise NotFound("no such screening")
    return row


_COPIED = (
    "systolic_mmhg", "diastolic_mmhg", "heart_rate_bpm", "spo2_pct", "weight_kg", "ymrs_total",
    "pregnancy_status", "pregnancy_test_on", "maudsley_episode_months", "maudsley_severity",
    "maudsley_failed_antidepressants", "maudsley_augmentation_used", "maudsley_ect_used", "note",
)


def _amendment_of(session: Session, screening_id: int) -> Screening | None:
    query = select(Screening).where(Screening.amends_id == screening_id)
    return session.scalar(query.order_by(Screening.id.desc()).limit(1))


def _require_draft(row: Screening) -> None:
    if row.is_signed:
        raise Conflict("a signed screening is locked; record an amendment instead")


def _refresh_outcome(session: Session, row: Screening) -> ScreeningEvaluation:
    """Recompute the cached outcome, resistance snapshot and Maudsley total from the inputs."""
    evaluation = evaluate_row(session, row)
    row.outcome = evaluation.eligibility.outcome
    resistance = evaluation.resistance
    row.resistance_meets = resistance.meets if resistance is not None else None
    row.resistance_adequate_trials = (
        resistance.adequate_failed_count if resistance is not None else None)
    row.maudsley_total = evaluation.maudsley.total if evaluation.maudsley is not None else None
    session.flush()
    return evaluation


def _apply(row: Screening, entry: ScreeningEntry) -> None:
    existing = {a.item_key: a for a in row.answers}
    for key, given in entry.answers.items():
        note = _text(given.note, f"note_{key}")
        if key in existing:
            existing[key].answer, existing[key].note = given.answer, note
        else:
            row.answers.append(ScreeningAnswer(item_key=key, answer=given.answer, note=note))
    for key, stale in existing.items():
        if key not in entry.answers:
            row.answers.remove(stale)
    for name in ("systolic_mmhg", "diastolic_mmhg", "heart_rate_bpm", "spo2_pct", "weight_kg",
                 "ymrs_total", "pregnancy_status"):
        setattr(row, name, getattr(entry, name))
    # The test date belongs to a negative test only; another status makes it meaningless.
    negative = entry.pregnancy_status is PregnancyStatus.NEGATIVE_TEST
    row.pregnancy_test_on = entry.pregnancy_test_on if negative else None
    m = entry.maudsley
    row.maudsley_episode_months, row.maudsley_severity = m.episode_months, m.severity
    row.maudsley_failed_antidepressants = m.failed_antidepressants
    row.maudsley_augmentation_used, row.maudsley_ect_used = m.augmentation_used, m.ect_used
    row.note = _text(entry.note, "note")


def _born(session: Session, patient_id: int) -> date | None:
    return session.scalar(select(PatientDemographics.date_of_birth).where(
        PatientDemographics.patient_id == patient_id,
        PatientDemographics.superseded_at.is_(None)))


def _validate(entry: ScreeningEntry, born: date | None) -> None:
    unknown = sorted(set(entry.answers) - set(CHECKLIST_BY_KEY))
    if unknown:
        raise ValidationFailed(f"unknown checklist items: {', '.join(unknown)}", field="answers")
    for name in ("systolic_mmhg", "diastolic_mmhg", "heart_rate_bpm", "spo2_pct", "weight_kg"):
        value = getattr(entry, name)
        if value is not None:
            try:
                check_vital(name, value)
            except ValueError as exc:
                raise ValidationFailed(str(exc).replace("_", " "), field=name) from None
    if (entry.systolic_mmhg is not None and entry.diastolic_mmhg is not None
            and entry.diastolic_mmhg >= entry.systolic_mmhg):
        raise ValidationFailed("diastolic pressure must be below systolic", field="diastolic_mmhg")
    _whole(entry.ymrs_total, 0, 60, "ymrs_total", "baseline YMRS")
    dates.past_date(entry.pregnancy_test_on, today=utcnow().date(), field="pregnancy_test_on",
                    label="the pregnancy test date", born=born)
    m = entry.maudsley
    _whole(m.episode_months, 0, MAX_DURATION_MONTHS, "maudsley_episode_months",
           "episode duration (months)")
    _whole(m.failed_antidepressants, 1, MAX_FAILURES, "maudsley_failed_antidepressants",
           "failed antidepressants")


def _whole(value: int | None, low: int, high: int, name: str, label: str) -> None:
    if value is not None and (isinstance(value, bool) or not low <= value <= high):
        raise ValidationFailed(f"{label} must be a whole number from {low} to {high}", field=name)


def _text(value: str | None, name: str) -> str | None:
    text = (value or "").strip()
    if len(text) > MAX_NOTE:
        raise ValidationFailed(f"{name.replace('_', ' ')} must be at most {MAX_NOTE} characters",
                               field=name)
    return text or None


def _audit(
    session: Session, ctx: AuditContext, action: str, row: Screening, **detail: object
) -> None:
    record_event(session, ctx, action=action, entity_type=ENTITY, entity_id=row.patient_id,
                 detail={"screening_id": row.id, "version": row.version, **detail})


@dataclass(frozen=True)
class ScreeningSummary:
    """The patient page's screening section: screenings, consents and staff names."""

    screenings: list[Screening]
    consents: list[Consent]
    current: Screening | None
    names: dict[int, str]


def screening_summary(session: Session, ctx: AuditContext, *, patient_id: int) -> ScreeningSummary:
    rows = list_screenings(session, ctx, patient_id=patient_id)
    consents = list_consents(session, patient_id=patient_id)
    ids = {r.signed_by_user_id for r in rows if r.signed_by_user_id is not None}
    ids |= {c.witnessed_by_user_id for c in consents}
    current = current_signed_screening(session, patient_id=patient_id)
    return ScreeningSummary(rows, consents, current, staff_names(session, ids))
