"""A week-ahead forecast of signed mood (elevated minus depressed, -3..+3) with an interval.

Model (docs/mood.md): each patient's mood drifts back towards their own long-run mean. The
current level is an exponentially weighted mean of recent days (half-life `LEVEL_HALFLIFE_DAYS`,
which filters day-to-day noise that persistence carries forward); the long-run mean has a
half-life of `MEAN_HALFLIFE_DAYS`; the pull back is the lag-1 autocorrelation `phi` of the
patient's daily deviations from that mean (exponentially weighted, within 0..`PHI_MAX`). The
forecast k days ahead is mean + phi**k * (level - mean); its spread grows from the one-step
error as an AR(1) process's does, and the interval is the central 80%. Busk et al. 2020 (JMIR
mHealth 8(4):e15028) report day-ahead RMSE 0.32 on this scale with a hierarchical Bayesian
model; benchmarks/bench_mood.py compares this model with persistence and the population mean.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ketaflow.pk.kinetics import FloatArray

LEVEL_HALFLIFE_DAYS = 3.0
MEAN_HALFLIFE_DAYS = 30.0
PHI_MAX = 0.95
PHI_PRIOR = 0.7      # before a patient's own autocorrelation is known
SPREAD_PRIOR = 1.0   # one-step error (points) before the patient's own is known
Z_80 = 1.2816        # central 80% of a normal distribution
MOOD_MIN, MOOD_MAX = -3.0, 3.0
HORIZON_DAYS = 7


@dataclass(frozen=True)
class ForecastState:
    """Each patient's model after each day: (P, T) arrays (a day without an entry keeps the
    state of the day before)."""

    level: FloatArray
    mean: FloatArray
    phi: FloatArray
    spread: FloatArray
    seen: FloatArray  # days with an entry so far


@dataclass(frozen=True)
class Forecast:
    """(P, H) arrays for the H days after the origin."""

    mood: FloatArray
    low: FloatArray
    high: FloatArray


def states(mood: FloatArray) -> ForecastState:
    """Run the model over (P, T) daily mood (NaN: no entry), one step per day for all patients."""
    patients, days = mood.shape
    a_level = 1 - 0.5 ** (1 / LEVEL_HALFLIFE_DAYS)
    a_mean = 1 - 0.5 ** (1 / MEAN_HALFLIFE_DAYS)
    level = np.zeros(patients)
    mean = np.zeros(patients)
    cross = np.zeros(patients)
    square = np.zeros(patients)
    error2 = np.full(patients, SPREAD_PRIOR ** 2)
    previous = np.full(patients, np.nan)
    seen = np.zeros(patients)
    out = {name: np.empty((patients, days)) for name in ("level", "mean", "phi", "spread",
                                                        "seen")}
    phi = np.full(patients, PHI_PRIOR)
    for t in range(days):
        x = mood[:, t]
        here = ~np.isnan(x)
        first = here & (seen == 0)
        expected = mean + phi * (level - mean)
        error2 = np.where(here & ~first, (1 - a_mean) * error2 + a_mean * (x - expected) ** 2,
                          error2)
        level = np.where(first, x, np.where(here, level + a_level * (x - level), level))
        mean = np.where(first, x, np.where(here, mean + a_mean * (x - mean), mean))
        both = here & ~np.isnan(previous)
        dev, dev_prev = x - mean, previous - mean
        cross = np.where(both, (1 - a_mean) * cross + a_mean * dev * dev_prev, cross)
        square = np.where(both, (1 - a_mean) * square + a_mean * dev_prev ** 2, square)
        known = square > 1e-6
        phi = np.where(known, np.clip(cross / np.where(known, square, 1.0), 0.0, PHI_MAX),
                       PHI_PRIOR)
        previous = np.where(here, x, previous)
        seen = seen + here
        for name, value in (("level", level), ("mean", mean), ("phi", phi),
                            ("spread", np.sqrt(error2)), ("seen", seen)):
            out[name][:, t] = value
    return ForecastState(**out)


def predict(state: ForecastState, origin: int, horizon: int = HORIZON_DAYS) -> Forecast:
    """The forecast made after day `origin` for the next `horizon` days."""
    level, mean = state.level[:, origin], state.mean[:, origin]
    phi, spread = state.phi[:, origin], state.spread[:, origin]
    steps = np.arange(1, horizon + 1)
    power = phi[:, None] ** steps[None, :]
    mood = mean[:, None] + power * (level - mean)[:, None]
    # Variance of an AR(1) k steps ahead: one-step variance x (1 + phi^2 + ... + phi^(2(k-1))).
    growth = np.cumsum(phi[:, None] ** (2 * (steps[None, :] - 1)), axis=1)
    half = Z_80 * spread[:, None] * np.sqrt(growth)
    unseen = state.seen[:, origin] == 0
    mood[unseen] = np.nan
    return Forecast(np.clip(mood, MOOD_MIN, MOOD_MAX),
                    np.clip(mood - half, MOOD_MIN, MOOD_MAX),
                    np.clip(mood + half, MOOD_MIN, MOOD_MAX))
