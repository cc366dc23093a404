"""Clinic settings for rating-scale rules: every threshold in one frozen dataclass.

Each field carries its source in the dataclass field metadata so the settings page can show where
the default comes from (clinical reference, sections 3 and 4). Values are whole score points or
whole percentages; comparisons say in the field name whether they are inclusive (`_min`, `_max`)
or strict (`_below`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ketaflow.sourced import SettingInfo, describe, require_whole_numbers, setting, source_of

_REF4 = "ketaflow clinical reference, section 4 (longitudinal rules)"
_PATHWAY_SOURCE = "Columbia Lighthouse Project C-SSRS screener triage; clinic default"


# Kept as the scales name for the shared record of one setting.
ThresholdInfo = SettingInfo


@dataclass(frozen=True)
class ScaleThresholds:
    """Thresholds for flags and longitudinal rules; defaults from the clinical reference."""

    response_min_drop_pct: int = setting(
        50, f"{_REF4}: response = >= 50% drop from the course baseline",
        "Response: minimum drop from baseline (%)")
    madrs_remission_max: int = setting(
        10, f"{_REF4}: MADRS remission <= 10 (<= 12 in esketamine trials)",
        "MADRS remission: total at most")
    phq9_remission_below: int = setting(
        5, f"{_REF4}: PHQ-9 remission < 5", "PHQ-9 remission: total below")
    qids_remission_max: int = setting(
        5, f"{_REF4}: QIDS-SR16 remission <= 5", "QIDS-SR16 remission: total at most")
    relapse_consecutive_ratings: int = setting(
        2, f"{_REF4}: relapse = back above the response threshold on 2 consecutive ratings",
        "Relapse: consecutive ratings above the response threshold")
    qids_relapse_min: int = setting(
        11, f"{_REF4}: relapse = QIDS-SR16 >= 11", "QIDS-SR16 relapse: total at least")
    ymrs_possible_switch_min: int = setting(
        12, f"{_REF4}: possible manic switch = YMRS >= 12", "Possible switch: YMRS at least")
    asrm_possible_switch_min: int = setting(
        6, f"{_REF4}: possible manic switch = ASRM >= 6 (Altman 1997 cut-off)",
        "Possible switch: ASRM at least")
    ymrs_probable_mania_min: int = setting(
        20, f"{_REF4}: probable mania = YMRS >= 20", "Probable mania: YMRS at least")
    phq9_item9_positive_min: int = setting(
        1, f"{_REF4}: PHQ-9 item 9 > 0 -> C-SSRS screen", "PHQ-9 item 9 positive: at least")
    qids_item12_positive_min: int = setting(
        1, f"{_REF4}: QIDS item 12 >= 1 -> C-SSRS screen", "QIDS item 12 positive: at least")
    madrs_item10_screen_min: int = setting(
        2, f"{_REF4}: MADRS item 10 >= 2 -> C-SSRS screen", "MADRS item 10 screen: at least")
    madrs_item10_same_day_min: int = setting(
        4, f"{_REF4}: MADRS item 10 >= 4 -> same-day clinician review",
        "MADRS item 10 same-day review: at least")
    aldrete_discharge_min: int = setting(
        9, "ketaflow clinical reference, section 3: modified Aldrete >= 9/10 for discharge",
        "Discharge: modified Aldrete at least")
    padss_discharge_min: int = setting(
        9, "ketaflow clinical reference, section 3: PADSS >= 9/10 for discharge",
        "Discharge: PADSS at least")

    # --- suicidality pathway (issue 11): the level at which a positive item follows the urgent
    # pathway (alert to the prescriber now, the clinic's crisis content on the portal). C-SSRS
    # screener levels map without a number: moderate -> same-day review, high -> urgent.
    phq9_item9_urgent_min: int = setting(
        1, f"{_PATHWAY_SOURCE}: PHQ-9 item 9 positive -> urgent pathway",
        "PHQ-9 item 9 urgent pathway: at least", minimum=1, maximum=3,
        ref="suicidality-pathway")
    qids_item12_urgent_min: int = setting(
        1, f"{_PATHWAY_SOURCE}: QIDS-SR16 item 12 positive -> urgent pathway",
        "QIDS-SR16 item 12 urgent pathway: at least", minimum=1, maximum=3,
        ref="suicidality-pathway")
    madrs_item10_urgent_min: int = setting(
        5, f"{_PATHWAY_SOURCE}: MADRS item 10 at 5-6 (explicit plans, active preparation) -> "
        "urgent pathway", "MADRS item 10 urgent pathway: at least", minimum=1, maximum=6,
        ref="suicidality-pathway")

    def __post_init__(self) -> None:
        require_whole_numbers(self, minimum=0)
        if not 1 <= self.response_min_drop_pct <= 100:
            raise ValueError("threshold response_min_drop_pct must be 1-100")
        if self.relapse_consecutive_ratings < 1:
            raise ValueError("threshold relapse_consecutive_ratings must be at least 1")
        if self.madrs_item10_same_day_min < self.madrs_item10_screen_min:
            raise ValueError("madrs_item10_same_day_min must not be below madrs_item10_screen_min")
        if self.madrs_item10_urgent_min < self.madrs_item10_same_day_min:
            raise ValueError("madrs_item10_urgent_min must not be below madrs_item10_same_day_min")

    def with_changes(self, **changes: int) -> ScaleThresholds:
        """A copy with some settings changed (validated like the original)."""
        return replace(self, **changes)

    def describe(self) -> tuple[ThresholdInfo, ...]:
        """Every setting with its label, current value, default and source, in field order."""
        return describe(self)

    @classmethod
    def source(cls, name: str) -> str:
        """The source string for one setting."""
        return source_of(cls, name)


DEFAULT_THRESHOLDS = ScaleThresholds()
