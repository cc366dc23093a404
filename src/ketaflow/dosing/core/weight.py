"""The dosing weight: actual, ideal (Devine 1974) or adjusted body weight (stdlib only)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ketaflow.dosing.core.units import KG_PER_LB, LB_CITATION, pounds_to_kg
from ketaflow.dosing.limits import (
    DEFAULT_LIMITS,
    DosingError,
    DosingLimits,
    DosingWarning,
    WarningCode,
    fmt,
    require_between,
    require_finite,
)

CM_PER_INCH = 2.54
DEVINE_REFERENCE_HEIGHT_CM = 60 * CM_PER_INCH  # 5 ft = 152.4 cm
DEVINE_KG_PER_INCH = 2.3
DEVINE_BASE_KG = {"male": 50.0, "female": 45.5}
DEVINE_CITATION = (
    "Ideal body weight, Devine BJ. Gentamicin therapy. Drug Intell Clin Pharm 1974;8:650-655: "
    "men 50 kg, women 45.5 kg, + 2.3 kg per inch over 5 ft"
)

ADJUSTED_WEIGHT_FACTOR = 0.4
ADJUSTED_CITATION = (
    "Adjusted body weight = IBW + 0.4 x (ABW - IBW), Traynor AM, Nafziger AN, Bertino JS. "
    "Antimicrob Agents Chemother 1995;39:545-548 (derived for aminoglycosides; not validated "
    "for ketamine)"
)


class Sex(StrEnum):
    """Sex for the Devine ideal-body-weight formula, which has only these two equations."""

    MALE = "male"
    FEMALE = "female"


class WeightBasis(StrEnum):
    """Which body weight the mg/kg dose is multiplied by."""

    ACTUAL = "actual"
    IDEAL = "ideal"
    ADJUSTED = "adjusted"


def ideal_body_weight_kg(height_cm: float, sex: Sex) -> float:
    """Devine (1974) ideal body weight: men 50 kg, women 45.5 kg, + 2.3 kg per inch over 5 ft.

    Below 5 ft the line is extended downwards (as most calculators do); the caller warns.
    """
    inches_over_five_feet = (height_cm - DEVINE_REFERENCE_HEIGHT_CM) / CM_PER_INCH
    return DEVINE_BASE_KG[sex.value] + DEVINE_KG_PER_INCH * inches_over_five_feet


def adjusted_body_weight_kg(actual_kg: float, ideal_kg: float) -> float:
    """Adjusted body weight = IBW + 0.4 x (ABW - IBW) (Traynor 1995, correction factor 0.4)."""
    return ideal_kg + ADJUSTED_WEIGHT_FACTOR * (actual_kg - ideal_kg)


@dataclass(frozen=True)
class DosingWeight:
    """The weight a mg/kg dose is multiplied by, how it was chosen and why."""

    actual_weight_kg: float
    dosing_weight_kg: float
    weight_basis: WeightBasis
    requested_weight_basis: WeightBasis
    ideal_body_weight_kg: float | None
    formula: str
    citations: tuple[str, ...]
    warnings: tuple[DosingWarning, ...]


def _actual_weight_kg(
    weight_kg: float | None, weight_lb: float | None, limits: DosingLimits
) -> float:
    # Units are never guessed: a pound value arrives only through its own field.
    if (weight_kg is None) == (weight_lb is None):
        got = "both" if weight_kg is not None else "neither"
        raise DosingError(f"give exactly one of weight_kg or weight_lb (got {got})", field="weight")
    if weight_kg is not None:
        require_between("weight_kg", weight_kg, limits.min_weight_kg, limits.max_weight_kg, "kg")
        return weight_kg
    assert weight_lb is not None  # narrowed by the check above
    require_finite("weight_lb", weight_lb)
    kg = pounds_to_kg(weight_lb)
    if not limits.min_weight_kg <= kg <= limits.max_weight_kg:
        low_lb, high_lb = (limits.min_weight_kg / KG_PER_LB, limits.max_weight_kg / KG_PER_LB)
        raise DosingError(
            f"weight_lb must be between {low_lb:.1f} and {high_lb:.1f} lb "
            f"({fmt(limits.min_weight_kg)} and {fmt(limits.max_weight_kg)} kg) "
            f"(got {fmt(weight_lb)} lb = {kg:.2f} kg)",
            field="weight_lb",
            value=weight_lb,
            limit=limits.min_weight_kg if kg < limits.min_weight_kg else limits.max_weight_kg,
            unit="kg",
        )
    return kg


def _ideal_weight(height_cm: float | None, sex: Sex | None, limits: DosingLimits) -> float | None:
    if height_cm is None:
        return None
    require_between("height_cm", height_cm, limits.min_height_cm, limits.max_height_cm, "cm")
    return None if sex is None else ideal_body_weight_kg(height_cm, sex)


def resolve_dosing_weight(
    *,
    weight_kg: float | None = None,
    weight_lb: float | None = None,
    height_cm: float | None = None,
    sex: Sex | None = None,
    basis: WeightBasis = WeightBasis.ACTUAL,
    limits: DosingLimits = DEFAULT_LIMITS,
) -> DosingWeight:
    """Choose the dosing weight: actual (default), ideal (Devine 1974) or adjusted (0.4 factor).

    Ideal and adjusted weight need height_cm and sex. When the actual weight is below the ideal
    weight, the actual weight is used for either basis, with a warning, so a light patient is
    never dosed on a heavier weight than they have. The ideal weight is reported whenever height
    and sex are given, whatever the basis.
    """
    actual = _actual_weight_kg(weight_kg, weight_lb, limits)
    ideal = _ideal_weight(height_cm, sex, limits)
    citations: tuple[str, ...] = (LB_CITATION,) if weight_lb is not None else ()
    if basis == WeightBasis.ACTUAL:
        return DosingWeight(
            actual, actual, basis, basis, ideal, "actual body weight", citations, ()
        )
    if ideal is None:
        missing = "height_cm" if height_cm is None else "sex"
        raise DosingError(f"{missing} is required for {basis.value} body weight", field=missing)
    assert height_cm is not None  # ideal is only computed from a height
    warnings: list[DosingWarning] = []
    if height_cm < DEVINE_REFERENCE_HEIGHT_CM:
        warnings.append(_devine_extrapolated_warning(height_cm))
    citations += (DEVINE_CITATION,)
    if actual < ideal:
        warnings.append(_actual_below_ideal_warning(actual, ideal, basis))
        formula = f"actual body weight (below the ideal weight; {basis.value} basis not applied)"
        return DosingWeight(
            actual, actual, WeightBasis.ACTUAL, basis, ideal, formula, citations, tuple(warnings)
        )
    if basis == WeightBasis.IDEAL:
        formula = "IBW (Devine 1974) = 50 kg (men) or 45.5 kg (women) + 2.3 kg/inch over 5 ft"
        return DosingWeight(actual, ideal, basis, basis, ideal, formula, citations, tuple(warnings))
    adjusted = adjusted_body_weight_kg(actual, ideal)
    formula = "AdjBW = IBW + 0.4 x (ABW - IBW), IBW by Devine 1974"
    citations += (ADJUSTED_CITATION,)
    return DosingWeight(actual, adjusted, basis, basis, ideal, formula, citations, tuple(warnings))


def _devine_extrapolated_warning(height_cm: float) -> DosingWarning:
    return DosingWarning(
        code=WarningCode.DEVINE_EXTRAPOLATED,
        field="height_cm",
        message=(
            f"height_cm {fmt(height_cm)} is below 5 ft (152.4 cm): the Devine formula is "
            "extended below the heights it was written for"
        ),
    )


def _actual_below_ideal_warning(actual: float, ideal: float, basis: WeightBasis) -> DosingWarning:
    return DosingWarning(
        code=WarningCode.ACTUAL_BELOW_IDEAL_WEIGHT,
        field="weight_basis",
        message=(
            f"actual weight {actual:.1f} kg is below the ideal weight {ideal:.1f} kg: "
            f"dosing on actual weight instead of {basis.value} weight"
        ),
    )
