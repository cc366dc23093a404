"""Monitoring schedule: when the next reading is due and whether it is overdue.

During the infusion a BP/HR set is due every `vitals_interval_min` after the last one (the first
one that long after the start), and a timed reading at `forty_min_check_min` after the start
(peak blood pressure; the Spravato 40-minute check) unless one was taken within
`forty_min_window_min` of it. After the infusion ends, a set is due every
`observation_interval_min` until `observation_min` have passed since the end; the last one is
the before-discharge reading. Times are wall-clock minutes from the start, pauses included.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from ketaflow.infusions.rules.settings import DEFAULT_SETTINGS, InfusionSettings


class DueKind(StrEnum):
    INTERVAL = "interval"
    FORTY_MIN = "forty_min"
    OBSERVATION = "observation"
    BEFORE_DISCHARGE = "before_discharge"


@dataclass(frozen=True)
class NextReading:
    due_at: datetime
    kind: DueKind
    overdue: bool
    overdue_by_min: float


def _minutes(value: int) -> timedelta:
    return timedelta(minutes=value)


def forty_min_done(started_at: datetime, reading_times: Sequence[datetime],
                   settings: InfusionSettings = DEFAULT_SETTINGS) -> bool:
    mark = started_at + _minutes(settings.forty_min_check_min)
    window = _minutes(settings.forty_min_window_min)
    return any(abs(taken - mark) <= window for taken in reading_times)


def observation_complete_at(ended_at: datetime,
                            settings: InfusionSettings = DEFAULT_SETTINGS) -> datetime:
    return ended_at + _minutes(settings.observation_min)


def _during_infusion(started_at: datetime, times: list[datetime],
                     settings: InfusionSettings) -> tuple[datetime, DueKind]:
    since_start = [t for t in times if t >= started_at]
    base = since_start[-1] if since_start else started_at
    due, kind = base + _minutes(settings.vitals_interval_min), DueKind.INTERVAL
    mark = started_at + _minutes(settings.forty_min_check_min)
    if not forty_min_done(started_at, times, settings) and mark <= due:
        due, kind = mark, DueKind.FORTY_MIN
    return due, kind


def _during_observation(ended_at: datetime, times: list[datetime],
                        settings: InfusionSettings) -> tuple[datetime, DueKind] | None:
    complete = observation_complete_at(ended_at, settings)
    if any(t >= complete for t in times):
        return None
    since_end = [t for t in times if t >= ended_at]
    base = since_end[-1] if since_end else ended_at
    due = base + _minutes(settings.observation_interval_min)
    if due >= complete:
        return complete, DueKind.BEFORE_DISCHARGE
    return due, DueKind.OBSERVATION


def next_reading_due(
    *,
    started_at: datetime,
    ended_at: datetime | None,
    reading_times: Sequence[datetime],
    now: datetime,
    settings: InfusionSettings = DEFAULT_SETTINGS,
) -> NextReading | None:
    """The next BP/HR set due, or None once the before-discharge reading has been taken.

    `reading_times` are the times of the session's BP/HR sets (any order)."""
    times = sorted(reading_times)
    if ended_at is None:
        due, kind = _during_infusion(started_at, times, settings)
    else:
        found = _during_observation(ended_at, times, settings)
        if found is None:
            return None
        due, kind = found
    late_min = (now - due).total_seconds() / 60
    return NextReading(due_at=due, kind=kind, overdue=late_min > 0,
                       overdue_by_min=max(late_min, 0.0))
