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
# Settings measured in mg of drug, not counted: they may be fractional.
_FRACTIONAL = frozenset({"reconciliation_tolerance_mg"})
SPRAVATO_BP = "Spravato USPI 5.6 (> 140/90 as a general guide)"
VITALS = "vital-sign-criteria"
SCHEDULE = "monitoring-schedule"
OBSERVATION = "observation"
COMMON = "common practice (unverified)"
HOUSE = "clinic's own choice (ketaflow default)"
_VITALS_DOC = f"{_DOC}{VITALS}"
_SCHEDULE_DOC = f"{_DOC}{SCHEDULE}"
_HOUSE_VITALS = f"{HOUSE}: prescriber review before the hold value; {_VITALS_DOC}"
VITALS_DEFAULT = (
    "clinic default (unverified); events from ACEP dissociative sedation guideline, Green et al., "
    "Ann Emerg Med 2011;57:449-461, doi:10.1016/j.annemergmed.2010.11.030 "
    "(docs/clinical-sources.md#vital-sign-criteria)")
SESSLER_RASS = ("Sessler et al., Am J Respir Crit Care Med 2002;166:1338-1344 "
                "(docs/clinical-sources.md#vital-sign-criteria)")


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
    # Dangerous readings (issue 11, item 12): hold or stop below these, on a single reading.
    # Clinic defaults, not from a trial: the ACEP guideline names the events to watch for
    # (apnoea, laryngospasm, respiratory depression, emergence reactions) but sets no numbers.
    # Where a review band above shares a limit (HR 50, RR 10, RASS -3), the hold or stop wins:
    # a field raises only its most severe alert (infusions.rules.vitals).
    hold_sbp_below_mmhg: int = setting(
        90, VITALS_DEFAULT, "Hold infusion: SBP below (mmHg)", minimum=70, maximum=100,
        ref="vital-sign-criteria")
    hold_sbp_drop_above_percent: int = setting(
        20, VITALS_DEFAULT, "Hold infusion: SBP more than this % below the pre-infusion value",
        minimum=10, maximum=40, ref="vital-sign-criteria")
    hold_hr_below_bpm: int = setting(
        50, VITALS_DEFAULT, "Hold infusion: heart rate below (bpm)", minimum=40, maximum=60,
        ref="vital-sign-criteria")
    stop_hr_below_bpm: int = setting(
        40, VITALS_DEFAULT, "Stop infusion and call for emergency help: heart rate below (bpm; "
        "0 = no pulse always stops)", minimum=30, maximum=50, ref="vital-sign-criteria")
    hold_rr_below_per_min: int = setting(
        10, VITALS_DEFAULT, "Hold infusion: respiratory rate below (/min)", minimum=8,
        maximum=12, ref="vital-sign-criteria")
    stop_rr_below_per_min: int = setting(
        8, VITALS_DEFAULT, "Stop infusion: respiratory rate below (/min; 0 = apnoea always "
        "stops)", minimum=4, maximum=10, ref="vital-sign-criteria")
    stop_rass_max: int = setting(
        -3, f"{VITALS_DEFAULT}; RASS levels: {SESSLER_RASS}",
        "Stop infusion: RASS at most (deep sedation)", minimum=-5, maximum=-2,
        ref="vital-sign-criteria")
    hold_rass_min: int = setting(
        3, f"{VITALS_DEFAULT}; RASS levels: {SESSLER_RASS}",
        "Hold infusion: RASS at least (agitation)", minimum=2, maximum=4,
        ref="vital-sign-criteria")
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
    # Rate and order safety: how far above the signed order's rate a rate change may go
    # without a new order (0: never above it).
    rate_above_order_tolerance_percent: int = setting(
        0, f"{HOUSE}: a rate above the signed order needs a new order; "
        f"{_DOC}rate-and-order-safety",
        "Rate change: allowed above the signed order's rate by at most (%)",
        minimum=0, maximum=10, ref="rate-and-order-safety")
    # Overrun: minutes past the ordered duration (running time, pauses out), or the volume the
    # order gives in that many minutes past the ordered volume, before the chair page alarms.
    overrun_grace_min: int = setting(
        1, f"{HOUSE}: a little slack for the pump's own rounding; {_DOC}overrun",
        "Overrun alarm: after the ordered duration or volume by more than (min)",
        minimum=0, maximum=5, ref="overrun")
    # Controlled-substance reconciliation: how far the ledger's administered amount may differ
    # from the dose the infusion record shows delivered before the report flags it (and how
    # far above the delivered dose the ledger accepts an administered entry).
    reconciliation_tolerance_mg: float = setting(
        0.5, f"{HOUSE}: pump and vial rounding; {_DOC}ledger-reconciliation",
        "Ledger reconciliation: administered may differ from delivered by at most (mg)",
        minimum=0, maximum=5, ref="ledger-reconciliation")
    # Tablet clocks drift; a reading a little ahead of the server is still "now".
    future_tolerance_s: int = setting(
        120, f"{HOUSE} (not clinical); {_SCHEDULE_DOC}",
        "Reading time may be ahead of the server clock by at most (s)",
        minimum=0, maximum=600, ref=SCHEDULE)

    def __post_init__(self) -> None:
        require_whole_numbers(self, fractional=_FRACTIONAL)
        if not 0 <= self.reconciliation_tolerance_mg < float("inf"):
            raise ValueError("setting reconciliation_tolerance_mg must be a finite number "
                             "of at least 0")
        for name in ("vitals_interval_min", "forty_min_check_min", "observation_interval_min",
                     "observation_min"):
            if getattr(self, name) <= 0:
                raise ValueError(f"setting {name} must be positive")
        # A stop limit above its hold limit would leave the hold unreachable (stop is checked
        # first).
        for stop, hold in (("stop_hr_below_bpm", "hold_hr_below_bpm"),
                           ("stop_rr_below_per_min", "hold_rr_below_per_min")):
            if getattr(self, stop) > getattr(self, hold):
                raise ValueError(f"setting {stop} must not be above {hold}")

    def describe(self) -> tuple[SettingInfo, ...]:
        """The blood-pressure gate first, then the session's own settings."""
        return describe(self.bp_gate) + describe(self)


DEFAULT_SETTINGS = InfusionSettings()
