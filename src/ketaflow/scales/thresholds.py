"""Clinic settings for rating-scale rules: every threshold in one frozen dataclass.

Each field carries its source in the dataclass field metadata so the settings page can show where
the default comes from (clinical reference, sections 3 and 4). Values are whole score points or
whole percentages; comparisons say in the field name whether they are inclusive (`_min`, `_max`)
or strict (`_below`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

_REF4 = "ketaflow clinical reference, section 4 (longitudinal rules)"


def _setting(default: int, source: str, label: str) -> Any:
    return field(default=default, metadata={"source": source, "label": label})


@dataclass(frozen=True)
class ThresholdInfo:
    """One setting as the UI shows it."""

    name: str
    label: str
    value: int
    default: int
    source: str


@dataclass(frozen=True)
class ScaleThresholds:
    """Thresholds for flags and longitudinal rules; defaults from the clinical reference."""

    response_min_drop_pct: int = _setting(
        50, f"{_REF4}: response = >= 50% drop from the course baseline",
        "Response: minimum drop from baseline (%)")
    madrs_remission_max: int = _setting(
        10, f"{_REF4}: MADRS remission <= 10 (<= 12 in esketamine trials)",
        "MADRS remission: total at most")
    phq9_remission_below: int = _setting(
        5, f"{_REF4}: PHQ-9 remission < 5", "PHQ-9 remission: total below")
    qids_remission_max: int = _setting(
        5, f"{_REF4}: QIDS-SR16 remission <= 5", "QIDS-SR16 remission: total at most")
    relapse_consecutive_ratings: int = _setting(
        2, f"{_REF4}: relapse = back above the response threshold on 2 consecutive ratings",
        "Relapse: consecutive ratings above the response threshold")
    qids_relapse_min: int = _setting(
        11, f"{_REF4}: relapse = QIDS-SR16 >= 11", "QIDS-SR16 relapse: total at least")
    ymrs_possible_switch_min: int = _setting(
        12, f"{_REF4}: possible manic switch = YMRS >= 12", "Possible switch: YMRS at least")
    asrm_possible_switch_min: int = _setting(
        6, f"{_REF4}: possible manic switch = ASRM >= 6 (Altman 1997 cut-off)",
        "Possible switch: ASRM at least")
    ymrs_probable_mania_min: int = _setting(
        20, f"{_REF4}: probable mania = YMRS >= 20", "Probable mania: YMRS at least")
    phq9_item9_positive_min: int = _setting(
        1, f"{_REF4}: PHQ-9 item 9 > 0 -> C-SSRS screen", "PHQ-9 item 9 positive: at least")
    qids_item12_positive_min: int = _setting(
        1, f"{_REF4}: QIDS item 12 >= 1 -> C-SSRS screen", "QIDS item 12 positive: at least")
    madrs_item10_screen_min: int = _setting(
        2, f"{_REF4}: MADRS item 10 >= 2 -> C-SSRS screen", "MADRS item 10 screen: at least")
    madrs_item10_same_day_min: int = _setting(
        4, f"{_REF4}: MADRS item 10 >= 4 -> same-day clinician review",
        "MADRS item 10 same-day review: at least")
    aldrete_discharge_min: int = _setting(
        9, "ketaflow clinical reference, section 3: modified Aldrete >= 9/10 for discharge",
        "Discharge: modified Aldrete at least")
    padss_discharge_min: int = _setting(
        9, "ketaflow clinical reference, section 3: PADSS >= 9/10 for discharge",
        "Discharge: PADSS at least")

    def __post_init__(self) -> None:
        for spec in fields(self):
            value = getattr(self, spec.name)
            # bool is an int subclass; a True threshold is a bug, not a 1.
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"threshold {spec.name} must be a non-negative integer")
        if not 1 <= self.response_min_drop_pct <= 100:
            raise ValueError("threshold response_min_drop_pct must be 1-100")
        if self.relapse_consecutive_ratings < 1:
            raise ValueError("threshold relapse_consecutive_ratings must be at least 1")
        if self.madrs_item10_same_day_min < self.madrs_item10_screen_min:
            raise ValueError("madrs_item10_same_day_min must not be below madrs_item10_screen_min")

    def with_changes(self, **changes: int) -> ScaleThresholds:
        """A copy with some settings changed (validated like the original)."""
        return replace(self, **changes)

    def describe(self) -> tuple[ThresholdInfo, ...]:
        """Every setting with its label, current value, default and source, in field order."""
        return tuple(
            ThresholdInfo(
                name=spec.name,
                label=spec.metadata["label"],
                value=getattr(self, spec.name),
                default=spec.default,  # type: ignore[arg-type]
                source=spec.metadata["source"],
            )
            for spec in fields(self)
        )

    @classmethod
    def source(cls, name: str) -> str:
        """The source string for one setting."""
        for spec in fields(cls):
            if spec.name == name:
                return str(spec.metadata["source"])
        raise KeyError(name)


DEFAULT_THRESHOLDS = ScaleThresholds()
