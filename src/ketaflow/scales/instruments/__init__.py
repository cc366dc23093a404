"""Instrument definitions as data, and the registry the rest of ketaflow looks them up in."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from ketaflow.scales.instruments.cssrs import CSSRS_SCREENER, RiskLevel, cssrs_risk
from ketaflow.scales.instruments.licensed import (
    ASRM,
    BPRS_POSITIVE,
    CADSS6,
    MADRS,
    QIDS_SR16,
    YMRS,
)
from ketaflow.scales.instruments.model import (
    KETAFLOW_SCORES,
    LOINC,
    Band,
    Code,
    Domain,
    Instrument,
    Item,
    Licence,
    Option,
    Rater,
    ScoringRule,
)
from ketaflow.scales.instruments.public import ALDRETE, GAD7, PADSS, PHQ9, SIDE_EFFECTS

__all__ = [
    "INSTRUMENTS",
    "KETAFLOW_SCORES",
    "LOINC",
    "Band",
    "Code",
    "Domain",
    "Instrument",
    "Item",
    "Licence",
    "Option",
    "Rater",
    "RiskLevel",
    "ScoringRule",
    "UnknownInstrumentError",
    "cssrs_risk",
    "get_instrument",
    "instrument_ids",
]

_ALL = (
    PHQ9, GAD7, QIDS_SR16, MADRS, YMRS, ASRM, CADSS6, BPRS_POSITIVE, CSSRS_SCREENER, ALDRETE, PADSS,
    SIDE_EFFECTS,
)

# Read-only registry, in the order instruments are listed to users.
INSTRUMENTS: Mapping[str, Instrument] = MappingProxyType({inst.id: inst for inst in _ALL})


class UnknownInstrumentError(KeyError):
    """Raised for an instrument id that is not in the registry."""

    def __init__(self, instrument_id: str) -> None:
        super().__init__(instrument_id)
        self.instrument_id = instrument_id

    def __str__(self) -> str:
        return f"unknown instrument {self.instrument_id!r} (known: {', '.join(INSTRUMENTS)})"


def instrument_ids() -> tuple[str, ...]:
    return tuple(INSTRUMENTS)


def get_instrument(instrument: str | Instrument) -> Instrument:
    """Look an instrument up by id; an Instrument passes through unchanged."""
    if isinstance(instrument, Instrument):
        return instrument
    try:
        return INSTRUMENTS[instrument]
    except KeyError:
        raise UnknownInstrumentError(instrument) from None
