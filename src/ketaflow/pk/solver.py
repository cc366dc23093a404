"""Exact (closed-form) plasma and effect-site concentrations for any regimen, N patients x M times.

Each exponential mode i of the plasma response carries a state s_i with Cp = sum_i s_i. Over an
interval of length D with constant rate R the state is updated exactly (docs/pk.md, "An exact
solver"):

    s_i <- u_i + (s_i - u_i) exp(-lambda_i D),   u_i = R P_i / lambda_i

so there is no step-size error for any D. The effect site dCe/dt = ke0 (Cp - Ce) is carried the
same way, one state e_i per mode (Ce = sum_i e_i, de_i/dt = ke0 (s_i - e_i)), which gives

    e_i <- u_i + (e_i - u_i) exp(-ke0 D) + (s_i - u_i) ke0 phi(lambda_i, ke0, D)
    phi(a, b, D) = (exp(-a D) - exp(-b D)) / (b - a)

phi has a finite limit D exp(-a D) when ke0 equals an eigenvalue, and is evaluated in a stable form
near it, so ke0 close to lambda_i loses no accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ketaflow.pk.errors import PKInputError
from ketaflow.pk.kinetics import FloatArray, Kinetics, Modes, as_array, modes_of
from ketaflow.pk.regimen import Regimen, Segments, segments_of

# Elements per working tile: small enough to stay in cache, large enough to amortise Python.
_TILE_ELEMENTS = 1 << 16
# Below this relative gap between ke0 and an eigenvalue, phi switches to its stable form, and
# the exponential-sum form of Ce (whose coefficients grow like 1/gap) is not used for output.
_CLOSE_RATE_GAP = 1e-6
# Uniform grids are evaluated as exp(-r (t_b + j h)) = exp(-r t_b) exp(-r j h), i.e. a small
# batched matrix product instead of one exponential per value; tolerance for "uniform".
_UNIFORM_RTOL = 1e-9


@dataclass(frozen=True)
class ModeState:
    """Per-mode plasma (and effect-site) states of N patients, in ng/mL, shape (N, n)."""

    plasma: FloatArray
    effect: FloatArray | None


@dataclass(frozen=True)
class Concentrations:
    """Predicted concentrations: `times_min` (M,), the others (N, M) in ng/mL.

    `effect_ng_per_ml` is None for models without an effect-site rate constant.
    """

    times_min: FloatArray
    plasma_ng_per_ml: FloatArray
    effect_ng_per_ml: FloatArray | None


@dataclass(frozen=True)
class ExpSums:
    """A segment's concentrations as sum_q coef[:, q] exp(-rates[:, q] tau), all (N, m)."""

    rates: FloatArray
    plasma: FloatArray
    effect: FloatArray | None


def _row_sum(values: FloatArray) -> FloatArray:
    """Sum over the (short) mode axis as (N, 1); column adds beat a reduction over 2-5 items."""
    total = values[:, :1].copy()
    for q in range(1, values.shape[1]):
        total += values[:, q : q + 1]
    return total


def scaled_modes(kinetics: Kinetics, dose_scale: npt.ArrayLike | None = None) -> Modes:
    """Modes of each patient, with plasma coefficients multiplied by the patient's dose scale.

    Kinetics are linear in dose, so scaling the coefficients scales every dose and rate of the
    regimen for that patient (e.g. `dose_scale = weight_kg` with a regimen given per kg).
    """
    modes = modes_of(kinetics)
    if dose_scale is None:
        return modes
    scale = np.broadcast_to(as_array(dose_scale), (kinetics.n_patients,))
    return Modes(modes.rates_per_min, modes.plasma_coef * scale[:, None], modes.ke0_per_min)


def _phi(
    rates: FloatArray, ke0: FloatArray, tau: FloatArray, e_rate: FloatArray, e_ke0: FloatArray
) -> FloatArray:
    """phi(rate, ke0, tau) given exp(-rate tau) and exp(-ke0 tau); rate and ke0 are (P, 1)."""
    gap = ke0 - rates
    close = np.abs(gap) <= _CLOSE_RATE_GAP * ke0
    result: FloatArray = (e_rate - e_ke0) / np.where(close, 1.0, gap)
    rows = np.flatnonzero(close[:, 0])
    if rows.size:
        # Stable form for the few rows that need it: tau exp(-slow tau) (1 - exp(-x)) / x with
        # x = |gap| tau >= 0, whose limit at gap = 0 is tau exp(-rate tau).
        tau_rows = np.broadcast_to(tau, result.shape)[rows]
        e_slow = np.where(rates[rows] < ke0[rows], e_rate[rows], e_ke0[rows])
        x = np.abs(gap[rows]) * tau_rows
        ratio = np.divide(-np.expm1(-x), x, out=np.ones_like(x), where=x > 0.0)
        result[rows] = tau_rows * e_slow * ratio
    return result


def segment_response(
    modes: Modes, state: ModeState, rate_mg_per_min: float, tau_min: FloatArray
) -> tuple[FloatArray, FloatArray | None, FloatArray, FloatArray | None]:
    """Concentrations a time `tau_min` into a segment that starts in `state` with a constant rate.

    `tau_min` broadcasts against (N, 1): shape (T,) for times shared by all patients or (N, T)
    for per-patient times. Returns (plasma, effect, per-mode plasma, per-mode effect); the
    per-mode arrays are only filled (shape (N, n)) when `tau_min` has one column, which is how
    states are advanced to the end of a segment.
    """
    rates = modes.rates_per_min
    u = rate_mg_per_min * modes.plasma_coef / rates
    c = state.plasma - u
    tau = np.asarray(tau_min, dtype=np.float64)
    shape = np.broadcast_shapes((rates.shape[0], 1), tau.shape)
    plasma = np.empty(shape)
    plasma[...] = _row_sum(u)
    per_mode = shape[1] == 1
    mode_plasma = np.empty_like(rates)
    mode_effect: FloatArray | None = None
    effect: FloatArray | None = None
    if modes.ke0_per_min is not None and state.effect is not None:
        ke0 = modes.ke0_per_min[:, None]
        e_ke0 = np.exp(-ke0 * tau)
        effect = np.empty(shape)
        effect[...] = _row_sum(u)
        effect += _row_sum(state.effect - u) * e_ke0
        mode_effect = np.empty_like(rates)
    for i in range(rates.shape[1]):
        rate_i = rates[:, i : i + 1]
        e_rate = np.exp(-rate_i * tau)
        term = c[:, i : i + 1] * e_rate
        plasma += term
        if per_mode:
            mode_plasma[:, i] = u[:, i] + term[:, 0]
        if effect is not None and mode_effect is not None and state.effect is not None:
            phi = _phi(rate_i, ke0, tau, e_rate, e_ke0)
            term_e = (c[:, i : i + 1] * ke0) * phi
            effect += term_e
            if per_mode:
                own = (state.effect[:, i : i + 1] - u[:, i : i + 1]) * e_ke0
                mode_effect[:, i] = u[:, i] + own[:, 0] + term_e[:, 0]
    return plasma, effect, mode_plasma, mode_effect


def segment_states(modes: Modes, segments: Segments) -> list[ModeState]:
    """The state at the start of every segment, just after that segment's bolus."""
    n_patients, n_modes = modes.rates_per_min.shape
    has_effect = modes.ke0_per_min is not None
    state = ModeState(
        np.zeros((n_patients, n_modes)), np.zeros((n_patients, n_modes)) if has_effect else None
    )
    states: list[ModeState] = []
    for k, start in enumerate(segments.start_min):
        # A bolus raises every plasma mode by dose x P_i at once; the effect site cannot jump.
        state = ModeState(state.plasma + segments.bolus_mg[k] * modes.plasma_coef, state.effect)
        states.append(state)
        if k + 1 < len(segments.start_min):
            duration = np.full((n_patients, 1), segments.start_min[k + 1] - start)
            _, _, plasma, effect = segment_response(
                modes, state, float(segments.rate_mg_per_min[k]), duration
            )
            state = ModeState(plasma, effect)
    return states


def parse_times(times_min: npt.ArrayLike) -> FloatArray:
    """Validate requested times: finite, at least 0 min, at least one."""
    times = np.asarray(times_min, dtype=np.float64).reshape(-1)
    if times.size == 0 or not np.all(np.isfinite(times)) or np.any(times < 0.0):
        raise PKInputError("times_min", "must be one or more finite times of at least 0 min")
    return times


def exp_sums(modes: Modes, state: ModeState, rate_mg_per_min: float) -> ExpSums:
    """The segment's concentrations as sums of exponentials in the time since its start.

    Basis rates are [0, lambda_1..lambda_n] plus ke0 when there is an effect site:
    Cp = U + sum_i c_i exp(-lambda_i tau), with u_i = R P_i/lambda_i, c_i = s_i - u_i, U = sum u_i;
    Ce = U + sum_i w_i exp(-lambda_i tau) + (E - U - sum_i w_i) exp(-ke0 tau),
    w_i = ke0 c_i / (ke0 - lambda_i), E = sum_i e_i. Callers must avoid ke0 == lambda_i (see
    `nudged_ke0`), where w_i has no finite value.
    """
    rates = modes.rates_per_min
    u = rate_mg_per_min * modes.plasma_coef / rates
    c = state.plasma - u
    total_u = _row_sum(u)
    zero = np.zeros_like(total_u)
    if modes.ke0_per_min is None or state.effect is None:
        return ExpSums(np.hstack([zero, rates]), np.hstack([total_u, c]), None)
    ke0 = modes.ke0_per_min[:, None]
    w = ke0 * c / (ke0 - rates)
    e_rest = _row_sum(state.effect) - total_u - _row_sum(w)
    return ExpSums(
        rates=np.hstack([zero, rates, ke0]),
        plasma=np.hstack([total_u, c, zero]),
        effect=np.hstack([total_u, w, e_rest]),
    )


def nudged_ke0(modes: Modes, relative_gap: float = 1e-8) -> Modes:
    """Modes with ke0 moved at most `relative_gap` (relative) away from any eigenvalue.

    Only for the exponential-sum form used to locate peaks and crossings: the coefficients then
    stay below 1/relative_gap times the states, so the form is accurate to about 1e-8.
    """
    if modes.ke0_per_min is None:
        return modes
    ke0 = modes.ke0_per_min.copy()
    for i in range(modes.rates_per_min.shape[1]):
        rate = modes.rates_per_min[:, i]
        close = np.abs(ke0 - rate) < relative_gap * ke0
        ke0[close] = rate[close] * (1.0 + relative_gap) + relative_gap * ke0[close]
    return Modes(modes.rates_per_min, modes.plasma_coef, ke0)


def evaluate_sums(sums: ExpSums, tau_min: FloatArray) -> tuple[FloatArray, FloatArray | None]:
    """Values of the sums at `tau_min`, (T,) shared or (N, T) per patient.

    Column 0 of the sums is the constant term (rate 0), added without an exponential.
    """
    tau = np.asarray(tau_min, dtype=np.float64)
    shape = np.broadcast_shapes((sums.rates.shape[0], 1), tau.shape)
    plasma = np.empty(shape)
    plasma[...] = sums.plasma[:, :1]
    effect = None
    if sums.effect is not None:
        effect = np.empty(shape)
        effect[...] = sums.effect[:, :1]
    basis = np.empty(shape)
    term = np.empty(shape)
    neg_tau = -tau
    for q in range(1, sums.rates.shape[1]):
        np.multiply(sums.rates[:, q : q + 1], neg_tau, out=basis)
        np.exp(basis, out=basis)
        plasma += np.multiply(sums.plasma[:, q : q + 1], basis, out=term)
        if effect is not None and sums.effect is not None:
            effect += np.multiply(sums.effect[:, q : q + 1], basis, out=term)
    return plasma, effect


def _uniform_into(
    sums: ExpSums,
    tau0: float,
    step: float,
    plasma_out: FloatArray,
    effect_out: FloatArray | None,
) -> None:
    """Write values at tau0 + j step (j < plasma_out.shape[1]) into the given (P, T) views.

    exp(-r (tau0 + (b B + j) step)) = exp(-r (tau0 + b B step)) exp(-r j step): a batched
    (P, blocks, m) @ (P, m, B) matrix product replaces one exponential per value.
    """
    count = plasma_out.shape[1]
    block = max(1, int(np.sqrt(count)))
    n_blocks = count // block
    main = n_blocks * block
    coarse_tau = tau0 + step * block * np.arange(n_blocks)
    coarse = np.exp(-sums.rates[:, None, :] * coarse_tau[None, :, None])  # (P, nb, m)
    fine = np.exp(-sums.rates[:, :, None] * (step * np.arange(block))[None, None, :])  # (P, m, B)
    targets = [(sums.plasma, plasma_out)]
    if sums.effect is not None and effect_out is not None:
        targets.append((sums.effect, effect_out))
    for coef, out in targets:
        view = out[:, :main].reshape(out.shape[0], n_blocks, block)
        if np.shares_memory(view, out):
            np.matmul(coarse * coef[:, None, :], fine, out=view)
        else:  # the output layout does not allow a view: compute, then copy
            out[:, :main] = np.matmul(coarse * coef[:, None, :], fine).reshape(out.shape[0], main)
    if main < count:
        tail = tau0 + step * np.arange(main, count)
        cp, ce = evaluate_sums(sums, tail)
        plasma_out[:, main:] = cp
        if effect_out is not None and ce is not None:
            effect_out[:, main:] = ce


def _uniform_step(tau: FloatArray) -> float | None:
    """The grid step when `tau` is an arithmetic progression of at least 16 points."""
    if tau.size < 16:
        return None
    step = float((tau[-1] - tau[0]) / (tau.size - 1))
    if step <= 0.0:
        return None
    expected = tau[0] + step * np.arange(tau.size)
    if np.max(np.abs(tau - expected)) > _UNIFORM_RTOL * max(float(tau[-1]), step):
        return None
    return step


def _close_to_ke0(modes: Modes) -> bool:
    if modes.ke0_per_min is None:
        return False
    ke0 = modes.ke0_per_min[:, None]
    return bool(np.any(np.abs(ke0 - modes.rates_per_min) < _CLOSE_RATE_GAP * ke0))


def simulate(
    kinetics: Kinetics,
    regimen: Regimen,
    times_min: npt.ArrayLike,
    *,
    dose_scale: npt.ArrayLike | None = None,
    effect_site: bool = True,
) -> Concentrations:
    """Exact concentrations of every patient in `kinetics` at every time in `times_min`.

    One call evaluates N patients x M times. `dose_scale` (N,) multiplies every dose and rate per
    patient, e.g. the weights when the regimen is given per kg. `effect_site=False` skips the
    effect site (returned as None) when only plasma is wanted. Work is done in cache-sized tiles;
    Python loops run over regimen segments and tiles only, never over patients or times.
    """
    times = parse_times(times_min)
    modes = scaled_modes(kinetics, dose_scale)
    if not effect_site:
        modes = Modes(modes.rates_per_min, modes.plasma_coef, None)
    n_patients = kinetics.n_patients
    plasma = np.zeros((n_patients, times.size))
    effect = None if modes.ke0_per_min is None else np.zeros((n_patients, times.size))
    segments = segments_of(regimen)
    if segments.start_min.size == 0:
        return Concentrations(times, plasma, effect)
    order = np.argsort(times, kind="stable")
    sorted_times = times[order]
    bounds = np.searchsorted(sorted_times, np.append(segments.start_min, np.inf), side="left")
    states = segment_states(modes, segments)
    for k, state in enumerate(states):
        columns = order[bounds[k] : bounds[k + 1]]
        if columns.size:
            tau = sorted_times[bounds[k] : bounds[k + 1]] - segments.start_min[k]
            rate = float(segments.rate_mg_per_min[k])
            _fill(
                plasma, effect=effect, modes=modes, state=state, rate=rate, columns=columns, tau=tau
            )
    return Concentrations(times, plasma, effect)


def _fill(
    plasma: FloatArray,
    *,
    effect: FloatArray | None,
    modes: Modes,
    state: ModeState,
    rate: float,
    columns: npt.NDArray[np.intp],
    tau: FloatArray,
) -> None:
    """Write one segment's concentrations into the output, tile by tile."""
    n_patients = plasma.shape[0]
    contiguous = columns.size == 1 or bool(np.all(np.diff(columns) == 1))
    step = _uniform_step(tau) if contiguous else None
    tile = _TILE_ELEMENTS * 4 if step is not None else _TILE_ELEMENTS // 2
    rows_per_tile = max(1, min(n_patients, tile // max(1, tau.size)))
    cols_per_tile = tau.size if step is not None else max(1, tile // rows_per_tile)
    for r0 in range(0, n_patients, rows_per_tile):
        rows = slice(r0, r0 + rows_per_tile)
        sub_modes = Modes(
            modes.rates_per_min[rows],
            modes.plasma_coef[rows],
            None if modes.ke0_per_min is None else modes.ke0_per_min[rows],
        )
        sub_state = ModeState(
            state.plasma[rows], None if state.effect is None else state.effect[rows]
        )
        sums = None if _close_to_ke0(sub_modes) else exp_sums(sub_modes, sub_state, rate)
        if sums is not None and step is not None:
            cols = slice(int(columns[0]), int(columns[0]) + tau.size)
            sub_effect = None if effect is None else effect[rows, cols]
            _uniform_into(sums, float(tau[0]), step, plasma[rows, cols], sub_effect)
            continue
        for c0 in range(0, tau.size, cols_per_tile):
            part = tau[c0 : c0 + cols_per_tile]
            where: slice | npt.NDArray[np.intp] = columns[c0 : c0 + cols_per_tile]
            if contiguous:
                where = slice(int(columns[c0]), int(columns[c0]) + part.size)
            if sums is None:
                cp, ce, _, _ = segment_response(sub_modes, sub_state, rate, part)
            else:
                cp, ce = evaluate_sums(sums, part)
            plasma[rows, where] = cp
            if effect is not None and ce is not None:
                effect[rows, where] = ce
