"""What the mood chart's rules make of a patient's entries and ratings: the one computation
the life chart shows and the mood alerts (`ketaflow.alerts.mood`) are raised from. Reads only;
nothing here is audited (callers audit what they show)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ketaflow.assessments.models import Assessment
from ketaflow.mood.entries import DaySummary, Entry, daily_summaries
from ketaflow.mood.forecast import Forecast, predict, states
from ketaflow.mood.series import one_patient
from ketaflow.mood.settings import DEFAULT_MOOD_SETTINGS, MoodSettings
from ketaflow.mood.signals import Rating, Signal, SignalKind, daily_signals, rating_signals
from ketaflow.moodchart.chart import Marker
from ketaflow.moodchart.models import MoodEntry
from ketaflow.patients.models import Medication
from ketaflow.scales.thresholds import DEFAULT_THRESHOLDS, ScaleThresholds

RATED = ("asrm", "ymrs", "qids-sr16", "madrs")


def clinic_day(moment: datetime, zone: str) -> date:
    return moment.astimezone(ZoneInfo(zone)).date()


class StoredEntry(NamedTuple):
    """A stored mood entry as the chart reads it: its columns, not an ORM object. Two years
    are some 700 entries, read on every view of the chart and never changed through it;
    building and tracking that many ORM objects was a third of the page's time (a frozen
    dataclass still a seventh: a named tuple is built in one step)."""

    id: int
    patient_id: int
    day: date
    depressed: int
    elevated: int
    irritable: int
    anxious: int
    sleep_h: float | None
    medications_taken: dict[str, Any]
    life_event: str | None
    life_event_impact: int | None
    psychotic_symptoms: bool
    menses: bool | None
    note: str | None
    source: str
    mood_link_id: int | None
    entered_by_user_id: int | None
    recorded_at: datetime
    entered_in_error_at: datetime | None
    entered_in_error_by_user_id: int | None
    entered_in_error_reason: str | None


_STORED_COLUMNS = tuple(getattr(MoodEntry, name) for name in StoredEntry._fields)


def entries(db: Session, *, patient_id: int, start: date, end: date) -> list[StoredEntry]:
    """Every entry about a day in [start, end], errors included (callers leave them out of
    calculations with `valid`), in day and entry order: one statement."""
    rows = db.execute(select(*_STORED_COLUMNS).where(
        MoodEntry.patient_id == patient_id, MoodEntry.day >= start, MoodEntry.day <= end)
        .order_by(MoodEntry.day, MoodEntry.id))
    return [StoredEntry._make(row) for row in rows]


def valid(rows: list[StoredEntry]) -> list[Entry]:
    """The core's entries from stored rows, leaving out those entered in error."""
    return [Entry(r.day, r.depressed, r.elevated, r.irritable, r.anxious, r.sleep_h)
            for r in rows if r.entered_in_error_at is None]


def medication_markers(db: Session, patient_id: int, start: date, end: date) -> list[Marker]:
    markers = []
    for m in db.scalars(select(Medication).where(Medication.patient_id == patient_id)):
        if getattr(m, "entered_in_error_at", None) is not None:
            continue
        dose = f"{m.drug_name} {m.dose_amount:g} {m.dose_unit.value}"
        if m.start_date is not None and start <= m.start_date <= end:
            markers.append(Marker(m.start_date, f"{dose} started"))
        if m.stop_date is not None and start <= m.stop_date <= end:
            markers.append(Marker(m.stop_date, f"{m.drug_name} stopped"))
    return sorted(markers, key=lambda marker: marker.day)


@dataclass(frozen=True)
class Warnings:
    """What the rules make of a range of the chart: the warnings in date order, and the week
    ahead's forecast (None without entries)."""

    summaries: list[DaySummary]
    signals: list[Signal]
    forecast: Forecast | None


def compute_warnings(db: Session, *, patient_id: int, start: date, end: date,
                     rows: list[StoredEntry], ratings: list[Rating],
                     settings: MoodSettings = DEFAULT_MOOD_SETTINGS,
                     thresholds: ScaleThresholds = DEFAULT_THRESHOLDS,
                     changes: list[Marker] | None = None) -> Warnings:
    """The chart's warnings and forecast over [start, end] from its entries and ratings: the
    one computation the chart shows and the mood alerts are raised from. Not audited.
    `changes`: the medication markers of the range, if the caller has read them already."""
    summaries = daily_summaries(valid(rows))
    if changes is None:
        changes = medication_markers(db, patient_id, start, end)
    series = one_patient(summaries, start=start, end=end,
                         med_changes=[m.day for m in changes])
    in_range = [r for r in ratings if start <= r.day <= end]
    # Disengagement only counts from the first entry: before it the patient was not charting.
    found = [s for s in daily_signals(series, settings)
             if summaries and (s.kind is not SignalKind.DISENGAGEMENT
                               or s.day > summaries[0].day)]
    found = sorted(found + rating_signals(in_range, thresholds), key=lambda s: (s.day, s.kind))
    ahead = predict(states(series.mood), series.days - 1) if summaries else None
    return Warnings(summaries, found, ahead)


def rated(db: Session, *, patient_id: int, zone: str) -> list[Rating]:
    """The patient's current rating totals the warnings read (not audited: for the alert
    refresh, which shows nothing; the chart page reads them through the audited list)."""
    rows = db.scalars(select(Assessment).where(
        Assessment.patient_id == patient_id, Assessment.superseded_at.is_(None),
        Assessment.instrument_id.in_(RATED)).options(selectinload(Assessment.results))
        .order_by(Assessment.rated_at, Assessment.id))
    return [Rating(clinic_day(a.rated_at, zone), a.instrument_id, a.current_result.total)
            for a in rows if a.current_result.total is not None]
