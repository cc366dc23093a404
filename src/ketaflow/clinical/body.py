"""The one plausible range for a recorded human body weight (pure).

Every place a weight is recorded (the patient's measurements, the screening baseline, the API
schemas that state it) checks it against this range; it catches typing errors (a missing or
extra digit, pounds typed as kilograms), not clinical judgement. Whether a dose can be
calculated for a weight is a different, narrower question answered by the dosing limits only
(`ketaflow.dosing.limits.DosingLimits.min_weight_kg`/`max_weight_kg`, 30-250 kg by default).

Source (docs/clinical-sources.md#body-weight): the clinic treats adults. 20 kg is below the
lowest adult weights reported in severe anorexia nervosa (BMI about 10 at 140 cm is 19.6 kg),
and 350 kg is above all but a handful of recorded adults; a value outside [20, 350] kg is
almost surely a typing error. *Clinic's own choice (ketaflow default).*
"""

from __future__ import annotations

HUMAN_WEIGHT_MIN_KG = 20.0
HUMAN_WEIGHT_MAX_KG = 350.0

# The threshold is a clinic setting, `DosingLimits.weight_change_confirm_above_percent`
# (default 10%; reasoning in docs/clinical-sources.md#weight-change).


def weight_change_percent(previous_kg: float, new_kg: float) -> float:
    """The change from the previous weight, in percent of it (negative for a loss)."""
    if not previous_kg > 0:
        raise ValueError("previous_kg must be positive")
    return (new_kg - previous_kg) / previous_kg * 100.0


def needs_weight_change_confirmation(
    previous_kg: float | None, new_kg: float, threshold_percent: float
) -> bool:
    """True when the weight moved by more than `threshold_percent` either way since the
    previous weight; a change exactly at the threshold passes, and a first weight always does."""
    if previous_kg is None:
        return False
    # Rounded so that a change of exactly the threshold (72.5 -> 79.75 kg is 10%) is not pushed
    # over it by binary floating point.
    return round(abs(weight_change_percent(previous_kg, new_kg)), 9) > threshold_percent
