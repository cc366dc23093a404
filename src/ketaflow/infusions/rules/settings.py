"""Clinic settings for the infusion session: every threshold in one frozen dataclass.

Each field carries a label and its source in the field metadata so the settings page can show
where the default comes from (ketaflow clinical reference, section 3). Comparisons say in the name
whether they are inclusive (`_min`, `_max`) or strict (`_above`, `_below`). Items the reference
marks as unverified common practice are labelled so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ketaflow.clinical.bp_gate import BpGateSettings
from ketaflow.sourced import SettingInfo, describe, require_whole_numbers, setting

REF3 = "ketaflow clinical reference, section 3"
SPRAVATO_BP = "Spravato >140/90 guide"
COMMON = "common practice (unverified)"
HOUSE = "ketaflow house default (unverified)"


@dataclass(frozen=True)
class InfusionSettings:
    """Thresholds and timings for pre-checks, monitoring and discharge."""

    # Pre-infusion blood-pressure gate: the one the screening baseline uses too.
    bp_gate: BpGateSettings = field(default_factory=BpGateSettings)
    # During the session.
    hold_sbp_min_mmhg: int = setting(
        180, f"{COMMON}, {REF3}: hold when SBP >= 180 on a repeat reading",
        "Hold infusion: SBP at least (on a repeat reading)",
        minimum=140, maximum=220, ref="vital-sign-criteria")
    hold_dbp_min_mmhg: int = setting(
        110, f"{COMMON}, {REF3}: hold when DBP >= 110 on a repeat reading",
        "Hold infusion: DBP at least (on a repeat reading)")
    stop_spo2_below_percent: int = setting(
        92, f"{COMMON}, {REF3}: SpO2 < 92%", "Stop infusion: SpO2 below (%)")
    review_sbp_min_mmhg: int = setting(
        160, HOUSE, "Prescriber review: SBP at least", minimum=140, maximum=200,
        ref="vital-sign-criteria")
    review_dbp_min_mmhg: int = setting(
        100, HOUSE, "Prescriber review: DBP at least")
    review_spo2_below_percent: int = setting(
        95, HOUSE, "Prescriber review: SpO2 below (%)")
    review_hr_below_bpm: int = setting(50, HOUSE, "Prescriber review: heart rate below")
    review_hr_above_bpm: int = setting(120, HOUSE, "Prescriber review: heart rate above")
    review_rr_below_per_min: int = setting(10, HOUSE, "Prescriber review: respiratory rate below")
    review_rr_above_per_min: int = setting(24, HOUSE, "Prescriber review: respiratory rate above")
    # RASS -3 (moderate sedation: eyes open to voice but no eye contact) or deeper.
    review_rass_max: int = setting(-3, HOUSE, "Prescriber review: RASS at most")
    # Monitoring schedule.
    vitals_interval_min: int = setting(
        10, f"Yale and Emory series ({REF3}): BP/HR every 10 min",
        "Vitals during infusion: every (min)")
    forty_min_check_min: int = setting(
        40, f"Spravato 40-min check ({REF3})", "Timed reading at (min after start)")
    forty_min_window_min: int = setting(
        5, HOUSE, "Timed reading counts when within (min either side)")
    observation_interval_min: int = setting(
        15, HOUSE, "Vitals during observation: every (min)")
    observation_min: int = setting(
        60, f"{COMMON}, {REF3}: >= 60 min after end (Spravato: 2 h)",
        "Observation after infusion: at least (min)")
    # Tablet clocks drift; a reading a little ahead of the server is still "now".
    future_tolerance_s: int = setting(
        120, HOUSE, "Reading time may be ahead of the server clock by at most (s)")

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
