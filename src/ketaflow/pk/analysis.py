"""Grid-free answers: peak concentration and its time, and when a concentration falls for good
below a threshold.

Inside one regimen segment a concentration is a sum of exponentials f(tau) = sum_q a_q
exp(-r_q tau). Its real roots are isolated without a grid by Rolle's theorem: exp(r_0 tau) f(tau)
has the same roots, and its derivative is again a sum of exponentials with one term fewer, whose
roots (found recursively) split the segment into pieces on which f is monotone. Each piece holds
at most one root, found by safeguarded Newton iteration. Everything is vectorised over patients.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from ketaflow.pk.kinetics import FloatArray, Kinetics, as_array
from ketaflow.pk.regimen import Regimen, segments_of
from ketaflow.pk.solver import ExpSums, exp_sums, nudged_ke0, scaled_modes, segment_states

_MAX_ITERATIONS = 100
# After the last dose nothing of interest happens beyond this many slowest time constants: every
# term has fallen by exp(-60) from its value at the last event.
_HORIZON_TIME_CONSTANTS = 60.0


class Site(StrEnum):
    PLASMA = "plasma"
    EFFECT = "effect"


@dataclass(frozen=True)
class Peak:
    """Highest concentration of each patient (ng/mL) and when it occurs (min); shape (N,)."""

    concentration_ng_per_ml: FloatArray
    time_min: FloatArray


def _values(coef: FloatArray, rates: FloatArray, tau: FloatArray) -> tuple[FloatArray, FloatArray]:
    """f and df/dtau of rows of exponential sums at per-row times tau (N,)."""
    terms = coef * np.exp(-rates * tau[:, None])
    return terms.sum(axis=1), -(terms * rates).sum(axis=1)


def _solve_bracketed(
    coef: FloatArray, rates: FloatArray, low: FloatArray, high: FloatArray
) -> FloatArray:
    """The root of each row inside [low, high] where f changes sign there, NaN elsewhere."""
    f_low, _ = _values(coef, rates, low)
    f_high, _ = _values(coef, rates, high)
    active = (high > low) & (np.sign(f_low) * np.sign(f_high) <= 0.0)
    active &= ~((f_low == 0.0) & (f_high == 0.0))
    a, b = low.copy(), high.copy()
    sign_a = np.sign(f_low)
    x = 0.5 * (a + b)
    for _ in range(_MAX_ITERATIONS):
        f, df = _values(coef, rates, x)
        same = np.sign(f) == sign_a
        a = np.where(same, x, a)
        b = np.where(same, b, x)
        newton = x - np.divide(f, df, out=np.full_like(f, np.nan), where=df != 0.0)
        inside = np.isfinite(newton) & (newton > a) & (newton < b)
        x_next = np.where(inside, newton, 0.5 * (a + b))
        done = np.abs(x_next - x) <= 1e-14 * np.maximum(np.abs(x), 1.0)
        x = np.where(f == 0.0, x, x_next)
        if np.all(done | ~active | (f == 0.0)):
            break
    return np.where(active, x, np.nan)


def exp_sum_roots(
    coef: FloatArray, rates: FloatArray, low: FloatArray, high: FloatArray
) -> FloatArray:
    """All roots of f(tau) = sum_q coef[:, q] exp(-rates[:, q] tau) in [low, high] per row.

    Returns (N, m - 1) with NaN where a row has fewer roots (an m-term sum has at most m - 1).
    Rates must be distinct within a row; `high` must be finite.
    """
    n_rows, n_terms = coef.shape
    if n_terms < 2:
        return np.empty((n_rows, 0))
    # d/dtau [exp(r_0 tau) f(tau)] exp(-r_0 tau) = sum_{q>0} a_q (r_0 - r_q) exp(-r_q tau).
    inner = exp_sum_roots(coef[:, 1:] * (rates[:, :1] - rates[:, 1:]), rates[:, 1:], low, high)
    cuts = np.sort(np.where(np.isnan(inner), high[:, None], inner), axis=1)
    points = np.hstack([low[:, None], cuts, high[:, None]])
    roots = [
        _solve_bracketed(coef, rates, points[:, j], points[:, j + 1]) for j in range(n_terms - 1)
    ]
    return np.stack(roots, axis=1)


def _segment_sums(
    kinetics: Kinetics, regimen: Regimen, site: Site, dose_scale: npt.ArrayLike | None
) -> list[tuple[float, float, FloatArray, FloatArray]]:
    """(start, end, coef, rates) of the chosen site's exponential sum in every segment."""
    modes = nudged_ke0(scaled_modes(kinetics, dose_scale))
    if site is Site.EFFECT and modes.ke0_per_min is None:
        raise ValueError("this model has no effect-site rate constant (ke0)")
    segments = segments_of(regimen)
    result = []
    for k, state in enumerate(segment_states(modes, segments)):
        sums: ExpSums = exp_sums(modes, state, float(segments.rate_mg_per_min[k]))
        coef = sums.effect if site is Site.EFFECT and sums.effect is not None else sums.plasma
        start = float(segments.start_min[k])
        result.append((start, float(segments.end_min[k]), coef, sums.rates))
    return result


def _horizon(rates: FloatArray) -> FloatArray:
    slowest: FloatArray = np.min(np.where(rates > 0.0, rates, np.inf), axis=1)
    return _HORIZON_TIME_CONSTANTS / slowest


def peak(
    kinetics: Kinetics,
    regimen: Regimen,
    site: Site = Site.PLASMA,
    *,
    dose_scale: npt.ArrayLike | None = None,
) -> Peak:
    """Exact peak concentration and its time for every patient, without a time grid.

    Candidates are each segment's start (just after a bolus), its end, and the interior roots of
    the derivative; the highest wins (the earliest on ties).
    """
    best_value = np.zeros(kinetics.n_patients)
    best_time = np.zeros(kinetics.n_patients)
    for start, end, coef, rates in _segment_sums(kinetics, regimen, site, dose_scale):
        length = np.minimum(end - start, _horizon(rates))
        zero = np.zeros_like(length)
        critical = exp_sum_roots(-coef * rates, rates, zero, length)
        candidates = np.hstack([zero[:, None], length[:, None], critical])
        for j in range(candidates.shape[1]):
            tau = candidates[:, j]
            valid = np.isfinite(tau)
            value, _ = _values(coef, rates, np.where(valid, tau, 0.0))
            better = valid & (value > best_value)
            best_value = np.where(better, value, best_value)
            best_time = np.where(better, start + tau, best_time)
    return Peak(concentration_ng_per_ml=best_value, time_min=best_time)


def time_below(
    kinetics: Kinetics,
    regimen: Regimen,
    threshold_ng_per_ml: float,
    site: Site = Site.PLASMA,
    *,
    dose_scale: npt.ArrayLike | None = None,
) -> FloatArray:
    """Time (min) after which the concentration stays below the threshold, per patient (N,).

    This is the last time the concentration equals the threshold; 0 when it never reaches it.
    Concentrations only jump upwards (boluses), so the last crossing is a continuous root.
    """
    if not threshold_ng_per_ml > 0.0:
        raise ValueError("threshold_ng_per_ml must be positive")
    last = np.zeros(kinetics.n_patients)
    for start, end, coef, rates in _segment_sums(kinetics, regimen, site, dose_scale):
        shifted = coef.copy()
        shifted[:, 0] -= threshold_ng_per_ml  # rate 0 is the constant term
        if np.isfinite(end):
            length = np.full(kinetics.n_patients, end - start)
        else:  # |f + threshold| <= sum |a_q| exp(-r_min tau) bounds the last crossing
            slowest = np.min(np.where(rates > 0.0, rates, np.inf), axis=1)
            spread = np.maximum(np.abs(coef[:, 1:]).sum(axis=1), 1e-300)
            bound = np.log(spread / threshold_ng_per_ml)
            length = np.maximum(bound, 0.0) / slowest + 1.0
        roots = exp_sum_roots(shifted, rates, np.zeros_like(length), length)
        latest = np.nanmax(np.where(np.isnan(roots), -np.inf, roots), axis=1, initial=-np.inf)
        last = np.where(np.isfinite(latest), start + latest, last)
    return last


def area_under_curve(
    kinetics: Kinetics, regimen: Regimen, *, dose_scale: npt.ArrayLike | None = None
) -> FloatArray:
    """Plasma AUC from 0 to infinity in ng.min/mL per patient: total dose / CL for linear models."""
    scale = np.ones(1) if dose_scale is None else as_array(dose_scale)
    result: FloatArray = 1000.0 * regimen.total_dose_mg * scale / kinetics.cl_l_per_min
    return result
