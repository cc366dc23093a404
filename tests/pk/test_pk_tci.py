"""Target-controlled infusion: reaching, holding and changing targets within pump limits."""

from __future__ import annotations

import numpy as np
import pytest

from ketaflow.pk import (
    Covariates,
    PKInputError,
    Sex,
    Site,
    TargetStep,
    model_parameters,
    simulate,
    target_controlled_infusion,
)

ADULT = Covariates(weight_kg=70.0, age_years=40.0, height_cm=175.0, sex=Sex.MALE)


def test_plasma_tci_reaches_holds_and_steps_down() -> None:
    kinetics = model_parameters("kamp", ADULT).kinetics
    steps = [TargetStep(0.0, 200.0), TargetStep(60.0, 100.0)]
    result = target_controlled_infusion(
        kinetics, steps, duration_min=120.0, max_rate_mg_per_min=20.0
    )
    t, cp = result.prediction.times_min, result.prediction.plasma_ng_per_ml[0]
    holding = (t >= 2.0) & (t < 60.0)
    np.testing.assert_allclose(cp[holding], 200.0, rtol=0.01)
    assert cp.max() <= 200.0 * 1.01
    after_fall = t > 60.0
    paused = result.rate_mg_per_min[(result.interval_start_min >= 60.0)][:5]
    assert np.all(paused == 0.0)  # the pump stops while plasma falls to the new target
    assert cp[after_fall][-1] == pytest.approx(100.0, rel=0.01)


def test_schedule_reproduces_prediction_and_respects_max_rate() -> None:
    kinetics = model_parameters("domino", ADULT).kinetics
    result = target_controlled_infusion(
        kinetics, [TargetStep(0.0, 250.0)], duration_min=30.0, max_rate_mg_per_min=2.0
    )
    assert result.rate_mg_per_min.max() <= 2.0
    assert result.rate_mg_per_min[0] == 2.0  # starts at the pump limit to get there fast
    ends = result.interval_start_min + result.interval_duration_min
    np.testing.assert_allclose(ends[:-1], result.interval_start_min[1:])
    again = simulate(kinetics, result.regimen, result.prediction.times_min)
    np.testing.assert_allclose(again.plasma_ng_per_ml, result.prediction.plasma_ng_per_ml)


def test_effect_site_tci_peaks_at_target_without_overshoot() -> None:
    kinetics = model_parameters("kamp", ADULT).kinetics
    result = target_controlled_infusion(
        kinetics, [TargetStep(0.0, 150.0)], site=Site.EFFECT, duration_min=60.0
    )
    ce = result.prediction.effect_ng_per_ml
    assert ce is not None
    assert ce.max() == pytest.approx(150.0, rel=1e-4)
    assert len(result.boluses) == 1  # no pump limit: the load is a bolus
    assert result.prediction.plasma_ng_per_ml.max() > 150.0  # plasma overshoots to drive Ce


def test_effect_site_tci_needs_ke0() -> None:
    kinetics = model_parameters("elkomy", ADULT).kinetics
    with pytest.raises(PKInputError, match="ke0"):
        target_controlled_infusion(
            kinetics, [TargetStep(0.0, 100.0)], site=Site.EFFECT, duration_min=10.0
        )


def test_tci_rejects_bad_inputs() -> None:
    kinetics = model_parameters("kamp", ADULT).kinetics
    with pytest.raises(PKInputError):
        TargetStep(0.0, -5.0)
    with pytest.raises(PKInputError):
        target_controlled_infusion(kinetics, [], duration_min=10.0)
    with pytest.raises(PKInputError):
        target_controlled_infusion(
            kinetics, [TargetStep(0, 100)], duration_min=10.0, max_rate_mg_per_min=0.0
        )
