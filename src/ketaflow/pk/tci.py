"""Target-controlled infusion: the pump rate per interval that reaches and holds a target.

Plasma targeting (after Shafer & Gregg, J Pharmacokinet Biopharm 1992;20:147): for each interval
of length D choose R so that free decay plus R times the unit-infusion response equals the target
at the interval's end, clamped to [0, maximum pump rate].

Effect-site targeting: give the load whose effect-site *peak* equals the target (a bolus, or an
infusion at the maximum rate for the duration found by bisection), wait for that peak, where
Cp = Ce = target, then hold the plasma at the target, which holds the effect site there too.
When the target falls, the pump stops until the effect site has come down to it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ketaflow.pk.analysis import Site, exp_sum_roots
from ketaflow.pk.errors import PKInputError
from ketaflow.pk.kinetics import FloatArray, Kinetics, Modes, modes_of
from ketaflow.pk.regimen import Bolus, Infusion, Regimen
from ketaflow.pk.solver import (
    Concentrations,
    ModeState,
    exp_sums,
    nudged_ke0,
    segment_response,
    simulate,
)

_BISECTIONS = 60


@dataclass(frozen=True)
class TargetStep:
    """From `start_min` on, aim for `target_ng_per_ml` (until the next step)."""

    start_min: float
    target_ng_per_ml: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.start_min) and self.start_min >= 0.0):
            raise PKInputError("start_min", "must be at least 0 min", self.start_min)
        if not (math.isfinite(self.target_ng_per_ml) and 0.0 <= self.target_ng_per_ml <= 10_000.0):
            raise PKInputError(
                "target_ng_per_ml", "must be between 0 and 10000 ng/mL", self.target_ng_per_ml
            )


@dataclass(frozen=True)
class TCIResult:
    """The pump schedule (intervals with their rates, mg base/min) and the predicted curve."""

    site: Site
    interval_start_min: FloatArray
    interval_duration_min: FloatArray
    rate_mg_per_min: FloatArray
    boluses: tuple[Bolus, ...]  # only for effect-site targeting without a maximum rate
    regimen: Regimen
    prediction: Concentrations


class _Pump:
    """State of one patient while the schedule is built, advanced exactly interval by interval."""

    def __init__(self, modes: Modes) -> None:
        self.modes = modes
        n = modes.rates_per_min.shape[1]
        self.state = ModeState(
            np.zeros((1, n)), None if modes.ke0_per_min is None else np.zeros((1, n))
        )
        self.time_min = 0.0
        self.intervals: list[tuple[float, float, float]] = []

    def run(self, duration_min: float, rate: float) -> None:
        if duration_min <= 0.0:
            return
        _, _, plasma, effect = segment_response(
            self.modes, self.state, rate, np.full((1, 1), duration_min)
        )
        self.state = ModeState(plasma, effect)
        self.intervals.append((self.time_min, duration_min, rate))
        self.time_min += duration_min

    def bolus(self, dose_mg: float) -> None:
        self.state = ModeState(
            self.state.plasma + dose_mg * self.modes.plasma_coef, self.state.effect
        )

    def plasma_rate(self, target: float, duration_min: float, max_rate: float) -> float:
        """The rate that brings Cp to `target` at the end of the next interval."""
        decay = np.exp(-self.modes.rates_per_min[0] * duration_min)
        free = float(np.sum(self.state.plasma[0] * decay))
        unit = float(
            np.sum(self.modes.plasma_coef[0] / self.modes.rates_per_min[0] * (1.0 - decay))
        )
        return min(max((target - free) / unit, 0.0), max_rate)

    def hold_plasma(
        self, target: float, *, until_min: float, interval_min: float, max_rate: float
    ) -> None:
        while self.time_min < until_min - 1e-12:
            step = min(interval_min, until_min - self.time_min)
            self.run(step, self.plasma_rate(target, step, max_rate))

    def effect_now(self) -> float:
        return 0.0 if self.state.effect is None else float(self.state.effect.sum())


def _free_effect_sums(modes: Modes, state: ModeState) -> tuple[FloatArray, FloatArray]:
    sums = exp_sums(nudged_ke0(modes), state, 0.0)
    assert sums.effect is not None  # effect-site targeting requires ke0
    return sums.effect, sums.rates


def _effect_peak(modes: Modes, state: ModeState) -> tuple[float, float]:
    """(time from now, value) of the highest effect-site concentration of free decay."""
    coef, rates = _free_effect_sums(modes, state)
    horizon = np.array([60.0 / float(np.min(rates[0, 1:]))])
    critical = exp_sum_roots(-coef * rates, rates, np.zeros(1), horizon)[0]
    candidates = np.concatenate([[0.0], critical[np.isfinite(critical)]])
    values = (coef[0][None, :] * np.exp(-rates[0][None, :] * candidates[:, None])).sum(axis=1)
    best = int(np.argmax(values))
    return float(candidates[best]), float(values[best])


def _effect_crossing(modes: Modes, state: ModeState, target: float) -> float:
    """First time from now at which free-decay Ce comes down to `target`."""
    coef, rates = _free_effect_sums(modes, state)
    shifted = coef.copy()
    shifted[:, 0] -= target
    horizon = np.array([60.0 / float(np.min(rates[0, 1:]))])
    roots = exp_sum_roots(shifted, rates, np.zeros(1), horizon)[0]
    roots = roots[np.isfinite(roots)]
    return float(roots.min()) if roots.size else 0.0


def _load(pump: _Pump, target: float, max_rate: float) -> Bolus | None:
    """Give the load whose effect-site peak equals the target, then wait for that peak."""
    modes, start = pump.modes, pump.state

    def peak_after(amount: float) -> tuple[float, float, ModeState]:
        if math.isinf(max_rate):
            state = ModeState(start.plasma + amount * modes.plasma_coef, start.effect)
        else:
            _, _, plasma, effect = segment_response(
                modes, start, max_rate, np.full((1, 1), amount / max_rate)
            )
            state = ModeState(plasma, effect)
        when, value = _effect_peak(modes, state)
        return when, value, state

    low, high = 0.0, 1.0
    while peak_after(high)[1] < target:
        low, high = high, 2.0 * high
    for _ in range(_BISECTIONS):  # the peak grows monotonically with the load
        middle = 0.5 * (low + high)
        low, high = (middle, high) if peak_after(middle)[1] < target else (low, middle)
    amount = 0.5 * (low + high)
    wait = peak_after(amount)[0]
    given: Bolus | None = None
    if math.isinf(max_rate):
        given = Bolus(pump.time_min, amount)
        pump.bolus(amount)
    else:
        pump.run(amount / max_rate, max_rate)
    pump.run(wait, 0.0)
    return given


def target_controlled_infusion(
    kinetics: Kinetics,
    targets: Sequence[TargetStep],
    *,
    site: Site = Site.PLASMA,
    duration_min: float,
    interval_min: float = 10.0 / 60.0,
    max_rate_mg_per_min: float | None = None,
    times_min: FloatArray | None = None,
) -> TCIResult:
    """Rate schedule and predicted curve for one patient (`kinetics` with N = 1).

    `times_min` defaults to every second of the run. Effect-site targeting needs a model with ke0.
    """
    if kinetics.n_patients != 1:
        raise PKInputError(
            "kinetics", "must describe exactly one patient for TCI", kinetics.n_patients
        )
    if not targets:
        raise PKInputError("targets", "must contain at least one target step")
    if not (math.isfinite(duration_min) and 0.0 < duration_min <= 1440.0):
        raise PKInputError("duration_min", "must be between 0 and 1440 min", duration_min)
    if not (math.isfinite(interval_min) and 0.0 < interval_min <= 10.0):
        raise PKInputError("interval_min", "must be between 0 and 10 min", interval_min)
    if max_rate_mg_per_min is not None and not max_rate_mg_per_min > 0.0:
        raise PKInputError(
            "max_rate_mg_per_min", "must be greater than 0 mg/min", max_rate_mg_per_min
        )
    if site is Site.EFFECT and kinetics.ke0_per_min is None:
        raise PKInputError("site", "effect-site targeting needs a model with ke0")
    modes = modes_of(kinetics)
    pump = _Pump(modes)
    max_rate = math.inf if max_rate_mg_per_min is None else max_rate_mg_per_min
    steps = sorted(targets, key=lambda s: s.start_min)
    boluses: list[Bolus] = []
    for index, step in enumerate(steps):
        until = steps[index + 1].start_min if index + 1 < len(steps) else duration_min
        until = min(until, duration_min)
        pump.run(step.start_min - pump.time_min, 0.0)
        if site is Site.EFFECT and step.target_ng_per_ml > 0.0:
            ce = pump.effect_now()
            if ce < step.target_ng_per_ml * (1.0 - 1e-9):
                loaded = _load(pump, step.target_ng_per_ml, max_rate)
                boluses.extend([] if loaded is None else [loaded])
            elif ce > step.target_ng_per_ml * (1.0 + 1e-9):
                pump.run(_effect_crossing(modes, pump.state, step.target_ng_per_ml), 0.0)
        pump.hold_plasma(
            step.target_ng_per_ml, until_min=until, interval_min=interval_min, max_rate=max_rate
        )
    pump.run(duration_min - pump.time_min, 0.0)
    return _result(
        kinetics,
        pump=pump,
        site=site,
        boluses=tuple(boluses),
        duration_min=duration_min,
        times_min=times_min,
    )


def _result(
    kinetics: Kinetics,
    *,
    pump: _Pump,
    site: Site,
    boluses: tuple[Bolus, ...],
    duration_min: float,
    times_min: FloatArray | None,
) -> TCIResult:
    schedule = np.array(pump.intervals, dtype=np.float64).reshape(-1, 3)
    starts, durations, rates = schedule[:, 0], schedule[:, 1], schedule[:, 2]
    infusions = tuple(Infusion(s, d, r) for s, d, r in pump.intervals if r > 0.0)
    regimen = Regimen(boluses=boluses, infusions=infusions)
    times = np.arange(0.0, duration_min + 1e-9, 1.0 / 60.0) if times_min is None else times_min
    return TCIResult(
        site=site,
        interval_start_min=starts,
        interval_duration_min=durations,
        rate_mg_per_min=rates,
        boluses=boluses,
        regimen=regimen,
        prediction=simulate(kinetics, regimen, times),
    )
