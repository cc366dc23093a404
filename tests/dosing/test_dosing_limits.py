"""Every limit at, just inside and just outside; the error's field, limit, unit and message."""

from __future__ import annotations

import math
from typing import Any

import pytest

from ketaflow.dosing import (
    DEFAULT_LIMITS,
    DosingError,
    DosingLimits,
    SaltForm,
    Sex,
    TotalDoseOrder,
    WarningCode,
    WeightBasedOrder,
    WeightBasis,
    calculate_total_dose,
    calculate_weight_based_dose,
)


def make_order(**overrides: Any) -> WeightBasedOrder:
    """A comfortably valid order: 70 kg, 0.5 mg/kg over 40 min at 10 mg/mL."""
    fields: dict[str, Any] = {
        "weight_kg": 70.0,
        "dose_mg_per_kg": 0.5,
        "duration_min": 40.0,
        "concentration_mg_per_ml": 10.0,
    }
    fields.update(overrides)
    return WeightBasedOrder(**fields)


def make_total(**overrides: Any) -> TotalDoseOrder:
    fields: dict[str, Any] = {
        "weight_kg": 150.0,
        "dose_mg": 35.0,
        "duration_min": 40.0,
        "concentration_mg_per_ml": 10.0,
    }
    fields.update(overrides)
    return TotalDoseOrder(**fields)


def refused(order: WeightBasedOrder | TotalDoseOrder) -> DosingError:
    with pytest.raises(DosingError) as caught:
        if isinstance(order, TotalDoseOrder):
            calculate_total_dose(order)
        else:
            calculate_weight_based_dose(order)
    return caught.value


# (field, at/inside values that pass, outside values that are refused, limit crossed, unit)
RANGE_CASES = [
    ("weight_kg", [30.0, 30.1, 249.9, 250.0], [(29.9, 30.0), (250.1, 250.0)], "kg"),
    ("duration_min", [20.0, 20.1, 119.9, 120.0], [(19.9, 20.0), (120.1, 120.0)], "min"),
    (
        "concentration_mg_per_ml",
        [0.1, 0.11, 99.9, 100.0],
        [(0.09, 0.1), (100.1, 100.0)],
        "mg/mL",
    ),
]


@pytest.mark.parametrize(("field", "passing", "failing", "unit"), RANGE_CASES)
def test_range_limits_at_inside_and_outside(
    field: str, passing: list[float], failing: list[tuple[float, float]], unit: str
) -> None:
    # Small doses keep the rate above zero and the dose under its limits at every extreme.
    base = {"dose_mg_per_kg": 0.5, "weight_kg": 70.0}
    for value in passing:
        result = calculate_weight_based_dose(make_order(**{**base, field: value}))
        assert getattr(result, field) == value
    for value, limit in failing:
        error = refused(make_order(**{**base, field: value}))
        assert (error.field, error.limit, error.unit, error.value) == (field, limit, unit, value)
        low, high = next((c[2][0][1], c[2][1][1]) for c in RANGE_CASES if c[0] == field)
        assert str(error) == (
            f"{field} must be between {low:g} and {high:g} {unit} (got {value:g})"
        )


def test_weight_message_matches_the_cli_contract() -> None:
    assert str(refused(make_order(weight_kg=20.0))) == (
        "weight_kg must be between 30 and 250 kg (got 20)"
    )


@pytest.mark.parametrize("dose", [2.0, 1.99])
def test_hard_mg_per_kg_at_and_inside(dose: float) -> None:
    # 70 kg x 2.0 = 140 mg: under the 200 mg cap, so only the mg/kg limit is in play.
    result = calculate_weight_based_dose(make_order(dose_mg_per_kg=dose))
    assert result.dose_mg_per_kg == dose
    assert result.requires_override is True  # above the 1.0 mg/kg soft maximum


def test_hard_mg_per_kg_just_outside() -> None:
    error = refused(make_order(dose_mg_per_kg=2.01))
    assert (error.field, error.limit, error.unit) == ("dose_mg_per_kg", 2.0, "mg/kg")
    assert str(error) == "dose_mg_per_kg 2.01 exceeds the hard maximum of 2.0 mg/kg"
    assert str(refused(make_order(dose_mg_per_kg=2.5))) == (
        "dose_mg_per_kg 2.5 exceeds the hard maximum of 2.0 mg/kg"
    )


@pytest.mark.parametrize("dose_mg", [200.0, 199.9])
def test_hard_mg_at_and_inside(dose_mg: float) -> None:
    # At 150 kg, 200 mg is 1.33 mg/kg: under the mg/kg cap, so only the mg limit is in play.
    result = calculate_total_dose(make_total(dose_mg=dose_mg, concentration_mg_per_ml=100.0))
    assert result.dose_mg == dose_mg


def test_hard_mg_just_outside() -> None:
    error = refused(make_total(dose_mg=200.1))
    assert (error.field, error.limit, error.unit) == ("dose_mg", 200.0, "mg")
    assert str(error) == "dose_mg 200.1 exceeds the hard maximum of 200 mg"


def test_hard_mg_from_weight_times_mg_per_kg() -> None:
    # 100 kg x 2.0 mg/kg = 200 mg: both at their maximum, accepted.
    assert calculate_weight_based_dose(make_order(weight_kg=100.0, dose_mg_per_kg=2.0)).dose_mg == (
        200.0
    )
    # 101 kg x 2.0 = 202 mg: the mg/kg is allowed but the total is not.
    error = refused(make_order(weight_kg=101.0, dose_mg_per_kg=2.0))
    assert error.field == "dose_mg"
    assert error.value == pytest.approx(202.0)


@pytest.mark.parametrize(
    ("dose", "crossed"),
    [(1.0, False), (0.99, False), (1.01, True)],
)
def test_soft_mg_per_kg_at_inside_and_outside(dose: float, crossed: bool) -> None:
    result = calculate_weight_based_dose(make_order(dose_mg_per_kg=dose))
    assert (WarningCode.SOFT_MAX_MG_PER_KG in {w.code for w in result.warnings}) is crossed
    assert result.requires_override is crossed


@pytest.mark.parametrize(
    ("dose_mg", "crossed"),
    [(100.0, False), (99.9, False), (100.1, True)],
)
def test_soft_mg_at_inside_and_outside(dose_mg: float, crossed: bool) -> None:
    # 150 kg keeps every one of these under 1.0 mg/kg.
    result = calculate_total_dose(make_total(dose_mg=dose_mg))
    assert [w.code for w in result.warnings] == ([WarningCode.SOFT_MAX_MG] if crossed else [])
    assert result.requires_override is crossed


def test_hard_limits_compare_hydrochloride_orders_as_base() -> None:
    hcl = SaltForm.HYDROCHLORIDE
    # 2.3 mg/kg HCl = 2.3 x 237.7/274.2 = 1.9938 mg/kg base: inside the 2.0 mg/kg base maximum.
    accepted = calculate_weight_based_dose(make_order(dose_mg_per_kg=2.3, dose_salt=hcl))
    assert accepted.dose_mg_per_kg == 2.3
    # 2.4 mg/kg HCl = 2.0805 mg/kg base: refused, and the message shows both.
    error = refused(make_order(dose_mg_per_kg=2.4, dose_salt=hcl))
    assert error.value == pytest.approx(2.0805, abs=1e-4)
    assert str(error) == (
        "dose_mg_per_kg 2.4 hydrochloride (2.081 mg/kg as base) exceeds the hard maximum of "
        "2.0 mg/kg"
    )


def test_limits_written_as_hydrochloride_convert_base_orders() -> None:
    limits = DosingLimits(salt_basis=SaltForm.HYDROCHLORIDE)
    # 1.8 mg/kg base = 1.8 x 274.2/237.7 = 2.0764 mg/kg HCl > 2.0 mg/kg HCl.
    with pytest.raises(DosingError, match=r"1\.8 base \(2\.076 mg/kg as hydrochloride\)"):
        calculate_weight_based_dose(make_order(dose_mg_per_kg=1.8), limits)


@pytest.mark.parametrize(
    ("weight_lb", "accepted"),
    # 30 kg = 66.139 lb, 250 kg = 551.156 lb.
    [(66.2, True), (66.1, False), (551.1, True), (551.2, False)],
)
def test_weight_in_pounds_is_checked_in_kilograms(weight_lb: float, accepted: bool) -> None:
    order = make_order(weight_kg=None, weight_lb=weight_lb, dose_mg_per_kg=0.3)
    if accepted:
        assert calculate_weight_based_dose(order).weight_kg == pytest.approx(weight_lb * 0.45359237)
        return
    error = refused(order)
    assert error.field == "weight_lb"
    assert str(error).startswith("weight_lb must be between 66.1 and 551.2 lb (30 and 250 kg)")


@pytest.mark.parametrize(
    ("height", "accepted"), [(140.0, True), (139.9, False), (220.0, True), (220.1, False)]
)
def test_height_range(height: float, accepted: bool) -> None:
    order = make_order(height_cm=height, sex=Sex.FEMALE, weight_basis=WeightBasis.IDEAL)
    if accepted:
        assert calculate_weight_based_dose(order).ideal_body_weight_kg is not None
        return
    error = refused(order)
    assert (error.field, error.unit) == ("height_cm", "cm")


def test_dosing_weight_is_held_to_the_weight_range() -> None:
    # A clinic that lowers the height minimum could reach an ideal weight under 30 kg:
    # 130 cm woman: 45.5 - 2.3 x 22.4/2.54 = 25.217 kg.
    limits = DosingLimits(min_height_cm=120.0)
    order = make_order(height_cm=130.0, sex=Sex.FEMALE, weight_basis=WeightBasis.IDEAL)
    with pytest.raises(DosingError) as caught:
        calculate_weight_based_dose(order, limits)
    assert caught.value.field == "dosing_weight_kg"


@pytest.mark.parametrize(("precision", "accepted"), [(0.001, True), (0.0, False), (-0.1, False)])
def test_pump_precision_must_be_positive(precision: float, accepted: bool) -> None:
    order = make_order(pump_precision_ml_per_h=precision)
    if accepted:
        assert calculate_weight_based_dose(order).rate_ml_per_h == pytest.approx(5.25)
        return
    error = refused(order)
    assert (error.field, error.limit, error.unit) == ("pump_precision_ml_per_h", 0.0, "mL/h")
    assert "pump_precision_ml_per_h must be greater than 0 mL/h" in str(error)


@pytest.mark.parametrize("dose", [0.0, -0.5])
def test_dose_must_be_positive(dose: float) -> None:
    assert refused(make_order(dose_mg_per_kg=dose)).field == "dose_mg_per_kg"
    assert refused(make_total(dose_mg=dose)).field == "dose_mg"


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize(
    "field",
    [
        "weight_kg",
        "dose_mg_per_kg",
        "duration_min",
        "concentration_mg_per_ml",
        "pump_precision_ml_per_h",
        "weight_lb",
        "height_cm",
    ],
)
def test_non_finite_numbers_are_refused(field: str, bad: float) -> None:
    extra: dict[str, Any] = {}
    if field == "weight_lb":
        extra = {"weight_kg": None}
    if field == "height_cm":
        extra = {"sex": Sex.MALE, "weight_basis": WeightBasis.IDEAL}
    error = refused(make_order(**{field: bad, **extra}))
    assert error.field == field
    assert "must be a finite number" in str(error)


def test_dosing_error_is_a_value_error() -> None:
    assert issubclass(DosingError, ValueError)


def test_defaults() -> None:
    limits = DEFAULT_LIMITS
    assert (limits.soft_max_mg_per_kg, limits.soft_max_mg) == (1.0, 100.0)
    assert (limits.hard_max_mg_per_kg, limits.hard_max_mg) == (2.0, 200.0)
    assert (limits.min_weight_kg, limits.max_weight_kg) == (30.0, 250.0)
    assert (limits.min_duration_min, limits.max_duration_min) == (20.0, 120.0)
    assert (limits.min_concentration_mg_per_ml, limits.max_concentration_mg_per_ml) == (0.1, 100.0)
    assert limits.salt_basis == SaltForm.BASE


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"soft_max_mg_per_kg": 2.5}, "soft_max_mg_per_kg"),
        ({"soft_max_mg": 250.0}, "soft_max_mg"),
        ({"min_weight_kg": 300.0}, "min_weight_kg"),
        ({"min_duration_min": 130.0}, "min_duration_min"),
        ({"hard_max_mg": -1.0}, "hard_max_mg"),
        ({"max_concentration_mg_per_ml": math.nan}, "max_concentration_mg_per_ml"),
    ],
)
def test_contradictory_settings_are_refused(settings: dict[str, float], field: str) -> None:
    with pytest.raises(DosingError) as caught:
        DosingLimits(**settings)  # type: ignore[arg-type]
    assert caught.value.field == field
