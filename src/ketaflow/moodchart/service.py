"""Mood links, entries and what the chart shows. Services never commit; every change is audited
(ids only: no scores, notes or names in the audit detail)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ketaflow import charts
from ketaflow.alerts import mood as mood_alerts
from ketaflow.assessments import service as assessments_service
from ketaflow.assessments.service import require_patient
from ketaflow.audit.service import AuditContext, note_event, record_event
from ketaflow.courses import maintenance
from ketaflow.db import utcnow
from ketaflow.errors import NotFound, ValidationFailed
from ketaflow.infusions.models import InfusionSession
from ketaflow.infusions.service import current_order, load_session
from ketaflow.infusions.summary import session_delivery
from ketaflow.mood.entries import POLES, DaySummary, Entry, EntryError
from ketaflow.mood.settings import DEFAULT_MOOD_SETTINGS, MoodSettings
from ketaflow.mood.signals import Rating, Signal
from ketaflow.moodchart.chart import Marker, life_chart_spec
from ketaflow.moodchart.models import MoodEntry, MoodLink
from ketaflow.moodchart.warnings import (
    RATED,
    StoredEntry,
    clinic_day,
    compute_warnings,
    entries,
    medication_markers,
)
from ketaflow.patients.models import Medication
from ketaflow.patients.service.medications import is_current
from ketaflow.scales.thresholds import DEFAULT_THRESHOLDS, ScaleThresholds

LINK_ENTITY, ENTRY_ENTITY = "mood_link", "mood_entry"
LINK_VALID_DAYS, MAX_LINK_VALID_DAYS = 90, 366
# How far back a patient may fill in a missed day from their link (a clinician may enter any
# day since registration).
PATIENT_BACKFILL_DAYS = 7
NOTE_MAX, EVENT_MAX, REASON_MAX = 1000, 300, 500
IMPACT_MIN, IMPACT_MAX = -4, 4


class LinkState(StrEnum):
    OPEN = "open"
    REVOKED = "revoked"
    EXPIRED = "expired"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class IssuedLink:
    link: MoodLink
    url: str


@dataclass(frozen=True)
class LinkVisit:
    state: LinkState
    link: MoodLink | None


@dataclass(frozen=True)
class EntryInput:
    """One report as typed (already parsed to numbers; ranges checked here)."""

    day: date
    depressed: int
    elevated: int
    irritable: int
    anxious: int
    sleep_h: float | None = None
    medications_taken: dict[int, bool] | None = None
    life_event: str | None = None
    life_event_impact: int | None = None
    psychotic_symptoms: bool = False
    menses: bool | None = None
    note: str | None = None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def mood_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/mood/{token}"


def patient_context(base: AuditContext) -> AuditContext:
    """The patient acting through their link (no staff account)."""
    return AuditContext(None, "mood-link", "portal", base.client_address, base.request_id)


def issue_link(db: Session, ctx: AuditContext, *, base_url: str, patient_id: int,
               created_by_user_id: int, valid_days: int = LINK_VALID_DAYS) -> IssuedLink:
    """A new link for the patient's daily entries; earlier open links stay valid until revoked
    (a patient may use a phone and a tablet)."""
    require_patient(db, patient_id)
    if not 1 <= valid_days <= MAX_LINK_VALID_DAYS:
        raise ValidationFailed(f"Valid for must be 1 to {MAX_LINK_VALID_DAYS} days",
                               field="valid_days")
    token = secrets.token_urlsafe(32)
    now = utcnow()
    link = MoodLink(patient_id=patient_id, token_sha256=token_hash(token), created_at=now,
                    created_by_user_id=created_by_user_id,
                    expires_at=now + timedelta(days=valid_days))
    db.add(link)
    db.flush()
    record_event(db, ctx, action="mood_link.create", entity_type=LINK_ENTITY, entity_id=link.id,
                 detail={"patient_id": patient_id, "valid_days": valid_days})
    return IssuedLink(link, mood_url(base_url, token))


def revoke_link(db: Session, ctx: AuditContext, *, patient_id: int, link_id: int,
                revoked_by_user_id: int) -> MoodLink:
    link = db.get(MoodLink, link_id)
    if link is None or link.patient_id != patient_id:
        raise NotFound("no such mood link for this patient")
    if link.revoked_at is None:
        link.revoked_at, link.revoked_by_user_id = utcnow(), revoked_by_user_id
        db.flush()
        record_event(db, ctx, action="mood_link.revoke", entity_type=LINK_ENTITY,
                     entity_id=link.id, detail={"patient_id": patient_id})
    return link


def links(db: Session, *, patient_id: int) -> list[MoodLink]:
    return list(db.scalars(select(MoodLink).where(MoodLink.patient_id == patient_id)
                           .order_by(MoodLink.id.desc())))


def link_state(link: MoodLink | None, now: datetime) -> LinkState:
    if link is None:
        return LinkState.UNKNOWN
    if link.revoked_at is not None:
        return LinkState.REVOKED
    return LinkState.EXPIRED if link.expires_at <= now else LinkState.OPEN


def visit(db: Session, ctx: AuditContext, *, token: str) -> LinkVisit:
    link = db.scalar(select(MoodLink).where(MoodLink.token_sha256 == token_hash(token)))
    state = link_state(link, utcnow())
    # Opening a link (or guessing one) is counted in the audit buffer, not a row per load.
    note_event(db, patient_context(ctx), action="mood_link.open", entity_type=LINK_ENTITY,
               entity_id=None if link is None else link.id,
               detail={"state": str(state),
                       "patient_id": None if link is None else link.patient_id})
    return LinkVisit(state, link)


def current_medications(db: Session, *, patient_id: int, on: date) -> list[Medication]:
    """The medications the patient takes on `on`, for the "taken today" questions."""
    rows = db.scalars(select(Medication).where(Medication.patient_id == patient_id)
                      .order_by(Medication.drug_name, Medication.id))
    return [m for m in rows if is_current(m, on) and getattr(m, "entered_in_error_at", None)
            is None and (m.start_date is None or m.start_date <= on)]


def _text(value: str | None, field: str, label: str, limit: int) -> str | None:
    value = (value or "").strip() or None
    if value is not None and len(value) > limit:
        raise ValidationFailed(f"{label} must be at most {limit} characters", field=field)
    return value


def _check(db: Session, patient_id: int, data: EntryInput, *, today: date, earliest: date,
           zone: str) -> tuple[str | None, str | None, dict[str, bool]]:
    try:
        Entry(data.day, data.depressed, data.elevated, data.irritable, data.anxious,
              data.sleep_h)
    except EntryError as error:
        raise ValidationFailed(str(error), field=error.field) from None
    if data.day > today:
        raise ValidationFailed(f"Day {data.day.isoformat()} is in the future (today is "
                               f"{today.isoformat()}, {zone})", field="day")
    if data.day < earliest:
        raise ValidationFailed(f"Day must be on or after {earliest.isoformat()}", field="day")
    event = _text(data.life_event, "life_event", "Life event", EVENT_MAX)
    if data.life_event_impact is not None and not (
            IMPACT_MIN <= data.life_event_impact <= IMPACT_MAX):
        raise ValidationFailed(f"Impact of the event must be from {IMPACT_MIN} to +{IMPACT_MAX}",
                               field="life_event_impact")
    if event is not None and data.life_event_impact is None:
        raise ValidationFailed("Impact of the event is needed with a life event (-4 very bad "
                               "to +4 very good)", field="life_event_impact")
    current = {m.id for m in current_medications(db, patient_id=patient_id, on=data.day)}
    taken = data.medications_taken or {}
    unknown = sorted(set(taken) - current)
    if unknown:
        raise ValidationFailed("Medications taken: only the medications current on that day "
                               "can be answered", field="medications_taken")
    return event, _text(data.note, "note", "Note", NOTE_MAX), {
        str(k): bool(v) for k, v in sorted(taken.items())}


def record_entry(db: Session, ctx: AuditContext, *, patient_id: int, data: EntryInput,
                 zone: str, link: MoodLink | None = None,
                 entered_by_user_id: int | None = None, form_key: str | None = None
                 ) -> MoodEntry:
    """Store one report, from the patient's open link or by a clinician (for any day since
    registration); refused with a message naming the field, nothing stored. A form sent again
    with the same `form_key` (a double tap, a reload) returns the entry it stored first."""
    patient = require_patient(db, patient_id)
    if form_key is not None:
        earlier = db.scalar(select(MoodEntry).where(MoodEntry.form_key == form_key))
        if earlier is not None and earlier.patient_id == patient_id:
            return earlier
    now = utcnow()
    today = clinic_day(now, zone)
    registered = clinic_day(patient.created_at, zone)
    earliest = registered
    if link is not None:
        if link_state(link, now) is not LinkState.OPEN or link.patient_id != patient_id:
            raise ValidationFailed("this link can no longer be used", field="token")
        earliest = max(registered, today - timedelta(days=PATIENT_BACKFILL_DAYS))
    event, note, taken = _check(db, patient_id, data, today=today, earliest=earliest,
                                zone=zone)
    entry = MoodEntry(
        patient_id=patient_id, day=data.day, sleep_h=data.sleep_h, medications_taken=taken,
        life_event=event, life_event_impact=data.life_event_impact if event else None,
        psychotic_symptoms=data.psychotic_symptoms, menses=data.menses, note=note,
        source="patient" if link is not None else "clinician",
        mood_link_id=None if link is None else link.id, entered_by_user_id=entered_by_user_id,
        recorded_at=now, form_key=form_key, **{pole: getattr(data, pole) for pole in POLES})
    try:
        with db.begin_nested():  # the same key sent twice at once: the second finds the first
            db.add(entry)
            db.flush()
    except IntegrityError:
        earlier = db.scalar(select(MoodEntry).where(MoodEntry.form_key == form_key))
        if earlier is None or earlier.patient_id != patient_id:
            raise ValidationFailed("this form was already used: reload the page",
                                   field="form_key") from None
        return earlier
    if link is not None:
        link.last_used_at = now
    actor = patient_context(ctx) if link is not None else ctx
    record_event(db, actor, action="mood_entry.create",
                 entity_type=ENTRY_ENTITY, entity_id=entry.id,
                 detail={"patient_id": patient_id, "day": data.day.isoformat(),
                         "source": entry.source})
    # A new entry can start a warning: raise its alert (and move a booster) now, not at the
    # next sweep.
    mood_alerts.refresh_mood_alerts(db, actor, patient_id=patient_id, today=today, zone=zone,
                                    disengagement=False)
    return entry


def mark_entered_in_error(db: Session, ctx: AuditContext, *, patient_id: int, entry_id: int,
                          reason: str, user_id: int) -> MoodEntry:
    entry = db.get(MoodEntry, entry_id)
    if entry is None or entry.patient_id != patient_id:
        raise NotFound("no such mood entry for this patient")
    text = _text(reason, "reason", "Reason", REASON_MAX)
    if text is None:
        raise ValidationFailed("Reason is required to mark an entry as entered in error",
                               field="reason")
    if entry.entered_in_error_at is not None:
        raise ValidationFailed("this entry is already marked as entered in error",
                               field="reason")
    entry.entered_in_error_at, entry.entered_in_error_by_user_id = utcnow(), user_id
    entry.entered_in_error_reason = text
    db.flush()
    record_event(db, ctx, action="mood_entry.entered_in_error", entity_type=ENTRY_ENTITY,
                 entity_id=entry.id, detail={"patient_id": patient_id})
    return entry


# --- what the mood page shows -------------------------------------------------------------

RANGES_DAYS = (30, 90, 180, 365, 730)  # the chart's choices, 30 days to 2 years
RATING_NAMES = {"asrm": "ASRM", "ymrs": "YMRS", "qids-sr16": "QIDS-SR16", "madrs": "MADRS"}


REPORT_MIN_DAYS, REPORT_MAX_DAYS = 30, 730  # the PDF report takes any range in between


@dataclass(frozen=True)
class ChartView:
    start: date
    end: date
    rows: list[StoredEntry]         # every entry in the range, errors included (struck through)
    summaries: list[DaySummary]
    signals: list[Signal]
    spec: charts.Spec
    medication_changes: list[Marker]
    ratings: list[Rating]           # rated totals in the range, oldest first

    @property
    def svg(self) -> str:
        """The chart as inline SVG for the page (rendered only when a page asks: the PDF
        report takes a PNG of the same spec instead)."""
        return charts.svg(self.spec, element_id="life-chart")


def _infusion_markers(db: Session, patient_id: int, start: date, end: date, zone: str
                      ) -> list[Marker]:
    ids = db.scalars(select(InfusionSession.id).where(
        InfusionSession.patient_id == patient_id, InfusionSession.started_at.is_not(None))
        .order_by(InfusionSession.started_at))
    markers = []
    for session_id in ids:
        record = load_session(db, session_id)
        order = current_order(record)
        assert record.started_at is not None
        day = clinic_day(record.started_at, zone)
        if order is None or not start <= day <= end:
            continue
        given = session_delivery(record, order, until=record.ended_at or utcnow())
        markers.append(Marker(day, f"{given.dose_mg:.1f} mg delivered ({record.status.value})"))
    return markers


def _ratings(db: Session, ctx: AuditContext, patient_id: int, zone: str) -> list[Rating]:
    rated = []
    for a in assessments_service.list_assessments(db, ctx, patient_id=patient_id):
        total = a.current_result.total
        if a.instrument_id in RATED and total is not None:
            rated.append(Rating(clinic_day(a.rated_at, zone), a.instrument_id, total))
    return rated


def chart_view(db: Session, ctx: AuditContext, *, patient_id: int, days: int, zone: str,
               settings: MoodSettings = DEFAULT_MOOD_SETTINGS,
               thresholds: ScaleThresholds = DEFAULT_THRESHOLDS) -> ChartView:
    """The life chart over the last `days` days (audited read, ids only)."""
    if days not in RANGES_DAYS:
        raise ValidationFailed(f"Range must be one of {', '.join(map(str, RANGES_DAYS))} days",
                               field="days")
    view = _build_view(db, ctx, patient_id=patient_id, days=days, zone=zone, settings=settings,
                       thresholds=thresholds)
    record_event(db, ctx, action="mood_chart.read", entity_type="patient", entity_id=patient_id,
                 detail={"days": days, "entry_ids": [r.id for r in view.rows]})
    return view


def report_view(db: Session, ctx: AuditContext, *, patient_id: int, days: int, zone: str,
                settings: MoodSettings = DEFAULT_MOOD_SETTINGS,
                thresholds: ScaleThresholds = DEFAULT_THRESHOLDS) -> ChartView:
    """What the prescriber's PDF report holds over the last `days` days (30 to 730), audited
    as an export of those entries (ids only): a printout leaves the system."""
    if not REPORT_MIN_DAYS <= days <= REPORT_MAX_DAYS:
        raise ValidationFailed(f"Range must be from {REPORT_MIN_DAYS} to {REPORT_MAX_DAYS} days",
                               field="days")
    require_patient(db, patient_id)
    view = _build_view(db, ctx, patient_id=patient_id, days=days, zone=zone, settings=settings,
                       thresholds=thresholds)
    record_event(db, ctx, action="mood_chart.export", entity_type="patient",
                 entity_id=patient_id,
                 detail={"days": days, "format": "pdf", "entry_ids": [r.id for r in view.rows]})
    return view


def range_view(db: Session, ctx: AuditContext, *, patient_id: int, start: date, end: date,
               zone: str, settings: MoodSettings = DEFAULT_MOOD_SETTINGS,
               thresholds: ScaleThresholds = DEFAULT_THRESHOLDS) -> ChartView:
    """The life chart from `start` to `end` (clinic days) for another printout (the clinician
    report checks the range), audited as an export of those entries (ids only)."""
    require_patient(db, patient_id)
    view = _build_view(db, ctx, patient_id=patient_id, days=(end - start).days + 1, zone=zone,
                       settings=settings, thresholds=thresholds, end=end)
    record_event(db, ctx, action="mood_chart.export", entity_type="patient",
                 entity_id=patient_id, detail={"start": start.isoformat(),
                                               "end": end.isoformat(), "format": "report",
                                               "entry_ids": [r.id for r in view.rows]})
    return view


def _build_view(db: Session, ctx: AuditContext, *, patient_id: int, days: int, zone: str,
                settings: MoodSettings, thresholds: ScaleThresholds,
                end: date | None = None) -> ChartView:
    end = end or clinic_day(utcnow(), zone)
    start = end - timedelta(days=days - 1)
    rows = entries(db, patient_id=patient_id, start=start, end=end)
    ratings = sorted((r for r in _ratings(db, ctx, patient_id, zone) if start <= r.day <= end),
                     key=lambda r: (r.day, r.instrument))
    changes = medication_markers(db, patient_id, start, end)
    warned = compute_warnings(db, patient_id=patient_id, start=start, end=end, rows=rows,
                              ratings=ratings, settings=settings, thresholds=thresholds,
                              changes=changes)
    summaries, found = warned.summaries, warned.signals
    events = [Marker(r.day, f"{r.life_event} ({r.life_event_impact:+d})") for r in rows
              if r.entered_in_error_at is None and r.life_event and r.life_event_impact is not None]
    spec = life_chart_spec(
        summaries, start=start, end=end, infusions=_infusion_markers(db, patient_id, start, end,
                                                                     zone),
        medication_changes=changes, life_events=events, warnings=found,
        forecast=warned.forecast,
        ratings=[Marker(r.day, f"{RATING_NAMES.get(r.instrument, r.instrument)} total "
                               f"{r.total}") for r in ratings],
        planned=[Marker(b.due_on, f"booster {b.sequence} ({b.phase}), confirmed")
                 for b in maintenance.confirmed_between(db, patient_id=patient_id, start=start,
                                                        end=end + timedelta(days=7))],
        description=f"Life chart, {start.isoformat()} to {end.isoformat()}: {len(summaries)} "
                    f"days charted, {len(found)} warnings")
    return ChartView(start, end, rows, summaries, found, spec, changes, ratings)
