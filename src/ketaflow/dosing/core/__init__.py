"""Pure dosing arithmetic: dosing weight, salt and base, volume, pump rate and delivered dose.

Pure: standard library only (import-linter contract "Dosing core is pure").

Rounding rules
--------------
- Calculation keeps full float precision. The only value rounded during calculation is the pump
  rate, because the pump can only be set in steps of its precision.
- Pump rate: rounded to the **nearest** step of `pump_precision_ml_per_h` (default 0.1 mL/h); an
  exact tie goes **down** (less drug). Round-to-nearest keeps the delivered dose within half a
  rate step's worth of the ordered dose (half step x duration x concentration), above or below;
  rounding down every time would under-dose systematically by up to a whole step. One exception:
  if rounding *up* would push the delivered dose past a hard maximum, the rate goes one step down
  instead (`RateRounding.DOWN_FOR_HARD_LIMIT`), so no result ever delivers more than a hard limit.
  A rate that rounds to 0 is refused.
- The delivered volume and dose are recomputed from the rounded rate and reported next to the
  ordered ones.
- Display (`DoseCalculation.display_values`) rounds half up: weights 0.1 kg, doses 0.1 mg, mg/kg
  0.001 mg/kg, volumes 0.01 mL, mg/h 0.1 mg/h, the rate to the pump precision's decimals.

Salt: every mg amount says which salt it is in. Result fields named `*_mg` are in the order's salt
(`dose_salt`); `*_mg_base` are ketamine base.
"""

from ketaflow.dosing.core.calculation import (
    DEFAULT_PUMP_PRECISION_ML_PER_H,
    DoseCalculation,
    DoseOrder,
    RateRounding,
    TotalDoseOrder,
    WeightBasedOrder,
    calculate_dose,
    calculate_total_dose,
    calculate_weight_based_dose,
)
from ketaflow.dosing.core.units import (
    BASE_PER_HYDROCHLORIDE,
    KG_PER_LB,
    convert_salt,
    nearest_pump_step,
    pounds_to_kg,
    round_half_up,
)
from ketaflow.dosing.core.weight import (
    DosingWeight,
    Sex,
    WeightBasis,
    adjusted_body_weight_kg,
    ideal_body_weight_kg,
    resolve_dosing_weight,
)

__all__ = [
    "BASE_PER_HYDROCHLORIDE",
    "DEFAULT_PUMP_PRECISION_ML_PER_H",
    "KG_PER_LB",
    "DoseCalculation",
    "DoseOrder",
    "DosingWeight",
    "RateRounding",
    "Sex",
    "TotalDoseOrder",
    "WeightBasedOrder",
    "WeightBasis",
    "adjusted_body_weight_kg",
    "calculate_dose",
    "calculate_total_dose",
    "calculate_weight_based_dose",
    "convert_salt",
    "ideal_body_weight_kg",
    "nearest_pump_step",
    "pounds_to_kg",
    "resolve_dosing_weight",
    "round_half_up",
]
