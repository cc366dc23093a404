"""The week-ahead mood forecast against processes whose answer is known."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ketaflow.mood.forecast import HORIZON_DAYS, predict, states


def ar1(patients: int, days: int, phi: float, noise: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x, out = np.zeros(patients), np.zeros((patients, days))
    for t in range(days):
        x = phi * x + rng.normal(0, 0.5, patients)
        out[:, t] = x
    return out + rng.normal(0, noise, (patients, days))


def test_a_constant_mood_is_forecast_as_itself() -> None:
    mood = np.full((3, 40), np.nan)
    mood[0], mood[1], mood[2, :20] = 1.0, -2.0, 0.0
    ahead = predict(states(mood), 39)
    assert np.allclose(ahead.mood, [[1.0] * 7, [-2.0] * 7, [0.0] * 7])


def test_no_entry_yet_gives_no_forecast() -> None:
    ahead = predict(states(np.full((1, 5), np.nan)), 4)
    assert np.isnan(ahead.mood).all()


def test_the_pull_back_is_the_processes_autocorrelation() -> None:
    state = states(ar1(800, 300, 0.8, 0.0, seed=1))
    assert abs(float(np.mean(state.phi[:, -1])) - 0.8) < 0.08


def test_the_80_percent_interval_covers_about_80_percent() -> None:
    mood = ar1(3000, 260, 0.8, 0.5, seed=2)
    ahead = predict(states(mood), 250)
    actual = mood[:, 251:251 + HORIZON_DAYS]
    covered = ((actual >= ahead.low) & (actual <= ahead.high)).mean(axis=0)
    assert ((covered > 0.74) & (covered < 0.90)).all(), covered


def test_it_beats_persistence_on_noisy_reports() -> None:
    """Day-to-day noise is what persistence carries forward and the level filters out."""
    mood = ar1(1000, 200, 0.8, 0.6, seed=3)
    state = states(mood)
    model, last = [], []
    for origin in range(60, 190, 7):
        actual = mood[:, origin + 1:origin + 8]
        model.append((predict(state, origin).mood - actual) ** 2)
        last.append((mood[:, origin:origin + 1] - actual) ** 2)
    assert np.sqrt(np.mean(model)) < 0.85 * np.sqrt(np.mean(last))


@settings(max_examples=50, deadline=None)
@given(arrays(float, st.tuples(st.integers(1, 3), st.integers(1, 60)),
              elements=st.one_of(st.integers(-3, 3).map(float), st.just(np.nan))))
def test_forecasts_stay_on_the_scale_with_the_point_inside_its_interval(mood: np.ndarray
                                                                          ) -> None:
    ahead = predict(states(mood), mood.shape[1] - 1)
    seen = ~np.isnan(ahead.mood)
    for values in (ahead.mood, ahead.low, ahead.high):
        assert ((values[seen] >= -3) & (values[seen] <= 3)).all()
    assert (ahead.low[seen] <= ahead.mood[seen] + 1e-12).all()
    assert (ahead.mood[seen] <= ahead.high[seen] + 1e-12).all()
