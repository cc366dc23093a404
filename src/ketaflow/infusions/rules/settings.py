"""Clinic settings for the infusion session: every threshold in one frozen dataclass.

Each field carries a label and its source in the field metadata so the settings page can show
where the default comes from (ketaflow clinical reference, section 3). Comparisons say in the name
whether they are inclusive (`_min`, `_max`) or strict (`_above`, `_below`). Items the reference
marks as unverified common practice are labelled so.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

REF3 = "ketaflow clinical reference, section 3"
SPRAVATO_BP = "Spravato >140/90 guide"
COMMON = "common practice (unverified)"
HOUSE = "ketaflow house default (unverified)"


def _setting(default: int, source: str, label: str) -> Any:
    return field(default=default, metadata={"source": source, "label": label})


@dataclass(frozen=True)
class SettingInfo:
    """One setting as the UI shows it."""

    name: str
    label: str
    value: int
    default: int
    source: str


@dataclass(frozen=True)
class InfusionSettings:
    """Thresholds and timings for pre-checks, monitoring and discharge."""

    # Pre-infusion blood-pressure gate.
    precheck_review_sbp_above_mmhg: int = _setting(
        140, f"{SPRAVATO_BP}; 160/100 common practice ({REF3})",
        "Pre-infusion BP: prescriber review when SBP above")
    precheck_review_dbp_above_mmhg: int = _setting(
        90, f"{SPRAVATO_BP}; 160/100 common practice ({REF3})",
        "Pre-infusion BP: prescriber review when DBP above")
    precheck_defer_sbp_min_mmhg: int = _setting(
        160, f"Spravato >140/90 guide; 160/100 common practice ({REF3})",
        "Pre-infusion BP: defer when SBP at least")
    precheck_defer_dbp_min_mmhg: int = _setting(
        100, f"Spravato >140/90 guide; 160/100 common practice ({REF3})",
        "Pre-infusion BP: defer when DBP at least")
    # During the session.
    hold_sbp_min_mmhg: int = _setting(
        180, f"{COMMON}, {REF3}: hold when SBP >= 180 on a repeat reading",
        "Hold infusion: SBP at least (on a repeat reading)")
    hold_dbp_min_mmhg: int = _setting(
        110, f"{COMMON}, {REF3}: hold when DBP >= 110 on a repeat reading",
        "Hold infusion: DBP at least (on a repeat reading)")
    stop_spo2_below_percent: int = _setting(
        92, f"{COMMON}, {REF3}: SpO2 < 92%", "Stop infusion: SpO2 below (%)")
    review_sbp_min_mmhg: int = _setting(
        160, HOUSE, "Prescriber review: SBP at least")
    review_dbp_min_mmhg: int = _setting(
        100, HOUSE, "Prescriber review: DBP at least")
    review_spo2_below_percent: int = _setting(
        95, HOUSE, "Prescriber review: SpO2 below (%)")
    review_hr_below_bpm: int = _setting(50, HOUSE, "Prescriber review: heart rate below")
    review_hr_above_bpm: int = _setting(120, HOUSE, "Prescriber review: heart rate above")
    review_rr_below_per_min: int = _setting(10, HOUSE, "Prescriber review: respiratory rate below")
    review_rr_above_per_min: int = _setting(24, HOUSE, "Prescriber review: respiratory rate above")
    # RASS -3 (moderate sedation: eyes open to voice but no eye contact) or deeper.
    review_rass_max: int = _setting(-3, HOUSE, "Prescriber review: RASS at most")
    # Monitoring schedule.
    vitals_interval_min: int = _setting(
        10, f"Yale and Emory series ({REF3}): BP/HR every 10 min",
        "Vitals during infusion: every (min)")
    forty_min_check_min: int = _setting(
        40, f"Spravato 40-min check ({REF3})", "Timed reading at (min after start)")
    forty_min_window_min: int = _setting(
        5, HOUSE, "Timed reading counts when within (min either side)")
    observation_interval_min: int = _setting(
        15, HOUSE, "Vitals during observation: every (min)")
    observation_min: int = _setting(
        60, f"{COMMON}, {REF3}: >= 60 min after end (Spravato: 2 h)",
        "Observation after infusion: at least (min)")
    # Tablet clocks drift; a reading a little ahead of the server is still "now".
    future_tolerance_s: int = _setting(
        120, HOUSE, "Reading time may be ahead of the server clock by at most (s)")

    def __post_init__(self) -> None:
        for spec in fields(self):
            value = getattr(self, spec.name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"setting {spec.name} must be an integer")
        if self.precheck_defer_sbp_min_mmhg <= self.precheck_review_sbp_above_mmhg:
            raise ValueError("precheck_defer_sbp_min_mmhg must be above the review threshold")
        if self.precheck_defer_dbp_min_mmhg <= self.precheck_review_dbp_above_mmhg:
            raise ValueError("precheck_defer_dbp_min_mmhg must be above the review threshold")
        for name in ("vitals_interval_min", "forty_min_check_min", "observation_interval_min",
                     "observation_min"):
            if getattr(self, name) <= 0:
                raise ValueError(f"setting {name} must be positive")

    def describe(self) -> tuple[SettingInfo, ...]:
        defaults = InfusionSettings.__dataclass_fields__
        return tuple(
            SettingInfo(spec.name, spec.metadata["label"], getattr(self, spec.name),
                        defaults[spec.name].default, spec.metadata["source"])  # type: ignore[arg-type]
            for spec in fields(self))


DEFAULT_SETTINGS = InfusionSettings()
