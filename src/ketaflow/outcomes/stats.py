"""Pure statistics for the outcomes dashboard: rates, Kaplan-Meier, spreads, small cells.

Inputs are plain numbers the service has already counted in the database (one row per course
for the survival curve); nothing here touches a session or a request. NumPy and statsmodels
only.

Kaplan-Meier: `statsmodels.duration.survfunc.SurvfuncRight` gives the product-limit estimate and
Greenwood's standard error; the 95% band is the log(-log) ("exponential Greenwood") interval,
which stays inside 0..1 (Kalbfleisch and Prentice; the default of lifelines and of R's
survival::survfit with conf.type="log-log"). Tested against Klein and Moeschberger's table of
the Freireich 1963 6-MP data (tests/outcomes/test_stats.py).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from statsmodels.duration.survfunc import SurvfuncRight

Z_95 = 1.959963984540054  # the standard normal's 97.5th percentile


@dataclass(frozen=True)
class Rate:
    """`numerator` of `denominator`; no value (not zero) when nothing was counted."""

    numerator: int
    denominator: int

    def __post_init__(self) -> None:
        if not 0 <= self.numerator <= self.denominator:
            raise ValueError("a rate needs 0 <= numerator <= denominator")

    @property
    def value(self) -> float | None:
        return None if self.denominator == 0 else self.numerator / self.denominator

    @property
    def percent(self) -> float | None:
        value = self.value
        return None if value is None else 100 * value

    def wilson_95(self) -> tuple[float, float] | None:
        """The Wilson score interval (Wilson 1927), sensible at 0% and 100% and small n."""
        n = self.denominator
        if n == 0:
            return None
        p = self.numerator / n
        z2 = Z_95 * Z_95
        centre = (p + z2 / (2 * n)) / (1 + z2 / n)
        half = Z_95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
        return max(0.0, centre - half), min(1.0, centre + half)


def per_100(count: int, infusions: int) -> float | None:
    """Events per 100 infusions; none without infusions (never a division by zero)."""
    return None if infusions == 0 else 100 * count / infusions


@dataclass(frozen=True)
class Spread:
    """Median and interquartile range of a sample (linear interpolation, NumPy's default)."""

    n: int
    median: float
    q1: float
    q3: float


def spread(values: Sequence[float] | np.ndarray) -> Spread | None:
    sample = np.asarray(values, dtype=float)
    if sample.size == 0:
        return None
    q1, median, q3 = np.percentile(sample, [25, 50, 75])
    return Spread(int(sample.size), float(median), float(q1), float(q3))


@dataclass(frozen=True)
class SurvivalCurve:
    """A Kaplan-Meier estimate at each distinct event time, with its 95% band.

    `survival` is the probability of no event yet (here: not yet responded); the dashboard draws
    1 - survival, the cumulative proportion responded."""

    n: int
    events: int
    times: tuple[float, ...]
    survival: tuple[float, ...]
    std_error: tuple[float, ...]  # Greenwood
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    at_risk: tuple[int, ...]
    event_counts: tuple[int, ...]
    follow_up: float  # the longest time observed (event or censored): where the curve ends

    @property
    def censored(self) -> int:
        return self.n - self.events

    @property
    def median(self) -> float | None:
        """The first time the estimate reaches 0.5 or below; none if it never does."""
        return next((t for t, s in zip(self.times, self.survival, strict=True) if s <= 0.5),
                    None)


def kaplan_meier(times: Sequence[float] | np.ndarray, events: Sequence[bool] | np.ndarray
                 ) -> SurvivalCurve | None:
    """The product-limit estimate from one (time, event) pair per subject; none for no
    subjects. An event and a censoring at the same time: the censored subject counts as at
    risk at that time (the usual convention)."""
    time = np.asarray(times, dtype=float)
    status = np.asarray(events, dtype=bool)
    if time.shape != status.shape:
        raise ValueError("times and events must have the same length")
    if time.size == 0:
        return None
    if np.any(time < 0) or not np.all(np.isfinite(time)):
        raise ValueError("times must be finite and not negative")
    if not status.any():
        return SurvivalCurve(int(time.size), 0, (), (), (), (), (), (), (), float(time.max()))
    fit = SurvfuncRight(time, status.astype(int))
    survival = np.asarray(fit.surv_prob, dtype=float)
    std_error = np.asarray(fit.surv_prob_se, dtype=float)
    lower, upper = _log_log_band(survival, std_error)
    return SurvivalCurve(
        n=int(time.size), events=int(status.sum()),
        times=tuple(float(t) for t in fit.surv_times),
        survival=tuple(float(s) for s in survival),
        std_error=tuple(float(s) for s in std_error),
        lower=tuple(float(v) for v in lower), upper=tuple(float(v) for v in upper),
        at_risk=tuple(int(v) for v in fit.n_risk), event_counts=tuple(int(v) for v in fit.n_events),
        follow_up=float(time.max()))


def _log_log_band(survival: np.ndarray, std_error: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """S ** exp(+-z * se(log(-log S))); where S is 0 or 1 the band collapses onto S."""
    lower = survival.copy()
    upper = survival.copy()
    inside = (survival > 0) & (survival < 1)
    s = survival[inside]
    spread_log_log = Z_95 * std_error[inside] / (s * np.abs(np.log(s)))
    lower[inside] = s ** np.exp(spread_log_log)
    upper[inside] = s ** np.exp(-spread_log_log)
    return lower, upper


# ------------------------------------------------------------------ small cells


@dataclass(frozen=True)
class Partition:
    """A total and the parts that add up to it. Parts not shown on the page (non-responders,
    those who left between two funnel steps) are listed too: a shown total minus shown parts
    would reveal them."""

    total: str
    parts: tuple[str, ...]


def suppressed_cells(counts: Mapping[str, int], partitions: Iterable[Partition], *,
                     minimum: int) -> frozenset[str]:
    """The cells to hide: every count from 1 to minimum - 1 (primary), then, in any partition
    where a single cell is hidden, the smallest other part or the total as well (secondary),
    until no hidden cell can be worked out by subtraction. Zero is shown: it identifies no
    one and is needed to read "none"."""
    hidden = {name for name, n in counts.items() if 0 < n < minimum}
    groups = [(p.total, *p.parts) for p in partitions]
    changed = True
    while changed:
        changed = False
        for group in groups:
            members = [name for name in group if name in counts]
            concealed = [name for name in members if name in hidden]
            if len(concealed) != 1:
                continue
            open_cells = sorted((counts[name], name) for name in members if name not in hidden)
            nonzero = [name for n, name in open_cells if n > 0] or [n for _, n in open_cells]
            if nonzero:
                hidden.add(nonzero[0])
                changed = True
    return frozenset(hidden)
