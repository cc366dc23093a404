"""Patient covariates, salt/base conversion and the hard input limits of the engine.

Doses inside the engine are always mg of ketamine *base*. Vials are usually labelled in base
equivalent, but some products state the hydrochloride salt; `to_base_mg` makes the conversion
explicit (molar masses: base 237.7 g/mol, hydrochloride 274.2 g/mol).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from ketaflow.pk.errors import PKInputError

BASE_MOLAR_MASS_G_PER_MOL = 237.7
HYDROCHLORIDE_MOLAR_MASS_G_PER_MOL = 274.2
BASE_PER_HYDROCHLORIDE = BASE_MOLAR_MASS_G_PER_MOL / HYDROCHLORIDE_MOLAR_MASS_G_PER_MOL

# Hard limits: inputs outside them are rejected, not warned about. They guard against unit
# mistakes (grams for kilograms, lb for kg) rather than describe any model's validity range.
WEIGHT_LIMITS_KG = (20.0, 300.0)
AGE_LIMITS_YEARS = (0.0, 120.0)
HEIGHT_LIMITS_CM = (50.0, 250.0)
MAX_DOSE_MG_PER_KG = 5.0


class Sex(StrEnum):
    MALE = "male"
    FEMALE = "female"


class Salt(StrEnum):
    """What a dose number means: mg of ketamine base or mg of ketamine hydrochloride."""

    BASE = "base"
    HYDROCHLORIDE = "hydrochloride"


def to_base_mg(dose_mg: float, salt: Salt) -> float:
    """Convert a dose to mg of ketamine base (hydrochloride x 237.7/274.2, about 0.867)."""
    return dose_mg * BASE_PER_HYDROCHLORIDE if salt is Salt.HYDROCHLORIDE else dose_mg


def check_between(field: str, value: float, low: float, high: float, unit: str) -> None:
    """Raise PKInputError unless low <= value <= high (NaN is never in range)."""
    if not (math.isfinite(value) and low <= value <= high):
        raise PKInputError(field, f"must be between {low:g} and {high:g} {unit}", f"{value:g}")


@dataclass(frozen=True)
class Covariates:
    """One patient's covariates. Validated on construction against the hard limits."""

    weight_kg: float
    age_years: float
    height_cm: float
    sex: Sex

    def __post_init__(self) -> None:
        check_between("weight_kg", self.weight_kg, *WEIGHT_LIMITS_KG, "kg")
        check_between("age_years", self.age_years, *AGE_LIMITS_YEARS, "years")
        check_between("height_cm", self.height_cm, *HEIGHT_LIMITS_CM, "cm")
        if not isinstance(self.sex, Sex):
            raise PKInputError("sex", "must be 'male' or 'female'", self.sex)


@dataclass(frozen=True)
class CovariateRange:
    """Covariate range of a model's source study; None means no bound was recorded.

    `source` says where the numbers come from, because for several models the paper's exact
    range was not retrieved and only a population description ("adults") is known.
    """

    weight_kg: tuple[float | None, float | None] = (None, None)
    age_years: tuple[float | None, float | None] = (None, None)
    source: str = "not recorded"

    def violations(self, covariates: Covariates) -> tuple[str, ...]:
        """Messages for each covariate outside this range (empty when inside)."""
        found: list[str] = []
        for name, unit, value, (low, high) in (
            ("weight", "kg", covariates.weight_kg, self.weight_kg),
            ("age", "years", covariates.age_years, self.age_years),
        ):
            if low is not None and value < low:
                found.append(f"{name} {value:g} {unit} is below the source study's {low:g} {unit}")
            if high is not None and value > high:
                found.append(f"{name} {value:g} {unit} is above the source study's {high:g} {unit}")
        return tuple(f"{text} ({self.source})" for text in found)
