"""Clinic settings for the infusion session: every threshold in one frozen dataclass.

Each field carries a label, its source, the bounds an admin may set it within and its entry in
docs/clinical-sources.md (`ref`), so the settings page can show where the default comes from.
Comparisons say in the name whether they are inclusive (`_min`, `_max`) or strict (`_above`,
`_below`). Defaults that are common practice or the clinic's own choice are labelled so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ketaflow.clinical.bp_gate import BpGateSettings
from ketaflow.sourced import SettingInfo, describe, require_whole_numbers, setting

_DOC = "docs/clinical-sources.md#"
# Kept for fields appended later: now a pointer to the entry, not to a missing document.
REF3 = "docs/clinical-sources.md#vital-sign-criteria"
SPRAVATO_BP = "Spravato USPI 5.6 (> 140/90 as a general guide)"
VITALS = "vital-sign-criteria"
SCHEDULE = "monitoring-schedule"
OBSERVATION = "observation"
COMMON = "common practice (unverified)"
HOUSE = "clinic's own choice (ketaflow default)"
_VITALS_DOC = f"{_DOC}{VITALS}"
_SCHEDULE_DOC = f"{_DOC}{SCHEDULE}"
_HOUSE_VITALS = f"{HOUSE}: prescriber review before the hold value; {_VITALS_DOC}"


@dataclass(frozen=True)
class InfusionSettings:
    """Thresholds and timings for pre-checks, monitoring and discharge."""

    # Pre-infusion blood-pressure gate: the one the screening baseline uses too.
    bp_gate: BpGateSettings = field(default_factory=BpGateSettings)
    # During the session.
    hold_sbp_min_mmhg: int = setting(
        180, f"{COMMON}: hold when SBP >= 180 on a repeat reading; {_VITALS_DOC}",
        "Hold infusion: SBP at least (on a repeat reading)", minimum=160, maximum=200, ref=VITALS)
    hold_dbp_min_mmhg: int = setting(
        110, f"{COMMON}: hold when DBP >= 110 on a repeat reading; {_VITALS_DOC}",
        "Hold infusion: DBP at least (on a repeat reading)", minimum=100, maximum=120, ref=VITALS)
    stop_spo2_below_percent: int = setting(
        92, f"{COMMON}: stop when SpO2 < 92%; {_VITALS_DOC}", "Stop infusion: SpO2 below (%)",
        minimum=85, maximum=95, ref=VITALS)
    review_sbp_min_mmhg: int = setting(
        160, _HOUSE_VITALS, "Prescriber review: SBP at least", minimum=140, maximum=180,
        ref=VITALS)
    review_dbp_min_mmhg: int = setting(
        100, _HOUSE_VITALS, "Prescriber review: DBP at least", minimum=90, maximum=110, ref=VITALS)
    review_spo2_below_percent: int = setting(
        95, _HOUSE_VITALS, "Prescriber review: SpO2 below (%)", minimum=90, maximum=98,
        ref=VITALS)
    review_hr_below_bpm: int = setting(50, _HOUSE_VITALS, "Prescriber review: heart rate below",
                                       minimum=40, maximum=60, ref=VITALS)
    review_hr_above_bpm: int = setting(120, _HOUSE_VITALS, "Prescriber review: heart rate above",
                                       minimum=100, maximum=150, ref=VITALS)
    review_rr_below_per_min: int = setting(
        10, _HOUSE_VITALS, "Prescriber review: respiratory rate below", minimum=8, maximum=12,
        ref=VITALS)
    review_rr_above_per_min: int = setting(
        24, _HOUSE_VITALS, "Prescriber review: respiratory rate above", minimum=20, maximum=30,
        ref=VITALS)
    # RASS -3 (moderate sedation: eyes open to voice but no eye contact) or deeper.
    review_rass_max: int = setting(
        -3, f"{HOUSE}; RASS levels per Sessler et al. 2002; {_VITALS_DOC}",
        "Prescriber review: RASS at most", minimum=-4, maximum=-1, ref=VITALS)
    # Monitoring schedule.
    vitals_interval_min: int = setting(
        10, f"Yale series (Gen Hosp Psychiatry 2024) and Riva-Posse et al. 2018: BP/HR every "
        f"10 min; {_SCHEDULE_DOC}", "Vitals during infusion: every (min)",
        minimum=5, maximum=15, ref=SCHEDULE)
    forty_min_check_min: int = setting(
        40, f"Spravato USPI 5.6 check at about 40 min; BP peak at 40 min (Yale 2024); "
        f"{_SCHEDULE_DOC}", "Timed reading at (min after start)",
        minimum=30, maximum=60, ref=SCHEDULE)
    forty_min_window_min: int = setting(
        5, f"{HOUSE}; {_SCHEDULE_DOC}", "Timed reading counts when within (min either side)",
        minimum=1, maximum=10, ref=SCHEDULE)
    observation_interval_min: int = setting(
        15, f"Riva-Posse et al. 2018: every 15 min after the infusion; {_SCHEDULE_DOC}",
        "Vitals during observation: every (min)", minimum=5, maximum=30, ref=SCHEDULE)
    observation_min: int = setting(
        60, f"{HOUSE}, unverified: >= 60 min after end and until mental status is at baseline "
        f"(Spravato: 2 h); reasoning in {_DOC}{OBSERVATION}",
        "Observation after infusion: at least (min)", minimum=40, maximum=240, ref=OBSERVATION)
    # Tablet clocks drift; a reading a little ahead of the server is still "now".
    future_tolerance_s: int = setting(
        120, f"{HOUSE} (not clinical); {_SCHEDULE_DOC}",
        "Reading time may be ahead of the server clock by at most (s)",
        minimum=0, maximum=600, ref=SCHEDULE)

    def __post_init__(self) -> None:
        require_whole_numbers(self)
        for name in ("vitals_interval_min", "forty_min_check_min", "observation_interval_min",
                     "observation_min"):
            if getattr(self, name) <= 0:
                raise ValueError(f"setting {name} must be positive")

    def describe(self) -> tuple[SettingInfo, ...]:
        """The blood-pressure gate first, then the session's own settings."""
        return describe(self.bp_gate) + describe(self)


DEFAULT_SETTINGS = InfusionSettings()
