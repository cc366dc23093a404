"""Hand-worked cases for the dosing core: dose, volume, rate, rounding, weights, salts, overrides.

Every expected number is worked out in the comment above it, independently of the code.
"""

from __future__ import annotations

from dataclasses import FrozenInstanceError, replace
from typing import Any

import pytest

from ketaflow.dosing import (
    DosingError,
    DosingLimits,
    RateRounding,
    SaltForm,
    Sex,
    TotalDoseOrder,
    WarningCode,
    WeightBasedOrder,
    WeightBasis,
    calculate_dose,
    calculate_total_dose,
    calculate_weight_based_dose,
    resolve_dosing_weight,
)
from ketaflow.dosing.core import (
    adjusted_body_weight_kg,
    convert_salt,
    ideal_body_weight_kg,
    nearest_pump_step,
    pounds_to_kg,
    round_half_up,
)


def make_order(**overrides: Any) -> WeightBasedOrder:
    """The studied regimen (0.5 mg/kg over 40 min) for a 70 kg patient at 1 mg/mL."""
    fields: dict[str, Any] = {
        "weight_kg": 70.0,
        "dose_mg_per_kg": 0.5,
        "duration_min": 40.0,
        "concentration_mg_per_ml": 1.0,
    }
    fields.update(overrides)
    return WeightBasedOrder(**fields)


def codes(result: Any) -> set[WarningCode]:
    return {w.code for w in result.warnings}


# --- the basic calculation -----------------------------------------------------------------------


def test_studied_regimen_70_kg_at_1_mg_per_ml() -> None:
    result = calculate_weight_based_dose(make_order())
    # 70 kg x 0.5 mg/kg = 35 mg; at 1 mg/mL that is 35 mL; over 40 min = 35 / (40/60) = 52.5 mL/h,
    # which is already a whole number of 0.1 mL/h steps, so nothing is lost to rounding.
    assert result.dosing_weight_kg == 70.0
    assert result.weight_basis == WeightBasis.ACTUAL
    assert result.dose_mg == pytest.approx(35.0, abs=1e-12)
    assert result.dose_mg_base == pytest.approx(35.0, abs=1e-12)
    assert result.volume_ml == pytest.approx(35.0, abs=1e-12)
    assert result.rate_ml_per_h == 52.5
    assert result.rate_mg_per_h == pytest.approx(52.5, abs=1e-12)
    assert result.delivered_volume_ml == pytest.approx(35.0, abs=1e-12)
    assert result.delivered_dose_mg == pytest.approx(35.0, abs=1e-12)
    assert result.rate_rounding == RateRounding.NEAREST
    assert result.warnings == ()
    assert result.requires_override is False
    assert result.soft_limits_overridden is False


def test_83_kg_at_10_mg_per_ml_rounds_the_rate_down_to_the_nearest_step() -> None:
    result = calculate_weight_based_dose(make_order(weight_kg=83.0, concentration_mg_per_ml=10.0))
    # 83 x 0.5 = 41.5 mg; / 10 mg/mL = 4.15 mL; x 60/40 = 6.225 mL/h. Nearest 0.1 step: 6.2
    # (6.225 is 62.25 steps, nearer 62 than 63). Delivered: 6.2 x 40/60 = 4.1333 mL = 41.333 mg,
    # 0.1667 mg short, within half a step's worth (0.05 mL/h x 2/3 h x 10 mg/mL = 0.3333 mg).
    assert result.dose_mg == pytest.approx(41.5)
    assert result.volume_ml == pytest.approx(4.15)
    assert result.exact_rate_ml_per_h == pytest.approx(6.225)
    assert result.rate_ml_per_h == 6.2
    assert result.rate_mg_per_h == pytest.approx(62.0)
    assert result.delivered_volume_ml == pytest.approx(4.133333333, abs=1e-9)
    assert result.delivered_dose_mg == pytest.approx(41.33333333, abs=1e-8)
    assert result.display_values()["delivered_dose_mg"] == 41.3
    assert result.display_values()["delivered_volume_ml"] == 4.13


def test_77_kg_at_10_mg_per_ml_rounds_the_rate_up_to_the_nearest_step() -> None:
    result = calculate_weight_based_dose(make_order(weight_kg=77.0, concentration_mg_per_ml=10.0))
    # 77 x 0.5 = 38.5 mg; 3.85 mL; x 1.5 = 5.775 mL/h -> 57.75 steps -> 58 steps = 5.8 mL/h.
    # Delivered 5.8 x 2/3 = 3.8667 mL = 38.667 mg: 0.1667 mg over, under the 0.3333 mg half step.
    assert result.rate_ml_per_h == 5.8
    assert result.delivered_dose_mg == pytest.approx(38.66666667, abs=1e-8)
    assert result.delivered_dose_mg - result.dose_mg < 0.05 * (40 / 60) * 10


def test_an_exact_tie_rounds_down_to_less_drug() -> None:
    order = TotalDoseOrder(
        weight_kg=70.0, dose_mg=50.05, duration_min=60.0, concentration_mg_per_ml=1.0
    )
    result = calculate_total_dose(order)
    # 50.05 mg at 1 mg/mL over 60 min = 50.05 mL/h, exactly halfway between 50.0 and 50.1: down.
    assert result.exact_rate_ml_per_h == 50.05
    assert result.rate_ml_per_h == 50.0
    assert result.delivered_dose_mg == pytest.approx(50.0)


@pytest.mark.parametrize(
    ("rate", "precision", "steps", "rounded_up"),
    [
        (52.5, 0.1, 525, False),  # exactly on a step
        (6.225, 0.1, 62, False),  # 62.25 steps -> 62
        (5.775, 0.1, 58, True),  # 57.75 steps -> 58
        (50.05, 0.1, 500, False),  # tie -> down
        (50.15, 0.1, 501, False),  # tie -> down
        (1.26, 0.05, 25, False),  # 25.2 steps
        (1.28, 0.05, 26, True),  # 25.6 steps
        (3.5, 1.0, 3, False),  # tie at a 1 mL/h pump -> down
        (6.2250000000000005, 0.01, 622, False),  # binary noise on a tie does not decide it
        (6.2249999999999995, 0.01, 622, False),
        (6.2251, 0.01, 623, True),  # a real excess over the tie does
    ],
)
def test_nearest_pump_step(rate: float, precision: float, steps: int, rounded_up: bool) -> None:
    assert nearest_pump_step(rate, precision) == (steps, rounded_up)


def test_pump_precision_is_honoured() -> None:
    result = calculate_weight_based_dose(
        make_order(weight_kg=83.0, concentration_mg_per_ml=10.0, pump_precision_ml_per_h=0.01)
    )
    # 6.225 mL/h is a tie at 0.01 mL/h steps (622.5 steps): down to 6.22 mL/h.
    assert result.rate_ml_per_h == 6.22
    assert result.display_values()["rate_ml_per_h"] == 6.22
    whole = calculate_weight_based_dose(
        make_order(weight_kg=83.0, concentration_mg_per_ml=10.0, pump_precision_ml_per_h=1.0)
    )
    # 6.225 mL/h at 1 mL/h steps -> 6 mL/h; delivered 6 x 2/3 x 10 = 40 mg.
    assert whole.rate_ml_per_h == 6.0
    assert whole.delivered_dose_mg == pytest.approx(40.0)


def test_rounding_up_past_the_hard_mg_per_kg_maximum_steps_down_instead() -> None:
    order = make_order(
        weight_kg=60.0,
        dose_mg_per_kg=1.95,
        duration_min=60.0,
        concentration_mg_per_ml=100.0,
        pump_precision_ml_per_h=0.45,
    )
    result = calculate_weight_based_dose(order)
    # 60 x 1.95 = 117 mg = 1.17 mL = 1.17 mL/h over 60 min = 2.6 steps of 0.45. Nearest is 3 steps
    # = 1.35 mL/h = 135 mg = 2.25 mg/kg, past the 2.0 mg/kg hard maximum, so 2 steps = 0.9 mL/h
    # = 90 mg, 23% short, which also earns a rounding warning.
    assert result.rate_rounding == RateRounding.DOWN_FOR_HARD_LIMIT
    assert result.rate_ml_per_h == 0.9
    assert result.delivered_dose_mg == pytest.approx(90.0)
    assert WarningCode.ROUNDING_DEVIATION in codes(result)


def test_rounding_up_past_the_hard_mg_maximum_steps_down_instead() -> None:
    order = TotalDoseOrder(
        weight_kg=150.0,
        dose_mg=196.0,
        duration_min=60.0,
        concentration_mg_per_ml=100.0,
        pump_precision_ml_per_h=0.7,
        override_reason="documented partial response",
    )
    result = calculate_total_dose(order)
    # 196 mg = 1.96 mL/h = 2.8 steps of 0.7 -> 3 steps = 2.1 mL/h = 210 mg > 200 mg:
    # 2 steps instead, 1.4 mL/h = 140 mg.
    assert result.rate_rounding == RateRounding.DOWN_FOR_HARD_LIMIT
    assert result.rate_ml_per_h == 1.4
    assert result.delivered_dose_mg == pytest.approx(140.0)


def test_a_rate_that_rounds_to_zero_is_refused() -> None:
    order = make_order(
        weight_kg=30.0, dose_mg_per_kg=0.01, duration_min=120.0, concentration_mg_per_ml=100.0
    )
    # 30 x 0.01 = 0.3 mg = 0.003 mL over 2 h = 0.0015 mL/h: 0 steps of 0.1 mL/h.
    with pytest.raises(DosingError) as caught:
        calculate_weight_based_dose(order)
    assert caught.value.field == "rate_ml_per_h"
    assert "rounds to 0 at the pump precision of 0.1 mL/h" in str(caught.value)


def test_no_rounding_warning_when_rounding_is_small() -> None:
    result = calculate_weight_based_dose(make_order(weight_kg=83.0, concentration_mg_per_ml=10.0))
    # 41.333 vs 41.5 mg is 0.4%, under the 5% default.
    assert WarningCode.ROUNDING_DEVIATION not in codes(result)


# --- weight --------------------------------------------------------------------------------------


def test_pounds_are_converted_by_the_exact_definition() -> None:
    # 154 lb x 0.45359237 kg/lb = 69.85322498 kg.
    assert pounds_to_kg(154.0) == pytest.approx(69.85322498, abs=1e-8)
    result = calculate_weight_based_dose(make_order(weight_kg=None, weight_lb=154.0))
    assert result.weight_kg == pytest.approx(69.853, abs=1e-3)
    # 69.853225 x 0.5 = 34.926612 mg; x 1.5 = 52.389919 mL/h -> 52.4 mL/h.
    assert result.dose_mg == pytest.approx(34.92661249, abs=1e-8)
    assert result.rate_ml_per_h == 52.4
    assert result.display_values()["weight_kg"] == 69.9
    assert any("0.45359237" in c for c in result.citations)


@pytest.mark.parametrize(
    ("weights", "got"),
    [({"weight_kg": 70.0, "weight_lb": 154.0}, "both"), ({"weight_kg": None}, "neither")],
)
def test_weight_must_come_in_exactly_one_unit(weights: dict[str, Any], got: str) -> None:
    with pytest.raises(DosingError) as caught:
        calculate_weight_based_dose(make_order(**weights))
    assert caught.value.field == "weight"
    assert f"got {got}" in str(caught.value)


def test_ideal_body_weight_of_a_tall_man() -> None:
    # 190 cm = 74.80 in, 14.803 in over 5 ft: 50 + 2.3 x 14.80315 = 84.04724 kg.
    assert ideal_body_weight_kg(190.0, Sex.MALE) == pytest.approx(84.04724, abs=1e-5)
    weight = resolve_dosing_weight(
        weight_kg=95.0, height_cm=190.0, sex=Sex.MALE, basis=WeightBasis.IDEAL
    )
    assert weight.dosing_weight_kg == pytest.approx(84.04724, abs=1e-5)
    assert weight.weight_basis == WeightBasis.IDEAL
    assert "Devine" in weight.formula
    assert any("Devine BJ" in c and "1974" in c for c in weight.citations)


def test_ideal_body_weight_of_a_short_woman() -> None:
    # 157 cm = 61.81 in, 1.811 in over 5 ft: 45.5 + 2.3 x 1.81102 = 49.66535 kg.
    assert ideal_body_weight_kg(157.0, Sex.FEMALE) == pytest.approx(49.66535, abs=1e-5)
    # 5 ft exactly gives the base weight.
    assert ideal_body_weight_kg(152.4, Sex.FEMALE) == pytest.approx(45.5)
    assert ideal_body_weight_kg(152.4, Sex.MALE) == pytest.approx(50.0)


def test_below_five_feet_the_devine_line_is_extended_with_a_warning() -> None:
    # 150 cm is 0.94488 in under 5 ft: 45.5 - 2.3 x 0.94488 = 43.32677 kg.
    weight = resolve_dosing_weight(
        weight_kg=60.0, height_cm=150.0, sex=Sex.FEMALE, basis=WeightBasis.IDEAL
    )
    assert weight.dosing_weight_kg == pytest.approx(43.32677, abs=1e-5)
    assert {w.code for w in weight.warnings} == {WarningCode.DEVINE_EXTRAPOLATED}


def test_adjusted_body_weight_of_a_tall_heavy_man() -> None:
    # IBW 84.04724; AdjBW = 84.04724 + 0.4 x (120 - 84.04724) = 84.04724 + 14.38110 = 98.42835 kg.
    assert adjusted_body_weight_kg(120.0, 84.04724409) == pytest.approx(98.42835, abs=1e-5)
    order = make_order(
        weight_kg=120.0, height_cm=190.0, sex=Sex.MALE, weight_basis=WeightBasis.ADJUSTED
    )
    result = calculate_weight_based_dose(order)
    assert result.dosing_weight_kg == pytest.approx(98.42835, abs=1e-5)
    assert result.ideal_body_weight_kg == pytest.approx(84.04724, abs=1e-5)
    # 98.42835 x 0.5 = 49.21417 mg.
    assert result.dose_mg == pytest.approx(49.21417, abs=1e-5)
    assert result.weight_basis == WeightBasis.ADJUSTED
    assert "0.4" in result.weight_formula
    assert any("Traynor" in c for c in result.citations)


def test_adjusted_body_weight_of_a_short_woman() -> None:
    # IBW 49.66535; AdjBW = 49.66535 + 0.4 x (70 - 49.66535) = 49.66535 + 8.13386 = 57.79921 kg.
    weight = resolve_dosing_weight(
        weight_kg=70.0, height_cm=157.0, sex=Sex.FEMALE, basis=WeightBasis.ADJUSTED
    )
    assert weight.dosing_weight_kg == pytest.approx(57.79921, abs=1e-5)


@pytest.mark.parametrize("basis", [WeightBasis.IDEAL, WeightBasis.ADJUSTED])
def test_actual_weight_below_ideal_is_used_with_a_warning(basis: WeightBasis) -> None:
    # A 190 cm man weighing 70 kg is under his 84 kg ideal weight: dose on 70 kg, never on more.
    result = calculate_weight_based_dose(
        make_order(weight_kg=70.0, height_cm=190.0, sex=Sex.MALE, weight_basis=basis)
    )
    assert result.dosing_weight_kg == 70.0
    assert result.weight_basis == WeightBasis.ACTUAL
    assert result.requested_weight_basis == basis
    assert WarningCode.ACTUAL_BELOW_IDEAL_WEIGHT in codes(result)
    assert result.requires_override is False  # information, not a soft limit


@pytest.mark.parametrize(
    ("overrides", "missing"),
    [
        ({"sex": Sex.MALE}, "height_cm"),
        ({"height_cm": 180.0}, "sex"),
        ({}, "height_cm"),
    ],
)
@pytest.mark.parametrize("basis", [WeightBasis.IDEAL, WeightBasis.ADJUSTED])
def test_ideal_and_adjusted_weight_need_height_and_sex(
    overrides: dict[str, Any], missing: str, basis: WeightBasis
) -> None:
    with pytest.raises(DosingError) as caught:
        calculate_weight_based_dose(make_order(weight_basis=basis, **overrides))
    assert caught.value.field == missing
    assert f"{missing} is required for {basis.value} body weight" == str(caught.value)


def test_ideal_weight_is_reported_on_an_actual_weight_order() -> None:
    result = calculate_weight_based_dose(make_order(height_cm=190.0, sex=Sex.MALE))
    assert result.dosing_weight_kg == 70.0
    assert result.ideal_body_weight_kg == pytest.approx(84.04724, abs=1e-5)


# --- salt and base -------------------------------------------------------------------------------


def test_salt_conversion_factor() -> None:
    # base = hydrochloride x 237.7 / 274.2; 100 mg HCl = 23770 / 274.2 = 86.68855 mg base.
    assert convert_salt(100.0, SaltForm.HYDROCHLORIDE, SaltForm.BASE) == pytest.approx(
        86.68855, abs=1e-5
    )
    # Ketalar label: 10 mg base = 11.53 mg hydrochloride (10 x 274.2/237.7 = 11.5355).
    assert convert_salt(10.0, SaltForm.BASE, SaltForm.HYDROCHLORIDE) == pytest.approx(
        11.53, abs=0.01
    )
    assert convert_salt(12.5, SaltForm.BASE, SaltForm.BASE) == 12.5


def test_hydrochloride_order_drawn_from_a_base_labelled_vial() -> None:
    order = make_order(dose_salt=SaltForm.HYDROCHLORIDE, concentration_mg_per_ml=10.0)
    result = calculate_weight_based_dose(order)
    # 70 x 0.5 = 35 mg HCl = 35 x 237.7/274.2 = 30.34099 mg base; / 10 mg base/mL = 3.034099 mL;
    # x 1.5 = 4.55115 mL/h -> 4.6 mL/h. Delivered 4.6 x 2/3 = 3.06667 mL = 30.6667 mg base
    # = 30.6667 x 274.2/237.7 = 35.37568 mg HCl; pump rate 4.6 x 10 = 46 mg base/h
    # = 53.0635 mg HCl/h.
    assert result.dose_salt == SaltForm.HYDROCHLORIDE
    assert result.dose_mg == pytest.approx(35.0)
    assert result.dose_mg_base == pytest.approx(30.34099, abs=1e-5)
    assert result.volume_ml == pytest.approx(3.034099, abs=1e-6)
    assert result.rate_ml_per_h == 4.6
    assert result.delivered_dose_mg_base == pytest.approx(30.66667, abs=1e-5)
    assert result.delivered_dose_mg == pytest.approx(35.37568, abs=1e-5)
    assert result.rate_mg_per_h == pytest.approx(53.06353, abs=1e-5)


def test_base_order_drawn_from_a_hydrochloride_labelled_concentration() -> None:
    order = make_order(concentration_mg_per_ml=10.0, concentration_salt=SaltForm.HYDROCHLORIDE)
    result = calculate_weight_based_dose(order)
    # 35 mg base = 35 x 274.2/237.7 = 40.37442 mg HCl; / 10 mg HCl/mL = 4.037442 mL.
    assert result.volume_ml == pytest.approx(4.037442, abs=1e-6)
    assert result.dose_mg_base == pytest.approx(35.0)


def test_same_salt_on_both_sides_needs_no_conversion() -> None:
    hcl = SaltForm.HYDROCHLORIDE
    result = calculate_weight_based_dose(
        make_order(dose_salt=hcl, concentration_salt=hcl, concentration_mg_per_ml=1.0)
    )
    # 35 mg HCl at 1 mg HCl/mL = 35 mL, 52.5 mL/h, exactly as the base case.
    assert result.volume_ml == pytest.approx(35.0)
    assert result.rate_ml_per_h == 52.5


# --- soft limits and overrides -------------------------------------------------------------------


def test_crossing_a_soft_limit_requires_an_override() -> None:
    result = calculate_weight_based_dose(make_order(dose_mg_per_kg=1.2))
    # 1.2 mg/kg > 1.0 soft maximum; 70 x 1.2 = 84 mg, under the 100 mg soft maximum.
    assert codes(result) == {WarningCode.SOFT_MAX_MG_PER_KG}
    assert result.requires_override is True
    assert result.soft_limits_overridden is False
    assert result.dose_mg == pytest.approx(84.0)
    message = result.warnings[0].message
    assert "dose_mg_per_kg 1.2 exceeds the soft maximum of 1.0 mg/kg" in message


def test_an_override_reason_clears_the_requirement_and_is_recorded() -> None:
    reason = "partial response to 1.0 mg/kg after 3 infusions"
    result = calculate_weight_based_dose(make_order(dose_mg_per_kg=1.2, override_reason=reason))
    assert result.requires_override is False
    assert result.soft_limits_overridden is True
    assert result.override_reason == reason
    assert codes(result) == {WarningCode.SOFT_MAX_MG_PER_KG}  # the warning stays on record


def test_a_blank_override_reason_is_no_reason() -> None:
    result = calculate_weight_based_dose(make_order(dose_mg_per_kg=1.2, override_reason="   "))
    assert result.requires_override is True
    assert result.override_reason is None


def test_a_reason_without_a_crossed_limit_overrides_nothing() -> None:
    result = calculate_weight_based_dose(make_order(override_reason="just in case"))
    assert result.soft_limits_overridden is False
    assert result.requires_override is False


def test_the_mg_soft_limit_applies_to_heavy_patients_at_ordinary_mg_per_kg() -> None:
    result = calculate_weight_based_dose(make_order(weight_kg=210.0, dose_mg_per_kg=0.5))
    # 210 x 0.5 = 105 mg > 100 mg soft maximum although 0.5 mg/kg is ordinary.
    assert codes(result) == {WarningCode.SOFT_MAX_MG}
    assert result.requires_override is True


# --- total-dose orders ---------------------------------------------------------------------------


def test_total_dose_order_reports_mg_per_kg() -> None:
    order = TotalDoseOrder(
        weight_kg=80.0, dose_mg=40.0, duration_min=40.0, concentration_mg_per_ml=1.0
    )
    result = calculate_dose(order)
    # 40 mg / 80 kg = 0.5 mg/kg; 40 mL over 40 min = 60 mL/h.
    assert result.dose_mg_per_kg == pytest.approx(0.5)
    assert result.dose_mg == 40.0
    assert result.rate_ml_per_h == 60.0


def test_total_dose_order_checks_mg_per_kg_against_the_dosing_weight() -> None:
    order = TotalDoseOrder(
        weight_kg=50.0, dose_mg=110.0, duration_min=40.0, concentration_mg_per_ml=10.0
    )
    # 110 mg / 50 kg = 2.2 mg/kg > 2.0 hard maximum.
    with pytest.raises(DosingError) as caught:
        calculate_total_dose(order)
    assert caught.value.field == "dose_mg_per_kg"
    assert caught.value.limit == 2.0
    assert str(caught.value) == (
        "dose_mg_per_kg 2.2 (110 mg base over a dosing weight of 50.0 kg) exceeds the hard "
        "maximum of 2.0 mg/kg"
    )


def test_calculate_dose_dispatches_on_the_order_kind() -> None:
    by_kg = calculate_dose(make_order())
    by_total = calculate_dose(
        TotalDoseOrder(weight_kg=70.0, dose_mg=35.0, duration_min=40.0, concentration_mg_per_ml=1.0)
    )
    assert by_kg.rate_ml_per_h == by_total.rate_ml_per_h == 52.5


# --- values and display --------------------------------------------------------------------------


def test_inputs_and_results_are_frozen() -> None:
    order = make_order()
    result = calculate_weight_based_dose(order)
    with pytest.raises(FrozenInstanceError):
        order.weight_kg = 80.0  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        result.dose_mg = 1.0  # type: ignore[misc]
    assert replace(order, weight_kg=80.0).weight_kg == 80.0


@pytest.mark.parametrize(
    ("value", "places", "expected"),
    [(35.05, 1, 35.1), (35.04, 1, 35.0), (4.125, 2, 4.13), (69.85322498, 1, 69.9), (2.5, 0, 3.0)],
)
def test_display_rounding_is_half_up_on_the_decimal_form(
    value: float, places: int, expected: float
) -> None:
    assert round_half_up(value, places) == expected


def test_display_values_round_as_documented() -> None:
    order = make_order(weight_kg=None, weight_lb=154.0, concentration_mg_per_ml=3.0)
    values = calculate_weight_based_dose(order).display_values()
    # 69.853225 kg; 34.926612 mg; / 3 = 11.642204 mL; x 1.5 = 17.463306 mL/h -> 17.5 mL/h;
    # 17.5 x 3 = 52.5 mg/h; delivered 17.5 x 2/3 = 11.666667 mL = 35.0 mg.
    assert values["dosing_weight_kg"] == 69.9
    assert values["dose_mg"] == 34.9
    assert values["volume_ml"] == 11.64
    assert values["rate_ml_per_h"] == 17.5
    assert values["rate_mg_per_h"] == 52.5
    assert values["delivered_volume_ml"] == 11.67
    assert values["delivered_dose_mg"] == 35.0
    assert values["warnings"] == []


def test_custom_limits_change_the_outcome() -> None:
    strict = DosingLimits(soft_max_mg_per_kg=0.4, hard_max_mg_per_kg=0.75)
    result = calculate_weight_based_dose(make_order(), strict)
    assert result.requires_override is True
    assert result.limits is strict
    with pytest.raises(DosingError, match=r"hard maximum of 0\.75 mg/kg"):
        calculate_weight_based_dose(make_order(dose_mg_per_kg=0.8), strict)
