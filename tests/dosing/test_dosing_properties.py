"""Hypothesis properties of the dosing core.

- the delivered dose never exceeds the ordered dose by more than half a rate step's worth;
- no result past a hard limit is ever returned (and every input inside them is calculated);
- rate x duration equals the volume within the rounding;
- the dose is linear in mg/kg before rounding.
"""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from ketaflow.dosing import (
    DEFAULT_LIMITS,
    DoseCalculation,
    DosingError,
    DosingLimits,
    RateRounding,
    SaltForm,
    WeightBasedOrder,
    calculate_weight_based_dose,
)
from ketaflow.dosing.core import convert_salt, nearest_pump_step

# Relative slack for binary floating point only; every clinical tolerance below is explicit.
FLOAT_SLACK = 1e-9

salts = st.sampled_from(list(SaltForm))
precisions = st.sampled_from([0.01, 0.05, 0.1, 0.5, 1.0])
concentrations = st.one_of(
    st.sampled_from([1.0, 2.0, 10.0, 50.0, 100.0]),
    st.floats(0.1, 100.0, allow_nan=False),
)

valid_orders = st.builds(
    WeightBasedOrder,
    weight_kg=st.floats(30.0, 250.0),
    dose_mg_per_kg=st.floats(0.05, 2.0),
    duration_min=st.floats(20.0, 120.0),
    concentration_mg_per_ml=concentrations,
    dose_salt=salts,
    concentration_salt=salts,
    pump_precision_ml_per_h=precisions,
)


def calculate_or_none(
    order: WeightBasedOrder, limits: DosingLimits = DEFAULT_LIMITS
) -> DoseCalculation | None:
    """The result, or None where the core refuses (over 200 mg, or a rate that rounds to 0)."""
    try:
        return calculate_weight_based_dose(order, limits)
    except DosingError as exc:
        assert exc.field in {"dose_mg", "rate_ml_per_h"}, exc
        return None


def step_worth_mg(result: DoseCalculation) -> float:
    """What one pump step over the whole infusion delivers, in the order's salt."""
    step_ml = result.pump_precision_ml_per_h * result.duration_min / 60.0
    return convert_salt(
        step_ml * result.concentration_mg_per_ml, result.concentration_salt, result.dose_salt
    )


@settings(max_examples=300, deadline=None)
@given(valid_orders)
def test_delivered_dose_never_exceeds_the_order_by_more_than_half_a_step(
    order: WeightBasedOrder,
) -> None:
    result = calculate_or_none(order)
    if result is None:
        return
    half_step = step_worth_mg(result) / 2
    slack = FLOAT_SLACK * result.dose_mg
    assert result.delivered_dose_mg <= result.dose_mg + half_step + slack
    # And never falls short by more than half a step, or a whole one when stepping down to stay
    # inside a hard limit.
    shortfall = half_step if result.rate_rounding == RateRounding.NEAREST else 2 * half_step
    assert result.delivered_dose_mg >= result.dose_mg - shortfall - slack


@settings(max_examples=300, deadline=None)
@given(valid_orders)
def test_rate_times_duration_is_the_volume_within_rounding(order: WeightBasedOrder) -> None:
    result = calculate_or_none(order)
    if result is None:
        return
    hours = result.duration_min / 60.0
    steps = 0.5 if result.rate_rounding == RateRounding.NEAREST else 1.0
    allowed = steps * result.pump_precision_ml_per_h * hours
    assert abs(result.rate_ml_per_h * hours - result.volume_ml) <= allowed * (1 + FLOAT_SLACK)
    assert math.isclose(result.delivered_volume_ml, result.rate_ml_per_h * hours, rel_tol=1e-12)
    # The rate is a whole number of pump steps.
    steps_taken = result.rate_ml_per_h / result.pump_precision_ml_per_h
    assert abs(steps_taken - round(steps_taken)) < 1e-6


@settings(max_examples=500, deadline=None)
@given(
    weight_kg=st.floats(0.0, 400.0),
    dose_mg_per_kg=st.floats(0.0, 4.0),
    duration_min=st.floats(0.0, 200.0),
    concentration_mg_per_ml=st.floats(0.0, 200.0),
    dose_salt=salts,
    concentration_salt=salts,
    limits_salt=salts,
    precision=precisions,
)
def test_no_result_past_a_hard_limit_is_ever_returned(
    weight_kg: float,
    dose_mg_per_kg: float,
    duration_min: float,
    concentration_mg_per_ml: float,
    dose_salt: SaltForm,
    concentration_salt: SaltForm,
    limits_salt: SaltForm,
    precision: float,
) -> None:
    limits = DosingLimits(salt_basis=limits_salt)
    order = WeightBasedOrder(
        weight_kg=weight_kg,
        dose_mg_per_kg=dose_mg_per_kg,
        duration_min=duration_min,
        concentration_mg_per_ml=concentration_mg_per_ml,
        dose_salt=dose_salt,
        concentration_salt=concentration_salt,
        pump_precision_ml_per_h=precision,
    )
    per_kg = convert_salt(dose_mg_per_kg, dose_salt, limits_salt)
    total = convert_salt(dose_mg_per_kg * weight_kg, dose_salt, limits_salt)
    inside = (
        30.0 <= weight_kg <= 250.0
        and 20.0 <= duration_min <= 120.0
        and 0.1 <= concentration_mg_per_ml <= 100.0
        and 0.0 < per_kg <= 2.0
        and total <= 200.0
    )
    try:
        result = calculate_weight_based_dose(order, limits)
    except DosingError as exc:
        # Inside every limit, the only refusal left is a rate too small for the pump.
        assert not inside or exc.field == "rate_ml_per_h", exc
        return
    assert inside
    delivered = convert_salt(result.delivered_dose_mg, dose_salt, limits_salt)
    assert delivered <= 200.0 * (1 + FLOAT_SLACK)
    assert delivered / result.dosing_weight_kg <= 2.0 * (1 + FLOAT_SLACK)


@settings(max_examples=200, deadline=None)
@given(
    weight_kg=st.floats(30.0, 100.0),
    dose_mg_per_kg=st.floats(0.01, 0.2),
    factor=st.floats(1.0, 10.0),
    duration_min=st.floats(20.0, 120.0),
    concentration_mg_per_ml=st.floats(0.1, 10.0),
    dose_salt=salts,
)
def test_dose_is_linear_in_mg_per_kg_before_rounding(
    weight_kg: float,
    dose_mg_per_kg: float,
    factor: float,
    duration_min: float,
    concentration_mg_per_ml: float,
    dose_salt: SaltForm,
) -> None:
    def calc(mg_per_kg: float) -> DoseCalculation:
        return calculate_weight_based_dose(
            WeightBasedOrder(
                weight_kg=weight_kg,
                dose_mg_per_kg=mg_per_kg,
                duration_min=duration_min,
                concentration_mg_per_ml=concentration_mg_per_ml,
                dose_salt=dose_salt,
                pump_precision_ml_per_h=0.001,
            )
        )

    # Up to 100 kg x 2 mg/kg = 200 mg: never past a hard limit.
    single, scaled = calc(dose_mg_per_kg), calc(dose_mg_per_kg * factor)
    for name in ("dose_mg", "dose_mg_base", "volume_ml", "exact_rate_ml_per_h"):
        assert math.isclose(getattr(scaled, name), factor * getattr(single, name), rel_tol=1e-12)


@given(amount=st.floats(0.0, 1e6), salt=salts, other=salts)
def test_salt_conversion_round_trips(amount: float, salt: SaltForm, other: SaltForm) -> None:
    there = convert_salt(amount, salt, other)
    assert math.isclose(convert_salt(there, other, salt), amount, rel_tol=1e-12, abs_tol=1e-12)
    # Base is always the smaller number for the same amount of ketamine.
    assert convert_salt(amount, SaltForm.HYDROCHLORIDE, SaltForm.BASE) <= amount


@given(rate=st.floats(0.0, 2000.0), precision=precisions)
def test_nearest_pump_step_is_within_half_a_step(rate: float, precision: float) -> None:
    steps, rounded_up = nearest_pump_step(rate, precision)
    assert abs(steps * precision - rate) <= precision / 2 * (1 + FLOAT_SLACK) + 1e-9
    assert rounded_up == (steps * precision > rate + 1e-9 * precision) or math.isclose(
        steps * precision, rate, rel_tol=1e-9, abs_tol=1e-12
    )
