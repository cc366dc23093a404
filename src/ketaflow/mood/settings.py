"""Clinic settings for the between-visit signals (defaults, bounds and sources:
docs/clinical-sources.md#mood-chart-signals). None of these has a validated standard: they are
the clinic's choices, labelled so, tested against synthetic series in benchmarks/bench_mood.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from ketaflow.sourced import setting

_REF = "mood-chart-signals"
_CHOICE = "clinic's choice, no validated standard; docs/clinical-sources.md#mood-chart-signals"


@dataclass(frozen=True)
class MoodSettings:
    disengagement_days: int = setting(
        3, f"no entry for 3 days (daily charting; {_CHOICE})",
        "Disengagement: days without an entry", minimum=2, maximum=14, ref=_REF)
    baseline_halflife_days: int = setting(
        14, f"exponentially weighted baseline, half-life 14 days (EWMA, Roberts 1959; {_CHOICE})",
        "Personal baseline: half-life (days)", minimum=7, maximum=60, ref=_REF)
    baseline_min_days: int = setting(
        10, f"a personal baseline needs 10 euthymic days since the last medication change "
        f"({_CHOICE})", "Personal baseline: euthymic days needed", minimum=5, maximum=30,
        ref=_REF)
    population_pole_min: int = setting(
        2, f"without a personal baseline, a pole counts at 2 (moderate) or more ({_CHOICE})",
        "Population cut-off: pole score at least", minimum=1, maximum=3, ref=_REF)
    population_sleep_h: float = setting(
        7.0, "usual sleep without a personal baseline: 7 h (adult recommendation, Watson et al. "
        f"2015; {_CHOICE})", "Population usual sleep (h)", minimum=5.0, maximum=9.0, ref=_REF)
    rise_points: int = setting(
        1, f"a pole counts when at least 1 point and 2 spreads above the patient's usual "
        f"({_CHOICE})", "Personal baseline: rise in points", minimum=1, maximum=2, ref=_REF)
    sleep_drop_h: float = setting(
        2.0, "short night = at least 2 h below usual sleep (sleep loss precedes mania: Bauer et "
        f"al. 2006; {_CHOICE})", "Switch: short night, hours below usual", minimum=1.0,
        maximum=4.0, ref=_REF)
    short_nights: int = setting(
        2, f"switch = elevation with 2 short nights in the last 3 ({_CHOICE})",
        "Switch: short nights in the last 3", minimum=1, maximum=3, ref=_REF)
    elevated_days: int = setting(
        2, "switch = 2 consecutive elevated days (as the possible-switch rule of "
        f"docs/clinical-sources.md#longitudinal-rules; {_CHOICE})",
        "Switch: consecutive elevated days",
        minimum=1, maximum=5, ref=_REF)
    depressed_days: int = setting(
        3, f"relapse = depressed mood above usual on 3 of the last 4 days ({_CHOICE})",
        "Relapse: depressed days in the last (n + 1)", minimum=2, maximum=7, ref=_REF)
    refractory_days: int = setting(
        7, f"one warning per episode: the same kind is not raised again within 7 days "
        f"({_CHOICE})", "Same warning not repeated within (days)", minimum=1, maximum=28,
        ref=_REF)


DEFAULT_MOOD_SETTINGS = MoodSettings()
