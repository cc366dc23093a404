"""A week-ahead forecast of signed mood (elevated minus depressed, -3..+3) with an interval.

Model (docs/mood.md): damped-trend exponential smoothing (Holt's linear method with a damped
trend, Gardner and McKenzie 1985) of each patient's daily mood: a level (weight
`LEVEL_SMOOTHING` on the newest entry, which filters the day-to-day noise that persistence
carries forward) and a trend (weight `TREND_SMOOTHING`, fading by `TREND_DAMPING` per day
ahead), with each day ahead closing part of the gap to the patient's personal mean (half-life
`MEAN_HALFLIFE_DAYS`): up to `REVERSION` when the level is near it, less as the gap widens
(a level far from the usual is more likely an episode, which lasts). The interval is a normal
error whose variance grows with the horizon as the method's does (Hyndman et al. 2008), from
the patient's own recent one-step errors. Busk et al. 2020 (JMIR mHealth 8(4):e15028) report
day-ahead RMSE 0.32 on this scale with a hierarchical Bayesian model;
benchmarks/bench_mood.py compares this model with persistence and the population mean by
rolling-origin cross-validation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ketaflow.pk.kinetics import FloatArray

# Chosen by rolling-origin cross-validation on a tuning cohort (benchmarks/mood_synthetic.py,
# seed 2), never on the cohort the benchmark reports (seed 1): see docs/mood.md.
LEVEL_SMOOTHING = 0.35    # proposal: Holt level weight of the newest entry
TREND_SMOOTHING = 0.03    # weight of the newest level change in the trend
TREND_DAMPING = 0.97      # the trend fades by this factor each day ahead
REVERSION = 0.2           # share of a small gap to the personal mean closed each day ahead
REVERSION_GAP = 1.0       # points: a gap this wide is pulled half as hard (an episode holds)
MEAN_HALFLIFE_DAYS = 180.0  # the personal mean: months of the patient's own entries
ERROR_HALFLIFE_DAYS = 30.0  # the one-step error spread: the last weeks' forecasting errors
SPREAD_PRIOR = 1.0   # one-step error (points) before the patient's own is known
Z_80 = 1.2816        # central 80% of a normal distribution
MOOD_MIN, MOOD_MAX = -3.0, 3.0
HORIZON_DAYS = 7


@dataclass(frozen=True)
class ForecastState:
    """Each patient's model after each day: (P, T) arrays (a day without an entry keeps the
    state of the day before)."""

    level: FloatArray
    trend: FloatArray
    mean: FloatArray
    spread: FloatArray
    seen: FloatArray  # days with an entry so far


@dataclass(frozen=True)
class Forecast:
    """(P, H) arrays for the H days after the origin."""

    mood: FloatArray
    low: FloatArray
    high: FloatArray
    sd: FloatArray   # the forecast error's standard deviation (points), for other intervals


def _ahead(level: FloatArray, trend: FloatArray, mean: FloatArray, steps: FloatArray
           ) -> FloatArray:
    """Level plus the damped trend, pulled towards the personal mean, `steps` days ahead.

    The pull is strongest for a small gap (day-to-day swings around the patient's usual mood
    fade within days, as an AR(1) around a personal mean does) and weakens as the gap widens,
    since a level far from the usual is more likely an episode, which lasts weeks."""
    damp = np.cumsum(TREND_DAMPING ** steps)
    raw = level[:, None] + damp[None, :] * trend[:, None]
    pull = REVERSION / (1 + ((level - mean) / REVERSION_GAP) ** 2)
    out: FloatArray = mean[:, None] + (1 - pull[:, None]) ** steps[None, :] * (
        raw - mean[:, None])
    return out


# Up to this many patients the model runs on plain floats, one patient at a time: the same
# operations in the same order (the same values to the last bit, tests/mood/test_forecast.py),
# without numpy's fixed cost per operation, which is most of a step for one row (a 2-year
# chart: 60 ms through numpy, about 2 ms on floats).
FEW_PATIENTS = 16


def states(mood: FloatArray) -> ForecastState:
    """Run the model over (P, T) daily mood (NaN: no entry), one step per day for all patients."""
    if mood.shape[0] <= FEW_PATIENTS:
        return _states_each_patient(mood)
    return _states_across_patients(mood)


def _states_across_patients(mood: FloatArray) -> ForecastState:
    patients, days = mood.shape
    a_mean = 1 - 0.5 ** (1 / MEAN_HALFLIFE_DAYS)
    a_error = 1 - 0.5 ** (1 / ERROR_HALFLIFE_DAYS)
    level, trend, mean = np.zeros(patients), np.zeros(patients), np.zeros(patients)
    error2 = np.full(patients, SPREAD_PRIOR ** 2)
    seen = np.zeros(patients)
    out = {name: np.empty((patients, days)) for name in ("level", "trend", "mean", "spread",
                                                        "seen")}
    for t in range(days):
        x = mood[:, t]
        here = ~np.isnan(x)
        first = here & (seen == 0)
        # `_ahead` one day ahead, written out: this runs once per day of the series.
        pull = REVERSION / (1 + ((level - mean) / REVERSION_GAP) ** 2)
        expected = mean + (1 - pull) * (level + TREND_DAMPING * trend - mean)
        error2 = np.where(here & ~first,
                          (1 - a_error) * error2 + a_error * (x - expected) ** 2, error2)
        ahead = level + TREND_DAMPING * trend
        new_level = LEVEL_SMOOTHING * x + (1 - LEVEL_SMOOTHING) * ahead
        new_trend = TREND_SMOOTHING * (new_level - level) + (1 - TREND_SMOOTHING) * (
            TREND_DAMPING * trend)
        level = np.where(first, x, np.where(here, new_level, level))
        trend = np.where(first, 0.0, np.where(here, new_trend, trend))
        mean = np.where(first, x, np.where(here, mean + a_mean * (x - mean), mean))
        seen = seen + here
        for name, value in (("level", level), ("trend", trend), ("mean", mean),
                            ("spread", np.sqrt(error2)), ("seen", seen)):
            out[name][:, t] = value
    return ForecastState(**out)


def _states_each_patient(mood: FloatArray) -> ForecastState:
    names = ("level", "trend", "mean", "spread", "seen")
    rows: dict[str, list[list[float]]] = {name: [] for name in names}
    for row in mood.tolist():
        for name, values in zip(names, _one_patient(row), strict=True):
            rows[name].append(values)
    return ForecastState(**{name: np.array(rows[name], dtype=float).reshape(mood.shape)
                            for name in names})


def _one_patient(mood: list[float]) -> tuple[list[float], ...]:
    """`_states_across_patients` for one patient on floats (a square as x * x, as numpy's
    `** 2` computes it)."""
    a_mean = 1 - 0.5 ** (1 / MEAN_HALFLIFE_DAYS)
    a_error = 1 - 0.5 ** (1 / ERROR_HALFLIFE_DAYS)
    level = trend = mean = seen = 0.0
    error2 = SPREAD_PRIOR ** 2
    out: tuple[list[float], ...] = ([], [], [], [], [])
    levels, trends, means, spreads, seens = out
    for x in mood:
        if not math.isnan(x):  # an entry
            if seen == 0:
                level, trend, mean = x, 0.0, x
            else:
                gap = (level - mean) / REVERSION_GAP
                pull = REVERSION / (1 + gap * gap)
                expected = mean + (1 - pull) * (level + TREND_DAMPING * trend - mean)
                miss = x - expected
                error2 = (1 - a_error) * error2 + a_error * (miss * miss)
                ahead = level + TREND_DAMPING * trend
                new_level = LEVEL_SMOOTHING * x + (1 - LEVEL_SMOOTHING) * ahead
                trend = TREND_SMOOTHING * (new_level - level) + (1 - TREND_SMOOTHING) * (
                    TREND_DAMPING * trend)
                level = new_level
                mean = mean + a_mean * (x - mean)
            seen += 1
        levels.append(level)
        trends.append(trend)
        means.append(mean)
        spreads.append(math.sqrt(error2))
        seens.append(seen)
    return out


def _variance_growth(horizon: int) -> FloatArray:
    """k-step forecast variance over the one-step variance, for damped-trend exponential
    smoothing: 1 + sum over j < k of c_j^2, c_j = alpha + alpha*beta*(phi + ... + phi^j)
    (Hyndman et al. 2008, Forecasting with Exponential Smoothing, class 1 models)."""
    j = np.arange(1, horizon, dtype=float)
    damped = TREND_DAMPING * (1 - TREND_DAMPING ** j) / (1 - TREND_DAMPING)
    c = LEVEL_SMOOTHING + LEVEL_SMOOTHING * TREND_SMOOTHING * damped
    growth: FloatArray = 1 + np.concatenate([[0.0], np.cumsum(c ** 2)])
    return growth


def predict(state: ForecastState, origin: int, horizon: int = HORIZON_DAYS) -> Forecast:
    """The forecast made after day `origin` for the next `horizon` days."""
    steps = np.arange(1, horizon + 1, dtype=float)
    mood = _ahead(state.level[:, origin], state.trend[:, origin], state.mean[:, origin], steps)
    growth = _variance_growth(horizon)[None, :]
    sd = state.spread[:, origin][:, None] * np.sqrt(growth)
    half = Z_80 * sd
    mood[state.seen[:, origin] == 0] = np.nan
    return Forecast(np.clip(mood, MOOD_MIN, MOOD_MAX),
                    np.clip(mood - half, MOOD_MIN, MOOD_MAX),
                    np.clip(mood + half, MOOD_MIN, MOOD_MAX), sd)
