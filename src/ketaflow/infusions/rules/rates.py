"""Rate and order safety: what a rate change, a resume, a stop and a new order may do.

A rate change can never deliver more than the signed order: a rate above the order's rate (plus
the clinic's tolerance, `rate_above_order_tolerance_percent`, 0 by default) is refused until a
prescriber signs a new order that covers it. While a HOLD or STOP alert is open, the infusion
may not be sped up or resumed; slowing down and pausing are always allowed, since they can only
deliver less. Sources: docs/clinical-sources.md#rate-and-order-safety.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ketaflow.infusions.rules.problems import RuleError
from ketaflow.infusions.rules.settings import DEFAULT_SETTINGS, InfusionSettings
from ketaflow.infusions.rules.vitals import AlertLevel

# Labels as the chair page's fields read: refusals name the field this way.
RATE_LABEL = "New rate (mL/h)"
DURATION_LABEL = "Duration (min)"
SUPERSEDE_LABEL = "Reason for the new order"
# The field a refusal for an open alert carries: a state conflict (409), not bad input.
OPEN_ALERT_FIELD = "open_alert"
BLOCKING_LEVELS = frozenset({AlertLevel.HOLD, AlertLevel.STOP})
# A stop counts as early, and needs a reason, when this much of the ordered volume or more is
# still to run (a stop pressed a few seconds before the end is not early).
EARLY_STOP_SHORTFALL_PERCENT = 2.0


@dataclass(frozen=True)
class OpenAlert:
    """An unacknowledged alert on the session, as the rules need it."""

    level: AlertLevel
    message: str


def max_rate_ml_per_h(signed_rate_ml_per_h: float,
                      settings: InfusionSettings = DEFAULT_SETTINGS) -> float:
    """The highest rate the signed order covers, with the clinic's tolerance."""
    return signed_rate_ml_per_h * (1 + settings.rate_above_order_tolerance_percent / 100)


def _blocking(alerts: Sequence[OpenAlert]) -> OpenAlert | None:
    return next((a for a in alerts if a.level in BLOCKING_LEVELS), None)


def _refuse_under_alert(alerts: Sequence[OpenAlert], what: str) -> None:
    alert = _blocking(alerts)
    if alert is not None:
        raise RuleError(f"cannot {what} while a {alert.level.value.upper()} alert is open: a "
                        f"prescriber must acknowledge the {alert.level.value.upper()} alert "
                        f"\"{alert.message}\" first (decreasing the rate and pausing are always "
                        "allowed)", field=OPEN_ALERT_FIELD)


def check_rate_change(*, new_rate_ml_per_h: float | None, current_rate_ml_per_h: float | None,
                      signed_rate_ml_per_h: float, open_alerts: Sequence[OpenAlert] = (),
                      settings: InfusionSettings = DEFAULT_SETTINGS) -> float:
    """The new rate, or RuleError: not a positive number or above the signed order (field
    `rate_ml_per_h`, 422), or an increase while a HOLD or STOP alert is open (409)."""
    if (new_rate_ml_per_h is None or isinstance(new_rate_ml_per_h, bool)
            or not math.isfinite(new_rate_ml_per_h) or new_rate_ml_per_h <= 0):
        raise RuleError(f"{RATE_LABEL} must be a number above 0", field="rate_ml_per_h")
    new_rate = float(new_rate_ml_per_h)
    current = current_rate_ml_per_h if current_rate_ml_per_h is not None else 0.0
    if new_rate > current:
        _refuse_under_alert(open_alerts, "increase the rate")
    ceiling = max_rate_ml_per_h(signed_rate_ml_per_h, settings)
    if new_rate > ceiling + 1e-9:
        tolerance = settings.rate_above_order_tolerance_percent
        allowed = "" if not tolerance else f" (+{tolerance:g}% tolerance: {ceiling:g} mL/h)"
        raise RuleError(f"{RATE_LABEL} {new_rate:g} is above the signed order's rate of "
                        f"{signed_rate_ml_per_h:g} mL/h{allowed}: a prescriber must sign a new "
                        "order to cover it", field="rate_ml_per_h")
    return new_rate


def check_resume(open_alerts: Sequence[OpenAlert]) -> None:
    """RuleError (409) while a HOLD or STOP alert is open."""
    _refuse_under_alert(open_alerts, "resume the infusion")


def require_duration(duration_min: float | None) -> float:
    """The ordered duration: no silent default, so empty, zero or negative is refused."""
    if (duration_min is None or isinstance(duration_min, bool)
            or not math.isfinite(duration_min)):
        raise RuleError(f"{DURATION_LABEL} is required", field="duration_min")
    if duration_min <= 0:
        raise RuleError(f"{DURATION_LABEL} must be more than 0", field="duration_min")
    return float(duration_min)


def require_supersede_reason(reason: str | None, *, replaces: bool) -> str | None:
    """A new order over a signed one needs a reason; the first order does not."""
    text = (reason or "").strip() or None
    if replaces and text is None:
        raise RuleError(f"{SUPERSEDE_LABEL} is required: a signed order is already in force "
                        "and will be kept as superseded", field="supersede_reason")
    return text if replaces else None


def is_early_stop(*, delivered_ml: float, ordered_ml: float) -> bool:
    """Whether stopping now leaves more than the shortfall allowance of the order unrun."""
    return delivered_ml < ordered_ml * (1 - EARLY_STOP_SHORTFALL_PERCENT / 100)


def check_stop(*, delivered_ml: float, ordered_ml: float, reason: str | None) -> None:
    """An early stop needs a reason in the record (field `reason`)."""
    if is_early_stop(delivered_ml=delivered_ml, ordered_ml=ordered_ml) and not (
            reason and reason.strip()):
        raise RuleError(f"stopping early ({delivered_ml:.1f} of {ordered_ml:.1f} mL given) "
                        "needs a reason", field="reason")
