"""Clinic settings for the between-visit signals (defaults, bounds and sources:
docs/clinical-sources.md#mood-chart-signals). None of these has a validated standard: they are
the clinic's choices, labelled so, tested against synthetic series in benchmarks/bench_mood.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from ketaflow.sourced import setting

_REF = "mood-chart-signals"
_CHOICE = "clinic's choice, no validated standard; docs/clinical-sources.md#mood-chart-signals"
_TAPER = ("suggestion, no standard (CANMAT 2021: level 3 evidence); "
          "docs/clinical-sources.md#maintenance-plan")
_PLAN_REF = "maintenance-plan"


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
    recent_days: int = setting(
        5, f"a pole's recent level = the mean of its entries over the last 5 days ({_CHOICE})",
        "Recent level: days averaged", minimum=3, maximum=14, ref=_REF)
    recent_min_entries: int = setting(
        3, f"a recent level needs entries on 3 of those days ({_CHOICE})",
        "Recent level: entries needed", minimum=2, maximum=7, ref=_REF)
    rise_points: float = setting(
        0.4, "warn when the recent level is at least 0.4 point above the patient's usual "
        f"(tuned on synthetic series, benchmarks/bench_mood.py; {_CHOICE})",
        "Personal baseline: rise in points", minimum=0.2, maximum=2.0, ref=_REF)
    population_recent_min: float = setting(
        1.5, "without a personal baseline, a switch warns at a recent level of 1.5 (between "
        f"mild and moderate; {_CHOICE})", "Population cut-off: recent level at least", minimum=1.0,
        maximum=3.0, ref=_REF)
    population_sleep_h: float = setting(
        7.0, "usual sleep without a personal baseline: 7 h (adult recommendation, Watson et al. "
        f"2015; {_CHOICE})", "Population usual sleep (h)", minimum=5.0, maximum=9.0, ref=_REF)
    sleep_drop_h: float = setting(
        2.0, "short night = at least 2 h below usual sleep (sleep loss precedes mania: Bauer et "
        f"al. 2006; {_CHOICE})", "Switch: short night, hours below usual", minimum=1.0,
        maximum=4.0, ref=_REF)
    short_nights: int = setting(
        2, f"switch also = a raised upper pole with 2 short nights in the last 3, however few "
        f"entries ({_CHOICE})",
        "Switch: short nights in the last 3", minimum=1, maximum=3, ref=_REF)
    refractory_days: int = setting(
        7, f"one warning per episode: the same kind is not raised again within 7 days "
        f"({_CHOICE})", "Same warning not repeated within (days)", minimum=1, maximum=28,
        ref=_REF)

    alert_lookback_days: int = setting(
        7, f"a warning becomes an alert to acknowledge when it started within the last 7 days; "
        f"older ones stay on the chart as history ({_CHOICE})",
        "Alerts: warnings raised from the last (days)", minimum=1, maximum=28, ref=_REF)
    forecast_low_mood: float = setting(
        -1.5, "a 7-day forecast of mood (elevated minus depressed) at or below -1.5 moves the "
        f"next maintenance booster earlier ({_CHOICE})",
        "Maintenance: forecast mood at or below", minimum=-3.0, maximum=0.0, ref=_PLAN_REF)
    booster_earlier_within_days: int = setting(
        3, "a relapse signal or a low forecast suggests the next booster within 3 days "
        f"({_CHOICE})", "Maintenance: earlier booster within (days)", minimum=1, maximum=14,
        ref=_PLAN_REF)
    taper_weekly_count: int = setting(
        4, f"maintenance taper: weekly boosters x4 ({_TAPER})",
        "Maintenance taper: weekly boosters (suggestion, no standard)", minimum=0, maximum=12,
        ref=_PLAN_REF)
    taper_fortnightly_count: int = setting(
        2, f"then every 2 weeks x2 ({_TAPER})",
        "Maintenance taper: every-2-weeks boosters (suggestion, no standard)", minimum=0,
        maximum=12, ref=_PLAN_REF)
    taper_extended_interval_weeks: int = setting(
        4, f"then every 3-4 weeks: 4 ({_TAPER})",
        "Maintenance taper: weeks between later boosters (suggestion, no standard)",
        minimum=3, maximum=6, ref=_PLAN_REF)
    taper_extended_count: int = setting(
        3, f"later boosters x3, then review ({_TAPER})",
        "Maintenance taper: later boosters (suggestion, no standard)", minimum=0, maximum=12,
        ref=_PLAN_REF)


DEFAULT_MOOD_SETTINGS = MoodSettings()
