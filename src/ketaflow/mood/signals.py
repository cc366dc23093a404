"""Early warnings from the daily chart, against each patient's own baseline.

Personal baseline (docs/mood.md): for each pole and for sleep, an exponentially weighted mean
and spread over the patient's euthymic days before the day judged (both poles at most 1 and
neither changed: at usual + 1 + two spreads; for sleep, not a short night), restarted at every
medication change. Until a patient has `baseline_min_days` such days since the last change,
population cut-offs apply instead (`MoodSettings`). Computed in `ketaflow.mood.baseline`.

A pole's recent level is the mean of its entries over the last `recent_days` days; it is raised
when at least `rise_points` above usual (or at the population cut-off) with at least
`recent_min_entries` entries. A short night is at least `sleep_drop_h` below usual sleep.

- switch: the upper pole (elevated or irritable) raised; or at the threshold on fewer entries
  with `short_nights` short nights in the last three;
- relapse: the depressed pole raised, once the patient has a personal baseline (a return
  after being well; the episode a patient starts charting in is not a relapse);
- disengagement: `disengagement_days` days in a row without an entry.

Each warning is raised on the day its condition starts, once per episode (not again while it
holds, nor within `refractory_days` of the last one of its kind). Rating-based warnings
(ASRM, YMRS, QIDS-SR16, MADRS relapse after response) are in `rating_signals`. The defaults
were chosen on synthetic series (benchmarks/bench_mood.py), not on patients.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

import numpy as np

from ketaflow.mood.baseline import Baselines, baselines
from ketaflow.mood.series import BoolArray, DailySeries
from ketaflow.mood.settings import DEFAULT_MOOD_SETTINGS, MoodSettings
from ketaflow.pk.kinetics import FloatArray
from ketaflow.scales.thresholds import DEFAULT_THRESHOLDS, ScaleThresholds


class SignalKind(StrEnum):
    SWITCH = "switch"
    RELAPSE = "relapse"
    DISENGAGEMENT = "disengagement"


@dataclass(frozen=True)
class Signal:
    kind: SignalKind
    day: date
    reason: str


@dataclass(frozen=True)
class DailyConditions:
    """Per patient and day: whether each warning's condition holds, and where it starts."""

    baselines: Baselines
    recent_depressed: FloatArray   # mean of the entries over the last `recent_days` (NaN: none)
    recent_elevation: FloatArray
    depressed_raised: BoolArray    # recent level at the threshold, with enough entries
    elevation_raised: BoolArray
    short_night: BoolArray
    switch: BoolArray
    relapse: BoolArray
    disengaged: BoolArray
    switch_onset: BoolArray
    relapse_onset: BoolArray
    disengaged_onset: BoolArray


def _rolling_count(hits: BoolArray, window: int) -> FloatArray:
    """How many of the last `window` days (this one included) are hits."""
    total = np.cumsum(hits, axis=1, dtype=float)
    shifted = np.zeros_like(total)
    shifted[:, window:] = total[:, :-window]
    counts: FloatArray = total - shifted
    return counts


def _onsets(condition: BoolArray, refractory_days: int) -> BoolArray:
    """The first day of each run of the condition, unless one was raised within the
    refractory period before it."""
    patients = condition.shape[0]
    starts = condition & ~np.concatenate(
        [np.zeros((patients, 1), dtype=bool), condition[:, :-1]], axis=1)
    onsets = np.zeros_like(condition)
    last = np.full(patients, -10**9)
    for t in np.flatnonzero(starts.any(axis=0)):
        raise_now = starts[:, t] & (t - last >= refractory_days)
        onsets[:, t] = raise_now
        last = np.where(raise_now, t, last)
    return onsets


def disengaged_days(present: BoolArray, days_without: int) -> BoolArray:
    """Days on which the patient has gone `days_without` days in a row without an entry
    (counted from the series start for a patient with no entry yet)."""
    patients, days = present.shape
    index = np.broadcast_to(np.arange(days), (patients, days))
    last_entry = np.maximum.accumulate(np.where(present, index, -1), axis=1)
    result: BoolArray = (index - last_entry) >= days_without
    return result


def _recent(values: FloatArray, window: int) -> tuple[FloatArray, FloatArray]:
    """Mean of the entries among the last `window` days (this one included) and how many
    there were (NaN where none)."""
    present = ~np.isnan(values)
    counts = _rolling_count(present, window)
    total = np.cumsum(np.where(present, values, 0.0), axis=1)
    shifted = np.zeros_like(total)
    shifted[:, window:] = total[:, :-window]
    mean: FloatArray = np.where(counts > 0, (total - shifted) / np.maximum(counts, 1), np.nan)
    return mean, counts


def thresholds(base: Baselines, settings: MoodSettings) -> tuple[FloatArray, FloatArray]:
    """The recent level at which each pole warns: usual + `rise_points` with a personal
    baseline, else the population cut-off."""
    floor = settings.population_recent_min
    return (np.where(base.personal, base.depressed_mean + settings.rise_points, floor),
            np.where(base.personal, base.elevation_mean + settings.rise_points, floor))


def daily_conditions(series: DailySeries, settings: MoodSettings = DEFAULT_MOOD_SETTINGS
                     ) -> DailyConditions:
    """Every warning condition for every patient and day, in one vectorised sweep."""
    base = baselines(series, settings)
    present = series.present
    recent_d, count_d = _recent(series.depressed, settings.recent_days)
    recent_e, count_e = _recent(series.elevation, settings.recent_days)
    limit_d, limit_e = thresholds(base, settings)
    enough_d = count_d >= settings.recent_min_entries
    depressed_raised = present & enough_d & (recent_d >= limit_d)
    elevation_high = present & (recent_e >= limit_e)
    elevation_raised = elevation_high & (count_e >= settings.recent_min_entries)
    short_night = ~np.isnan(series.sleep_h) & (
        series.sleep_h <= base.sleep_mean - settings.sleep_drop_h)
    # Short nights make a raised upper pole a warning even on few entries (sleep loss comes
    # early in a manic prodrome).
    switch = elevation_raised | (elevation_high & (
        _rolling_count(short_night, 3) >= settings.short_nights))
    # A relapse is a return of depression after being well: it needs the well days a
    # personal baseline is made of (the episode a patient starts the course in is not one).
    relapse = depressed_raised & base.personal
    disengaged = disengaged_days(present, settings.disengagement_days)
    return DailyConditions(
        base, recent_d, recent_e, depressed_raised, elevation_raised, short_night, switch,
        relapse, disengaged, _onsets(switch, settings.refractory_days),
        _onsets(relapse, settings.refractory_days), _onsets(disengaged, 1))


def _usual(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _against(base: Baselines, mean: FloatArray, p: int, t: int) -> str:
    return (f"usual {_usual(mean[p, t])}" if base.personal[p, t]
            else "no personal baseline yet")


def daily_signals(series: DailySeries, settings: MoodSettings = DEFAULT_MOOD_SETTINGS,
                  patient: int = 0) -> list[Signal]:
    """One patient's daily-chart warnings, each with its reason in words, in date order."""
    c = daily_conditions(series, settings)
    b, p, days = c.baselines, patient, settings.recent_days
    found: list[Signal] = []
    nights = _rolling_count(c.short_night, 3)
    for t in map(int, np.flatnonzero(c.switch_onset[p])):
        why = ""
        if nights[p, t] >= settings.short_nights:
            why = (f" with {int(nights[p, t])} of the last 3 nights at least "
                   f"{settings.sleep_drop_h:g} h below usual sleep "
                   f"({_usual(b.sleep_mean[p, t])} h)")
        found.append(Signal(SignalKind.SWITCH, series.day(t), (
            f"possible manic switch: elevated or irritable mood averaging "
            f"{_usual(c.recent_elevation[p, t])} over the last {days} days "
            f"({_against(b, b.elevation_mean, p, t)}){why}")))
    for t in map(int, np.flatnonzero(c.relapse_onset[p])):
        found.append(Signal(SignalKind.RELAPSE, series.day(t), (
            f"possible depressive relapse: depressed mood averaging "
            f"{_usual(c.recent_depressed[p, t])} over the last {days} days "
            f"({_against(b, b.depressed_mean, p, t)})")))
    for t in map(int, np.flatnonzero(c.disengaged_onset[p])):
        found.append(Signal(SignalKind.DISENGAGEMENT, series.day(t),
                            f"no mood entry for {settings.disengagement_days} days"))
    return sorted(found, key=lambda s: (s.day, s.kind.value))


@dataclass(frozen=True)
class Rating:
    day: date
    instrument: str
    total: int


def rating_signals(ratings: Sequence[Rating],
                   thresholds: ScaleThresholds = DEFAULT_THRESHOLDS) -> list[Signal]:
    """Warnings from rating totals: ASRM or YMRS at the switch cut-offs, QIDS-SR16 at the
    relapse cut-off, and MADRS back above the response threshold on consecutive ratings after
    a response (the first MADRS is the baseline)."""
    found = []
    for r in sorted(ratings, key=lambda r: r.day):
        if r.instrument == "asrm" and r.total >= thresholds.asrm_possible_switch_min:
            found.append(Signal(SignalKind.SWITCH, r.day, f"possible manic switch: ASRM "
                                f"{r.total} (at least {thresholds.asrm_possible_switch_min})"))
        elif r.instrument == "ymrs" and r.total >= thresholds.ymrs_possible_switch_min:
            found.append(Signal(SignalKind.SWITCH, r.day, f"possible manic switch: YMRS "
                                f"{r.total} (at least {thresholds.ymrs_possible_switch_min})"))
        elif r.instrument == "qids-sr16" and r.total >= thresholds.qids_relapse_min:
            found.append(Signal(SignalKind.RELAPSE, r.day, f"possible depressive relapse: "
                                f"QIDS-SR16 {r.total} (at least {thresholds.qids_relapse_min})"))
    found += _madrs_relapse([r for r in ratings if r.instrument == "madrs"], thresholds)
    return sorted(found, key=lambda s: (s.day, s.kind.value))


def _madrs_relapse(ratings: Sequence[Rating], thresholds: ScaleThresholds) -> list[Signal]:
    ordered = sorted(ratings, key=lambda r: r.day)
    if len(ordered) < 2:
        return []
    baseline = ordered[0].total
    responder_max = baseline * (1 - thresholds.response_min_drop_pct / 100)
    responded, above, found = False, 0, []
    for rating in ordered[1:]:
        if rating.total <= responder_max:
            responded, above = True, 0
            continue
        if not responded:
            continue
        above += 1
        if above == thresholds.relapse_consecutive_ratings:
            found.append(Signal(SignalKind.RELAPSE, rating.day, (
                f"possible depressive relapse: MADRS {rating.total}, above the response "
                f"threshold ({responder_max:g}, {thresholds.response_min_drop_pct}% below the "
                f"baseline {baseline}) on {above} ratings in a row after a response")))
            responded, above = False, 0
    return found
