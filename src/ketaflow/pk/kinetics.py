"""Mammillary model parameters as per-patient arrays, and their exponential modes.

The plasma response to a unit bolus of a mammillary model is a sum of exponentials
``sum_i P_i exp(-lambda_i t)``. The rates lambda_i are the roots of the characteristic polynomial
(a quadratic for two compartments, a cubic with three real positive roots for three, solved here in
the closed trigonometric form, so no complex arithmetic) and

    P_i = (1/V1) prod_p (k_p1 - lambda_i) / prod_{m != i} (lambda_m - lambda_i)

(Shafer & Gregg, J Pharmacokinet Biopharm 1992;20:147; see docs/pk.md, "An exact
solver"). Everything here is vectorised over patients: arrays have shape (N,) or (N, n).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
Index = slice | int | npt.NDArray[np.intp] | npt.NDArray[np.bool_]

# Plasma coefficients are per mg of dose and V is in L, so mg/L = ug/mL; x1000 gives ng/mL.
NG_PER_ML_PER_MG_PER_L = 1000.0


def as_array(values: float | npt.ArrayLike) -> FloatArray:
    """A float64 array of at least one dimension (scalars become shape (1,))."""
    return np.atleast_1d(np.asarray(values, dtype=np.float64))


def _pick(values: FloatArray, index: Index) -> FloatArray:
    return np.atleast_1d(values[index])


@dataclass(frozen=True)
class Kinetics:
    """Volumes (L), clearances (L/min) and ke0 (1/min) of N patients, each an array of shape (N,).

    Two-compartment models leave `v3_l` and `q3_l_per_min` as None; models without an effect
    site leave `ke0_per_min` as None.
    """

    v1_l: FloatArray
    v2_l: FloatArray
    cl_l_per_min: FloatArray
    q2_l_per_min: FloatArray
    v3_l: FloatArray | None = None
    q3_l_per_min: FloatArray | None = None
    ke0_per_min: FloatArray | None = None

    @property
    def n_patients(self) -> int:
        return int(self.v1_l.shape[0])

    @property
    def n_compartments(self) -> int:
        return 2 if self.v3_l is None else 3

    @classmethod
    def from_micro_constants(
        cls,
        v1_l: float | npt.ArrayLike,
        *,
        k10_per_min: float,
        k12_per_min: float,
        k21_per_min: float,
        k13_per_min: float | None = None,
        k31_per_min: float | None = None,
        ke0_per_min: float | None = None,
    ) -> Kinetics:
        """Build from V1 and rate constants, the form in which older models are published."""
        v1 = as_array(v1_l)
        v3 = q3 = None
        if k13_per_min is not None and k31_per_min is not None:
            q3 = v1 * k13_per_min
            v3 = q3 / k31_per_min
        return cls(
            v1_l=v1,
            v2_l=v1 * k12_per_min / k21_per_min,
            cl_l_per_min=v1 * k10_per_min,
            q2_l_per_min=v1 * k12_per_min,
            v3_l=v3,
            q3_l_per_min=q3,
            ke0_per_min=None if ke0_per_min is None else np.full_like(v1, ke0_per_min),
        )

    def micro_constants(self) -> dict[str, FloatArray]:
        """k10, k12, k21 (and k13, k31) in 1/min, as arrays of shape (N,)."""
        k = {
            "k10": self.cl_l_per_min / self.v1_l,
            "k12": self.q2_l_per_min / self.v1_l,
            "k21": self.q2_l_per_min / self.v2_l,
        }
        if self.v3_l is not None and self.q3_l_per_min is not None:
            k["k13"] = self.q3_l_per_min / self.v1_l
            k["k31"] = self.q3_l_per_min / self.v3_l
        return k

    def take(self, index: Index) -> Kinetics:
        """The patients selected by `index` (slice, integer or boolean array)."""

        def pick(values: FloatArray | None) -> FloatArray | None:
            return None if values is None else _pick(values, index)

        return Kinetics(
            v1_l=_pick(self.v1_l, index),
            v2_l=_pick(self.v2_l, index),
            cl_l_per_min=_pick(self.cl_l_per_min, index),
            q2_l_per_min=_pick(self.q2_l_per_min, index),
            v3_l=pick(self.v3_l),
            q3_l_per_min=pick(self.q3_l_per_min),
            ke0_per_min=pick(self.ke0_per_min),
        )


@dataclass(frozen=True)
class Modes:
    """Exponential modes of N patients: rates (1/min) and plasma coefficients ((ng/mL)/mg).

    Both arrays have shape (N, n) with n the number of compartments; rates are sorted from the
    fastest to the slowest.
    """

    rates_per_min: FloatArray
    plasma_coef: FloatArray
    ke0_per_min: FloatArray | None


def _quadratic_rates(k: dict[str, FloatArray]) -> FloatArray:
    """Roots of lambda^2 - (k10+k12+k21) lambda + k10 k21, without cancellation."""
    b = k["k10"] + k["k12"] + k["k21"]
    c = k["k10"] * k["k21"]
    fast = 0.5 * (b + np.sqrt(np.maximum(b * b - 4.0 * c, 0.0)))
    return np.stack([fast, c / fast], axis=1)  # product of roots = c: exact small root


def _cubic_rates(k: dict[str, FloatArray]) -> FloatArray:
    """The three real roots of the three-compartment characteristic cubic, trigonometric form.

    lambda^3 - a2 lambda^2 + a1 lambda - a0 = 0 with a0 = k10 k21 k31. Substituting
    lambda = t + a2/3 gives t^3 + p t + q = 0, whose roots are
    2 sqrt(-p/3) cos(acos(3q/(2p) sqrt(-3/p))/3 - 2 pi j/3), j = 0, 1, 2.
    """
    k10, k12, k21, k13, k31 = (k[name] for name in ("k10", "k12", "k21", "k13", "k31"))
    a2 = k10 + k12 + k13 + k21 + k31
    a1 = k10 * k21 + k10 * k31 + k12 * k31 + k13 * k21 + k21 * k31
    a0 = k10 * k21 * k31
    p = a1 - a2 * a2 / 3.0
    q = -2.0 * a2**3 / 27.0 + a2 * a1 / 3.0 - a0
    p_neg = np.minimum(p, -1e-300)  # real distinct roots imply p < 0; guard a triple root
    arg = np.clip(1.5 * q / p_neg * np.sqrt(-3.0 / p_neg), -1.0, 1.0)
    theta = np.arccos(arg) / 3.0
    radius = 2.0 * np.sqrt(-p_neg / 3.0)
    shifts = np.array([0.0, 2.0, 4.0]) * np.pi / 3.0
    rates = a2[:, None] / 3.0 + radius[:, None] * np.cos(theta[:, None] - shifts[None, :])
    # One Newton step on the original cubic removes the rounding of the trigonometric form,
    # which matters most for the slowest root (it sits next to large terms).
    f = ((rates - a2[:, None]) * rates + a1[:, None]) * rates - a0[:, None]
    df = (3.0 * rates - 2.0 * a2[:, None]) * rates + a1[:, None]
    safe = np.abs(df) > 0.0
    rates = rates - np.divide(f, df, out=np.zeros_like(f), where=safe)
    return np.sort(rates, axis=1)[:, ::-1]


def modes_of(kinetics: Kinetics) -> Modes:
    """Rates and plasma coefficients of every patient (vectorised, closed form)."""
    k = kinetics.micro_constants()
    if kinetics.n_compartments == 3:
        rates = _cubic_rates(k)
        returns = np.stack([k["k21"], k["k31"]], axis=1)
    else:
        rates = _quadratic_rates(k)
        returns = k["k21"][:, None]
    n = rates.shape[1]
    numerator = np.prod(returns[:, None, :] - rates[:, :, None], axis=2)
    differences = rates[:, None, :] - rates[:, :, None]  # [p, i, m] = lambda_m - lambda_i
    differences[:, np.arange(n), np.arange(n)] = 1.0
    coef = numerator / np.prod(differences, axis=2)
    coef *= NG_PER_ML_PER_MG_PER_L / kinetics.v1_l[:, None]
    return Modes(rates_per_min=rates, plasma_coef=coef, ke0_per_min=kinetics.ke0_per_min)
