"""Unit conversions and the rounding helpers the dosing core uses (stdlib only).

Rounding uses `Decimal` on the shortest decimal form of each float (`repr`), so that decimal ties
such as 50.05 mL/h at a 0.1 mL/h step are true ties, decided by the stated rule rather than by
binary representation error.
"""

from __future__ import annotations

from decimal import ROUND_HALF_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

from ketaflow.dosing.limits import SaltForm

KG_PER_LB = 0.45359237
LB_CITATION = "1 lb = 0.45359237 kg exactly (International Yard and Pound Agreement, 1959)"

# Step counts closer than this to a boundary are treated as on it (see nearest_pump_step).
STEP_SNAP = Decimal("1e-9")

KETAMINE_BASE_G_PER_MOL = 237.7
KETAMINE_HYDROCHLORIDE_G_PER_MOL = 274.2
BASE_PER_HYDROCHLORIDE = KETAMINE_BASE_G_PER_MOL / KETAMINE_HYDROCHLORIDE_G_PER_MOL  # 0.867
SALT_CITATION = (
    "base = hydrochloride x 237.7/274.2 (molar masses of ketamine and ketamine hydrochloride; "
    "Ketalar label: 10 mg base = 11.53 mg hydrochloride)"
)


def pounds_to_kg(weight_lb: float) -> float:
    """Pounds to kilograms by the exact definition (1 lb = 0.45359237 kg)."""
    return weight_lb * KG_PER_LB


def convert_salt(amount_mg: float, source: SaltForm, target: SaltForm) -> float:
    """Convert a ketamine amount between hydrochloride and base (base = HCl x 237.7/274.2)."""
    if source == target:
        return amount_mg
    if source == SaltForm.HYDROCHLORIDE:
        return amount_mg * BASE_PER_HYDROCHLORIDE
    return amount_mg / BASE_PER_HYDROCHLORIDE


def round_half_up(value: float, places: int) -> float:
    """Round for display, half up, on the shortest decimal form of the float (35.05 -> 35.1)."""
    quantum = Decimal(1).scaleb(-places)
    return float(Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP))


def decimal_places(step: float) -> int:
    """How many decimals a step has (0.1 -> 1, 0.05 -> 2, 1 -> 0)."""
    exponent = Decimal(repr(step)).normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def nearest_pump_step(rate_ml_per_h: float, precision_ml_per_h: float) -> tuple[int, bool]:
    """The nearest whole number of pump steps (ties down) and whether that rounded up.

    Decimal arithmetic on the shortest decimal forms keeps ties exact: 50.05 mL/h at 0.1 mL/h is
    a true tie and goes down to 50.0, where float division might land either side. The step count
    is first snapped to 1e-9 of a step, so binary noise from earlier arithmetic (6.225 mL/h computed
    as 6.2250000000000005) cannot decide a tie either.
    """
    ratio = Decimal(repr(rate_ml_per_h)) / Decimal(repr(precision_ml_per_h))
    ratio = ratio.quantize(STEP_SNAP, rounding=ROUND_HALF_EVEN)
    steps = int(ratio.to_integral_value(rounding=ROUND_HALF_DOWN))
    return steps, steps > ratio


def steps_to_rate(steps: int, precision_ml_per_h: float) -> float:
    """Steps times precision, computed in decimal so 525 x 0.1 is 52.5, not 52.50000000000001."""
    return float(steps * Decimal(repr(precision_ml_per_h)))
