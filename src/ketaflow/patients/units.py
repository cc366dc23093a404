"""Body measurements: unit conversion by exact definitions and human-range checks (pure).

Pounds and inches are accepted only when the unit is stated: a bare number is ambiguous, and a
weight in the wrong unit changes a mg/kg dose by a factor of 2.2.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from ketaflow.clinical.body import HUMAN_WEIGHT_MAX_KG, HUMAN_WEIGHT_MIN_KG

KG_PER_LB = 0.45359237  # exact (International Yard and Pound Agreement, 1959)
CM_PER_IN = 2.54  # exact (same agreement)

# The one human weight range (`ketaflow.clinical.body`); dosing's narrower one is its own.
WEIGHT_MIN_KG, WEIGHT_MAX_KG = HUMAN_WEIGHT_MIN_KG, HUMAN_WEIGHT_MAX_KG
HEIGHT_MIN_CM, HEIGHT_MAX_CM = 100.0, 250.0


class WeightUnit(StrEnum):
    KG = "kg"
    LB = "lb"


class HeightUnit(StrEnum):
    CM = "cm"
    IN = "in"


class MeasurementError(ValueError):
    """A measurement refused; `field` names the form field, the message names the limit."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Converted:
    value: float  # in kg or cm
    entered_value: float
    entered_unit: str


def weight_to_kg(value: float, unit: str | None) -> Converted:
    parsed = _unit(unit, WeightUnit, "weight_unit")
    kg = value * KG_PER_LB if parsed is WeightUnit.LB else value
    _check_range(kg, WEIGHT_MIN_KG, WEIGHT_MAX_KG, "weight", "kg")
    return Converted(kg, value, parsed.value)


def height_to_cm(value: float, unit: str | None) -> Converted:
    parsed = _unit(unit, HeightUnit, "height_unit")
    cm = value * CM_PER_IN if parsed is HeightUnit.IN else value
    _check_range(cm, HEIGHT_MIN_CM, HEIGHT_MAX_CM, "height", "cm")
    return Converted(cm, value, parsed.value)


U = TypeVar("U", bound=StrEnum)


def _unit(unit: str | None, kind: type[U], field: str) -> U:
    allowed = "|".join(member.value for member in kind)
    if unit is None or not unit.strip():
        raise MeasurementError(f"state the unit ({allowed})", field)
    try:
        return kind(unit.strip().lower())
    except ValueError:
        raise MeasurementError(f"unknown unit: use {allowed}", field) from None


def _check_range(value: float, low: float, high: float, field: str, unit: str) -> None:
    # NaN fails both comparisons, so it is refused too.
    if not low <= value <= high:
        raise MeasurementError(f"{field} must be between {low:g} and {high:g} {unit}", field)


def bmi(weight_kg: float, height_cm: float) -> float:
    """Body-mass index, kg/m²."""
    height_m = height_cm / 100
    return weight_kg / (height_m * height_m)
