"""The pre-infusion blood-pressure gate, shared by the screening baseline and the session start.

Defaults: above 140/90 needs prescriber review before starting (Spravato > 140/90 guide); at or
above 160/100 the infusion is deferred (common practice, unverified). One settings object, so the
screening and the chair-side pre-check can never disagree about the same reading.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ketaflow.sourced import require_whole_numbers, setting

REF3 = "ketaflow clinical reference, section 3"
REVIEW_SOURCE = f"Spravato >140/90 guide; 160/100 common practice ({REF3}): review above 140/90"
DEFER_SOURCE = f"160/100 common practice, unverified ({REF3}): defer at or above 160/100"


class BpGate(StrEnum):
    OK = "ok"
    REVIEW = "review"  # prescriber review before start
    DEFER = "defer"  # do not start today


@dataclass(frozen=True)
class BpGateSettings:
    """Review when either pressure is above its review value; defer when at or above defer."""

    review_sbp_above_mmhg: int = setting(140, REVIEW_SOURCE, "BP review: systolic above (mmHg)",
                                         minimum=120, maximum=180,
                                         ref="pre-infusion-blood-pressure")
    review_dbp_above_mmhg: int = setting(90, REVIEW_SOURCE, "BP review: diastolic above (mmHg)")
    defer_sbp_min_mmhg: int = setting(160, DEFER_SOURCE, "BP defer: systolic at least (mmHg)")
    defer_dbp_min_mmhg: int = setting(100, DEFER_SOURCE, "BP defer: diastolic at least (mmHg)")

    def __post_init__(self) -> None:
        require_whole_numbers(self, minimum=1)
        if self.defer_sbp_min_mmhg <= self.review_sbp_above_mmhg:
            raise ValueError("the systolic review threshold must be below the defer threshold "
                             "(review_sbp_above_mmhg < defer_sbp_min_mmhg)")
        if self.defer_dbp_min_mmhg <= self.review_dbp_above_mmhg:
            raise ValueError("the diastolic review threshold must be below the defer threshold "
                             "(review_dbp_above_mmhg < defer_dbp_min_mmhg)")


DEFAULT_BP_GATE = BpGateSettings()


def classify_bp(sbp_mmhg: float, dbp_mmhg: float,
                settings: BpGateSettings = DEFAULT_BP_GATE) -> BpGate:
    if sbp_mmhg >= settings.defer_sbp_min_mmhg or dbp_mmhg >= settings.defer_dbp_min_mmhg:
        return BpGate.DEFER
    if sbp_mmhg > settings.review_sbp_above_mmhg or dbp_mmhg > settings.review_dbp_above_mmhg:
        return BpGate.REVIEW
    return BpGate.OK
