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


def test_after_a_rise_the_forecast_heads_back_to_the_usual_never_beyond() -> None:
    days = 60
    mood = np.zeros((1, days))
    mood[0, 40:] = np.linspace(0.1, 2.0, days - 40)  # rising for the last 20 days
    state = states(mood)
    ahead = predict(state, days - 1).mood[0]
    usual, level = state.mean[0, -1], state.level[0, -1]
    assert 0 < usual < level < 2.0  # the level lags the rise; the usual lags more
    assert (np.diff(ahead) < 0).all() and (ahead > usual).all() and ahead[0] < level + 0.1


def test_the_trend_holds_the_forecast_up() -> None:
    rising = np.linspace(-1.0, 1.0, 30)[None, :]
    flat_then_jump = np.concatenate([np.full(29, -1.0), [1.0]])[None, :]
    up, jump = (predict(states(m), 29).mood[0] for m in (rising, flat_then_jump))
    assert (up > jump).all()


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
    assert np.sqrt(np.mean(model)) < 0.9 * np.sqrt(np.mean(last))


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
