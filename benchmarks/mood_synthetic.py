"""Synthetic daily mood charts for validating the mood-chart warnings and forecast.

`cohort(patients, days, seed)` returns a `Cohort`: a `ketaflow.mood.series.DailySeries` as the
chart would hold it (daily summaries, NaN on days without an entry, medication change days),
plus what the chart cannot see: every episode (patient, kind, onset, end, prodrome start,
whether it followed an infusion), the infusion days and the noise-free latent state. It is
seeded (numpy `default_rng`), so one seed gives one cohort on every machine. Used by
benchmarks/bench_mood.py; tests/mood/test_synthetic.py checks its invariants. Nothing here is a
clinical model: it is a plausible test bed, and each assumption below is ours unless cited.

The series starts once a patient is in maintenance after an induction that worked (the chart
begins between infusions, not in the depression that led to treatment).

1. **Background mood.** Each patient has a latent signed mood (positive = elevated, negative =
   depressed) that is AR(1) around a personal mean: mean ~ N(-0.3, 0.25) (residual depressive
   symptoms dominate the between-episode course of bipolar disorder: Judd et al. 2002, Arch Gen
   Psychiatry 59:530-537), lag-1 autocorrelation ~ U(0.5, 0.85), stationary spread ~ U(0.25,
   0.55) points. Its negative part feeds the depressed pole, its positive part the elevated one.
2. **Episodes.** Depressive (60 %), hypomanic (25 %) and manic (15 %) episodes arrive one after
   another with an exponential gap (mean 180 days) between the end of one episode's recovery and
   the start of the next one's prodrome, so a patient has about 2-3 episodes in 2 years. Each
   has:
   - a **prodrome**: days from the first prodromal change to onset drawn from a gamma
     distribution (shape 2) with mean 20 days for (hypo)mania and 19 days for depression,
     clipped to 2-60 days (Jackson, Cavanagh & Scott 2003, J Affect Disord 74:209-217: mean prodrome
     about 20 days before mania and 19 before depression, with a wide range). The pole's latent
     intensity rises as 2 x (elapsed share)^1.5: subtle at first, accelerating;
   - an **onset** = the first day at syndromal severity: the episode's noise-free intensity on
     its pole reaches 2 (moderate: gets in the way of the day) that day and stays at least 2
     until the **end** day. It then rises to a peak severity over 3 days (depression and mania
     U(2.3, 3.0); hypomania U(2.0, 2.4)). Durations from onset to end: depression U(28, 90)
     days, mania U(14, 56), hypomania U(4, 21) (DSM-5: hypomania at least 4 days);
   - a **recovery** of U(7, 21) days in which the intensity falls linearly from 1.8 to 0;
   - an **irritable** share: 40 % of (hypo)manic episodes are mainly irritable (irritability at
     the episode's intensity, elevation at 60 % of it); the others the reverse. Depressive
     episodes add irritability at 30 % of their intensity.
   Episodes do not overlap (with their prodromes and recoveries). An episode whose onset would
   fall after the last day is not generated; one whose end would, ends on the last day.
3. **Infusions and switches after them.** Maintenance infusions every U{14..35} days per
   patient (jitter +-2 days), the first within the first 3 weeks. After each infusion, with
   probability 1 %, a (hypo)manic episode (70 % hypomanic) has its onset 1-4 days later, the
   prodrome starting the day after the infusion (a short prodrome that no rule can warn of 3
   days ahead when the onset is 1-3 days after), unless the patient is already in or near an
   episode.
4. **Sleep.** Usual sleep ~ N(7.2, 0.6) h per patient (clipped 5.5-9), nightly noise with
   spread U(0.4, 0.9) h, reported to the nearest half hour. In 80 % of (hypo)manic episodes sleep
   falls by U(1.5, 4.0) h (mania) or U(1.0, 2.5) h (hypomania), and it starts falling early in the
   prodrome (as (elapsed share)^0.7, ahead of mood): sleep disturbance is the most common early
   sign of mania (Jackson et al. 2003). In depression, 50 % of episodes sleep more (+U(0.5, 2.0)
   h), 30 % less (-U(0.5, 1.5) h), 20 % unchanged, following the mood ramp. During recovery sleep
   returns with the mood. Sleep is left blank on 8 % of entries; values are clipped to 0-24 h.
5. **Observed scores.** Each day's depressed, elevated and irritable scores are the latent
   intensity plus measurement noise (spread U(0.25, 0.45) per patient, independent per pole and
   day), rounded and clipped to the 0-3 integers of the chart. The day's summary is what the
   chart stores (several entries a day are not simulated: the daily summary rule is tested in
   tests/mood). `elevation` = max(elevated, irritable), as `DaySummary.elevation`. With these
   spreads signed mood changes from one charted day to the next by about 0.8 points (SD) and
   its lag-1 autocorrelation is about 0.76: noisier than the charts of Busk et al. 2020 (JMIR
   mHealth 8(4):e15028; day-ahead RMSE 0.32), which favours smoothing forecasts over
   persistence (with less noise persistence does relatively better: bench_mood's docstring).
6. **Missing days.** Each patient misses days at random at a personal rate ~ Beta(2, 10)
   (mean 17 %), 15 points more often during depressive episodes and the last week of their
   prodromes (people chart less when depressed), and has dropout spells: starting on any day
   with probability 1/90, lasting 1 + geometric (mean 6) days. A missing day is NaN in every
   array of the series.
7. **Medication changes.** Background changes as a Poisson process (one per 120 days on
   average), and after 80 % of episode onsets a change 2-10 days later (the prescriber acts on
   the episode); these are `DailySeries.med_change` (they restart the personal baseline).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

import numpy as np

from ketaflow.mood.series import DailySeries

START = date(2025, 1, 1)
SYNDROMAL = 2.0          # noise-free intensity on the episode's pole from onset to end
RECOVERY_FROM = 1.8      # intensity on the first day of recovery (below syndromal)
GAP_MEAN_DAYS = 180.0
KINDS = ("depressive", "hypomanic", "manic")
KIND_SHARES = (0.60, 0.25, 0.15)
PRODROME_MEAN_DAYS = {"depressive": 19.0, "hypomanic": 20.0, "manic": 20.0}
PRODROME_SHAPE = 2.0
PRODROME_DAYS = (2, 60)
DURATION_DAYS = {"depressive": (28, 90), "hypomanic": (4, 21), "manic": (14, 56)}
PEAK = {"depressive": (2.3, 3.0), "hypomanic": (2.0, 2.4), "manic": (2.3, 3.0)}
RECOVERY_DAYS = (7, 21)
SWITCH_AFTER_INFUSION = 0.01
MED_CHANGE_EVERY_DAYS = 120.0
SLEEP_MISSING = 0.08
OBSERVATION_NOISE = (0.25, 0.45)   # spread of measurement noise per pole, per patient
BACKGROUND_SPREAD = (0.25, 0.55)   # stationary spread of the latent AR(1), per patient


class EpisodeKind(StrEnum):
    DEPRESSIVE = "depressive"
    HYPOMANIC = "hypomanic"
    MANIC = "manic"

    @property
    def elevated(self) -> bool:
        return self is not EpisodeKind.DEPRESSIVE


@dataclass(frozen=True)
class Episode:
    """One episode by day index: `onset` is the first day at syndromal severity, `end` the
    last; the prodrome runs from `prodrome_start` to the day before onset."""

    patient: int
    kind: EpisodeKind
    prodrome_start: int
    onset: int
    end: int
    recovery_end: int      # last day of recovery (may be past the series)
    after_infusion: bool


@dataclass(frozen=True)
class Cohort:
    series: DailySeries
    irritable: np.ndarray       # (P, T) observed irritability 0-3, NaN on missing days
    infusion: np.ndarray        # (P, T) bool, an infusion that day
    latent_depressed: np.ndarray   # (P, T) noise-free intensity of the depressed pole
    latent_elevation: np.ndarray   # (P, T) noise-free max(elevated, irritable) intensity
    episodes: tuple[Episode, ...]

    @property
    def patients(self) -> int:
        return int(self.series.depressed.shape[0])

    @property
    def latent_mood(self) -> np.ndarray:
        """Noise-free signed mood, elevation minus depression."""
        mood: np.ndarray = self.latent_elevation - self.latent_depressed
        return mood


@dataclass
class _Plan:
    kind: EpisodeKind
    prodrome_start: int
    onset: int
    end: int
    recovery_end: int
    after_infusion: bool
    peak: float
    irritable_led: bool
    sleep_shift_h: float


def _plan_episode(rng: np.random.Generator, kind: EpisodeKind, prodrome_start: int,
                  prodrome_days: int, days: int, after_infusion: bool) -> _Plan:
    onset = prodrome_start + prodrome_days
    low, high = DURATION_DAYS[kind.value]
    end = min(onset + int(rng.integers(low, high + 1)) - 1, days - 1)
    recovery_end = end + int(rng.integers(RECOVERY_DAYS[0], RECOVERY_DAYS[1] + 1))
    peak = float(rng.uniform(*PEAK[kind.value]))
    if kind is EpisodeKind.DEPRESSIVE:
        u = rng.random()
        shift = (float(rng.uniform(0.5, 2.0)) if u < 0.5
                 else -float(rng.uniform(0.5, 1.5)) if u < 0.8 else 0.0)
    elif rng.random() < 0.8:
        shift = -float(rng.uniform(1.5, 4.0) if kind is EpisodeKind.MANIC
                       else rng.uniform(1.0, 2.5))
    else:
        shift = 0.0
    return _Plan(kind, prodrome_start, onset, end, recovery_end, after_infusion, peak,
                 bool(rng.random() < 0.4), shift)


def _schedule(rng: np.random.Generator, days: int, infusions: np.ndarray) -> list[_Plan]:
    """One patient's episodes: spontaneous ones in sequence, then switches after infusions
    where the patient is well."""
    plans: list[_Plan] = []
    t = int(rng.exponential(GAP_MEAN_DAYS / 2))
    while True:
        kind = EpisodeKind(KINDS[int(rng.choice(3, p=KIND_SHARES))])
        drawn = rng.gamma(PRODROME_SHAPE, PRODROME_MEAN_DAYS[kind.value] / PRODROME_SHAPE)
        prodrome = int(np.clip(round(drawn), *PRODROME_DAYS))
        if t + prodrome >= days:
            break
        plan = _plan_episode(rng, kind, t, prodrome, days, after_infusion=False)
        plans.append(plan)
        t = plan.recovery_end + 1 + int(rng.exponential(GAP_MEAN_DAYS))
    for day in np.flatnonzero(infusions):
        if rng.random() >= SWITCH_AFTER_INFUSION:
            continue
        onset = int(day) + int(rng.integers(1, 5))
        plan = _plan_episode(rng, EpisodeKind.HYPOMANIC if rng.random() < 0.7
                             else EpisodeKind.MANIC, int(day) + 1, onset - int(day) - 1,
                             days, after_infusion=True)
        busy = any(p.prodrome_start - 14 <= plan.recovery_end and
                   plan.prodrome_start <= p.recovery_end + 14 for p in plans)
        if onset < days and not busy:
            plans.append(plan)
    return sorted(plans, key=lambda p: p.onset)


def _intensity(plan: _Plan, days: int) -> tuple[slice, np.ndarray, np.ndarray]:
    """Noise-free intensity on the episode's pole and the sleep shift, from the prodrome's
    start to the end of recovery (clipped to the series)."""
    stop = min(plan.recovery_end + 1, days)
    t = np.arange(plan.prodrome_start, stop)
    share = np.clip((t - plan.prodrome_start + 1) / (plan.onset - plan.prodrome_start + 1),
                    0.0, 1.0)
    rising = SYNDROMAL * share ** 1.5
    in_episode = np.minimum(plan.peak, SYNDROMAL + (plan.peak - SYNDROMAL)
                            * (t - plan.onset + 1) / 3)
    recovery_days = plan.recovery_end - plan.end
    recovering = RECOVERY_FROM * (1 - (t - plan.end - 1) / recovery_days)
    value = np.where(t < plan.onset, rising, np.where(t <= plan.end, in_episode, recovering))
    sleep_share = np.where(t < plan.onset,
                           share ** (0.7 if plan.kind.elevated else 1.5),
                           np.where(t <= plan.end, 1.0, recovering / RECOVERY_FROM))
    return slice(plan.prodrome_start, stop), value, plan.sleep_shift_h * sleep_share


def _infusion_days(rng: np.random.Generator, patients: int, days: int) -> np.ndarray:
    infusion = np.zeros((patients, days), dtype=bool)
    every = rng.integers(14, 36, patients)
    for p in range(patients):
        t = int(rng.integers(0, 21))
        while t < days:
            infusion[p, t] = True
            t += int(every[p]) + int(rng.integers(-2, 3))
    return infusion


def _background(rng: np.random.Generator, patients: int, days: int) -> np.ndarray:
    """Latent signed mood without episodes: AR(1) around each patient's mean."""
    mean = rng.normal(-0.3, 0.25, patients)
    phi = rng.uniform(0.5, 0.85, patients)
    spread = rng.uniform(*BACKGROUND_SPREAD, patients)
    shock = spread * np.sqrt(1 - phi ** 2)
    x = np.empty((patients, days))
    x[:, 0] = mean + spread * rng.standard_normal(patients)
    for t in range(1, days):
        x[:, t] = mean + phi * (x[:, t - 1] - mean) + shock * rng.standard_normal(patients)
    return x


def _missing(rng: np.random.Generator, patients: int, days: int,
             depressed_episode: np.ndarray) -> np.ndarray:
    rate = rng.beta(2.0, 10.0, patients)[:, None] + 0.15 * depressed_episode
    missing = rng.random((patients, days)) < rate
    starts = rng.random((patients, days)) < 1 / 90
    for p, t in zip(*np.nonzero(starts), strict=True):
        missing[p, t:t + 1 + int(rng.geometric(1 / 6))] = True
    return missing


def _observe(rng: np.random.Generator, latent: np.ndarray, noise: np.ndarray) -> np.ndarray:
    observed: np.ndarray = np.clip(np.rint(latent + noise[:, None] * rng.standard_normal(
        latent.shape)), 0, 3)
    return observed


def cohort(patients: int, days: int, seed: int = 0) -> Cohort:
    """`patients` synthetic charts of `days` days each, reproducible from `seed`."""
    if patients < 1 or days < 1:
        raise ValueError("patients and days must be at least 1")
    rng = np.random.default_rng(seed)
    infusion = _infusion_days(rng, patients, days)
    background = _background(rng, patients, days)
    dep = np.maximum(0.0, -background)
    elev = np.maximum(0.0, background)
    irr = np.zeros((patients, days))
    sleep_shift = np.zeros((patients, days))
    depressed_episode = np.zeros((patients, days))
    med_change = rng.random((patients, days)) < 1 / MED_CHANGE_EVERY_DAYS
    episodes: list[Episode] = []
    for p in range(patients):
        for plan in _schedule(rng, days, infusion[p]):
            span, value, shift = _intensity(plan, days)
            if plan.kind.elevated:
                elev[p, span] += value * (0.6 if plan.irritable_led else 1.0)
                irr[p, span] += value * (1.0 if plan.irritable_led else 0.6)
            else:
                dep[p, span] += value
                irr[p, span] += 0.3 * value
                late = max(plan.prodrome_start, plan.onset - 7)
                depressed_episode[p, late:plan.end + 1] = 1.0
            sleep_shift[p, span] += shift
            change = plan.onset + int(rng.integers(2, 11))
            if rng.random() < 0.8 and change < days:
                med_change[p, change] = True
            episodes.append(Episode(p, plan.kind, plan.prodrome_start, plan.onset, plan.end,
                                    plan.recovery_end, plan.after_infusion))
    noise = rng.uniform(*OBSERVATION_NOISE, patients)
    depressed = _observe(rng, dep, noise)
    elevated = _observe(rng, elev, noise)
    irritable = _observe(rng, irr, noise)
    usual = np.clip(rng.normal(7.2, 0.6, patients), 5.5, 9.0)
    night = rng.uniform(0.4, 0.9, patients)
    sleep = usual[:, None] + sleep_shift + night[:, None] * rng.standard_normal(
        (patients, days))
    sleep = np.clip(np.rint(sleep * 2) / 2, 0.0, 24.0)
    sleep[rng.random((patients, days)) < SLEEP_MISSING] = np.nan
    missing = _missing(rng, patients, days, depressed_episode)
    for array in (depressed, elevated, irritable, sleep):
        array[missing] = np.nan
    series = DailySeries(START, depressed=depressed, elevation=np.fmax(elevated, irritable),
                         elevated=elevated, sleep_h=sleep, med_change=med_change)
    return Cohort(series, irritable, infusion, dep, np.maximum(elev, irr), tuple(episodes))
