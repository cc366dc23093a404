"""Infusion sessions on a treatment course: orders, vitals, alerts, events, discharge, notes.

Clinical rows are never edited after the fact: vitals and events are append-only, a signed note
is locked (later changes are addenda), and an order is replaced by a new order, not changed.
The session row itself carries the status and the pre-check answers, which change as the
session moves along; each change writes an audit event.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    inspect,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ketaflow.db import Base, str_enum, utcnow
from ketaflow.dosing.limits import SaltForm
from ketaflow.infusions.rules import AlertLevel, PregnancyTest, SessionStatus


class EventKind(StrEnum):
    STATUS = "status"            # begin_prechecks, start, pause, resume, stop, ...
    RATE_CHANGE = "rate_change"
    SIDE_EFFECTS = "side_effects"
    CADSS6 = "cadss6"
    RESCUE_MEDICATION = "rescue_medication"
    ADVERSE_EVENT = "adverse_event"
    # A documented reason to start without a pre-check the record does not satisfy (reason in
    # `reason`, the check in detail["check"]); kept as an event so who, when and why stay on file.
    PRECHECK_OVERRIDE = "precheck_override"


class Seriousness(StrEnum):
    NON_SERIOUS = "non_serious"
    SERIOUS = "serious"


class NoteKind(StrEnum):
    NOTE = "note"
    ADDENDUM = "addendum"


# Statuses after which a session no longer holds its course's one open slot.
CLOSED_STATUSES = tuple(status.value for status in SessionStatus if status.is_final)


class InfusionSession(Base):
    __tablename__ = "infusion_sessions"
    # One open (not yet discharged or aborted) session per course, held by the database so two
    # concurrent "open session" requests cannot both succeed. A partial unique index: SQLite
    # and PostgreSQL both support it, and closed sessions of the course never collide.
    __table_args__ = (
        Index("uq_infusion_sessions_open_course_id", "course_id", unique=True,
              sqlite_where=text(f"status NOT IN {CLOSED_STATUSES!r}"),
              postgresql_where=text(f"status NOT IN {CLOSED_STATUSES!r}")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("treatment_courses.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    # Set to patient_id while the session is in progress and cleared when it ends: the unique
    # constraint makes "one session in progress per patient" hold even under concurrent
    # requests (NULLs never collide on SQLite or PostgreSQL).
    active_patient_id: Mapped[int | None] = mapped_column(Integer, unique=True, default=None)
    status: Mapped[SessionStatus] = mapped_column(
        str_enum(SessionStatus), default=SessionStatus.PLANNED)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    opened_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    prechecks_at: Mapped[datetime | None] = mapped_column(default=None)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    discharged_at: Mapped[datetime | None] = mapped_column(default=None)
    aborted_at: Mapped[datetime | None] = mapped_column(default=None)
    abort_reason: Mapped[str | None] = mapped_column(Text, default=None)
    rate_ml_per_h: Mapped[float | None] = mapped_column(Float, default=None)
    # Pre-check answers.
    identity_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_current: Mapped[bool] = mapped_column(Boolean, default=False)
    fasting_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    escort_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    transport_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    pregnancy_test: Mapped[PregnancyTest] = mapped_column(
        str_enum(PregnancyTest), default=PregnancyTest.NOT_DONE)
    bp_reviewed_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id"), default=None)

    orders: Mapped[list[InfusionOrder]] = relationship(lazy="raise", order_by="InfusionOrder.id")
    vitals: Mapped[list[VitalsRecord]] = relationship(
        lazy="raise", order_by="(VitalsRecord.taken_at, VitalsRecord.id)")
    alerts: Mapped[list[SessionAlert]] = relationship(lazy="raise", order_by="SessionAlert.id")
    events: Mapped[list[SessionEvent]] = relationship(
        lazy="raise", order_by="(SessionEvent.occurred_at, SessionEvent.id)")
    discharge: Mapped[Discharge | None] = relationship(lazy="raise")
    notes: Mapped[list[SessionNote]] = relationship(lazy="raise", order_by="SessionNote.id")


class InfusionOrder(Base):
    """The prescriber's signed order; a new order supersedes the previous one, which stays on
    the record (superseded_at set) in the session's order history."""

    __tablename__ = "infusion_orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("infusion_sessions.id"), index=True)
    drug: Mapped[str] = mapped_column(String(100))
    lot_number: Mapped[str] = mapped_column(String(64))
    expiry_date: Mapped[date] = mapped_column(Date)
    concentration_mg_per_ml: Mapped[float] = mapped_column(Float)
    concentration_salt: Mapped[SaltForm] = mapped_column(str_enum(SaltForm, 16))
    dose_salt: Mapped[SaltForm] = mapped_column(str_enum(SaltForm, 16))
    dose_mg_per_kg: Mapped[float] = mapped_column(Float)
    dose_mg: Mapped[float] = mapped_column(Float)
    dose_mg_base: Mapped[float] = mapped_column(Float)
    dosing_weight_kg: Mapped[float] = mapped_column(Float)
    weight_measurement_id: Mapped[int] = mapped_column(ForeignKey("patient_measurements.id"))
    duration_min: Mapped[float] = mapped_column(Float)
    volume_ml: Mapped[float] = mapped_column(Float)
    rate_ml_per_h: Mapped[float] = mapped_column(Float)
    delivered_dose_mg: Mapped[float] = mapped_column(Float)
    warnings: Mapped[list[Any]] = mapped_column(JSON, default=list)
    override_reason: Mapped[str | None] = mapped_column(Text, default=None)
    signed_at: Mapped[datetime] = mapped_column(default=utcnow)
    signed_by_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    superseded_at: Mapped[datetime | None] = mapped_column(default=None)
    # A new order over a signed one names the order it replaces and why; who and when are the
    # new order's signer and signing time (the earlier order keeps its own, as signed).
    supersedes_order_id: Mapped[int | None] = mapped_column(
        ForeignKey("infusion_orders.id"), default=None)
    supersede_reason: Mapped[str | None] = mapped_column(Text, default=None)


class VitalsRecord(Base):
    __tablename__ = "infusion_vitals"
    # A session's readings in time order: the chart, and the latest blood pressure that each new
    # reading is compared with, read by index however many readings a monitor has posted.
    __table_args__ = (Index("ix_infusion_vitals_session_id_taken_at", "session_id", "taken_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("infusion_sessions.id"))
    taken_at: Mapped[datetime]
    sbp_mmhg: Mapped[float | None] = mapped_column(Float, default=None)
    dbp_mmhg: Mapped[float | None] = mapped_column(Float, default=None)
    hr_bpm: Mapped[float | None] = mapped_column(Float, default=None)
    spo2_percent: Mapped[float | None] = mapped_column(Float, default=None)
    rr_per_min: Mapped[float | None] = mapped_column(Float, default=None)
    rass: Mapped[int | None] = mapped_column(Integer, default=None)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))


class SessionAlert(Base):
    """An alert from a reading, a symptom or an overrun; it stays open until someone records
    the action."""

    __tablename__ = "infusion_alerts"
    # An overrun is raised once per order, however many pages poll at the same moment: the
    # database holds it (NULL order ids, the readings' and symptoms' alerts, never collide).
    __table_args__ = (UniqueConstraint("session_id", "code", "order_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("infusion_sessions.id"), index=True)
    vitals_id: Mapped[int | None] = mapped_column(ForeignKey("infusion_vitals.id"), default=None)
    # The order an overrun alert was measured against; None for other alerts.
    order_id: Mapped[int | None] = mapped_column(ForeignKey("infusion_orders.id"), default=None)
    level: Mapped[AlertLevel] = mapped_column(str_enum(AlertLevel, 16))
    code: Mapped[str] = mapped_column(String(64))
    field: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(default=None)
    acknowledged_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id"), default=None)
    action_taken: Mapped[str | None] = mapped_column(Text, default=None)


class SessionEvent(Base):
    """Everything charted during a session besides vitals; `detail` holds the kind's fields."""

    __tablename__ = "infusion_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("infusion_sessions.id"), index=True)
    kind: Mapped[EventKind] = mapped_column(str_enum(EventKind))
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    total: Mapped[int | None] = mapped_column(Integer, default=None)
    serious: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))


class Discharge(Base):
    __tablename__ = "infusion_discharges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("infusion_sessions.id"), unique=True)
    aldrete_answers: Mapped[dict[str, int]] = mapped_column(JSON)
    aldrete_total: Mapped[int] = mapped_column(Integer)
    padss_answers: Mapped[dict[str, int]] = mapped_column(JSON)
    padss_total: Mapped[int] = mapped_column(Integer)
    scales_version: Mapped[str] = mapped_column(String(16))
    escort_confirmed: Mapped[bool] = mapped_column(Boolean)
    no_driving_advice_given: Mapped[bool] = mapped_column(Boolean)
    ready_at: Mapped[datetime]
    unmet: Mapped[list[Any]] = mapped_column(JSON, default=list)
    override_reason: Mapped[str | None] = mapped_column(Text, default=None)
    discharged_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))


class SessionNote(Base):
    """The session note and its addenda; a signed row is locked."""

    __tablename__ = "infusion_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("infusion_sessions.id"), index=True)
    kind: Mapped[NoteKind] = mapped_column(str_enum(NoteKind, 16))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    signed_at: Mapped[datetime | None] = mapped_column(default=None)
    signed_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id"), default=None)


class IdempotentRequest(Base):
    """A write's response kept under its Idempotency-Key, so a retry returns it unchanged."""

    __tablename__ = "infusion_idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    key: Mapped[str] = mapped_column(String(128))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class NoteLockedError(RuntimeError):
    """Raised when code tries to change a signed note (later changes are addenda)."""


@event.listens_for(SessionNote, "before_update")
@event.listens_for(SessionNote, "before_delete")
def _refuse_signed_change(_mapper: Any, _connection: Any, target: SessionNote) -> None:
    history = inspect(target).attrs.signed_at.history
    previous = (history.deleted or history.unchanged or (None,))[0]
    if previous is not None:
        raise NoteLockedError(f"note {target.id} is signed and locked")
