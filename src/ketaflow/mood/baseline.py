"""Each patient's personal baseline, day by day (the method: `ketaflow.mood.signals`).

The baseline is a recursion through the days: whether a day counts as euthymic (and so moves
the baseline) depends on the baseline of the days before it, so the days cannot be taken all
at once. Two paths compute the same numbers:

- many patients (the cohort sweep, benchmarks/bench_mood.py): one step per day, each step a
  few numpy operations across every patient;
- a few patients (a chart page, an entry's alert refresh, the CLI): one step per day on plain
  floats. Numpy pays a fixed cost per operation (about 200 us per day for the ~30 operations
  of a step, 155 ms for two years of one patient), which buys nothing for one row; plain
  float arithmetic does the same IEEE operations in the same order for a few microseconds.

tests/mood/test_baseline.py proves both equal, value for value, to the original per-day
definition.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ketaflow.mood.series import BoolArray, DailySeries
from ketaflow.mood.settings import DEFAULT_MOOD_SETTINGS, MoodSettings
from ketaflow.pk.kinetics import FloatArray

EUTHYMIC_MAX = 1  # both poles at most this: a day that can inform the baseline
# A day this far above usual (or, without a baseline, at this score) is a changed day, kept
# out of the baseline it is measured against.
CHANGED_RISE, CHANGED_SPREADS, CHANGED_POPULATION = 1.0, 2.0, 2.0
SCORE_MAX = 3.0
# Up to this many patients, the plain-float path is faster than numpy across patients (it
# costs about 4 us per patient-day against numpy's 200 us per day for any number).
FEW_PATIENTS = 16
_TINY_WEIGHT = 1e-12


@dataclass(frozen=True)
class Baselines:
    """Each day's usual values (from the days before it) and the score at which a day counts
    as changed: (P, T) arrays."""

    personal: BoolArray
    depressed_mean: FloatArray
    elevation_mean: FloatArray
    sleep_mean: FloatArray
    depressed_threshold: FloatArray
    elevation_threshold: FloatArray


def baselines(series: DailySeries, settings: MoodSettings = DEFAULT_MOOD_SETTINGS
              ) -> Baselines:
    """Each day's usual values and thresholds, from the days before it (one sweep)."""
    if series.depressed.shape[0] <= FEW_PATIENTS:
        return _each_patient(series, settings)
    return _across_patients(series, settings)


# --- many patients: numpy across patients, one step per day -------------------------------

class _Ew:
    """An exponentially weighted mean and variance per patient, updated where `mask` holds."""

    def __init__(self, patients: int, decay: float) -> None:
        self.decay = decay
        self.weight = np.zeros(patients)
        self.mean = np.zeros(patients)
        self.var = np.zeros(patients)

    def reset(self, mask: BoolArray) -> None:
        self.weight[mask] = 0.0
        self.mean[mask] = 0.0
        self.var[mask] = 0.0

    def update(self, values: FloatArray, mask: BoolArray) -> None:
        weight = np.where(mask, self.weight * self.decay + 1.0, self.weight)
        share = np.where(mask, 1.0 / np.maximum(weight, _TINY_WEIGHT), 0.0)
        x = np.where(mask, values, 0.0)
        delta = x - self.mean
        self.mean = self.mean + share * delta
        self.var = np.where(mask, (1 - share) * (self.var + share * delta * delta), self.var)
        self.weight = weight

    @property
    def spread(self) -> FloatArray:
        spread: FloatArray = np.sqrt(self.var)
        return spread


def _across_patients(series: DailySeries, settings: MoodSettings) -> Baselines:
    patients, days = series.depressed.shape
    decay = 0.5 ** (1.0 / settings.baseline_halflife_days)
    depressed, elevation, sleep = (_Ew(patients, decay) for _ in range(3))
    euthymic_days = np.zeros(patients)
    out = {name: np.empty((patients, days)) for name in (
        "depressed_mean", "elevation_mean", "sleep_mean", "depressed_threshold",
        "elevation_threshold")}
    personal = np.empty((patients, days), dtype=bool)
    for t in range(days):
        changed = series.med_change[:, t]
        for stat in (depressed, elevation, sleep):
            stat.reset(changed)
        euthymic_days[changed] = 0
        mine = euthymic_days >= settings.baseline_min_days
        personal[:, t] = mine
        out["depressed_mean"][:, t] = np.where(mine, depressed.mean, 0.0)
        out["elevation_mean"][:, t] = np.where(mine, elevation.mean, 0.0)
        has_sleep = mine & (sleep.weight > 0)
        out["sleep_mean"][:, t] = np.where(has_sleep, sleep.mean, settings.population_sleep_h)
        for name, stat in (("depressed_threshold", depressed), ("elevation_threshold", elevation)):
            own = np.maximum(1.0, stat.mean + CHANGED_RISE + CHANGED_SPREADS * stat.spread)
            out[name][:, t] = np.where(mine, np.minimum(own, SCORE_MAX), CHANGED_POPULATION)
        d, e, s = series.depressed[:, t], series.elevation[:, t], series.sleep_h[:, t]
        # A day judged changed (at a threshold, or a short night) never becomes "usual":
        # else a sustained change would be absorbed into the baseline it is measured against.
        euthymic = (~np.isnan(d) & (d <= EUTHYMIC_MAX) & (e <= EUTHYMIC_MAX)
                    & (d < out["depressed_threshold"][:, t])
                    & (e < out["elevation_threshold"][:, t]))
        depressed.update(d, euthymic)
        elevation.update(e, euthymic)
        usual_night = s > out["sleep_mean"][:, t] - settings.sleep_drop_h
        sleep.update(s, euthymic & ~np.isnan(s) & usual_night)
        euthymic_days += euthymic
    return Baselines(personal, **out)


# --- a few patients: plain floats, one patient at a time ----------------------------------

class _EwFloat:
    """`_Ew` for one patient on floats: the same operations in the same order, so the same
    values to the last bit."""

    __slots__ = ("decay", "mean", "var", "weight")

    def __init__(self, decay: float) -> None:
        self.decay = decay
        self.weight = self.mean = self.var = 0.0

    def reset(self) -> None:
        self.weight = self.mean = self.var = 0.0

    def update(self, x: float) -> None:
        self.weight = self.weight * self.decay + 1.0
        share = 1.0 / max(self.weight, _TINY_WEIGHT)
        delta = x - self.mean
        self.mean = self.mean + share * delta
        self.var = (1 - share) * (self.var + share * delta * delta)

    def threshold(self) -> float:
        """The score at which a day counts as changed, against this baseline."""
        own = max(1.0, self.mean + CHANGED_RISE + CHANGED_SPREADS * math.sqrt(self.var))
        return min(own, SCORE_MAX)


def _each_patient(series: DailySeries, settings: MoodSettings) -> Baselines:
    patients, days = series.depressed.shape
    names = ("personal", "depressed_mean", "elevation_mean", "sleep_mean",
             "depressed_threshold", "elevation_threshold")
    rows: dict[str, list[list[float]]] = {name: [] for name in names}
    for p in range(patients):
        one = _one_patient(series.depressed[p].tolist(), series.elevation[p].tolist(),
                           series.sleep_h[p].tolist(), series.med_change[p].tolist(), settings)
        for name, values in zip(names, one, strict=True):
            rows[name].append(values)
    shaped = {name: np.array(rows[name], dtype=float).reshape(patients, days)
              for name in names[1:]}
    personal = np.array(rows["personal"], dtype=bool).reshape(patients, days)
    return Baselines(personal, **shaped)


def _one_patient(depressed: list[float], elevation: list[float], sleep_h: list[float],
                 changes: list[bool], settings: MoodSettings) -> tuple[list[float], ...]:
    """One patient's (personal, depressed mean, elevation mean, sleep mean, depressed
    threshold, elevation threshold) per day, as `_across_patients` computes them."""
    decay = 0.5 ** (1.0 / settings.baseline_halflife_days)
    dep, up, night = _EwFloat(decay), _EwFloat(decay), _EwFloat(decay)
    euthymic_days = 0
    out: tuple[list[float], ...] = ([], [], [], [], [], [])
    personal, dep_mean, up_mean, sleep_mean, dep_limit, up_limit = out
    for d, e, s, changed in zip(depressed, elevation, sleep_h, changes, strict=True):
        if changed:
            for stat in (dep, up, night):
                stat.reset()
            euthymic_days = 0
        mine = euthymic_days >= settings.baseline_min_days
        usual_sleep = night.mean if mine and night.weight > 0 else settings.population_sleep_h
        limit_d = dep.threshold() if mine else CHANGED_POPULATION
        limit_e = up.threshold() if mine else CHANGED_POPULATION
        personal.append(mine)
        dep_mean.append(dep.mean if mine else 0.0)
        up_mean.append(up.mean if mine else 0.0)
        sleep_mean.append(usual_sleep)
        dep_limit.append(limit_d)
        up_limit.append(limit_e)
        # NaN (no entry) fails every comparison, as in the numpy path.
        if not (d <= EUTHYMIC_MAX and e <= EUTHYMIC_MAX and d < limit_d and e < limit_e):
            continue
        dep.update(d)
        up.update(e)
        if s > usual_sleep - settings.sleep_drop_h:
            night.update(s)
        euthymic_days += 1
    return out
