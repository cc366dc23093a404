"""Grid-free peak and threshold times, checked against dense evaluation and brentq."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq

from ketaflow.pk import (
    MODELS,
    Bolus,
    Covariates,
    Infusion,
    Regimen,
    Sex,
    Site,
    model_parameters,
    peak,
    simulate,
    time_below,
)

ADULT = Covariates(weight_kg=70.0, age_years=40.0, height_cm=175.0, sex=Sex.MALE)
REGIMENS = {
    "infusion": Regimen(infusions=(Infusion.of_dose(35.0, 40.0),)),
    "bolus then infusion": Regimen(
        boluses=(Bolus(0.0, 20.0),), infusions=(Infusion(5.0, 30.0, 0.5),)
    ),
    "two boluses": Regimen(boluses=(Bolus(0.0, 10.0), Bolus(50.0, 25.0))),
}


@pytest.mark.parametrize("model", ["domino", "kamp", "clements", "herd"])
@pytest.mark.parametrize("regimen_name", list(REGIMENS))
@pytest.mark.parametrize("site", [Site.PLASMA, Site.EFFECT])
def test_peak_matches_dense_grid(model: str, regimen_name: str, site: Site) -> None:
    kinetics = model_parameters(model, ADULT).kinetics
    regimen = REGIMENS[regimen_name]
    found = peak(kinetics, regimen, site)
    grid = np.linspace(0.0, 400.0, 400_001)
    result = simulate(kinetics, regimen, grid)
    values = result.plasma_ng_per_ml[0] if site is Site.PLASMA else result.effect_ng_per_ml[0]  # type: ignore[index]
    assert found.concentration_ng_per_ml[0] >= values.max() * (1 - 1e-12)
    assert found.concentration_ng_per_ml[0] == pytest.approx(values.max(), rel=1e-6)
    assert found.time_min[0] == pytest.approx(grid[values.argmax()], abs=2e-3)
    at_peak = simulate(kinetics, regimen, found.time_min)
    exact = at_peak.plasma_ng_per_ml if site is Site.PLASMA else at_peak.effect_ng_per_ml
    assert exact[0, 0] == pytest.approx(found.concentration_ng_per_ml[0], rel=1e-9)  # type: ignore[index]


@pytest.mark.parametrize("model", list(MODELS))
@pytest.mark.parametrize("threshold", [20.0, 100.0, 200.0])
def test_time_below_is_the_last_crossing(model: str, threshold: float) -> None:
    kinetics = model_parameters(model, ADULT).kinetics
    regimen = REGIMENS["bolus then infusion"]
    crossing = time_below(kinetics, regimen, threshold)[0]

    def excess(t: float) -> float:
        return float(simulate(kinetics, regimen, [t]).plasma_ng_per_ml[0, 0]) - threshold

    if crossing == 0.0:
        grid = np.linspace(0, 2000, 20001)
        assert simulate(kinetics, regimen, grid).plasma_ng_per_ml.max() < threshold
        return
    assert excess(crossing * (1 + 1e-9) + 1e-9) < 0.0
    independent = brentq(
        excess, crossing - 1.0 if crossing > 1 else 0.0, crossing + 1.0, xtol=1e-12
    )
    assert crossing == pytest.approx(independent, rel=1e-9)
    later = np.linspace(crossing + 1e-6, crossing + 5000.0, 5001)
    assert np.all(simulate(kinetics, regimen, later).plasma_ng_per_ml < threshold)


def test_time_below_never_reached_is_zero() -> None:
    kinetics = model_parameters("domino", ADULT).kinetics
    assert time_below(kinetics, REGIMENS["infusion"], 10_000.0)[0] == 0.0


def test_effect_threshold_and_vectorised_patients() -> None:
    kinetics = MODELS["kamp"].kinetics_for_weight(np.array([50.0, 70.0, 100.0]))
    regimen = Regimen(infusions=(Infusion.of_dose(35.0, 40.0),))
    times = time_below(kinetics, regimen, 100.0, Site.EFFECT)
    assert times.shape == (3,)
    for index in range(3):
        at = simulate(kinetics.take(slice(index, index + 1)), regimen, [times[index]])
        assert at.effect_ng_per_ml[0, 0] == pytest.approx(100.0, rel=1e-8)  # type: ignore[index]


def test_effect_site_analysis_needs_ke0() -> None:
    kinetics = model_parameters("elkomy", ADULT).kinetics
    with pytest.raises(ValueError, match="ke0"):
        peak(kinetics, REGIMENS["infusion"], Site.EFFECT)
