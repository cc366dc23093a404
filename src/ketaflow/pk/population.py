"""Virtual populations: covariates drawn from distributions, parameters from the model's
log-normal between-subject variability (P_j = P_typical x exp(eta_j), eta_j ~ N(0, omega^2),
omega^2 = ln(1 + CV^2)), reproducible with a seed; percentile bands and shares above a level.

Where a model has no published variability the population varies by covariates only, unless an
explicitly *assumed* CV is requested; either way the returned warnings say so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from ketaflow.pk.covariates import AGE_LIMITS_YEARS, HEIGHT_LIMITS_CM, WEIGHT_LIMITS_KG, Covariates
from ketaflow.pk.errors import PKInputError
from ketaflow.pk.kinetics import FloatArray, Kinetics
from ketaflow.pk.models import get_model, model_warnings

PERCENTILES = (5, 25, 50, 75, 95)
_PARAMETERS = ("v1", "v2", "v3", "cl", "q2", "q3")
_FIELDS = {
    "v1": "v1_l",
    "v2": "v2_l",
    "v3": "v3_l",
    "cl": "cl_l_per_min",
    "q2": "q2_l_per_min",
    "q3": "q3_l_per_min",
}


@dataclass(frozen=True)
class CovariateDistribution:
    """Where virtual patients' covariates come from.

    Weight is log-normal (median, CV), age uniform, height normal; all are clipped to the
    engine's hard limits. The defaults describe an illustrative adult clinic population and are
    not taken from any study.
    """

    weight_median_kg: float = 75.0
    weight_cv: float = 0.2
    age_min_years: float = 18.0
    age_max_years: float = 70.0
    height_mean_cm: float = 172.0
    height_sd_cm: float = 9.0
    female_fraction: float = 0.5

    @classmethod
    def around(cls, covariates: Covariates) -> CovariateDistribution:
        """Patients exactly like this one: spread comes from the model's variability only."""
        return cls(
            weight_median_kg=covariates.weight_kg,
            weight_cv=0.0,
            age_min_years=covariates.age_years,
            age_max_years=covariates.age_years,
            height_mean_cm=covariates.height_cm,
            height_sd_cm=0.0,
            female_fraction=1.0 if covariates.sex == "female" else 0.0,
        )


@dataclass(frozen=True)
class Population:
    """N virtual patients: covariates (N,) each, their kinetics, and caveats."""

    model_key: str
    seed: int
    weight_kg: FloatArray
    age_years: FloatArray
    height_cm: FloatArray
    female: npt.NDArray[np.bool_]
    kinetics: Kinetics
    warnings: tuple[str, ...]

    @property
    def n_patients(self) -> int:
        return int(self.weight_kg.shape[0])


@dataclass(frozen=True)
class PercentileBands:
    """Percentiles across patients at each time: `values[j]` is the `percentiles[j]`-th, (M,)."""

    percentiles: tuple[int, ...]
    values: FloatArray  # (len(percentiles), M)

    def band(self, percentile: int) -> FloatArray:
        result: FloatArray = self.values[self.percentiles.index(percentile)]
        return result


def _draw_covariates(
    rng: np.random.Generator, n: int, dist: CovariateDistribution
) -> tuple[FloatArray, FloatArray, FloatArray, npt.NDArray[np.bool_]]:
    sigma = math.sqrt(math.log1p(dist.weight_cv**2))
    weight = np.clip(
        dist.weight_median_kg * np.exp(sigma * rng.standard_normal(n)), *WEIGHT_LIMITS_KG
    )
    age = np.clip(rng.uniform(dist.age_min_years, dist.age_max_years, n), *AGE_LIMITS_YEARS)
    height = np.clip(
        dist.height_mean_cm + dist.height_sd_cm * rng.standard_normal(n), *HEIGHT_LIMITS_CM
    )
    female = rng.random(n) < dist.female_fraction
    return weight, age, height, female


def draw_population(
    model: str,
    n_patients: int,
    *,
    seed: int,
    distribution: CovariateDistribution | None = None,
    assumed_cv: float | None = None,
) -> Population:
    """Draw `n_patients` virtual patients under the named model, reproducibly from `seed`.

    `assumed_cv` applies the same log-normal CV to every volume and clearance of a model that
    has no published variability (it is ignored, with a warning, when the model has one).
    """
    if not 1 <= n_patients <= 10_000_000:
        raise PKInputError("n_patients", "must be between 1 and 10000000", n_patients)
    if assumed_cv is not None and not 0.0 <= assumed_cv <= 2.0:
        raise PKInputError("assumed_cv", "must be between 0 and 2", assumed_cv)
    definition = get_model(model)
    info = definition.info
    rng = np.random.default_rng(seed)
    weight, age, height, female = _draw_covariates(
        rng, n_patients, distribution or CovariateDistribution()
    )
    typical = definition.kinetics_for_weight(weight)
    omega = info.omega()
    caveats = list(model_warnings(info))
    if not omega and assumed_cv is None:
        caveats.append(
            "no between-subject variability applied: the spread reflects covariates only"
        )
    elif not omega and assumed_cv is not None:
        sd = math.sqrt(math.log1p(assumed_cv**2))
        omega = {name: sd for name in _PARAMETERS}
        caveats.append(
            f"between-subject variability is ASSUMED (CV {assumed_cv:.0%} on every volume and "
            "clearance), not published for this model"
        )
    elif assumed_cv is not None:
        caveats.append("assumed_cv ignored: the model's published variability is used")
    changes: dict[str, FloatArray] = {}
    for name in _PARAMETERS:  # fixed order keeps draws reproducible for a given seed
        field = _FIELDS[name]
        typical_values = getattr(typical, field)
        if typical_values is not None and name in omega:
            changes[field] = typical_values * np.exp(omega[name] * rng.standard_normal(n_patients))
    return Population(
        model_key=info.key,
        seed=seed,
        weight_kg=weight,
        age_years=age,
        height_cm=height,
        female=female,
        kinetics=replace(typical, **changes),
        warnings=tuple(caveats),
    )


def percentile_bands(
    values: npt.ArrayLike, percentiles: tuple[int, ...] = PERCENTILES
) -> PercentileBands:
    """Percentiles over patients (axis 0) of an (N, M) array of concentrations."""
    # Percentiles along contiguous rows are several times faster than down columns.
    data = np.ascontiguousarray(np.asarray(values, dtype=np.float64).T)
    return PercentileBands(percentiles, np.percentile(data, percentiles, axis=1))


def fraction_above(values: npt.ArrayLike, threshold_ng_per_ml: float) -> FloatArray:
    """Share of patients (0-1) whose concentration exceeds the threshold, at each time (M,)."""
    result: FloatArray = np.mean(np.asarray(values) > threshold_ng_per_ml, axis=0)
    return result
