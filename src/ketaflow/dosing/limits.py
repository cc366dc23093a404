"""Clinic dosing limits, the error a hard-limit breach raises, and the warnings soft limits give.

Pure: standard library only (import-linter contract "Dosing core is pure").

Two kinds of limit, both clinic settings with defaults:

- **hard** limits refuse the calculation: `DosingError` names the field, the limit and its unit.
  A value is never clamped to a hard limit, because a clamped dose is a dose nobody ordered.
- **soft** limits compute the dose but add a `DosingWarning`; the result then needs a prescriber's
  override reason (see `ketaflow.dosing.core`).

Comparisons are exact: a value *at* a limit is inside it (2.0 mg/kg passes a 2.0 mg/kg maximum,
1.0 mg/kg raises no warning at a 1.0 mg/kg soft maximum).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from enum import StrEnum

from ketaflow.sourced import setting


class SaltForm(StrEnum):
    """The chemical form a ketamine amount is expressed in.

    Orders are often written as the hydrochloride salt, while US vials are labelled in base
    equivalent (Ketalar: 10 mg base = 11.53 mg hydrochloride), so every amount says which it is.
    """

    BASE = "base"
    HYDROCHLORIDE = "hydrochloride"


class WarningCode(StrEnum):
    """Why a calculation carries a warning."""

    SOFT_MAX_MG_PER_KG = "soft_max_mg_per_kg"
    SOFT_MAX_MG = "soft_max_mg"
    ACTUAL_BELOW_IDEAL_WEIGHT = "actual_below_ideal_weight"
    DEVINE_EXTRAPOLATED = "devine_extrapolated"
    ROUNDING_DEVIATION = "rounding_deviation"


# Only these warnings ask for a prescriber's override; the others are information.
SOFT_LIMIT_CODES = frozenset({WarningCode.SOFT_MAX_MG_PER_KG, WarningCode.SOFT_MAX_MG})


@dataclass(frozen=True)
class DosingWarning:
    """A warning returned with a result (never printed or logged by the core)."""

    code: WarningCode
    field: str
    message: str

    @property
    def is_soft_limit(self) -> bool:
        """True when the warning is a crossed soft limit, which needs an override reason."""
        return self.code in SOFT_LIMIT_CODES


class DosingError(ValueError):
    """A value the dosing core refuses: a hard-limit breach, a missing or contradictory input.

    `field` is the input (or setting) name, `limit` and `unit` the bound that was crossed when
    there is one, `value` the offending value. The message names all of them in one line.
    """

    def __init__(
        self,
        message: str,
        *,
        field: str,
        value: float | None = None,
        limit: float | None = None,
        unit: str | None = None,
    ) -> None:
        super().__init__(message)
        self.field = field
        self.value = value
        self.limit = limit
        self.unit = unit


def fmt(value: float, unit: str = "") -> str:
    """Format a number for a message: up to 10 significant digits, no trailing zeros.

    mg/kg values keep one decimal (2.0 mg/kg) because that is how doses per kilogram are written.
    """
    text = f"{value:.10g}"
    if unit == "mg/kg" and math.isfinite(value) and "." not in text and "e" not in text:
        text += ".0"
    return text


def quantity(value: float, unit: str) -> str:
    """A formatted number followed by its unit, if it has one."""
    return f"{fmt(value, unit)} {unit}" if unit else fmt(value, unit)


def require_finite(field: str, value: float) -> None:
    """Refuse NaN and infinities, which would slip through every range comparison."""
    if not math.isfinite(value):
        raise DosingError(
            f"{field} must be a finite number (got {value})", field=field, value=value
        )


def require_positive(field: str, value: float, unit: str) -> None:
    """Refuse zero and negative amounts."""
    require_finite(field, value)
    if value <= 0:
        raise DosingError(
            f"{field} must be greater than {quantity(0.0, unit)} (got {fmt(value, unit)})",
            field=field,
            value=value,
            limit=0.0,
            unit=unit,
        )


def require_between(field: str, value: float, low: float, high: float, unit: str) -> None:
    """Refuse a value outside [low, high]; the bounds themselves are allowed."""
    require_finite(field, value)
    if not low <= value <= high:
        raise DosingError(
            f"{field} must be between {fmt(low, unit)} and {quantity(high, unit)} "
            f"(got {fmt(value, unit)})",
            field=field,
            value=value,
            limit=low if value < low else high,
            unit=unit,
        )


def require_at_most(
    field: str, value: float, maximum: float, unit: str, *, shown: str | None = None
) -> None:
    """Refuse a value above a hard maximum.

    `shown` replaces the plain number in the message when the compared value was derived (from the
    other salt, or from a total dose and a weight), so the message shows how it was reached.
    """
    if value > maximum:
        raise DosingError(
            f"{field} {shown or fmt(value, unit)} exceeds the hard maximum of "
            f"{quantity(maximum, unit)}",
            field=field,
            value=value,
            limit=maximum,
            unit=unit,
        )


def soft_max_warning(
    code: WarningCode,
    field: str,
    value: float,
    maximum: float,
    unit: str,
    *,
    shown: str | None = None,
) -> DosingWarning | None:
    """A warning when `value` is above a soft maximum, else None (`shown` as in require_at_most)."""
    if value <= maximum:
        return None
    return DosingWarning(
        code=code,
        field=field,
        message=(
            f"{field} {shown or fmt(value, unit)} exceeds the soft maximum of "
            f"{quantity(maximum, unit)}: a prescriber's override reason is required"
        ),
    )


_REF = "dosing-limits"
_DOC = f"docs/clinical-sources.md#{_REF}"
_ASKP3 = "ASKP3 practice standards: usual starting dose 0.5-1 mg/kg (common practice, unverified)"
_HOUSE = f"clinic's own choice (ketaflow default), reasoning in {_DOC}"
_HARD = (f"clinic's own choice (ketaflow default): twice the top of the ASKP3 usual range, at the "
         f"Ketalar USPI 2.2 average IV induction dose (range 1-4.5 mg/kg); {_DOC}")


@dataclass(frozen=True)
class DosingLimits:
    """Clinic dosing settings with their defaults (admin-changeable, audited by the caller).

    Dose limits are expressed in `salt_basis` (base by default, as US vials are labelled); an order
    written in the other salt is converted before it is compared. Defaults, sources and the bounds
    an admin may set are in docs/clinical-sources.md#dosing-limits:

    - soft maximum 1.0 mg/kg and 100 mg: warning, prescriber override with a reason. The upper end
      of the ASKP3 usual starting range (0.5-1 mg/kg); the 100 mg cap is the clinic's own choice
      (1 mg/kg at 100 kg).
    - hard maximum 2.0 mg/kg and 200 mg: refused. The clinic's own choice (no published ceiling):
      twice the top of the ASKP3 range and the Ketalar label's average IV induction dose (2 mg/kg;
      range 1-4.5 mg/kg, Ketalar USPI 2.2); 200 mg is 2 mg/kg at 100 kg and one 20 mL vial of
      10 mg/mL.
    - weight 30-250 kg, height 140-220 cm (height only matters for ideal/adjusted weight; 140 cm
      keeps the Devine ideal weight above 30 kg), duration 20-120 min, concentration 0.1-100 mg/mL
      (Ketalar vials are 10, 50 and 100 mg/mL; diluted bags go lower).
    - rounding_warning_fraction 0.05: warn when pump-rate rounding moves the delivered dose more
      than 5% from the ordered dose (the clinic's own choice).
    """

    salt_basis: SaltForm = SaltForm.BASE
    soft_max_mg_per_kg: float = setting(
        1.0, f"{_ASKP3}; prescriber override with a reason; {_DOC}", "Soft maximum dose (mg/kg)",
        minimum=0.5, maximum=1.5, ref=_REF)
    soft_max_mg: float = setting(100.0, _HOUSE, "Soft maximum dose (mg)",
                                 minimum=35.0, maximum=150.0, ref=_REF)
    hard_max_mg_per_kg: float = setting(2.0, _HARD, "Hard maximum dose, refused (mg/kg)",
                                        minimum=1.0, maximum=2.0, ref=_REF)
    hard_max_mg: float = setting(
        200.0, f"clinic's own choice (ketaflow default): 2 mg/kg at 100 kg, one 200 mg vial "
        f"(Ketalar USPI 3); {_DOC}", "Hard maximum dose, refused (mg)",
        minimum=100.0, maximum=200.0, ref=_REF)
    min_weight_kg: float = setting(30.0, _HOUSE, "Dosing weight at least (kg)",
                                   minimum=20.0, maximum=40.0, ref=_REF)
    max_weight_kg: float = setting(250.0, _HOUSE, "Dosing weight at most (kg)",
                                   minimum=150.0, maximum=300.0, ref=_REF)
    min_height_cm: float = setting(
        140.0, f"keeps the Devine ideal body weight above 30 kg; {_DOC}", "Height at least (cm)",
        minimum=136.0, maximum=152.0, ref=_REF)
    max_height_cm: float = setting(220.0, _HOUSE, "Height at most (cm)",
                                   minimum=190.0, maximum=250.0, ref=_REF)
    min_duration_min: float = setting(20.0, _HOUSE, "Infusion duration at least (min)",
                                      minimum=10.0, maximum=40.0, ref=_REF)
    max_duration_min: float = setting(120.0, _HOUSE, "Infusion duration at most (min)",
                                      minimum=60.0, maximum=240.0, ref=_REF)
    min_concentration_mg_per_ml: float = setting(
        0.1, f"diluted bags (clinic's own choice); {_DOC}", "Concentration at least (mg/mL)",
        minimum=0.1, maximum=1.0, ref=_REF)
    max_concentration_mg_per_ml: float = setting(
        100.0, f"Ketalar vials are 10, 50 and 100 mg/mL (Ketalar USPI 3); {_DOC}",
        "Concentration at most (mg/mL)", minimum=10.0, maximum=100.0, ref=_REF)
    rounding_warning_fraction: float = setting(
        0.05, _HOUSE, "Warn when pump rounding moves the dose by more than (fraction)",
        minimum=0.01, maximum=0.10, ref=_REF)
    # Not a dose limit but the weight every dose is calculated from: a weight that moved more
    # than this since the previous one (either way) is stored only once the recorder confirms.
    weight_change_confirm_above_percent: float = setting(
        10.0, "clinic's own choice (ketaflow default): a 10% change between visits is far beyond "
        "day-to-day variation (about 1-2%) and is what a unit slip or a mistyped digit gives; "
        "docs/clinical-sources.md#weight-change",
        "Weight change needing confirmation: more than (%)",
        minimum=2.0, maximum=50.0, ref="weight-change")

    def __post_init__(self) -> None:
        # A clinic setting that contradicts itself must fail when it is saved, not at the chair.
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, float | int):
                require_positive(item.name, float(value), "")
        pairs = (
            ("soft_max_mg_per_kg", "hard_max_mg_per_kg"),
            ("soft_max_mg", "hard_max_mg"),
            ("min_weight_kg", "max_weight_kg"),
            ("min_height_cm", "max_height_cm"),
            ("min_duration_min", "max_duration_min"),
            ("min_concentration_mg_per_ml", "max_concentration_mg_per_ml"),
        )
        for low_name, high_name in pairs:
            low, high = getattr(self, low_name), getattr(self, high_name)
            if low > high:
                raise DosingError(
                    f"{low_name} ({fmt(low)}) must not exceed {high_name} ({fmt(high)})",
                    field=low_name,
                    value=low,
                    limit=high,
                )


DEFAULT_LIMITS = DosingLimits()
