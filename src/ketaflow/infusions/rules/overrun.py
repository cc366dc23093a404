"""Overrun: a running infusion past its ordered duration (running time, pauses out) or its
ordered volume (what the pump delivered, `rules.delivery`).

A pump left running after the order is complete keeps giving drug nobody prescribed, so the
chair page raises an alarm once the grace (a clinic setting) has passed. Running past the
duration is a HOLD: the prescriber decides whether the rest of the bag runs (a slower rate
leaves volume still to give). Running past the volume is a STOP: more drug than ordered is
going in. The grace applies to both, for the volume as the share of the ordered volume the
signed order gives in that many minutes. Pure: the service passes the numbers in.
"""

from __future__ import annotations

from dataclasses import dataclass

from ketaflow.infusions.rules.settings import DEFAULT_SETTINGS, InfusionSettings
from ketaflow.infusions.rules.vitals import AlertLevel, VitalsAlert

OVERRUN_DURATION = "overrun-duration"
OVERRUN_VOLUME = "overrun-volume"
OVERRUN_CODES = frozenset({OVERRUN_DURATION, OVERRUN_VOLUME})


@dataclass(frozen=True)
class InfusionProgress:
    """Where a running infusion stands against its signed order."""

    running_min: float            # pump running time so far, pauses out
    delivered_ml: float           # volume the pump has delivered so far
    ordered_duration_min: float
    ordered_volume_ml: float


def volume_grace_ml(progress: InfusionProgress, grace_min: float) -> float:
    """The volume the signed order gives in `grace_min` minutes."""
    if progress.ordered_duration_min <= 0:
        return 0.0
    return progress.ordered_volume_ml * grace_min / progress.ordered_duration_min


def overrun_alerts(progress: InfusionProgress, *, running: bool,
                   settings: InfusionSettings = DEFAULT_SETTINGS) -> tuple[VitalsAlert, ...]:
    """The overrun alarms a session raises now, most severe first; none unless the pump runs
    (a paused pump delivers nothing and its running time stands still)."""
    if not running:
        return ()
    grace = settings.overrun_grace_min
    alerts = []
    if progress.delivered_ml > progress.ordered_volume_ml + volume_grace_ml(progress, grace):
        alerts.append(VitalsAlert(
            AlertLevel.STOP, OVERRUN_VOLUME, "rate_ml_per_h",
            f"ordered volume exceeded: {progress.delivered_ml:.1f} of "
            f"{progress.ordered_volume_ml:.1f} mL given: stop the infusion now and call the "
            "prescriber"))
    if progress.running_min > progress.ordered_duration_min + grace:
        alerts.append(VitalsAlert(
            AlertLevel.HOLD, OVERRUN_DURATION, "duration_min",
            f"ordered duration passed: running {progress.running_min:.0f} of "
            f"{progress.ordered_duration_min:g} min: stop the pump if the bag is done, or "
            "call the prescriber"))
    return tuple(alerts)
