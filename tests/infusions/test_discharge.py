"""Discharge criteria: Aldrete and PADSS edges, escort, advice, observation time, override."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from ketaflow.infusions.rules import (
    DischargeInput,
    RuleError,
    assess_discharge,
    require_discharge,
)

ENDED = datetime(2026, 11, 25, 9, 40, tzinfo=UTC)
ALDRETE_OK = {"activity": 2, "respiration": 2, "circulation": 2, "consciousness": 2,
              "oxygen_saturation": 1}  # 9
PADSS_OK = {"vital_signs": 2, "activity_mental_status": 2, "pain_nausea_vomiting": 1,
            "intake_output": 2}  # 7 + bleeding fixed at 2 = 9


def ready(**overrides: object) -> DischargeInput:
    base = DischargeInput(aldrete_answers=ALDRETE_OK, padss_answers=PADSS_OK,
                          escort_confirmed=True, no_driving_advice_given=True,
                          infusion_ended_at=ENDED, assessed_at=ENDED + timedelta(minutes=60))
    return replace(base, **overrides)  # type: ignore[arg-type]


def test_all_criteria_met_at_nine_and_sixty_minutes() -> None:
    decision = assess_discharge(ready())
    assert decision.allowed and not decision.overridden and decision.unmet == ()
    assert (decision.aldrete.total, decision.padss.total) == (9, 9)
    assert decision.ready_at == ENDED + timedelta(minutes=60)


def test_each_unmet_criterion_named() -> None:
    decision = assess_discharge(ready(
        aldrete_answers={**ALDRETE_OK, "activity": 1},
        padss_answers={**PADSS_OK, "vital_signs": 1},
        escort_confirmed=False, no_driving_advice_given=False,
        assessed_at=ENDED + timedelta(minutes=59, seconds=59)))
    assert not decision.allowed
    assert [p.field for p in decision.unmet] == [
        "aldrete_answers", "padss_answers", "escort_confirmed", "no_driving_advice_given",
        "observation"]


def test_require_discharge_refuses_with_all_reasons() -> None:
    with pytest.raises(RuleError) as error:
        require_discharge(ready(escort_confirmed=False))
    assert error.value.field == "escort_confirmed"
    assert str(error.value) == ("discharge criteria not met: responsible adult escort not "
                                "confirmed (a prescriber may override with a reason)")


def test_prescriber_override_with_reason_allows_and_keeps_unmet() -> None:
    decision = require_discharge(ready(assessed_at=ENDED + timedelta(minutes=45),
                                       override_reason="escort must leave; stable 30 min",
                                       override_by_prescriber=True))
    assert decision.allowed and decision.overridden
    assert [p.field for p in decision.unmet] == ["observation"]


def test_override_needs_prescriber_and_reason() -> None:
    with pytest.raises(RuleError, match="only a prescriber") as error:
        assess_discharge(ready(override_reason="nurse decided"))
    assert error.value.field == "override_reason"
    # A prescriber without a reason is not overriding: the unmet criteria stand.
    decision = assess_discharge(ready(escort_confirmed=False, override_by_prescriber=True,
                                      override_reason="  "))
    assert not decision.allowed and not decision.overridden


def test_override_not_recorded_when_nothing_unmet() -> None:
    decision = assess_discharge(ready(override_reason="just in case",
                                      override_by_prescriber=True))
    assert decision.allowed and not decision.overridden


def test_unscorable_answers_name_the_scale_field() -> None:
    with pytest.raises(RuleError) as error:
        assess_discharge(ready(aldrete_answers={"activity": 3}))
    assert error.value.field == "aldrete_answers"
