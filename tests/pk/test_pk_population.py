"""Virtual populations: reproducible draws, variability as published, bands and shares."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ketaflow.pk import (
    CovariateDistribution,
    Covariates,
    Infusion,
    PKInputError,
    Regimen,
    Sex,
    draw_population,
    fraction_above,
    percentile_bands,
    simulate,
)

REGIMEN = Regimen(infusions=(Infusion.of_dose(0.5, 40.0),))  # per kg; scaled by weight


def test_same_seed_same_population_and_different_seed_differs() -> None:
    a = draw_population("herd", 200, seed=7)
    b = draw_population("herd", 200, seed=7)
    c = draw_population("herd", 200, seed=8)
    np.testing.assert_array_equal(a.kinetics.cl_l_per_min, b.kinetics.cl_l_per_min)
    np.testing.assert_array_equal(a.weight_kg, b.weight_kg)
    assert not np.array_equal(a.kinetics.cl_l_per_min, c.kinetics.cl_l_per_min)


def test_herd_variability_matches_published_cv() -> None:
    child = Covariates(weight_kg=25.0, age_years=7.0, height_cm=120.0, sex=Sex.FEMALE)
    population = draw_population(
        "herd", 200_000, seed=1, distribution=CovariateDistribution.around(child)
    )
    typical_cl = 90.0 / 60.0 * (25.0 / 70.0) ** 0.75
    log_ratio = np.log(population.kinetics.cl_l_per_min / typical_cl)
    assert np.median(log_ratio) == pytest.approx(0.0, abs=0.01)
    assert np.std(log_ratio) == pytest.approx(math.sqrt(math.log(1 + 0.381**2)), rel=0.01)
    assert np.all(population.weight_kg == 25.0)


def test_models_without_variability_say_so() -> None:
    covariates_only = draw_population("domino", 50, seed=1)
    assert any("covariates only" in w for w in covariates_only.warnings)
    assumed = draw_population("domino", 50, seed=1, assumed_cv=0.3)
    assert any("ASSUMED" in w for w in assumed.warnings)
    assert np.std(np.log(assumed.kinetics.v1_l / assumed.weight_kg)) > 0.1


def test_percentile_bands_and_share_above() -> None:
    population = draw_population("herd", 2000, seed=3)
    result = simulate(population.kinetics, REGIMEN, [10, 40, 120], dose_scale=population.weight_kg)
    bands = percentile_bands(result.plasma_ng_per_ml)
    assert bands.values.shape == (5, 3)
    assert np.all(np.diff(bands.values, axis=0) >= 0)
    np.testing.assert_allclose(bands.band(50), np.median(result.plasma_ng_per_ml, axis=0))
    share = fraction_above(result.plasma_ng_per_ml, float(bands.band(50)[1]))
    assert share[1] == pytest.approx(0.5, abs=0.001)


def test_population_rejects_bad_sizes() -> None:
    with pytest.raises(PKInputError):
        draw_population("herd", 0, seed=1)
    with pytest.raises(PKInputError):
        draw_population("domino", 10, seed=1, assumed_cv=-0.1)
