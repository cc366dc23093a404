"""The overrun rule (pure): past the ordered duration a HOLD, past the ordered volume a STOP,
each only after the clinic's grace and only while the pump runs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketaflow.infusions.rules import (
    AlertLevel,
    InfusionProgress,
    InfusionSettings,
    overrun_alerts,
)
from ketaflow.infusions.rules.overrun import OVERRUN_DURATION, OVERRUN_VOLUME, volume_grace_ml
from ketaflow.sourced import describe

# 35 mL over 40 min: 52.5 mL/h, the signed order of the usual 70 kg patient at 0.5 mg/kg.
ORDER = {"ordered_duration_min": 40.0, "ordered_volume_ml": 35.0}


def codes(running_min: float, delivered_ml: float, *, running: bool = True,
          grace_min: int = 1) -> list[tuple[AlertLevel, str]]:
    progress = InfusionProgress(running_min=running_min, delivered_ml=delivered_ml, **ORDER)
    found = overrun_alerts(progress, running=running,
                           settings=InfusionSettings(overrun_grace_min=grace_min))
    return [(a.level, a.code) for a in found]


def test_within_the_order_and_its_grace_nothing() -> None:
    assert codes(40.0, 35.0) == []
    assert codes(41.0, 35.0 + 35.0 / 40) == []  # exactly at the grace: not yet


def test_past_the_duration_at_the_signed_rate_both_alarms_stop_first() -> None:
    # The signed rate gives the ordered volume at the ordered duration: both pass together.
    assert codes(41.5, 52.5 * 41.5 / 60) == [(AlertLevel.STOP, OVERRUN_VOLUME),
                                             (AlertLevel.HOLD, OVERRUN_DURATION)]


def test_a_slower_rate_runs_past_the_duration_with_volume_still_to_give() -> None:
    assert codes(50.0, 30.0) == [(AlertLevel.HOLD, OVERRUN_DURATION)]


def test_a_faster_rate_passes_the_volume_before_the_duration() -> None:
    assert codes(38.0, 37.0) == [(AlertLevel.STOP, OVERRUN_VOLUME)]


def test_a_paused_pump_raises_nothing() -> None:
    assert codes(90.0, 80.0, running=False) == []


def test_grace_zero_alarms_at_once() -> None:
    assert codes(40.01, 30.0, grace_min=0) == [(AlertLevel.HOLD, OVERRUN_DURATION)]


def test_message_names_the_numbers_not_the_patient() -> None:
    progress = InfusionProgress(running_min=45.0, delivered_ml=39.4, **ORDER)
    messages = [a.message for a in overrun_alerts(progress, running=True)]
    assert messages[0].startswith("ordered volume exceeded: 39.4 of 35.0 mL given")
    assert "running 45 of 40 min" in messages[1]


def test_grace_is_a_bounded_sourced_setting() -> None:
    info = {s.name: s for s in describe(InfusionSettings())}["overrun_grace_min"]
    assert (info.value, info.minimum, info.maximum) == (1, 0, 5)
    assert "clinic's own choice" in info.source and info.ref == "overrun"
    with pytest.raises(ValueError):
        InfusionSettings(overrun_grace_min=1.5)  # type: ignore[arg-type]


@given(running_min=st.floats(0, 600), delivered_ml=st.floats(0, 500),
       duration_min=st.floats(1, 240), volume_ml=st.floats(1, 500), grace=st.integers(0, 5))
def test_overrun_exactly_when_past_the_order_plus_grace(
        running_min: float, delivered_ml: float, duration_min: float, volume_ml: float,
        grace: int) -> None:
    progress = InfusionProgress(running_min, delivered_ml, duration_min, volume_ml)
    settings = InfusionSettings(overrun_grace_min=grace)
    found = {a.code: a.level for a in overrun_alerts(progress, running=True, settings=settings)}
    assert (OVERRUN_DURATION in found) == (running_min > duration_min + grace)
    assert (OVERRUN_VOLUME in found) == (
        delivered_ml > volume_ml + volume_grace_ml(progress, grace))
    assert set(found.values()) <= {AlertLevel.HOLD, AlertLevel.STOP}
    # Never an alarm while paused, and never before the order has run its course.
    assert overrun_alerts(progress, running=False, settings=settings) == ()
    if running_min <= duration_min and delivered_ml <= volume_ml:
        assert found == {}
