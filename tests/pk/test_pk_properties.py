"""Hypothesis properties of the exact solver and TCI."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ketaflow.pk import (
    MODELS,
    Bolus,
    Infusion,
    Regimen,
    Site,
    TargetStep,
    simulate,
    target_controlled_infusion,
)

SETTINGS = settings(max_examples=25, deadline=None)
models = st.sampled_from(sorted(MODELS))
weights = st.floats(20.0, 150.0)
boluses = st.builds(Bolus, st.floats(0.0, 120.0), st.floats(0.0, 50.0))
infusions = st.builds(Infusion, st.floats(0.0, 120.0), st.floats(0.1, 90.0), st.floats(0.0, 3.0))
regimens = st.builds(
    Regimen,
    st.lists(boluses, max_size=3).map(tuple),
    st.lists(infusions, min_size=1, max_size=3).map(tuple),
)
times = st.lists(st.floats(0.0, 600.0), min_size=1, max_size=12).map(np.array)


def _kinetics(model: str, weight: float):  # type: ignore[no-untyped-def]
    return MODELS[model].kinetics_for_weight(np.array([weight]))


@SETTINGS
@given(models, weights, regimens, times, st.floats(0.01, 20.0))
def test_linear_in_dose(
    model: str, weight: float, regimen: Regimen, at: np.ndarray, factor: float
) -> None:
    kinetics = _kinetics(model, weight)
    once = simulate(kinetics, regimen, at)
    scaled = simulate(kinetics, regimen.scaled(factor), at)
    np.testing.assert_allclose(
        scaled.plasma_ng_per_ml, factor * once.plasma_ng_per_ml, rtol=1e-9, atol=1e-9
    )


@SETTINGS
@given(models, weights, regimens, regimens, times)
def test_superposition_of_regimens(
    model: str, weight: float, first: Regimen, second: Regimen, at: np.ndarray
) -> None:
    kinetics = _kinetics(model, weight)
    both = Regimen(first.boluses + second.boluses, first.infusions + second.infusions)
    total = simulate(kinetics, both, at)
    parts = [simulate(kinetics, r, at) for r in (first, second)]
    np.testing.assert_allclose(
        total.plasma_ng_per_ml,
        parts[0].plasma_ng_per_ml + parts[1].plasma_ng_per_ml,
        rtol=1e-9,
        atol=1e-9,
    )
    if total.effect_ng_per_ml is not None:
        summed = parts[0].effect_ng_per_ml + parts[1].effect_ng_per_ml  # type: ignore[operator]
        np.testing.assert_allclose(total.effect_ng_per_ml, summed, rtol=1e-9, atol=1e-9)


@SETTINGS
@given(models, weights, regimens, times)
def test_non_negative(model: str, weight: float, regimen: Regimen, at: np.ndarray) -> None:
    result = simulate(_kinetics(model, weight), regimen, at)
    assert np.all(result.plasma_ng_per_ml >= -1e-12)
    if result.effect_ng_per_ml is not None:
        assert np.all(result.effect_ng_per_ml >= -1e-12)


@SETTINGS
@given(models, weights, regimens)
def test_plasma_falls_monotonically_after_the_last_dose(
    model: str, weight: float, regimen: Regimen
) -> None:
    end = regimen.last_event_min
    grid = end + np.concatenate([[0.0], np.geomspace(1e-3, 5000.0, 400)])
    plasma = simulate(_kinetics(model, weight), regimen, grid).plasma_ng_per_ml[0]
    assert np.all(np.diff(plasma) <= 1e-9 * plasma[0] + 1e-12)


@settings(max_examples=10, deadline=None)
@given(
    st.sampled_from(["domino", "kamp", "clements", "hijazi", "herd", "hornik"]),
    weights,
    st.floats(50.0, 400.0),
    st.sampled_from([Site.PLASMA, Site.EFFECT]),
    st.one_of(st.none(), st.floats(5.0, 50.0)),
)
def test_tci_holds_target_within_one_percent(
    model: str, weight: float, target: float, site: Site, max_rate: float | None
) -> None:
    result = target_controlled_infusion(
        _kinetics(model, weight), [TargetStep(0.0, target)], site=site, duration_min=90.0,
        max_rate_mg_per_min=max_rate,
    )  # fmt: skip
    assert np.all(result.rate_mg_per_min >= 0.0)
    if max_rate is not None:
        assert np.all(result.rate_mg_per_min <= max_rate * (1 + 1e-12))
    prediction = result.prediction
    values = (
        prediction.plasma_ng_per_ml[0] if site is Site.PLASMA else prediction.effect_ng_per_ml[0]
    )  # type: ignore[index]
    reached = np.flatnonzero(values >= target * 0.999)
    assert reached.size, "target never reached"
    after = values[reached[0] :]
    assert np.all(np.abs(after / target - 1.0) <= 0.01)
