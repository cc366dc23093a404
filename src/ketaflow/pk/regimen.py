"""Dosing regimens: boluses and constant-rate infusions, in mg of ketamine base and minutes.

A regimen is turned into segments on which the total infusion rate is constant; the exact solver
then updates each exponential mode once per segment. Boluses are instantaneous: a concentration
asked for at a bolus's time already includes that bolus (the curve is right-continuous).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from ketaflow.pk.covariates import MAX_DOSE_MG_PER_KG
from ketaflow.pk.errors import PKInputError
from ketaflow.pk.kinetics import FloatArray


def _check_time(field: str, value: float) -> None:
    if not (math.isfinite(value) and value >= 0.0):
        raise PKInputError(field, "must be a finite time of at least 0 min", f"{value:g}")


def _check_amount(field: str, value: float, unit: str) -> None:
    if not (math.isfinite(value) and value >= 0.0):
        raise PKInputError(field, f"must be at least 0 {unit}", f"{value:g}")


@dataclass(frozen=True)
class Bolus:
    """An instantaneous dose of `dose_mg` mg base at `time_min`."""

    time_min: float
    dose_mg: float

    def __post_init__(self) -> None:
        _check_time("time_min", self.time_min)
        _check_amount("dose_mg", self.dose_mg, "mg")


@dataclass(frozen=True)
class Infusion:
    """A constant rate of `rate_mg_per_min` mg base/min from `start_min` for `duration_min`."""

    start_min: float
    duration_min: float
    rate_mg_per_min: float

    def __post_init__(self) -> None:
        _check_time("start_min", self.start_min)
        if not (math.isfinite(self.duration_min) and self.duration_min > 0.0):
            raise PKInputError(
                "duration_min", "must be greater than 0 min", f"{self.duration_min:g}"
            )
        _check_amount("rate_mg_per_min", self.rate_mg_per_min, "mg/min")

    @classmethod
    def of_dose(cls, dose_mg: float, duration_min: float, start_min: float = 0.0) -> Infusion:
        """The infusion that delivers `dose_mg` evenly over `duration_min`."""
        _check_amount("dose_mg", dose_mg, "mg")
        if not (math.isfinite(duration_min) and duration_min > 0.0):
            raise PKInputError("duration_min", "must be greater than 0 min", f"{duration_min:g}")
        return cls(start_min, duration_min, dose_mg / duration_min)

    @property
    def end_min(self) -> float:
        return self.start_min + self.duration_min

    @property
    def dose_mg(self) -> float:
        return self.rate_mg_per_min * self.duration_min


@dataclass(frozen=True)
class Regimen:
    """Any combination of boluses and (possibly overlapping) constant-rate infusions."""

    boluses: tuple[Bolus, ...] = ()
    infusions: tuple[Infusion, ...] = ()

    @classmethod
    def of(cls, doses: Iterable[Bolus | Infusion]) -> Regimen:
        items = tuple(doses)
        return cls(
            boluses=tuple(d for d in items if isinstance(d, Bolus)),
            infusions=tuple(d for d in items if isinstance(d, Infusion)),
        )

    @property
    def total_dose_mg(self) -> float:
        return sum(b.dose_mg for b in self.boluses) + sum(i.dose_mg for i in self.infusions)

    @property
    def last_event_min(self) -> float:
        """When the last dose is given or the last infusion stops (0 for an empty regimen)."""
        ends = [b.time_min for b in self.boluses] + [i.end_min for i in self.infusions]
        return max(ends, default=0.0)

    def scaled(self, factor: float) -> Regimen:
        """The same schedule with every dose and rate multiplied by `factor` (linear kinetics)."""
        return Regimen(
            boluses=tuple(Bolus(b.time_min, b.dose_mg * factor) for b in self.boluses),
            infusions=tuple(
                Infusion(i.start_min, i.duration_min, i.rate_mg_per_min * factor)
                for i in self.infusions
            ),
        )


@dataclass(frozen=True)
class Segments:
    """A regimen cut at every event: from `start_min[k]` to `start_min[k + 1]` (the last one open)
    the total rate is `rate_mg_per_min[k]`, and `bolus_mg[k]` is given at `start_min[k]`."""

    start_min: FloatArray
    rate_mg_per_min: FloatArray
    bolus_mg: FloatArray

    @property
    def end_min(self) -> FloatArray:
        return np.append(self.start_min[1:], np.inf)


def segments_of(regimen: Regimen) -> Segments:
    """Cut the regimen where anything starts or stops; the last segment runs for ever at rate 0."""
    edges = {b.time_min for b in regimen.boluses}
    for infusion in regimen.infusions:
        edges.update((infusion.start_min, infusion.end_min))
    start = np.array(sorted(edges), dtype=np.float64)
    rate = np.zeros_like(start)
    bolus = np.zeros_like(start)
    for infusion in regimen.infusions:
        inside = (start >= infusion.start_min) & (start < infusion.end_min)
        rate[inside] += infusion.rate_mg_per_min
    for dose in regimen.boluses:
        bolus[np.searchsorted(start, dose.time_min)] += dose.dose_mg
    return Segments(start_min=start, rate_mg_per_min=rate, bolus_mg=bolus)


def check_dose_per_kg(dose_mg: float, weight_kg: float) -> None:
    """Reject a total base dose above the engine's hard limit of 5 mg/kg."""
    per_kg = dose_mg / weight_kg
    if not per_kg <= MAX_DOSE_MG_PER_KG:
        raise PKInputError(
            "dose_mg_per_kg",
            f"must be at most {MAX_DOSE_MG_PER_KG:g} mg/kg of ketamine base",
            f"{per_kg:.4g}",
        )
