"""The clinic's outcome definitions that are not rating-scale thresholds.

Response and remission come from the rating-scale settings (`ScaleThresholds`:
`response_min_drop_pct`, `madrs_remission_max`, `qids_remission_max`, `phq9_remission_below`),
so the dashboard and a patient's scores page can never disagree about one rating. What is
specific to the dashboard lives here: when "the end of induction" is, and the smallest count a
researcher may see.
"""

from __future__ import annotations

from dataclasses import dataclass

from ketaflow.sourced import require_whole_numbers, setting

_DOC = "docs/clinical-sources.md#"


@dataclass(frozen=True)
class OutcomeSettings:
    """Dashboard definitions (defaults and bounds: docs/clinical-sources.md#outcome-definitions)."""

    end_of_induction_window_days: int = setting(
        7, "end of induction = the first rating after the last induction infusion, within 7 "
        "days (clinic's own choice, ketaflow default; the trials rated up to day 7-14 after "
        f"one infusion); {_DOC}outcome-definitions",
        "End of induction: rating within days after the last induction infusion",
        minimum=1, maximum=28, ref="outcome-definitions")
    small_cell_min: int = setting(
        11, "researcher view: counts below 11 suppressed (CMS cell size suppression policy: "
        f"no cell of 1 to 10); {_DOC}small-cell-suppression",
        "Researcher view: smallest count shown", minimum=11, maximum=50,
        ref="small-cell-suppression")

    def __post_init__(self) -> None:
        require_whole_numbers(self, minimum=1)


DEFAULT_OUTCOME_SETTINGS = OutcomeSettings()
