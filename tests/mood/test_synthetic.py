"""The synthetic mood-chart generator of benchmarks/ keeps its invariants (the benchmark itself,
benchmarks/bench_mood.py, is never run by the tests)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from benchmarks.mood_synthetic import Cohort, EpisodeKind, cohort

PATIENTS, DAYS = 40, 365


@pytest.fixture(scope="module")
def made() -> Cohort:
    return cohort(PATIENTS, DAYS, seed=7)


def test_every_array_is_patients_by_days(made: Cohort) -> None:
    s = made.series
    for array in (s.depressed, s.elevation, s.elevated, s.sleep_h, s.med_change,
                  made.irritable, made.infusion, made.latent_depressed,
                  made.latent_elevation, made.latent_mood):
        assert array.shape == (PATIENTS, DAYS)
    assert s.med_change.dtype == bool and made.infusion.dtype == bool
    assert made.patients == PATIENTS and s.days == DAYS


def test_scores_are_whole_numbers_from_0_to_3(made: Cohort) -> None:
    s = made.series
    for array in (s.depressed, s.elevated, made.irritable, s.elevation):
        seen = array[~np.isnan(array)]
        assert seen.size > 0
        assert set(np.unique(seen)) <= {0.0, 1.0, 2.0, 3.0}
    assert np.array_equal(s.elevation, np.fmax(s.elevated, made.irritable), equal_nan=True)


def test_sleep_is_within_0_to_24_hours(made: Cohort) -> None:
    sleep = made.series.sleep_h[~np.isnan(made.series.sleep_h)]
    assert sleep.size > 0
    assert sleep.min() >= 0.0 and sleep.max() <= 24.0


def test_a_missing_day_is_nan_in_every_array(made: Cohort) -> None:
    s = made.series
    missing = np.isnan(s.depressed)
    assert 0.0 < missing.mean() < 0.6
    for array in (s.elevated, s.elevation, made.irritable, s.sleep_h):
        assert np.isnan(array[missing]).all()
    for array in (s.elevated, s.elevation, made.irritable):
        assert not np.isnan(array[~missing]).any()
    assert not np.isnan(s.mood[~missing]).any()


def test_episodes_lie_inside_the_series_in_order(made: Cohort) -> None:
    assert made.episodes
    assert {e.kind for e in made.episodes} == set(EpisodeKind)
    for e in made.episodes:
        assert 0 <= e.patient < PATIENTS
        assert 0 <= e.prodrome_start <= e.onset <= e.end < DAYS
        assert e.end < e.recovery_end
    for p in range(PATIENTS):
        mine = [e for e in made.episodes if e.patient == p]
        for before, after in itertools.pairwise(mine):
            assert before.recovery_end < after.prodrome_start  # no overlap


def test_switches_after_infusions_follow_an_infusion_within_days() -> None:
    made = cohort(300, DAYS, seed=3)
    after = [e for e in made.episodes if e.after_infusion]
    assert after
    for e in after:
        assert e.kind.elevated
        assert made.infusion[e.patient, e.onset - 4:e.onset].any()


def test_the_episode_pole_is_syndromal_from_onset_to_end(made: Cohort) -> None:
    for e in made.episodes:
        pole = made.latent_elevation if e.kind.elevated else made.latent_depressed
        assert (pole[e.patient, e.onset:e.end + 1] >= 2.0 - 1e-9).all()
        assert e.onset - e.prodrome_start <= 60


def test_the_same_seed_gives_the_same_cohort_and_another_seed_another() -> None:
    one, two, other = cohort(10, 120, seed=11), cohort(10, 120, seed=11), cohort(10, 120, seed=12)
    for name in ("depressed", "elevated", "elevation", "sleep_h", "med_change"):
        assert np.array_equal(getattr(one.series, name), getattr(two.series, name),
                              equal_nan=True)
    assert one.episodes == two.episodes
    assert not np.array_equal(one.series.depressed, other.series.depressed, equal_nan=True)


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        cohort(0, 10)
