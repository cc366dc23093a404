"""Maudsley Staging Method (Fekadu et al. 2009, J Clin Psychiatry): an informational score.

The method was built and validated for unipolar depression, so for a bipolar patient it is stored
as information only and never drives eligibility (docs/clinical-sources.md#maudsley-staging).

Five parameters add up to 3-15:
- duration of the current episode: acute <= 12 months = 1, sub-acute 13-24 = 2, chronic > 24 = 3
- symptom severity at staging: subsyndromal 1, mild 2, moderate 3, severe without psychosis 4,
  severe with psychosis 5
- treatment failures (antidepressants): 1-2 = 1, 3-4 = 2, 5-6 = 3, 7-10 = 4, > 10 = 5
- augmentation not used 0 / used 1; ECT not used 0 / used 1
Bands: mild 3-6, moderate 7-10, severe 11-15.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

SOURCE_MAUDSLEY = (
    "Fekadu et al. 2009, J Clin Psychiatry 70:177-184 (Maudsley Staging Method); "
    "docs/clinical-sources.md#maudsley-staging"
)
UNIPOLAR_NOTE = (
    "The Maudsley Staging Method was built for unipolar depression: informational only for "
    "bipolar depression, never used for eligibility."
)
MAX_DURATION_MONTHS = 1200  # 100 years: beyond this the entry is a typo, not a history.
MAX_FAILURES = 100


class Severity(StrEnum):
    SUBSYNDROMAL = "subsyndromal"
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE_WITHOUT_PSYCHOSIS = "severe_without_psychosis"
    SEVERE_WITH_PSYCHOSIS = "severe_with_psychosis"


SEVERITY_POINTS: dict[Severity, int] = {
    Severity.SUBSYNDROMAL: 1,
    Severity.MILD: 2,
    Severity.MODERATE: 3,
    Severity.SEVERE_WITHOUT_PSYCHOSIS: 4,
    Severity.SEVERE_WITH_PSYCHOSIS: 5,
}


class MaudsleyBand(StrEnum):
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"


@dataclass(frozen=True)
class MaudsleyInput:
    episode_duration_months: int
    severity: Severity
    failed_antidepressants: int
    augmentation_used: bool
    ect_used: bool

    def __post_init__(self) -> None:
        _require_int(
            "episode_duration_months", self.episode_duration_months, 0, MAX_DURATION_MONTHS
        )
        # The method stages people who have failed treatment: its lowest level is 1-2 failures.
        _require_int("failed_antidepressants", self.failed_antidepressants, 1, MAX_FAILURES)
        if not isinstance(self.severity, Severity):
            raise ValueError("severity must be one of " + ", ".join(s.value for s in Severity))


@dataclass(frozen=True)
class MaudsleyScore:
    duration_points: int
    severity_points: int
    treatment_failure_points: int
    augmentation_points: int
    ect_points: int
    total: int
    band: MaudsleyBand
    note: str = UNIPOLAR_NOTE
    source: str = SOURCE_MAUDSLEY


def duration_points(months: int) -> int:
    if months <= 12:
        return 1
    return 2 if months <= 24 else 3


def treatment_failure_points(failures: int) -> int:
    for upper, points in ((2, 1), (4, 2), (6, 3), (10, 4)):
        if failures <= upper:
            return points
    return 5


def band_for(total: int) -> MaudsleyBand:
    if not 3 <= total <= 15:
        raise ValueError(f"a Maudsley total is 3-15 (got {total})")
    if total <= 6:
        return MaudsleyBand.MILD
    return MaudsleyBand.MODERATE if total <= 10 else MaudsleyBand.SEVERE


def score_maudsley(entry: MaudsleyInput) -> MaudsleyScore:
    parts = (
        duration_points(entry.episode_duration_months),
        SEVERITY_POINTS[entry.severity],
        treatment_failure_points(entry.failed_antidepressants),
        int(entry.augmentation_used),
        int(entry.ect_used),
    )
    total = sum(parts)
    return MaudsleyScore(*parts, total=total, band=band_for(total))


def _require_int(field: str, value: int, low: int, high: int) -> None:
    # bool is an int subclass; True months is a bug, not 1.
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError(f"{field} must be a whole number from {low} to {high}")
