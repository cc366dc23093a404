"""Charting during a session: vitals with their alerts, acknowledgements, side effects,
CADSS-6, rescue medication and adverse events."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from ketaflow.audit.service import AuditContext, EventSpec, record_events
from ketaflow.auth.permissions import Permission
from ketaflow.clinical import dates
from ketaflow.errors import Conflict, KetaflowError, NotFound, PermissionDenied, ValidationFailed
from ketaflow.infusions.formulary import FORMULARY_BY_KEY
from ketaflow.infusions.models import (
    EventKind,
    InfusionSession,
    Seriousness,
    SessionAlert,
    SessionEvent,
    VitalsRecord,
)
from ketaflow.infusions.rules import (
    AlertLevel,
    InfusionSettings,
    SessionStatus,
    VitalsAlert,
    VitalsReading,
    assess_reading,
    symptom_alerts,
    validate_reading,
)
from ketaflow.infusions.service._common import (
    ENTITY,
    audit,
    checked,
    clinic_settings,
    load_session,
    may,
    now,
    positive,
    required_text,
)
from ketaflow.infusions.service.live import raise_overruns_for
from ketaflow.scales import Flag, ScaleInputError, ScoreResult, score

# HOLD and STOP mean the infusion waits for (or needs) a prescriber's decision, so only a
# prescriber closes them; a nurse records the action taken on REVIEW alerts.
PRESCRIBER_LEVELS = frozenset({AlertLevel.HOLD, AlertLevel.STOP})

CHARTING_STATES = (SessionStatus.PRECHECKS, SessionStatus.RUNNING, SessionStatus.PAUSED,
                   SessionStatus.STOPPED, SessionStatus.OBSERVATION)


def _open_for_charting(db: Session, session_id: int) -> InfusionSession:
    record = load_session(db, session_id)
    _require_charting_state(record)
    return record


def _require_charting_state(record: InfusionSession | _Chartable) -> None:
    if record.status not in CHARTING_STATES:
        raise Conflict(f"nothing can be charted on a session that is "
                               f"{record.status.value}", field="status")


def as_reading(row: VitalsRecord) -> VitalsReading:
    return VitalsReading(row.taken_at, sbp_mmhg=row.sbp_mmhg, dbp_mmhg=row.dbp_mmhg,
                         hr_bpm=row.hr_bpm, spo2_percent=row.spo2_percent,
                         rr_per_min=row.rr_per_min, rass=row.rass)


def _raise_alerts(db: Session, session_id: int, alerts: Sequence[VitalsAlert],
                  vitals_id: int | None = None) -> list[SessionAlert]:
    rows = [SessionAlert(session_id=session_id, vitals_id=vitals_id, level=a.level, code=a.code,
                         field=a.field, message=a.message, raised_at=now()) for a in alerts]
    db.add_all(rows)
    return rows


@dataclass(frozen=True)
class VitalsOutcome:
    vitals: VitalsRecord
    alerts: list[SessionAlert]


@dataclass(frozen=True)
class VitalsEntry:
    """One reading to chart, by whom (ctx) and on which session."""

    ctx: AuditContext
    session_id: int
    reading: VitalsReading


def _previous_bp(db: Session, session_id: int, before: datetime) -> VitalsReading | None:
    """The last reading with a blood pressure at or before `before`: the repeat comparison."""
    row = db.scalar(
        select(VitalsRecord)
        .where(VitalsRecord.session_id == session_id, VitalsRecord.sbp_mmhg.is_not(None),
               VitalsRecord.taken_at <= before)
        .order_by(VitalsRecord.taken_at.desc(), VitalsRecord.id.desc()).limit(1))
    return None if row is None else as_reading(row)


@dataclass(frozen=True)
class _Chartable:
    """What charting a reading needs of its session: not the whole row, nor what is on it."""

    id: int
    status: SessionStatus
    opened_at: datetime
    # The last systolic charted at or before the infusion started: the "% below the
    # pre-infusion value" comparison. None until the infusion starts.
    baseline_sbp_mmhg: float | None = None


def _sessions_with_latest_bp(db: Session, session_ids: set[int]
                             ) -> dict[int, tuple[_Chartable, VitalsReading | None]]:
    """Each session with its latest reading that has a blood pressure and its pre-infusion
    systolic, in one query whatever the number of sessions."""
    with_bp = (VitalsRecord.session_id == InfusionSession.id, VitalsRecord.sbp_mmhg.is_not(None))
    newest_first = (VitalsRecord.taken_at.desc(), VitalsRecord.id.desc())
    latest_id = (
        select(VitalsRecord.id).where(*with_bp).order_by(*newest_first)
        .limit(1).correlate(InfusionSession).scalar_subquery())
    baseline_sbp = (
        select(VitalsRecord.sbp_mmhg)
        .where(*with_bp, VitalsRecord.taken_at <= InfusionSession.started_at)
        .order_by(*newest_first).limit(1).correlate(InfusionSession).scalar_subquery())
    reading_columns = (VitalsRecord.taken_at, VitalsRecord.sbp_mmhg, VitalsRecord.dbp_mmhg,
                       VitalsRecord.hr_bpm, VitalsRecord.spo2_percent, VitalsRecord.rr_per_min,
                       VitalsRecord.rass)
    rows = db.execute(select(InfusionSession.id, InfusionSession.status,
                             InfusionSession.opened_at, baseline_sbp, *reading_columns)
                      .outerjoin(VitalsRecord, VitalsRecord.id == latest_id)
                      .where(InfusionSession.id.in_(session_ids)))
    return {row[0]: (_Chartable(*row[:4]), None if row[4] is None else VitalsReading(*row[4:]))
            for row in rows}


def record_vitals(db: Session, ctx: AuditContext, *, session_id: int,
                  reading: VitalsReading) -> VitalsOutcome:
    outcome = record_vitals_batch(db, [VitalsEntry(ctx, session_id, reading)])[0]
    if isinstance(outcome, KetaflowError):
        raise outcome
    return outcome


def record_vitals_batch(db: Session, entries: Sequence[VitalsEntry]
                        ) -> list[VitalsOutcome | KetaflowError]:
    """Chart readings in order, with a fixed number of queries however many there are (monitor
    gateways post many at once; see `ketaflow.web.group_commit`). A refused entry gets its error
    in its place and does not stop the others."""
    sessions = _sessions_with_latest_bp(db, {entry.session_id for entry in entries})
    latest_bp = {session_id: reading for session_id, (_, reading) in sessions.items()}
    settings = clinic_settings(db, now())
    charted: dict[int, list[VitalsReading]] = defaultdict(list)  # this batch's, with a BP
    results: list[VitalsOutcome | KetaflowError] = []
    assessed: list[tuple[VitalsEntry, VitalsRecord, tuple[VitalsAlert, ...]]] = []
    for entry in entries:
        record = sessions.get(entry.session_id, (None, None))[0]
        try:
            _check_chartable(record, entry.reading, settings)
        except KetaflowError as error:
            results.append(error)
            continue
        earlier = _earlier_bp(db, latest_bp, charted[entry.session_id], entry)
        if entry.reading.has_bp:
            charted[entry.session_id].append(entry.reading)
            if earlier is latest_bp[entry.session_id]:  # not back-dated: the new latest
                latest_bp[entry.session_id] = entry.reading
        row = _vitals_row(entry)
        results.append(VitalsOutcome(row, []))
        assert record is not None  # _check_chartable refused an unknown session
        assessed.append((entry, row, assess_reading(
            entry.reading, [] if earlier is None else [earlier], settings,
            baseline_sbp_mmhg=record.baseline_sbp_mmhg)))
    _insert_readings(db, [row for _, row, _ in assessed])  # the alerts refer to their ids
    written = [outcome for outcome in results if isinstance(outcome, VitalsOutcome)]
    for outcome, (entry, row, alerts) in zip(written, assessed, strict=True):
        outcome.alerts.extend(_raise_alerts(db, entry.session_id, alerts, row.id))
    db.flush()
    record_events(db, [EventSpec(entry.ctx, "infusion.vitals.record", ENTITY, entry.session_id,
                                 detail={"vitals_id": row.id, "alerts": [a.code for a in alerts]})
                       for entry, row, alerts in assessed])
    # A monitor's reading is also the moment to notice a pump left running past its order,
    # whether or not anyone has the chair page open.
    running = {entry.session_id: entry.ctx for entry, _, _ in assessed
               if sessions[entry.session_id][0].status is SessionStatus.RUNNING}
    for session_id, ctx in running.items():
        raise_overruns_for(db, ctx, [session_id])
    return results


def _check_chartable(record: _Chartable | None, reading: VitalsReading,
                     settings: InfusionSettings) -> None:
    if record is None:
        raise NotFound("no such infusion session")
    _require_charting_state(record)
    checked(lambda: validate_reading(reading, session_opened_at=record.opened_at, now=now(),
                                     settings=settings))


def _earlier_bp(db: Session, latest_bp: Mapping[int, VitalsReading | None],
                charted: Sequence[VitalsReading], entry: VitalsEntry) -> VitalsReading | None:
    """The repeat comparison for this entry: the session's latest blood pressure, unless the
    entry is back-dated before it; then the last one at or before it, stored or in this batch
    (`charted`, in order: on equal times the later one counts, as the higher id would)."""
    latest, taken_at = latest_bp[entry.session_id], entry.reading.taken_at
    if latest is None or latest.taken_at <= taken_at:
        return latest
    earlier = _previous_bp(db, entry.session_id, taken_at)
    for reading in charted:
        if reading.taken_at <= taken_at and (earlier is None
                                             or reading.taken_at >= earlier.taken_at):
            earlier = reading
    return earlier


def _insert_readings(db: Session, rows: list[VitalsRecord]) -> None:
    """One multi-row INSERT ... RETURNING for a batch: at monitor rates the unit of work's
    bookkeeping per object costs more than the insert. The rows stay transient, with their ids."""
    if not rows:
        return
    columns = [column.key for column in VitalsRecord.__table__.columns if column.key != "id"]
    ids = db.connection().execute(
        insert(VitalsRecord).returning(VitalsRecord.id, sort_by_parameter_order=True),
        [{key: getattr(row, key) for key in columns} for row in rows]).scalars().all()
    for row, row_id in zip(rows, ids, strict=True):
        row.id = row_id


def _vitals_row(entry: VitalsEntry) -> VitalsRecord:
    reading = entry.reading
    return VitalsRecord(session_id=entry.session_id, taken_at=reading.taken_at,
                        sbp_mmhg=reading.sbp_mmhg, dbp_mmhg=reading.dbp_mmhg,
                        hr_bpm=reading.hr_bpm, spo2_percent=reading.spo2_percent,
                        rr_per_min=reading.rr_per_min, rass=reading.rass,
                        recorded_by_user_id=entry.ctx.actor_user_id, recorded_at=now())


def acknowledge_alert(db: Session, ctx: AuditContext, *, session_id: int, alert_id: int,
                      action_taken: str) -> SessionAlert:
    record = load_session(db, session_id)
    alert = next((a for a in record.alerts if a.id == alert_id), None)
    if alert is None:
        raise NotFound("no such alert on this session")
    if alert.acknowledged_at is not None:
        raise Conflict("the alert is already acknowledged", field="alert_id")
    if alert.level in PRESCRIBER_LEVELS and not may(ctx, Permission.ORDERS_SIGN):
        raise PermissionDenied(f"only a prescriber may acknowledge a {alert.level.value.upper()} "
                               "alert")
    alert.action_taken = required_text(action_taken, "action_taken")
    alert.acknowledged_at, alert.acknowledged_by_user_id = now(), ctx.actor_user_id
    db.flush()
    audit(db, ctx, "infusion.alert.acknowledge", record.id, alert_id=alert.id,
          level=alert.level.value)
    return alert


def _score(instrument: str, answers: Mapping[str, int], field: str) -> ScoreResult:
    try:
        return score(instrument, answers)
    except ScaleInputError as error:
        raise ValidationFailed(str(error), field=field) from error


def _event(db: Session, ctx: AuditContext, record: InfusionSession, kind: EventKind,
           occurred_at: datetime | None, **values: object) -> SessionEvent:
    stamp = occurred_at or now()
    # Not in the future beyond the usual clock skew (the plausible-date bounds), and not
    # before the session was opened.
    dates.past_moment(stamp, now=now(), field="occurred_at", label="occurred_at")
    if stamp < record.opened_at:
        raise ValidationFailed("Time of the event must be within the session (after it was opened)",
                               field="occurred_at")
    row = SessionEvent(session_id=record.id, kind=kind, occurred_at=stamp,
                       recorded_by_user_id=ctx.actor_user_id, recorded_at=now(), **values)
    db.add(row)
    db.flush()
    audit(db, ctx, f"infusion.event.{kind.value}", record.id, event_id=row.id)
    return row


def _minutes_from_start(record: InfusionSession, at: datetime) -> float | None:
    if record.started_at is None:
        return None
    return round((at - record.started_at).total_seconds() / 60, 1)


def record_side_effects(db: Session, ctx: AuditContext, *, session_id: int,
                        answers: Mapping[str, int], occurred_at: datetime | None = None
                        ) -> SessionEvent:
    """The per-session side-effect checklist (`ketaflow.scales` "side-effects")."""
    record = _open_for_charting(db, session_id)
    result = _score("side-effects", answers, "answers")
    row = _event(db, ctx, record, EventKind.SIDE_EFFECTS, occurred_at, total=result.total,
                 detail={"answers": dict(result.answers), "flags": list(result.flags),
                         "version": result.instrument_version})
    if Flag.SEVERE_SIDE_EFFECT in result.flags:
        _raise_alerts(db, record.id, [VitalsAlert(
            AlertLevel.REVIEW, "severe-side-effect", "answers",
            "a side effect graded severe: prescriber review")])
        db.flush()
    return row


def record_cadss6(db: Session, ctx: AuditContext, *, session_id: int,
                  answers: Mapping[str, int], occurred_at: datetime | None = None
                  ) -> SessionEvent:
    """Dissociation (CADSS-6), usually at 40 minutes when it peaks."""
    record = _open_for_charting(db, session_id)
    result = _score("cadss6", answers, "answers")
    stamp = occurred_at or now()
    return _event(db, ctx, record, EventKind.CADSS6, stamp, total=result.total,
                  detail={"answers": dict(result.answers), "version": result.instrument_version,
                          "minutes_from_start": _minutes_from_start(record, stamp)})


def give_rescue_medication(db: Session, ctx: AuditContext, *, session_id: int,
                           medication: str, dose_mg: float, route: str, reason: str,
                           occurred_at: datetime | None = None) -> SessionEvent:
    record = _open_for_charting(db, session_id)
    item = FORMULARY_BY_KEY.get(medication)
    if item is None:
        raise ValidationFailed("Medication is not in the clinic formulary", field="medication")
    dose = positive(dose_mg, "dose_mg")
    if not item.min_dose_mg <= dose <= item.max_dose_mg:
        raise ValidationFailed(f"Dose (mg) for {item.name} must be {item.min_dose_mg:g}-"
                               f"{item.max_dose_mg:g} mg", field="dose_mg")
    if route not in item.routes:
        raise ValidationFailed(f"Route for {item.name} must be one of "
                               f"{', '.join(item.routes)}", field="route")
    return _event(db, ctx, record, EventKind.RESCUE_MEDICATION, occurred_at,
                  reason=required_text(reason, "reason"),
                  detail={"medication": item.key, "name": item.name, "dose_mg": dose,
                          "route": route})


def record_adverse_event(db: Session, ctx: AuditContext, *, session_id: int,
                         description: str, seriousness: Seriousness,
                         symptoms: Sequence[str] = (), occurred_at: datetime | None = None
                         ) -> SessionEvent:
    """An adverse event; red-flag symptoms (chest pain, dyspnoea, ...) raise STOP alerts."""
    record = _open_for_charting(db, session_id)
    alerts = checked(lambda: symptom_alerts(list(symptoms)))
    row = _event(db, ctx, record, EventKind.ADVERSE_EVENT, occurred_at,
                 serious=seriousness is Seriousness.SERIOUS,
                 reason=required_text(description, "description"),
                 detail={"seriousness": seriousness.value, "symptoms": list(symptoms)})
    _raise_alerts(db, record.id, alerts)
    db.flush()
    return row
