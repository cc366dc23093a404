"""The C-SSRS screener as clinician-entered yes/no answers.

Sources: docs/clinical-sources.md#c-ssrs-screener.

The C-SSRS electronic wording is licensed exclusively, so ketaflow ships no question text: only
short item names, the skip logic and the risk rule. The clinician asks the questions from their own
licensed copy and records yes or no.

Skip logic: items 1 and 2 are always asked; items 3-5 only if item 2 is yes; item 6 (suicidal
behaviour, lifetime) is always asked; item 6b (behaviour in the past 3 months) only if item 6 is
yes. Answering a skipped item, or leaving out a required one, is an input error.

Risk level: high = yes to 4 or 5 (past month) or yes to 6b; moderate = yes to 3, or yes to 6
(lifetime behaviour) without 6b; low = yes to 1 and/or 2 only; none = every answer no.
"""

from __future__ import annotations

from enum import StrEnum

from ketaflow.scales.instruments.model import (
    LOINC,
    Code,
    Instrument,
    Item,
    Licence,
    Option,
    Rater,
    ScoringRule,
)

YES_NO = (Option(0, "No"), Option(1, "Yes"))


class RiskLevel(StrEnum):
    NONE = "none"
    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"


def _yes_no(item_id: str, number: int, name: str, *, asked_if_yes: str | None = None,
            number_label: str | None = None) -> Item:
    return Item(item_id, number, name, YES_NO, asked_if_yes=asked_if_yes,
                number_label=number_label)


CSSRS_SCREENER = Instrument(
    id="cssrs-screener",
    name="Columbia Suicide Severity Rating Scale, screener (C-SSRS)",
    version="1.0.0",
    rater=Rater.CLINICIAN,
    recall_period="past month (ideation); lifetime and past 3 months (behaviour)",
    items=(
        _yes_no("wish_to_be_dead", 1, "Wish to be dead (past month)"),
        _yes_no("suicidal_thoughts", 2, "Non-specific active suicidal thoughts (past month)"),
        _yes_no("thoughts_with_method", 3, "Suicidal thoughts with method, no intent (past month)",
                asked_if_yes="suicidal_thoughts"),
        _yes_no("intent_without_plan", 4, "Suicidal intent without specific plan (past month)",
                asked_if_yes="suicidal_thoughts"),
        _yes_no("intent_with_plan", 5, "Suicidal intent with specific plan (past month)",
                asked_if_yes="suicidal_thoughts"),
        _yes_no("behaviour_lifetime", 6, "Suicidal behaviour (lifetime)"),
        _yes_no("behaviour_past_3_months", 7, "Suicidal behaviour in the past 3 months",
                asked_if_yes="behaviour_lifetime", number_label="6b"),
    ),
    rule=ScoringRule.RISK_LEVEL,
    citation=(
        "Posner K, Brown GK, Stanley B, et al. The Columbia-Suicide Severity Rating Scale: initial "
        "validity and internal consistency findings from three multisite studies with adolescents "
        "and adults. Am J Psychiatry. 2011;168(12):1266-1277. Skip logic and risk levels (Columbia "
        "screener form): docs/clinical-sources.md#c-ssrs-screener."
    ),
    licence=Licence.NO_ELECTRONIC_WORDING,
    licence_note=(
        "Electronic wording is licensed exclusively: ketaflow records clinician-entered yes/no "
        "answers against item names only."
    ),
    # The screener panel; 93245-9 is the full lifetime/recent scale
    # (docs/clinical-sources.md#codes).
    panel_code=Code(LOINC, "93373-9",
                    "Columbia - suicide severity rating scale screener - recent [C-SSRS]"),
    notes=(
        "Item 6 is split in two: 6 = any suicidal behaviour in the lifetime, 6b = was it within "
        "the past 3 months (asked only if 6 is yes).",
    ),
)


def cssrs_risk(answers: dict[str, bool]) -> RiskLevel:
    """Risk level from the answered items (skipped items are absent, i.e. not yes)."""
    if (
        answers.get("intent_without_plan")
        or answers.get("intent_with_plan")
        or answers.get("behaviour_past_3_months")
    ):
        return RiskLevel.HIGH
    if answers.get("thoughts_with_method") or answers.get("behaviour_lifetime"):
        return RiskLevel.MODERATE
    if answers.get("wish_to_be_dead") or answers.get("suicidal_thoughts"):
        return RiskLevel.LOW
    return RiskLevel.NONE
