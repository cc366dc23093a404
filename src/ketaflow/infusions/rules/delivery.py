"""The dose actually delivered: rate x running time, pauses out, converted with the order's
concentration. Pure: the service turns the session's events into `PumpEvent`s.

Volume is the integral of the pump rate over the time it ran: each segment between two events
runs at the rate in force, and nothing runs while paused or after the stop. The dose in the
order's dose salt is the volume's share of the ordered volume times the ordered dose, which is
the volume times the concentration converted to the dose salt (the order fixes that ratio).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class PumpChange(StrEnum):
    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    RATE = "rate"
    STOP = "stop"


@dataclass(frozen=True)
class PumpEvent:
    at: datetime
    change: PumpChange
    rate_ml_per_h: float | None = None  # START and RATE: the rate from then on


@dataclass(frozen=True)
class OrderedDose:
    dose_mg: float          # in the order's dose salt
    volume_ml: float
    duration_min: float
    concentration_mg_per_ml: float  # as labelled (the concentration salt)


@dataclass(frozen=True)
class Delivery:
    volume_ml: float
    dose_mg: float                    # in the order's dose salt
    dose_mg_as_labelled: float        # volume x concentration (the concentration salt)
    running_min: float
    paused_min: float
    pauses: int
    rate_changes: int
    stopped_at: datetime | None

    def fraction_of(self, ordered: OrderedDose) -> float:
        return self.volume_ml / ordered.volume_ml if ordered.volume_ml > 0 else 0.0


def _minutes(start: datetime, end: datetime) -> float:
    return max((end - start).total_seconds(), 0.0) / 60


@dataclass
class _Pump:
    """The pump's state while the events are replayed."""

    volume_ml: float = 0.0
    running_min: float = 0.0
    paused_min: float = 0.0
    pauses: int = 0
    rate_changes: int = 0
    rate: float | None = None
    running_since: datetime | None = None
    paused_since: datetime | None = None
    stopped_at: datetime | None = None

    def advance(self, to: datetime) -> None:
        """Count what ran (or stood paused) up to `to`."""
        if self.running_since is not None and self.rate is not None:
            minutes = _minutes(self.running_since, to)
            self.volume_ml += self.rate * minutes / 60
            self.running_min += minutes
            self.running_since = to
        if self.paused_since is not None:
            self.paused_min += _minutes(self.paused_since, to)
            self.paused_since = to

    def apply(self, event: PumpEvent) -> None:
        self.advance(event.at)
        change = event.change
        if change is PumpChange.START:
            self.rate, self.running_since = event.rate_ml_per_h, event.at
        elif change is PumpChange.RATE:
            self.rate_changes += 1
            self.rate = event.rate_ml_per_h
        elif change is PumpChange.PAUSE and self.running_since is not None:
            self.pauses += 1
            self.running_since, self.paused_since = None, event.at
        elif change is PumpChange.RESUME and self.paused_since is not None:
            self.running_since, self.paused_since = event.at, None
        elif change is PumpChange.STOP:
            self.running_since = self.paused_since = None
            self.stopped_at = event.at


def delivered(events: Sequence[PumpEvent], ordered: OrderedDose, *, until: datetime
              ) -> Delivery:
    """What the pump delivered from the events (in time order) up to `until` (now, for a
    session still running; a stop ends delivery earlier)."""
    pump = _Pump()
    for event in sorted(events, key=lambda e: e.at):
        if pump.stopped_at is not None or event.at > until:
            break
        pump.apply(event)
    if pump.stopped_at is None:
        pump.advance(until)
    per_ml = ordered.dose_mg / ordered.volume_ml if ordered.volume_ml > 0 else 0.0
    return Delivery(volume_ml=pump.volume_ml, dose_mg=pump.volume_ml * per_ml,
                    dose_mg_as_labelled=pump.volume_ml * ordered.concentration_mg_per_ml,
                    running_min=pump.running_min, paused_min=pump.paused_min,
                    pauses=pump.pauses, rate_changes=pump.rate_changes,
                    stopped_at=pump.stopped_at)
