"""The chair page's live status: what the nurse must see without reloading, and the overrun
alarm raised when a running infusion passes its order.

The overrun is checked whenever the session is looked at (the page, its live fragment every few
seconds) and when readings are charted on it (a monitor's posts), so an infusion nobody is
watching still gets its alarm on the monitor's next reading. Raising it is idempotent: one
alert per order and kind, held by a unique constraint, so concurrent polls store it once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ketaflow.audit.service import AuditContext, note_event
from ketaflow.infusions.models import InfusionOrder, InfusionSession, SessionAlert, VitalsRecord
from ketaflow.infusions.rules import (
    OVERRUN_CODES,
    AlertLevel,
    InfusionProgress,
    InfusionSettings,
    NextReading,
    SessionStatus,
    next_reading_due,
    overrun_alerts,
)
from ketaflow.infusions.service._common import ENTITY, audit, clinic_settings, load_session, now
from ketaflow.infusions.service.sessions import current_order
from ketaflow.infusions.summary import session_delivery

ALARM_LEVELS = frozenset({AlertLevel.HOLD, AlertLevel.STOP})


@dataclass(frozen=True)
class LiveStatus:
    """The status region of the chair page, from a loaded session (no queries)."""

    session_id: int
    status: SessionStatus
    now: datetime
    running_min: float | None          # pump running time, pauses out; None before the start
    paused_min: float | None
    ordered_duration_min: float | None
    delivered_text: str                # "" before the start
    next_due: NextReading | None
    open_alerts: tuple[SessionAlert, ...]  # oldest first
    # The newest reading (a monitor's included), so it shows without a reload; the readings
    # table below stays as the page was loaded.
    latest: VitalsRecord | None = None

    @property
    def alarms(self) -> tuple[SessionAlert, ...]:
        """Open HOLD and STOP alerts, STOP first: the banner at the top of the page."""
        found = [a for a in self.open_alerts if a.level in ALARM_LEVELS]
        return tuple(sorted(found, key=lambda a: (-a.level.rank, a.id)))

    @property
    def overruns(self) -> tuple[SessionAlert, ...]:
        return tuple(a for a in self.open_alerts if a.code in OVERRUN_CODES)

    @property
    def alert_ids(self) -> str:
        """The open alerts as the page last showed them ("3,5"): the live fragment redraws
        the alerts panel (and its forms) only when this changes."""
        return ",".join(str(a.id) for a in self.open_alerts)

    @property
    def latest_text(self) -> str:
        """The newest reading in one line, with units; "" before the first."""
        v = self.latest
        if v is None:
            return ""
        parts = [] if v.sbp_mmhg is None else [f"BP {v.sbp_mmhg:.0f}/{v.dbp_mmhg:.0f} mmHg"]
        for value, label in ((v.hr_bpm, "HR {:.0f} bpm"), (v.spo2_percent, "SpO2 {:.0f}%"),
                             (v.rr_per_min, "RR {:.0f}/min")):
            if value is not None:
                parts.append(label.format(value))
        if v.rass is not None:
            parts.append(f"RASS {v.rass:+d}" if v.rass else "RASS 0")
        return ", ".join(parts)

    @property
    def alarm_ids(self) -> str:
        return ",".join(str(a.id) for a in self.alarms)


def next_due(record: InfusionSession, moment: datetime,
             settings: InfusionSettings) -> NextReading | None:
    if record.started_at is None or record.status.is_final:
        return None
    times = [v.taken_at for v in record.vitals if v.sbp_mmhg is not None
             and v.hr_bpm is not None]
    return next_reading_due(started_at=record.started_at, ended_at=record.ended_at,
                            reading_times=times, now=moment, settings=settings)


def live_status(record: InfusionSession, settings: InfusionSettings,
                moment: datetime) -> LiveStatus:
    order = current_order(record)
    delivery = None if order is None or record.started_at is None else session_delivery(
        record, order, until=moment)
    return LiveStatus(
        session_id=record.id, status=record.status, now=moment,
        running_min=None if delivery is None else delivery.running_min,
        paused_min=None if delivery is None else delivery.paused_min,
        ordered_duration_min=None if order is None else order.duration_min,
        delivered_text="" if delivery is None or order is None else _delivered(
            delivery.dose_mg, delivery.volume_ml, order),
        next_due=next_due(record, moment, settings),
        open_alerts=tuple(a for a in record.alerts if a.acknowledged_at is None),
        latest=max(record.vitals, key=lambda v: (v.taken_at, v.id), default=None))


def _delivered(dose_mg: float, volume_ml: float, order: InfusionOrder) -> str:
    share = volume_ml / order.volume_ml * 100 if order.volume_ml > 0 else 0.0
    return (f"{dose_mg:.1f} mg {order.dose_salt.value} of {order.dose_mg:.1f} mg ordered "
            f"({share:.0f}%), {volume_ml:.1f} of {order.volume_ml:.1f} mL")


def raise_overruns(db: Session, ctx: AuditContext, record: InfusionSession, *,
                   at: datetime) -> list[SessionAlert]:
    """Raise the overrun alarms the running session is due (`rules.overrun`), each once per
    order; returns those raised now. A concurrent request that raised the same one first
    wins: the unique constraint refuses the second, which is then skipped."""
    order = current_order(record)
    if record.status is not SessionStatus.RUNNING or order is None:
        return []
    delivery = session_delivery(record, order, until=at)
    progress = InfusionProgress(
        running_min=delivery.running_min, delivered_ml=delivery.volume_ml,
        ordered_duration_min=order.duration_min, ordered_volume_ml=order.volume_ml)
    raised = {(a.code, a.order_id) for a in record.alerts}
    created = []
    for found in overrun_alerts(progress, running=True, settings=clinic_settings(db, at)):
        if (found.code, order.id) in raised:
            continue
        row = SessionAlert(session_id=record.id, order_id=order.id, level=found.level,
                           code=found.code, field=found.field, message=found.message,
                           raised_at=at)
        try:
            with db.begin_nested():
                db.add(row)
                db.flush()
        except IntegrityError:
            continue
        audit(db, ctx, "infusion.alert.raise", record.id, alert_id=row.id, code=found.code,
              order_id=order.id)
        created.append(row)
    return created


def watch_session(db: Session, ctx: AuditContext, record: InfusionSession, *,
                  at: datetime) -> InfusionSession:
    """The session after any overrun alarm it is due (reloaded when one was raised)."""
    if raise_overruns(db, ctx, record, at=at):
        return load_session(db, record.id)
    return record


def raise_overruns_for(db: Session, ctx: AuditContext, session_ids: Iterable[int]) -> None:
    """After readings are charted: the overrun check for each running session among them."""
    for session_id in sorted(set(session_ids)):
        record = load_session(db, session_id)
        if record.status is SessionStatus.RUNNING:
            raise_overruns(db, ctx, record, at=now())


def live_view(db: Session, ctx: AuditContext, *, session_id: int) -> LiveStatus:
    """The live fragment's data. Polled every few seconds, so its read is noted through the
    audit buffer (`note_event`) rather than written as a clinical event each time; an
    overrun it raises is a clinical write and audited as one."""
    moment = now()
    record = watch_session(db, ctx, load_session(db, session_id), at=moment)
    note_event(db, ctx, action="infusion.session.live", entity_type=ENTITY,
               entity_id=record.id)
    return live_status(record, clinic_settings(db, moment), moment)

