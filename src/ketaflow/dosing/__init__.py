"""Weight-based ketamine dosing: dose, volume and pump rate with units, salts and hard limits.

The pure core lives in `ketaflow.dosing.core` and `ketaflow.dosing.limits` (stdlib only); the
`ketaflow dose` command line in `ketaflow.dosing.cli`. Formulas, limits and rounding rules are
described in docs/dosing.md.
"""

from ketaflow.dosing.core import (
    DoseCalculation,
    DoseOrder,
    DosingWeight,
    RateRounding,
    Sex,
    TotalDoseOrder,
    WeightBasedOrder,
    WeightBasis,
    calculate_dose,
    calculate_total_dose,
    calculate_weight_based_dose,
    resolve_dosing_weight,
)
from ketaflow.dosing.limits import (
    DEFAULT_LIMITS,
    DosingError,
    DosingLimits,
    DosingWarning,
    SaltForm,
    WarningCode,
)

__all__ = [
    "DEFAULT_LIMITS",
    "DoseCalculation",
    "DoseOrder",
    "DosingError",
    "DosingLimits",
    "DosingWarning",
    "DosingWeight",
    "RateRounding",
    "SaltForm",
    "Sex",
    "TotalDoseOrder",
    "WarningCode",
    "WeightBasedOrder",
    "WeightBasis",
    "calculate_dose",
    "calculate_total_dose",
    "calculate_weight_based_dose",
    "resolve_dosing_weight",
]
