"""Orders in; checked dose, volume and pump rate out (rules in `ketaflow.dosing.core`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from ketaflow.dosing.core.units import (
    SALT_CITATION,
    convert_salt,
    decimal_places,
    nearest_pump_step,
    round_half_up,
    steps_to_rate,
)
from ketaflow.dosing.core.weight import DosingWeight, Sex, WeightBasis, resolve_dosing_weight
from ketaflow.dosing.limits import (
    DEFAULT_LIMITS,
    DosingError,
    DosingLimits,
    DosingWarning,
    SaltForm,
    WarningCode,
    fmt,
    require_at_most,
    require_between,
    require_positive,
    soft_max_warning,
)

DEFAULT_PUMP_PRECISION_ML_PER_H = 0.1


class RateRounding(StrEnum):
    """How the exact rate became the pump rate (see the module docstring)."""

    NEAREST = "nearest"
    DOWN_FOR_HARD_LIMIT = "down_for_hard_limit"


# --- inputs --------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _Order:
    """What every order needs besides the dose. Exactly one of weight_kg and weight_lb."""

    duration_min: float
    concentration_mg_per_ml: float
    weight_kg: float | None = None
    weight_lb: float | None = None
    height_cm: float | None = None
    sex: Sex | None = None
    weight_basis: WeightBasis = WeightBasis.ACTUAL
    dose_salt: SaltForm = SaltForm.BASE
    concentration_salt: SaltForm = SaltForm.BASE
    pump_precision_ml_per_h: float = DEFAULT_PUMP_PRECISION_ML_PER_H
    override_reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class WeightBasedOrder(_Order):
    """An order in mg/kg of the dosing weight, in `dose_salt` (base unless stated)."""

    dose_mg_per_kg: float


@dataclass(frozen=True, kw_only=True)
class TotalDoseOrder(_Order):
    """An order for a total dose in mg (in `dose_salt`); the weight is still required so the
    mg/kg limits can be checked."""

    dose_mg: float


DoseOrder = WeightBasedOrder | TotalDoseOrder


# --- result --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DoseCalculation:
    """A checked dose, volume and pump rate. `*_mg` fields are in `dose_salt`; `*_mg_base` in base.

    Values are unrounded floats except `rate_ml_per_h` (a whole number of pump steps); use
    `display_values()` for rounded figures.
    """

    weight_kg: float
    dosing_weight_kg: float
    weight_basis: WeightBasis
    requested_weight_basis: WeightBasis
    weight_formula: str
    ideal_body_weight_kg: float | None
    dose_mg_per_kg: float
    dose_mg: float
    dose_salt: SaltForm
    dose_mg_base: float
    concentration_mg_per_ml: float
    concentration_salt: SaltForm
    duration_min: float
    volume_ml: float
    exact_rate_ml_per_h: float
    pump_precision_ml_per_h: float
    rate_ml_per_h: float
    rate_rounding: RateRounding
    rate_mg_per_h: float
    delivered_volume_ml: float
    delivered_dose_mg: float
    delivered_dose_mg_base: float
    warnings: tuple[DosingWarning, ...]
    requires_override: bool
    soft_limits_overridden: bool
    override_reason: str | None
    citations: tuple[str, ...]
    limits: DosingLimits = field(repr=False)

    def display_values(self) -> dict[str, object]:
        """The result as JSON-ready values, rounded for display (rules in the module docstring)."""
        rate_places = decimal_places(self.pump_precision_ml_per_h)
        ibw = self.ideal_body_weight_kg
        return {
            "weight_kg": round_half_up(self.weight_kg, 1),
            "dosing_weight_kg": round_half_up(self.dosing_weight_kg, 1),
            "weight_basis": self.weight_basis.value,
            "requested_weight_basis": self.requested_weight_basis.value,
            "weight_formula": self.weight_formula,
            "ideal_body_weight_kg": None if ibw is None else round_half_up(ibw, 1),
            "dose_mg_per_kg": round_half_up(self.dose_mg_per_kg, 3),
            "dose_mg": round_half_up(self.dose_mg, 1),
            "dose_salt": self.dose_salt.value,
            "dose_mg_base": round_half_up(self.dose_mg_base, 1),
            "concentration_mg_per_ml": self.concentration_mg_per_ml,
            "concentration_salt": self.concentration_salt.value,
            "duration_min": self.duration_min,
            "volume_ml": round_half_up(self.volume_ml, 2),
            "pump_precision_ml_per_h": self.pump_precision_ml_per_h,
            "rate_ml_per_h": round_half_up(self.rate_ml_per_h, rate_places),
            "rate_rounding": self.rate_rounding.value,
            "rate_mg_per_h": round_half_up(self.rate_mg_per_h, 1),
            "delivered_volume_ml": round_half_up(self.delivered_volume_ml, 2),
            "delivered_dose_mg": round_half_up(self.delivered_dose_mg, 1),
            "delivered_dose_mg_base": round_half_up(self.delivered_dose_mg_base, 1),
            "warnings": [
                {"code": w.code.value, "field": w.field, "message": w.message}
                for w in self.warnings
            ],
            "requires_override": self.requires_override,
            "soft_limits_overridden": self.soft_limits_overridden,
            "override_reason": self.override_reason,
            "citations": list(self.citations),
        }


# --- calculation ---------------------------------------------------------------------------------


def calculate_weight_based_dose(
    order: WeightBasedOrder, limits: DosingLimits = DEFAULT_LIMITS
) -> DoseCalculation:
    """Dose = dose_mg_per_kg x dosing weight, then volume, pump rate and delivered dose.

    Raises `DosingError` on any hard-limit breach or missing/contradictory input; soft limits give
    warnings and `requires_override` unless `order.override_reason` is given.
    """
    require_positive("dose_mg_per_kg", order.dose_mg_per_kg, "mg/kg")
    weight = _checked_weight(order, limits)
    dose_mg = order.dose_mg_per_kg * weight.dosing_weight_kg
    return _calculate(order, limits, weight, dose_mg, order.dose_mg_per_kg, from_total=False)


def calculate_total_dose(
    order: TotalDoseOrder, limits: DosingLimits = DEFAULT_LIMITS
) -> DoseCalculation:
    """As `calculate_weight_based_dose`, for an order written as a total dose in mg.

    The mg/kg reported and checked against the limits is dose_mg / dosing weight.
    """
    require_positive("dose_mg", order.dose_mg, "mg")
    weight = _checked_weight(order, limits)
    dose_mg_per_kg = order.dose_mg / weight.dosing_weight_kg
    return _calculate(order, limits, weight, order.dose_mg, dose_mg_per_kg, from_total=True)


def calculate_dose(order: DoseOrder, limits: DosingLimits = DEFAULT_LIMITS) -> DoseCalculation:
    """Calculate either kind of order (mg/kg or total mg)."""
    if isinstance(order, TotalDoseOrder):
        return calculate_total_dose(order, limits)
    return calculate_weight_based_dose(order, limits)


def _checked_weight(order: _Order, limits: DosingLimits) -> DosingWeight:
    """Check every input except the dose, and return the dosing weight."""
    weight = resolve_dosing_weight(
        weight_kg=order.weight_kg,
        weight_lb=order.weight_lb,
        height_cm=order.height_cm,
        sex=order.sex,
        basis=order.weight_basis,
        limits=limits,
    )
    # Only reachable with a clinic's own height range, but a dose must never rest on a weight
    # outside the clinic's weight range.
    require_between(
        "dosing_weight_kg",
        weight.dosing_weight_kg,
        limits.min_weight_kg,
        limits.max_weight_kg,
        "kg",
    )
    require_between(
        "duration_min", order.duration_min, limits.min_duration_min, limits.max_duration_min, "min"
    )
    require_between(
        "concentration_mg_per_ml",
        order.concentration_mg_per_ml,
        limits.min_concentration_mg_per_ml,
        limits.max_concentration_mg_per_ml,
        "mg/mL",
    )
    require_positive("pump_precision_ml_per_h", order.pump_precision_ml_per_h, "mL/h")
    return weight


def _shown(value: float, salt: SaltForm, compared: float, limits: DosingLimits, unit: str) -> str:
    """How a dose appears in a limit message: as ordered, plus the compared value if converted."""
    if salt == limits.salt_basis:
        return fmt(value, unit)
    converted = fmt(round(compared, 3), unit)
    return f"{fmt(value, unit)} {salt.value} ({converted} {unit} as {limits.salt_basis.value})"


def _check_dose_limits(
    dose_mg: float,
    dose_mg_per_kg: float,
    order: _Order,
    weight: DosingWeight,
    limits: DosingLimits,
    *,
    from_total: bool,
) -> list[DosingWarning]:
    """Raise on a hard maximum; return the soft-maximum warnings."""
    per_kg = convert_salt(dose_mg_per_kg, order.dose_salt, limits.salt_basis)
    total = convert_salt(dose_mg, order.dose_salt, limits.salt_basis)
    shown_per_kg = _shown(dose_mg_per_kg, order.dose_salt, per_kg, limits, "mg/kg")
    if from_total:
        shown_per_kg = (
            f"{fmt(round(per_kg, 3), 'mg/kg')} ({fmt(dose_mg)} mg {order.dose_salt.value} "
            f"over a dosing weight of {weight.dosing_weight_kg:.1f} kg)"
        )
    shown_total = _shown(dose_mg, order.dose_salt, total, limits, "mg")
    require_at_most(
        "dose_mg_per_kg", per_kg, limits.hard_max_mg_per_kg, "mg/kg", shown=shown_per_kg
    )
    require_at_most("dose_mg", total, limits.hard_max_mg, "mg", shown=shown_total)
    soft = (
        soft_max_warning(
            WarningCode.SOFT_MAX_MG_PER_KG,
            "dose_mg_per_kg",
            per_kg,
            limits.soft_max_mg_per_kg,
            "mg/kg",
            shown=shown_per_kg,
        ),
        soft_max_warning(
            WarningCode.SOFT_MAX_MG, "dose_mg", total, limits.soft_max_mg, "mg", shown=shown_total
        ),
    )
    return [w for w in soft if w is not None]


def _pump_rate(
    exact_rate: float, order: _Order, limits: DosingLimits, dosing_weight_kg: float
) -> tuple[float, RateRounding]:
    """Round the rate to the pump (nearest, ties down; one step down if up would breach a hard
    maximum). Raises if the rate rounds to 0."""
    precision = order.pump_precision_ml_per_h
    steps, rounded_up = nearest_pump_step(exact_rate, precision)
    rounding = RateRounding.NEAREST
    if rounded_up:
        delivered = convert_salt(
            steps_to_rate(steps, precision)
            * order.duration_min
            / 60.0
            * order.concentration_mg_per_ml,
            order.concentration_salt,
            limits.salt_basis,
        )
        if (
            delivered > limits.hard_max_mg
            or delivered / dosing_weight_kg > limits.hard_max_mg_per_kg
        ):
            steps -= 1
            rounding = RateRounding.DOWN_FOR_HARD_LIMIT
    if steps <= 0:
        raise DosingError(
            f"rate_ml_per_h {exact_rate:.4g} rounds to 0 at the pump precision of "
            f"{fmt(precision)} mL/h: use a lower concentration or a finer pump",
            field="rate_ml_per_h",
            value=exact_rate,
            limit=precision,
            unit="mL/h",
        )
    return steps_to_rate(steps, precision), rounding


def _rounding_warning(
    ordered_mg: float, delivered_mg: float, limits: DosingLimits
) -> list[DosingWarning]:
    deviation = abs(delivered_mg - ordered_mg) / ordered_mg
    if deviation <= limits.rounding_warning_fraction:
        return []
    return [
        DosingWarning(
            code=WarningCode.ROUNDING_DEVIATION,
            field="rate_ml_per_h",
            message=(
                f"pump-rate rounding changes the delivered dose by {deviation:.1%} "
                f"({ordered_mg:.1f} mg ordered, {delivered_mg:.1f} mg delivered): consider a "
                "lower concentration or a finer pump precision"
            ),
        )
    ]


def _calculate(
    order: _Order,
    limits: DosingLimits,
    weight: DosingWeight,
    dose_mg: float,
    dose_mg_per_kg: float,
    *,
    from_total: bool,
) -> DoseCalculation:
    soft = _check_dose_limits(dose_mg, dose_mg_per_kg, order, weight, limits, from_total=from_total)
    concentration = order.concentration_mg_per_ml
    # The volume comes from the dose in the salt the vial is labelled in.
    dose_as_labelled = convert_salt(dose_mg, order.dose_salt, order.concentration_salt)
    volume_ml = dose_as_labelled / concentration
    exact_rate = volume_ml * 60.0 / order.duration_min
    rate, rounding = _pump_rate(exact_rate, order, limits, weight.dosing_weight_kg)
    delivered_volume_ml = rate * order.duration_min / 60.0
    delivered_dose_mg = convert_salt(
        delivered_volume_ml * concentration, order.concentration_salt, order.dose_salt
    )
    reason = (order.override_reason or "").strip() or None
    return DoseCalculation(
        weight_kg=float(weight.actual_weight_kg),
        dosing_weight_kg=float(weight.dosing_weight_kg),
        weight_basis=weight.weight_basis,
        requested_weight_basis=weight.requested_weight_basis,
        weight_formula=weight.formula,
        ideal_body_weight_kg=weight.ideal_body_weight_kg,
        dose_mg_per_kg=float(dose_mg_per_kg),
        dose_mg=float(dose_mg),
        dose_salt=order.dose_salt,
        dose_mg_base=convert_salt(dose_mg, order.dose_salt, SaltForm.BASE),
        concentration_mg_per_ml=float(concentration),
        concentration_salt=order.concentration_salt,
        duration_min=float(order.duration_min),
        volume_ml=volume_ml,
        exact_rate_ml_per_h=exact_rate,
        pump_precision_ml_per_h=float(order.pump_precision_ml_per_h),
        rate_ml_per_h=rate,
        rate_rounding=rounding,
        rate_mg_per_h=convert_salt(rate * concentration, order.concentration_salt, order.dose_salt),
        delivered_volume_ml=delivered_volume_ml,
        delivered_dose_mg=delivered_dose_mg,
        delivered_dose_mg_base=convert_salt(delivered_dose_mg, order.dose_salt, SaltForm.BASE),
        warnings=(*weight.warnings, *soft, *_rounding_warning(dose_mg, delivered_dose_mg, limits)),
        requires_override=bool(soft) and reason is None,
        soft_limits_overridden=bool(soft) and reason is not None,
        override_reason=reason,
        citations=(*weight.citations, SALT_CITATION),
        limits=limits,
    )
