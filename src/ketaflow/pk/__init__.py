"""ketaflow.pk: the pharmacokinetic engine for ketamine (pure core: NumPy only).

Published models as functions of covariates, an exact closed-form solver for any sequence of
boluses and constant-rate infusions (N patients x M times per call), grid-free peaks and
threshold times, virtual populations and target-controlled infusion. Doses are mg of ketamine
base; use `to_base_mg` for hydrochloride. See docs/pk.md.
"""

from ketaflow.pk.analysis import Peak, Site, area_under_curve, peak, time_below
from ketaflow.pk.covariates import (
    BASE_PER_HYDROCHLORIDE,
    MAX_DOSE_MG_PER_KG,
    WEIGHT_LIMITS_KG,
    CovariateRange,
    Covariates,
    Salt,
    Sex,
    to_base_mg,
)
from ketaflow.pk.errors import PKInputError
from ketaflow.pk.kinetics import Kinetics, Modes, modes_of
from ketaflow.pk.models import (
    MODELS,
    Ke0Source,
    ModelInfo,
    ModelParameters,
    get_model,
    model_parameters,
)
from ketaflow.pk.population import (
    PERCENTILES,
    CovariateDistribution,
    PercentileBands,
    Population,
    draw_population,
    fraction_above,
    percentile_bands,
)
from ketaflow.pk.regimen import Bolus, Infusion, Regimen, check_dose_per_kg
from ketaflow.pk.solver import Concentrations, simulate
from ketaflow.pk.tci import TargetStep, TCIResult, target_controlled_infusion

__all__ = [
    "BASE_PER_HYDROCHLORIDE",
    "MAX_DOSE_MG_PER_KG",
    "MODELS",
    "PERCENTILES",
    "WEIGHT_LIMITS_KG",
    "Bolus",
    "Concentrations",
    "CovariateDistribution",
    "CovariateRange",
    "Covariates",
    "Infusion",
    "Ke0Source",
    "Kinetics",
    "ModelInfo",
    "ModelParameters",
    "Modes",
    "PKInputError",
    "Peak",
    "PercentileBands",
    "Population",
    "Regimen",
    "Salt",
    "Sex",
    "Site",
    "TCIResult",
    "TargetStep",
    "area_under_curve",
    "check_dose_per_kg",
    "draw_population",
    "fraction_above",
    "get_model",
    "model_parameters",
    "modes_of",
    "peak",
    "percentile_bands",
    "simulate",
    "target_controlled_infusion",
    "time_below",
    "to_base_mg",
]
