"""The personal baseline's two paths (plain floats for a few patients, numpy across many)
against the original per-day definition, kept here as the reference."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import date

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ketaflow.mood import baseline
from ketaflow.mood.baseline import Baselines
from ketaflow.mood.series import DailySeries
from ketaflow.mood.settings import DEFAULT_MOOD_SETTINGS, MoodSettings

START = date(2026, 3, 2)


# --- the reference: the definition as first written (numpy across patients, per day) ------

class _Ew:
    def __init__(self, patients: int, decay: float) -> None:
        self.decay = decay
        self.weight = np.zeros(patients)
        self.mean = np.zeros(patients)
        self.var = np.zeros(patients)

    def reset(self, mask: np.ndarray) -> None:
        self.weight[mask] = 0.0
        self.mean[mask] = 0.0
        self.var[mask] = 0.0

    def update(self, values: np.ndarray, mask: np.ndarray) -> None:
        weight = np.where(mask, self.weight * self.decay + 1.0, self.weight)
        share = np.where(mask, 1.0 / np.maximum(weight, 1e-12), 0.0)
        x = np.where(mask, values, 0.0)
        delta = x - self.mean
        self.mean = self.mean + share * delta
        self.var = np.where(mask, (1 - share) * (self.var + share * delta * delta), self.var)
        self.weight = weight

    @property
    def spread(self) -> np.ndarray:
        return np.sqrt(self.var)


def reference(series: DailySeries, settings: MoodSettings) -> Baselines:
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
            own = np.maximum(1.0, stat.mean + 1.0 + 2.0 * stat.spread)
            out[name][:, t] = np.where(mine, np.minimum(own, 3.0), 2.0)
        d, e, s = series.depressed[:, t], series.elevation[:, t], series.sleep_h[:, t]
        euthymic = (~np.isnan(d) & (d <= 1) & (e <= 1)
                    & (d < out["depressed_threshold"][:, t])
                    & (e < out["elevation_threshold"][:, t]))
        depressed.update(d, euthymic)
        elevation.update(e, euthymic)
        usual_night = s > out["sleep_mean"][:, t] - settings.sleep_drop_h
        sleep.update(s, euthymic & ~np.isnan(s) & usual_night)
        euthymic_days += euthymic
    return Baselines(personal, **out)


# --- generated series ---------------------------------------------------------------------

@st.composite
def daily_series(draw: st.DrawFn, max_patients: int = 3) -> DailySeries:
    """Mostly low scores (so baselines form and break), missing days, sleep with short
    nights, and medication changes now and then."""
    patients = draw(st.integers(1, max_patients))
    days = draw(st.integers(1, 90))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    missing, change = draw(st.floats(0, 0.5)), draw(st.floats(0, 0.1))
    dep = rng.choice([0.0, 0.0, 0.0, 1.0, 1.0, 2.0, 3.0], size=(patients, days))
    up = rng.choice([0.0, 0.0, 0.0, 1.0, 1.0, 2.0, 3.0], size=(patients, days))
    absent = rng.random((patients, days)) < missing
    dep[absent] = up[absent] = np.nan
    sleep = np.round(rng.normal(7.0, 2.0, size=(patients, days)).clip(0, 24) * 2) / 2
    sleep[absent | (rng.random((patients, days)) < 0.1)] = np.nan
    changes = rng.random((patients, days)) < change
    return DailySeries(START, dep, up, up.copy(), sleep, changes)


mood_settings = st.builds(
    lambda halflife, min_days, drop: replace(DEFAULT_MOOD_SETTINGS,
                                             baseline_halflife_days=halflife,
                                             baseline_min_days=min_days, sleep_drop_h=drop),
    st.integers(7, 60), st.integers(5, 30), st.sampled_from([1.0, 1.5, 2.0, 4.0]))


def assert_same(got: Baselines, want: Baselines) -> None:
    for field in fields(Baselines):
        a, b = getattr(got, field.name), getattr(want, field.name)
        assert a.shape == b.shape and a.dtype == b.dtype, field.name
        assert np.array_equal(a, b), field.name  # bit for bit, not approximately


@settings(max_examples=150, deadline=None)
@given(series=daily_series(), chosen=mood_settings)
def test_the_plain_float_path_equals_the_reference(series: DailySeries,
                                                   chosen: MoodSettings) -> None:
    assert series.depressed.shape[0] <= baseline.FEW_PATIENTS  # baselines() takes this path
    assert_same(baseline.baselines(series, chosen), reference(series, chosen))


@settings(max_examples=40, deadline=None)
@given(series=daily_series(max_patients=24), chosen=mood_settings)
def test_the_numpy_path_equals_the_reference(series: DailySeries, chosen: MoodSettings) -> None:
    assert_same(baseline._across_patients(series, chosen), reference(series, chosen))


def test_a_cohort_takes_the_numpy_path_and_agrees_with_each_patient_alone() -> None:
    rng = np.random.default_rng(3)
    dep = rng.choice([0.0, 0.0, 1.0, 2.0, np.nan], size=(baseline.FEW_PATIENTS + 4, 200))
    up = np.where(np.isnan(dep), np.nan, rng.choice([0.0, 1.0, 2.0], size=dep.shape))
    sleep = np.where(np.isnan(dep), np.nan, rng.normal(7, 2, size=dep.shape))
    cohort = DailySeries(START, dep, up, up, sleep, rng.random(dep.shape) < 0.02)
    together = baseline.baselines(cohort)
    assert_same(together, reference(cohort, DEFAULT_MOOD_SETTINGS))
    alone = baseline._each_patient(cohort, DEFAULT_MOOD_SETTINGS)
    assert_same(alone, together)
