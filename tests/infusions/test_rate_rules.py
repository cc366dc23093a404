"""The pure rate and order rules (infusions.rules.rates), without a database."""

from __future__ import annotations

import pytest

from ketaflow.infusions.rules import (
    OPEN_ALERT_FIELD,
    AlertLevel,
    InfusionSettings,
    OpenAlert,
    RuleError,
    check_rate_change,
    check_resume,
    check_stop,
    is_early_stop,
    max_rate_ml_per_h,
    require_duration,
    require_supersede_reason,
)

HOLD = OpenAlert(AlertLevel.HOLD, "BP 192/118 on a repeat reading")
REVIEW = OpenAlert(AlertLevel.REVIEW, "HR 121")


def change(new: float | None, *, current: float = 52.5, alerts: tuple[OpenAlert, ...] = (),
           tolerance: int = 0) -> float:
    return check_rate_change(new_rate_ml_per_h=new, current_rate_ml_per_h=current,
                             signed_rate_ml_per_h=52.5, open_alerts=alerts,
                             settings=InfusionSettings(
                                 rate_above_order_tolerance_percent=tolerance))


def test_up_to_the_signed_rate_allowed() -> None:
    assert change(52.5) == 52.5
    assert change(10) == 10


def test_above_the_signed_rate_refused_with_the_signed_rate() -> None:
    with pytest.raises(RuleError) as refused:
        change(52.6)
    assert refused.value.field == "rate_ml_per_h"
    assert "52.5 mL/h" in refused.value.message and "New rate (mL/h)" in refused.value.message


@pytest.mark.parametrize("bad", [None, 0.0, -1.0, float("nan"), float("inf")])
def test_rate_must_be_a_positive_number(bad: float | None) -> None:
    with pytest.raises(RuleError) as refused:
        change(bad)
    assert refused.value.field == "rate_ml_per_h"


def test_tolerance() -> None:
    assert max_rate_ml_per_h(50.0, InfusionSettings(rate_above_order_tolerance_percent=4)) \
        == pytest.approx(52.0)
    assert change(57.75, tolerance=10) == 57.75
    with pytest.raises(RuleError):
        change(57.76, tolerance=10)


def test_tolerance_bounds() -> None:
    info = {s.name: s for s in InfusionSettings().describe()}
    tolerance = info["rate_above_order_tolerance_percent"]
    assert (tolerance.default, tolerance.minimum, tolerance.maximum) == (0, 0, 10)
    assert tolerance.ref == "rate-and-order-safety"


def test_increase_under_hold_or_stop_refused_decrease_allowed() -> None:
    for level in (AlertLevel.HOLD, AlertLevel.STOP):
        with pytest.raises(RuleError) as refused:
            change(9999, current=52.5, alerts=(OpenAlert(level, "x"),))
        assert refused.value.field == OPEN_ALERT_FIELD
        assert level.value.upper() in refused.value.message
    assert change(20, alerts=(HOLD,)) == 20
    assert change(52.5, current=30, alerts=(REVIEW,)) == 52.5  # a REVIEW does not block


def test_resume_under_hold_refused() -> None:
    with pytest.raises(RuleError) as refused:
        check_resume([REVIEW, HOLD])
    assert refused.value.field == OPEN_ALERT_FIELD and "BP 192/118" in refused.value.message
    check_resume([REVIEW])
    check_resume([])


@pytest.mark.parametrize("bad", [None, 0.0, -40.0, float("nan")])
def test_duration_required_and_positive(bad: float | None) -> None:
    with pytest.raises(RuleError) as refused:
        require_duration(bad)
    assert refused.value.field == "duration_min"
    assert refused.value.message.startswith("Duration (min)")


def test_duration_kept_as_entered() -> None:
    assert require_duration(40) == 40.0
    assert require_duration(12.5) == 12.5


def test_supersede_reason() -> None:
    assert require_supersede_reason(None, replaces=False) is None
    assert require_supersede_reason(" new bag ", replaces=True) == "new bag"
    with pytest.raises(RuleError) as refused:
        require_supersede_reason("  ", replaces=True)
    assert refused.value.field == "supersede_reason"


def test_early_stop() -> None:
    assert is_early_stop(delivered_ml=8.75, ordered_ml=35.0)
    assert not is_early_stop(delivered_ml=34.5, ordered_ml=35.0)  # within 2%
    assert not is_early_stop(delivered_ml=35.0, ordered_ml=35.0)
    with pytest.raises(RuleError) as refused:
        check_stop(delivered_ml=8.75, ordered_ml=35.0, reason=" ")
    assert refused.value.field == "reason"
    check_stop(delivered_ml=8.75, ordered_ml=35.0, reason="nausea")
    check_stop(delivered_ml=35.0, ordered_ml=35.0, reason=None)
