"""The week-ahead mood forecast against processes whose answer is known."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ketaflow.mood import forecast
from ketaflow.mood.forecast import HORIZON_DAYS, ForecastState, predict, states


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


def reference_states(mood: np.ndarray) -> ForecastState:
    """The model as first written (numpy across patients, one step per day): the reference
    the plain-float path for a few patients must equal."""
    patients, days = mood.shape
    a_mean = 1 - 0.5 ** (1 / forecast.MEAN_HALFLIFE_DAYS)
    a_error = 1 - 0.5 ** (1 / forecast.ERROR_HALFLIFE_DAYS)
    level, trend, mean = np.zeros(patients), np.zeros(patients), np.zeros(patients)
    error2 = np.full(patients, forecast.SPREAD_PRIOR ** 2)
    seen = np.zeros(patients)
    out = {name: np.empty((patients, days)) for name in ("level", "trend", "mean", "spread",
                                                        "seen")}
    damping, level_w, trend_w = (forecast.TREND_DAMPING, forecast.LEVEL_SMOOTHING,
                                 forecast.TREND_SMOOTHING)
    for t in range(days):
        x = mood[:, t]
        here = ~np.isnan(x)
        first = here & (seen == 0)
        pull = forecast.REVERSION / (1 + ((level - mean) / forecast.REVERSION_GAP) ** 2)
        expected = mean + (1 - pull) * (level + damping * trend - mean)
        error2 = np.where(here & ~first,
                          (1 - a_error) * error2 + a_error * (x - expected) ** 2, error2)
        ahead = level + damping * trend
        new_level = level_w * x + (1 - level_w) * ahead
        new_trend = trend_w * (new_level - level) + (1 - trend_w) * (damping * trend)
        level = np.where(first, x, np.where(here, new_level, level))
        trend = np.where(first, 0.0, np.where(here, new_trend, trend))
        mean = np.where(first, x, np.where(here, mean + a_mean * (x - mean), mean))
        seen = seen + here
        for name, value in (("level", level), ("trend", trend), ("mean", mean),
                            ("spread", np.sqrt(error2)), ("seen", seen)):
            out[name][:, t] = value
    return ForecastState(**out)


def _same_states(got: ForecastState, want: ForecastState) -> None:
    for field in fields(ForecastState):
        a, b = getattr(got, field.name), getattr(want, field.name)
        assert a.shape == b.shape and np.array_equal(a, b), field.name  # bit for bit


@settings(max_examples=150, deadline=None)
@given(arrays(float, st.tuples(st.integers(1, 3), st.integers(1, 120)),
              elements=st.one_of(st.integers(-3, 3).map(float), st.just(np.nan))))
def test_the_plain_float_path_equals_the_reference(mood: np.ndarray) -> None:
    assert mood.shape[0] <= forecast.FEW_PATIENTS  # states() takes the plain-float path
    _same_states(states(mood), reference_states(mood))


def test_a_cohort_takes_the_numpy_path_and_agrees_with_each_patient_alone() -> None:
    rng = np.random.default_rng(5)
    mood = rng.choice([-3.0, -2.0, -1.0, 0.0, 0.0, 1.0, 2.0, np.nan],
                      size=(forecast.FEW_PATIENTS + 4, 300))
    together = states(mood)
    _same_states(together, reference_states(mood))
    _same_states(forecast._states_each_patient(mood), together)
