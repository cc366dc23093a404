"""Warnings of the daily mood chart as alerts to acknowledge, and the earlier booster they
suggest. Services never commit.

The warnings are the chart's own (`ketaflow.moodchart.warnings.compute_warnings`), so the chart
and the alerts can never disagree. Each warning becomes one alert, keyed by
"mood:{patient}:{kind}:{day}" so recomputing (after every entry, rating and sweep) never raises it
twice; the rules' refractory days already keep one warning per episode. Warnings the rating
alerts already cover (ASRM and YMRS at the switch cut-offs: PROBABLE_MANIA / POSSIBLE_SWITCH) are
left to them; the ratings' relapse warnings (QIDS-SR16, MADRS after a response) have no rating
alert and are raised here.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ketaflow.alerts.models import Alert, AlertKind
from ketaflow.alerts.service import ENTITY, SEVERITY
from ketaflow.audit.service import AuditContext, record_event
from ketaflow.clinic.service import service_timezone
from ketaflow.courses import maintenance
from ketaflow.db import utcnow
from ketaflow.mood.signals import Signal, SignalKind
from ketaflow.moodchart import warnings as moodchart
from ketaflow.moodchart.models import MoodEntry
from ketaflow.scales.longitudinal import Action
from ketaflow.settings.service import ClinicSettings, settings_in_force

KINDS = {SignalKind.SWITCH: AlertKind.MOOD_SWITCH, SignalKind.RELAPSE: AlertKind.MOOD_RELAPSE,
         SignalKind.DISENGAGEMENT: AlertKind.MOOD_DISENGAGEMENT}
# Ratings whose warnings (switch) already raise an alert of their own from the rating
# (`ketaflow.scales.longitudinal` flags PROBABLE_MANIA / POSSIBLE_SWITCH).
_COVERED_BY_RATING_ALERTS = frozenset({"asrm", "ymrs"})
# Days of history the warnings are computed over: long enough for a personal baseline
# (half-life and euthymic days at their largest settings) before the days that raise alerts.
HISTORY_DAYS = 180
SWEEP_CONTEXT = AuditContext(None, "mood-sweep", "system")


def source_key(patient_id: int, signal: Signal) -> str:
    return f"mood:{patient_id}:{signal.kind.value}:{signal.day.isoformat()}"


def _raised_days(db: Session, patient_id: int) -> dict[AlertKind, list[date]]:
    """The day of each mood alert already raised for the patient, by kind (from its key)."""
    days: dict[AlertKind, list[date]] = {kind: [] for kind in KINDS.values()}
    for kind, key in db.execute(select(Alert.kind, Alert.source_key).where(
            Alert.patient_id == patient_id, Alert.source_key.is_not(None))):
        days[kind].append(date.fromisoformat(key.rsplit(":", 1)[1]))
    return days


def _current(signals: list[Signal], warned: moodchart.Warnings, *, today: date, since: date,
             raised: dict[AlertKind, list[date]], settings: ClinicSettings) -> list[Signal]:
    """The warnings to raise now: started since the lookback began, and

    - disengagement only while it still holds (an entry typed later for the missed days, a
      clinician's backfill, ends it: the run it was raised on never happened);
    - switch and relapse not within the refractory days of an alert of the same kind (entries
      typed in day order are judged on part of the data first: the episode's start can move
      by a day or two, and must not make a second alert)."""
    last_entry = warned.summaries[-1].day if warned.summaries else None
    refractory = timedelta(days=settings.mood.refractory_days)
    out = []
    for signal in signals:
        if signal.day < since:
            continue
        if signal.kind is SignalKind.DISENGAGEMENT:
            if last_entry is None or (today - last_entry).days < settings.mood.disengagement_days:
                continue
        elif any(abs(signal.day - day) < refractory for day in raised[KINDS[signal.kind]]):
            continue
        out.append(signal)
    return out


def _raise(db: Session, ctx: AuditContext, patient_id: int, signal: Signal) -> Alert | None:
    key = source_key(patient_id, signal)
    if db.scalar(select(Alert.id).where(Alert.source_key == key)) is not None:
        return None
    kind = KINDS[signal.kind]
    alert = Alert(patient_id=patient_id, kind=kind, severity=SEVERITY[kind], source_key=key,
                  reason=signal.reason, actions=str(Action.CLINICIAN_REVIEW), created_at=utcnow())
    try:
        with db.begin_nested():  # two requests raising the same warning: the key keeps one
            db.add(alert)
            db.flush()
    except IntegrityError:
        return None
    record_event(db, ctx, action="alert.create", entity_type=ENTITY, entity_id=alert.id,
                 detail={"patient_id": patient_id, "kind": str(kind), "source": "mood-chart"})
    return alert


def _earlier_reason(warned: moodchart.Warnings, recent: list[Signal], today: date,
                    settings: ClinicSettings) -> str | None:
    """Why the next booster should come earlier, in words, or None."""
    relapse = [s for s in recent if s.kind is SignalKind.RELAPSE]
    if relapse:
        return relapse[-1].reason
    if warned.forecast is None:
        return None
    mood = warned.forecast.mood[0]
    low = settings.mood.forecast_low_mood
    below = np.flatnonzero(~np.isnan(mood) & (mood <= low))
    if below.size == 0:
        return None
    first = int(below[0])
    return (f"7-day forecast of mood (elevated minus depressed) {float(mood[first]):.1f} on "
            f"{(today + timedelta(days=first + 1)).isoformat()} (at or below {low:g})")


def refresh_mood_alerts(db: Session, ctx: AuditContext, *, patient_id: int, today: date,
                        zone: str | None = None, at: datetime | None = None,
                        disengagement: bool = True) -> list[Alert]:
    """Raise an alert for each warning of the chart that started in the last
    `alert_lookback_days` and has none yet; then, if a relapse is signalled or the forecast
    falls to the clinic's threshold, suggest the next booster earlier. Returns the new alerts.

    `disengagement=False` after an entry or a rating: the patient (or a clinician for them) is
    in touch, so only the passage of time (the sweep) raises a disengagement alert; a
    clinician typing missed days in order would otherwise raise one for a gap they are
    filling."""
    zone = zone or service_timezone(db)
    settings = settings_in_force(db, at or utcnow())
    start = today - timedelta(days=HISTORY_DAYS - 1)
    warned = moodchart.compute_warnings(
        db, patient_id=patient_id, start=start, end=today,
        rows=moodchart.entries(db, patient_id=patient_id, start=start, end=today),
        ratings=[r for r in moodchart.rated(db, patient_id=patient_id, zone=zone)
                 if r.instrument not in _COVERED_BY_RATING_ALERTS],
        settings=settings.mood, thresholds=settings.scales)
    since = today - timedelta(days=settings.mood.alert_lookback_days - 1)
    signals = [s for s in warned.signals
               if disengagement or s.kind is not SignalKind.DISENGAGEMENT]
    recent = _current(signals, warned, today=today, since=since,
                      raised=_raised_days(db, patient_id), settings=settings)
    raised = [a for a in (_raise(db, ctx, patient_id, s) for s in recent) if a is not None]
    reason = _earlier_reason(warned, recent, today, settings)
    if reason is not None:
        maintenance.suggest_earlier(db, ctx, patient_id=patient_id, today=today, reason=reason,
                                    within_days=settings.mood.booster_earlier_within_days)
    return raised


def sweep_mood_alerts(db: Session, now: datetime) -> int:
    """The periodic pass (disengagement appears with the passage of time, not with an entry):
    refresh the patients who charted within the history window but not in the last
    disengagement days, and have no disengagement alert since their last entry (the others
    were refreshed by their entries). Returns alerts raised."""
    zone = service_timezone(db)
    today = now.astimezone(ZoneInfo(zone)).date()
    since = today - timedelta(days=HISTORY_DAYS - 1)
    gap = settings_in_force(db, now).mood.disengagement_days
    latest = db.execute(select(MoodEntry.patient_id, func.max(MoodEntry.day),
                               func.max(MoodEntry.recorded_at))
                        .where(MoodEntry.day >= since, MoodEntry.entered_in_error_at.is_(None))
                        .group_by(MoodEntry.patient_id)
                        .order_by(MoodEntry.patient_id)).tuples().all()
    quiet = {patient_id: recorded for patient_id, day, recorded in latest
             if day <= today - timedelta(days=gap)}
    already = {patient_id for patient_id, created in db.execute(
        select(Alert.patient_id, Alert.created_at).where(
            Alert.kind == AlertKind.MOOD_DISENGAGEMENT,
            Alert.patient_id.in_(list(quiet)))).tuples() if created >= quiet[patient_id]}
    return sum(len(refresh_mood_alerts(db, SWEEP_CONTEXT, patient_id=patient_id, today=today,
                                       zone=zone, at=now))
               for patient_id in quiet if patient_id not in already)
