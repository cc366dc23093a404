"""The per-session summary (after the Spravato REMS monitoring form) and the note text, built
from a loaded session. No queries: the caller passes a session loaded by the service."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from ketaflow.infusions.formulary import drug_name
from ketaflow.infusions.models import (
    EventKind,
    InfusionOrder,
    InfusionSession,
    NoteKind,
    SessionEvent,
    VitalsRecord,
)
from ketaflow.infusions.rules import (
    Delivery,
    InfusionSettings,
    OrderedDose,
    PumpChange,
    PumpEvent,
    delivered,
    is_early_stop,
    observation_complete_at,
)

# Staff as the record shows them: "Full Name (role)" by user id, looked up by the service.
StaffNames = Mapping[int, str]

_PUMP_ACTIONS = {"start": PumpChange.START, "pause": PumpChange.PAUSE,
                 "resume": PumpChange.RESUME, "stop": PumpChange.STOP,
                 "abort": PumpChange.STOP}

UTC_ZONE = "UTC"


def staff_label(staff: StaffNames, user_id: int | None) -> str:
    if user_id is None:
        return "not recorded"
    return staff.get(user_id, "a staff member no longer listed")


def _order_at_start(record: InfusionSession) -> InfusionOrder | None:
    """The order in force when the infusion started (old records kept no rate on the event)."""
    start = record.started_at
    for order in reversed(record.orders):
        if start is None or (order.signed_at <= start and (
                order.superseded_at is None or order.superseded_at > start)):
            return order
    return record.orders[-1] if record.orders else None


def pump_events(record: InfusionSession) -> list[PumpEvent]:
    """The session's pump history from its status and rate-change events, in time order."""
    events: list[PumpEvent] = []
    for event in record.events:
        action = event.detail.get("action")
        if event.kind is EventKind.RATE_CHANGE:
            events.append(PumpEvent(event.occurred_at, PumpChange.RATE,
                                    float(event.detail["to_ml_per_h"])))
        elif event.kind is EventKind.STATUS and action in _PUMP_ACTIONS:
            change = _PUMP_ACTIONS[action]
            if change is PumpChange.START:
                rate = event.detail.get("rate_ml_per_h")
                if rate is None:
                    order = _order_at_start(record)
                    rate = None if order is None else order.rate_ml_per_h
                events.append(PumpEvent(event.occurred_at, change,
                                        None if rate is None else float(rate)))
            elif action != "abort" or record.started_at is not None:
                events.append(PumpEvent(event.occurred_at, change))
    return events


def ordered_dose(order: InfusionOrder) -> OrderedDose:
    return OrderedDose(dose_mg=order.dose_mg, volume_ml=order.volume_ml,
                       duration_min=order.duration_min,
                       concentration_mg_per_ml=order.concentration_mg_per_ml)


def current_order(record: InfusionSession) -> InfusionOrder | None:
    """The order in force: the newest not replaced."""
    return next((o for o in reversed(record.orders) if o.superseded_at is None), None)


def session_delivered(record: InfusionSession, *, at: datetime | None = None
                      ) -> Delivery | None:
    """What the pump delivered under the order in force: all of it once the infusion has
    ended, so far (up to `at`, now) while it runs; None before the start or without an order."""
    order = current_order(record)
    events = pump_events(record)
    # Records written before the change and its event shared one moment have the stop event a
    # moment after ended_at: count up to whichever is later, so the stop is always seen.
    ends = [t for t in (record.ended_at, *(e.at for e in events
                                             if e.change is PumpChange.STOP)) if t is not None]
    until = max(ends) if ends else (at or (events[-1].at if events else None))
    if order is None or record.started_at is None or until is None:
        return None
    return delivered(events, ordered_dose(order), until=until)


def session_delivery(record: InfusionSession, order: InfusionOrder, *, until: datetime
                     ) -> Delivery:
    """What the pump delivered on this session up to `until` (the end, if it has ended)."""
    return delivered(pump_events(record), ordered_dose(order), until=until)


@dataclass(frozen=True)
class RateChangeLine:
    at: datetime
    from_ml_per_h: float | None
    to_ml_per_h: float
    reason: str
    by: str


@dataclass(frozen=True)
class PauseLine:
    paused_at: datetime
    resumed_at: datetime | None  # None: still paused, or stopped while paused


@dataclass(frozen=True)
class OrderLine:
    """One order of the session's order history, newest first."""

    order: InfusionOrder
    signed_by: str
    superseded_at: datetime | None
    supersede_reason: str | None  # why this order replaced the one before it


@dataclass(frozen=True)
class NoteLine:
    kind: str            # "Note" or "Addendum"
    body: str
    signed_at: datetime | None
    signed_by: str | None


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
    # What was actually given (None before the start or without an order).
    delivery: Delivery | None = None
    ordered: OrderedDose | None = None
    pauses: tuple[PauseLine, ...] = ()
    rate_changes: tuple[RateChangeLine, ...] = ()
    early_stop: bool = False
    stop_reason: str | None = None
    stopped_by: str | None = None
    # Discharge before the criteria were met: the prescriber's reason and name.
    discharge_override_reason: str | None = None
    discharge_override_by: str | None = None
    # Observation would have completed after the discharge (override): never "ready" after it.
    observation_complete_at: datetime | None = None
    orders: tuple[OrderLine, ...] = ()
    notes: tuple[NoteLine, ...] = ()

    @property
    def ready_text(self) -> str:
        return self.ready_text_in(UTC_ZONE)

    def ready_text_in(self, zone: str) -> str:
        if self.ready_to_leave_at is not None:
            return _time(self.ready_to_leave_at, zone)
        if self.discharged_at is not None and self.observation_complete_at is not None:
            return (f"not reached before discharge (observation would have completed "
                    f"{_time(self.observation_complete_at, zone)}): prescriber override")
        return "-"


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


def _ready(record: InfusionSession, settings: InfusionSettings
           ) -> tuple[datetime | None, datetime | None]:
    """(ready to leave, observation complete). Ready to leave is when observation completed,
    and never after the discharge: a discharge by override before then was never "ready"."""
    if record.ended_at is None:
        return None, None
    complete = (record.discharge.ready_at if record.discharge is not None
                else observation_complete_at(record.ended_at, settings))
    if record.discharged_at is not None and complete > record.discharged_at:
        return None, complete
    return complete, complete


def _pause_lines(events: list[PumpEvent]) -> tuple[PauseLine, ...]:
    lines: list[PauseLine] = []
    paused: datetime | None = None
    for event in events:
        if event.change is PumpChange.PAUSE:
            paused = event.at
        elif paused is not None and event.change in (PumpChange.RESUME, PumpChange.STOP):
            lines.append(PauseLine(paused, event.at if event.change is PumpChange.RESUME
                                   else None))
            paused = None
    if paused is not None:
        lines.append(PauseLine(paused, None))
    return tuple(lines)


def _stop_event(record: InfusionSession) -> SessionEvent | None:
    return next((e for e in record.events if e.kind is EventKind.STATUS
                 and e.detail.get("action") in ("stop", "abort")
                 and record.started_at is not None), None)


def build_summary(record: InfusionSession, settings: InfusionSettings, *,
                  staff: StaffNames | None = None, at: datetime | None = None
                  ) -> SessionSummary:
    """The summary from a loaded session. `staff` names users (the service looks them up);
    `at` is now, for a session still infusing (delivery so far)."""
    names: StaffNames = staff or {}
    order = current_order(record)
    delivery = session_delivered(record, at=at)
    stop = _stop_event(record)
    early = bool(delivery is not None and stop is not None and is_early_stop(
        delivered_ml=delivery.volume_ml, ordered_ml=order.volume_ml if order else 0.0))
    override = record.discharge.override_reason if record.discharge is not None else None
    ready, complete = _ready(record, settings)
    rass = [v.rass for v in record.vitals if v.rass is not None]
    cadss = [e.total for e in record.events if e.kind is EventKind.CADSS6 and e.total is not None]
    breathing_codes = {"spo2-low", "spo2-borderline", "rr-out-of-band", "symptom-dyspnoea"}
    return SessionSummary(
        session_id=record.id, status=record.status.value,
        order=order,
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
        delivery=delivery,
        ordered=None if order is None else ordered_dose(order),
        pauses=_pause_lines(pump_events(record)),
        rate_changes=tuple(
            RateChangeLine(e.occurred_at, e.detail.get("from_ml_per_h"),
                           float(e.detail["to_ml_per_h"]), e.reason or "",
                           staff_label(names, e.recorded_by_user_id))
            for e in record.events if e.kind is EventKind.RATE_CHANGE),
        early_stop=early,
        stop_reason=None if stop is None else (stop.reason or record.abort_reason),
        stopped_by=None if stop is None else staff_label(names, stop.recorded_by_user_id),
        discharge_override_reason=override,
        discharge_override_by=None if not override or record.discharge is None
        else staff_label(names, record.discharge.recorded_by_user_id),
        observation_complete_at=complete,
        orders=tuple(
            OrderLine(o, staff_label(names, o.signed_by_user_id), o.superseded_at,
                      o.supersede_reason) for o in reversed(record.orders)),
        notes=tuple(
            NoteLine("Note" if n.kind is NoteKind.NOTE else "Addendum", n.body, n.signed_at,
                     None if n.signed_by_user_id is None
                     else staff_label(names, n.signed_by_user_id))
            for n in record.notes),
    )


def delivery_text(summary: SessionSummary) -> str:
    """The dose actually given, as the summary and the note state it."""
    d, ordered, order = summary.delivery, summary.ordered, summary.order
    if d is None or ordered is None or order is None:
        return "none (the infusion did not start)"
    share = d.fraction_of(ordered) * 100
    return (f"{d.dose_mg:.1f} mg {order.dose_salt.value} of {ordered.dose_mg:.1f} mg ordered "
            f"({share:.0f}%): {d.volume_ml:.1f} of {ordered.volume_ml:.1f} mL at "
            f"{ordered.concentration_mg_per_ml:g} mg/mL {order.concentration_salt.value}")


def running_text(summary: SessionSummary) -> str:
    d, ordered = summary.delivery, summary.ordered
    if d is None or ordered is None:
        return "-"
    paused = f"; paused {d.paused_min:.1f} min in {d.pauses} pause(s)" if d.pauses else ""
    return f"{d.running_min:.1f} min of {ordered.duration_min:g} min ordered{paused}"


def pauses_text(summary: SessionSummary, zone: str | None = None) -> str:
    if not summary.pauses:
        return "none"
    return "; ".join(
        f"{_hhmm(p.paused_at, zone)}-"
        f"{_hhmm(p.resumed_at, zone) if p.resumed_at else 'not resumed'}"
        for p in summary.pauses)


def rate_changes_text(summary: SessionSummary, zone: str | None = None) -> str:
    if not summary.rate_changes:
        return "none"
    return "; ".join(
        f"{_hhmm(c.at, zone)} {_fmt(c.from_ml_per_h, '')} to {c.to_ml_per_h:g} mL/h by "
        f"{c.by}: {c.reason}" for c in summary.rate_changes)


def stop_text(summary: SessionSummary, zone: str = UTC_ZONE) -> str:
    if summary.delivery is None or summary.delivery.stopped_at is None:
        return "-"
    when = _time(summary.delivery.stopped_at, zone)
    if not summary.early_stop:
        return f"{when}, at the end of the order"
    return (f"EARLY STOP {when} by {summary.stopped_by}: "
            f"{summary.stop_reason or 'no reason recorded'}")


def discharge_override_text(summary: SessionSummary) -> str:
    if not summary.discharge_override_reason:
        return "none"
    return (f"by prescriber {summary.discharge_override_by}: "
            f"{summary.discharge_override_reason}")


def _hhmm(value: datetime, zone: str | None = None) -> str:
    """Wall-clock time in `zone` with the zone's abbreviation ("14:05 GMT"); without a zone
    the UTC clock alone, as the note has always written it (its other times say UTC)."""
    if zone is None:
        return _local(value, UTC_ZONE).strftime("%H:%M")
    return _local(value, zone).strftime("%H:%M %Z")


def _time(value: datetime | None, zone: str = UTC_ZONE) -> str:
    """Date and time in `zone`, zone stated. The signed note keeps UTC (its text is fixed
    when drafted); pages and printouts pass the clinic's zone."""
    if value is None:
        return "-"
    local = _local(value, zone)
    return local.strftime("%Y-%m-%d %H:%M ") + (zone if zone == UTC_ZONE else local.strftime("%Z"))


clinic_time_text = _time  # the printout's name for it (`ketaflow.infusions.pdf`)


def _local(value: datetime, zone: str) -> datetime:
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(ZoneInfo(zone))


def note_text(record: InfusionSession, settings: InfusionSettings, *,
              staff: StaffNames | None = None) -> str:
    """The session note, generated from the record for the prescriber to check and sign."""
    summary = build_summary(record, settings, staff=staff)
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
    lines.append(f"Dose delivered: {delivery_text(summary)}.")
    lines.append(f"Running time: {running_text(summary)}.")
    if summary.pauses:
        lines.append(f"Pauses: {len(summary.pauses)} ({pauses_text(summary)}).")
    if summary.rate_changes:
        lines.append(f"Rate changes: {len(summary.rate_changes)} ("
                     + rate_changes_text(summary) + ").")
    if summary.early_stop:
        lines.append(f"Stopped early: {stop_text(summary)}.")
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
            lines.append(f"Discharged by prescriber override "
                         f"({summary.discharge_override_by}): {d.override_reason}.")
        lines.append(f"Ready to leave: {summary.ready_text}.")
    if record.abort_reason:
        lines.append(f"Aborted {_time(record.aborted_at)}: {record.abort_reason}.")
    return "\n".join(lines)


def _fmt(value: float | None, unit: str) -> str:
    return "-" if value is None else f"{value:g}{unit}"
