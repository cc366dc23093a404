"""The per-session summary (after the Spravato REMS monitoring form) and the note text, built
from a loaded session. No queries: the caller passes a session loaded by the service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ketaflow.infusions.formulary import drug_name
from ketaflow.infusions.models import EventKind, InfusionOrder, InfusionSession, VitalsRecord
from ketaflow.infusions.rules import InfusionSettings, observation_complete_at


@dataclass(frozen=True)
class BpPoint:
    label: str
    taken_at: datetime | None
    sbp_mmhg: float | None
    dbp_mmhg: float | None

    @property
    def text(self) -> str:
        if self.sbp_mmhg is None or self.dbp_mmhg is None:
            return "not recorded"
        return f"{self.sbp_mmhg:.0f}/{self.dbp_mmhg:.0f} mmHg"


@dataclass(frozen=True)
class SessionSummary:
    session_id: int
    status: str
    order: InfusionOrder | None
    started_at: datetime | None
    ended_at: datetime | None
    bp: tuple[BpPoint, BpPoint, BpPoint]
    deepest_rass: int | None
    max_cadss6: int | None
    lowest_spo2_percent: float | None
    lowest_rr_per_min: float | None
    breathing_problem: bool
    serious_events: tuple[str, ...]
    rescue_medications: tuple[str, ...]
    ready_to_leave_at: datetime | None
    discharged_at: datetime | None
    escort_confirmed: bool


def _bp_readings(record: InfusionSession) -> list[VitalsRecord]:
    return [v for v in record.vitals if v.sbp_mmhg is not None and v.dbp_mmhg is not None]


def _point(label: str, reading: VitalsRecord | None) -> BpPoint:
    if reading is None:
        return BpPoint(label, None, None, None)
    return BpPoint(label, reading.taken_at, reading.sbp_mmhg, reading.dbp_mmhg)


def _bp_points(record: InfusionSession,
               settings: InfusionSettings) -> tuple[BpPoint, BpPoint, BpPoint]:
    readings = _bp_readings(record)
    start, end = record.started_at, record.ended_at
    before = [v for v in readings if start is None or v.taken_at <= start]
    at_40 = None
    if start is not None:
        mark = start.timestamp() + settings.forty_min_check_min * 60
        near = [v for v in readings if abs(v.taken_at.timestamp() - mark)
                <= settings.forty_min_window_min * 60]
        at_40 = min(near, key=lambda v: abs(v.taken_at.timestamp() - mark), default=None)
    after = [v for v in readings if end is not None and v.taken_at >= end]
    return (_point("before dosing", before[-1] if before else None),
            _point("at about 40 min", at_40),
            _point("before discharge", after[-1] if after else None))


def _minimum(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return min(present) if present else None


def build_summary(record: InfusionSession,
                  settings: InfusionSettings) -> SessionSummary:
    orders = [o for o in record.orders if o.superseded_at is None]
    rass = [v.rass for v in record.vitals if v.rass is not None]
    cadss = [e.total for e in record.events if e.kind is EventKind.CADSS6 and e.total is not None]
    breathing_codes = {"spo2-low", "spo2-borderline", "rr-out-of-band", "symptom-dyspnoea"}
    ready = None
    if record.discharge is not None:
        ready = record.discharge.ready_at
    elif record.ended_at is not None:
        ready = observation_complete_at(record.ended_at, settings)
    return SessionSummary(
        session_id=record.id, status=record.status.value,
        order=orders[-1] if orders else None,
        started_at=record.started_at, ended_at=record.ended_at,
        bp=_bp_points(record, settings),
        deepest_rass=min(rass) if rass else None,
        max_cadss6=max(cadss) if cadss else None,
        lowest_spo2_percent=_minimum([v.spo2_percent for v in record.vitals]),
        lowest_rr_per_min=_minimum([v.rr_per_min for v in record.vitals]),
        breathing_problem=any(a.code in breathing_codes for a in record.alerts),
        serious_events=tuple(e.reason or "" for e in record.events
                             if e.kind is EventKind.ADVERSE_EVENT and e.serious),
        rescue_medications=tuple(
            f"{e.detail.get('name')} {e.detail.get('dose_mg')} mg {e.detail.get('route')}"
            for e in record.events if e.kind is EventKind.RESCUE_MEDICATION),
        ready_to_leave_at=ready,
        discharged_at=record.discharged_at,
        escort_confirmed=record.escort_confirmed,
    )


def _time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "-"


def note_text(record: InfusionSession, settings: InfusionSettings) -> str:
    """The session note, generated from the record for the prescriber to check and sign."""
    summary = build_summary(record, settings)
    lines = [f"IV ketamine infusion, session {record.id} ({summary.status})."]
    order = summary.order
    if order is not None:
        lines.append(
            f"Order: {drug_name(order.drug)} lot {order.lot_number} (exp {order.expiry_date}), "
            f"{order.concentration_mg_per_ml:g} mg/mL {order.concentration_salt.value}; "
            f"{order.dose_mg_per_kg:.3g} mg/kg {order.dose_salt.value} x "
            f"{order.dosing_weight_kg:.1f} kg = {order.dose_mg:.1f} mg over "
            f"{order.duration_min:g} min at {order.rate_ml_per_h:g} mL/h.")
    lines.append(f"Infusion: start {_time(summary.started_at)}, end {_time(summary.ended_at)}.")
    pauses = sum(1 for e in record.events if e.detail.get("action") == "pause")
    rate_changes = [e for e in record.events if e.kind is EventKind.RATE_CHANGE]
    if pauses:
        lines.append(f"Pauses: {pauses}.")
    if rate_changes:
        lines.append(f"Rate changes: {len(rate_changes)} ("
                     + "; ".join(f"to {e.detail.get('to_ml_per_h')} mL/h: {e.reason}"
                                 for e in rate_changes) + ").")
    lines.append("BP: " + "; ".join(f"{p.label} {p.text}" for p in summary.bp) + ".")
    lines.append(f"Vitals charted: {len(record.vitals)}; lowest SpO2 "
                 f"{_fmt(summary.lowest_spo2_percent, '%')}; deepest RASS "
                 f"{_fmt(summary.deepest_rass, '')}; CADSS-6 max {_fmt(summary.max_cadss6, '')}.")
    for alert in record.alerts:
        state = f"acknowledged: {alert.action_taken}" if alert.acknowledged_at else "OPEN"
        lines.append(f"Alert ({alert.level.value}) {alert.message} [{state}].")
    lines.extend(f"Rescue medication: {text}." for text in summary.rescue_medications)
    lines.extend(f"Serious adverse event: {text}." for text in summary.serious_events)
    if record.discharge is not None:
        d = record.discharge
        lines.append(f"Discharge {_time(d.discharged_at)}: modified Aldrete {d.aldrete_total}, "
                     f"PADSS {d.padss_total}; escort {'confirmed' if d.escort_confirmed else 'no'};"
                     f" no-driving advice {'given' if d.no_driving_advice_given else 'no'}.")
        if d.override_reason:
            lines.append(f"Discharged by prescriber override: {d.override_reason}.")
    if record.abort_reason:
        lines.append(f"Aborted {_time(record.aborted_at)}: {record.abort_reason}.")
    return "\n".join(lines)


def _fmt(value: float | None, unit: str) -> str:
    return "-" if value is None else f"{value:g}{unit}"
