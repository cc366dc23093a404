"""Clinic settings for rating-scale rules: every threshold in one frozen dataclass.

Each field carries its source, the bounds an admin may set it within and its entry in
docs/clinical-sources.md (the anchor in `ref`), so the settings page can show where the default
comes from. Values are whole score points or whole percentages; comparisons say in the field name
whether they are inclusive (`_min`, `_max`) or strict (`_below`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ketaflow.sourced import SettingInfo, describe, require_whole_numbers, setting, source_of

_DOC = "docs/clinical-sources.md#"
_LONG = f"{_DOC}longitudinal-rules"
_SUICIDE = f"{_DOC}suicidality-pathway"
_TRIALS = "Diazgranados et al. 2010; Zarate et al. 2012"
_COMMON = "common practice, unverified"
_PATHWAY_SOURCE = ("clinic default (unverified), urgent as in the Columbia Lighthouse Project "
                   f"C-SSRS screener triage; {_SUICIDE}")


# Kept as the scales name for the shared record of one setting.
ThresholdInfo = SettingInfo


@dataclass(frozen=True)
class ScaleThresholds:
    """Thresholds for flags and longitudinal rules (defaults, bounds: docs/clinical-sources.md)."""

    response_min_drop_pct: int = setting(
        50, f"response = >= 50% drop from the course baseline ({_TRIALS}); {_LONG}",
        "Response: minimum drop from baseline (%)",
        minimum=25, maximum=75, ref="longitudinal-rules")
    madrs_remission_max: int = setting(
        10, f"MADRS remission <= 10 (<= 12 in esketamine trials), {_COMMON}; {_DOC}madrs",
        "MADRS remission: total at most", minimum=6, maximum=12, ref="madrs")
    phq9_remission_below: int = setting(
        5, f"PHQ-9 remission < 5 (minimal band, Kroenke et al. 2001); {_DOC}phq-9",
        "PHQ-9 remission: total below", minimum=3, maximum=10, ref="phq-9")
    qids_remission_max: int = setting(
        5, f"QIDS-SR16 remission <= 5 (Rush et al. 2003); {_DOC}qids-sr16",
        "QIDS-SR16 remission: total at most", minimum=3, maximum=10, ref="qids-sr16")
    relapse_consecutive_ratings: int = setting(
        2, f"relapse = back above the response threshold on 2 consecutive ratings, {_COMMON}; "
        f"{_LONG}", "Relapse: consecutive ratings above the response threshold",
        minimum=1, maximum=4, ref="longitudinal-rules")
    qids_relapse_min: int = setting(
        11, f"relapse = QIDS-SR16 >= 11 (moderate band, Rush et al. 2003), {_COMMON}; "
        f"{_DOC}qids-sr16", "QIDS-SR16 relapse: total at least",
        minimum=6, maximum=16, ref="qids-sr16")
    ymrs_possible_switch_min: int = setting(
        12, "possible manic switch = YMRS >= 12, the hypomanic band (Int J Bipolar Disord 2021, "
        f"doi:10.1186/s40345-021-00241-5, table 1); {_DOC}ymrs",
        "Possible switch: YMRS at least", minimum=8, maximum=20, ref="ymrs")
    asrm_possible_switch_min: int = setting(
        6, f"possible manic switch = ASRM >= 6 (Altman et al. 1997 cut-off); {_DOC}asrm",
        "Possible switch: ASRM at least", minimum=4, maximum=10, ref="asrm")
    # 21, not 20: the alert says "probable mania" only where the YMRS band says "manic".
    ymrs_probable_mania_min: int = setting(
        21, "probable mania = YMRS in the manic band (Int J Bipolar Disord 2021, "
        f"doi:10.1186/s40345-021-00241-5, table 1); {_DOC}ymrs",
        "Probable mania: YMRS at least", minimum=12, maximum=30, ref="ymrs")
    phq9_item9_positive_min: int = setting(
        1, f"PHQ-9 item 9 > 0 -> suicidality pathway, {_COMMON}; {_SUICIDE}",
        "PHQ-9 item 9 positive: at least", minimum=1, maximum=3, ref="suicidality-pathway")
    qids_item12_positive_min: int = setting(
        1, f"QIDS item 12 >= 1 -> suicidality pathway, {_COMMON}; {_SUICIDE}",
        "QIDS item 12 positive: at least", minimum=1, maximum=3, ref="suicidality-pathway")
    madrs_item10_screen_min: int = setting(
        2, f"MADRS item 10 >= 2 -> C-SSRS screen, {_COMMON}; {_SUICIDE}",
        "MADRS item 10 screen: at least", minimum=1, maximum=4, ref="suicidality-pathway")
    madrs_item10_same_day_min: int = setting(
        4, f"MADRS item 10 >= 4 -> same-day clinician review, {_COMMON}; {_SUICIDE}",
        "MADRS item 10 same-day review: at least", minimum=2, maximum=6,
        ref="suicidality-pathway")
    aldrete_discharge_min: int = setting(
        9, f"modified Aldrete >= 9/10 for discharge (Aldrete 1995); {_DOC}discharge-scores",
        "Discharge: modified Aldrete at least", minimum=8, maximum=10, ref="discharge-scores")
    padss_discharge_min: int = setting(
        9, f"PADSS >= 9/10 for discharge (Chung et al. 1995); {_DOC}discharge-scores",
        "Discharge: PADSS at least", minimum=8, maximum=10, ref="discharge-scores")

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
