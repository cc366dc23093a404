"""Sites, chairs, shifts, closures and appointments. Appointments are never deleted: a
cancellation or a no-show is a state with its reason; a move keeps the earlier time."""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, Time
from sqlalchemy.orm import Mapped, mapped_column

from ketaflow.db import Base, str_enum, utcnow


class Site(Base):
    """A place infusions are given, with its own time zone and opening hours."""

    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)  # short id for lists and feeds
    name: Mapped[str] = mapped_column(String(120))
    timezone: Mapped[str] = mapped_column(String(64))
    # {"mon": ["08:00", "18:00"], ...}; a weekday that is absent is closed.
    opening_hours: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Infusing patients one nurse watches at once: the clinic's choice (default 1:2).
    nurse_ratio: Mapped[int] = mapped_column(default=2)
    # Whether a prescriber must be on shift at the site during every infusion.
    prescriber_required: Mapped[bool] = mapped_column(Boolean, default=True)
    # The staff calendar feed's token (SHA-256 only); None until one is issued.
    feed_token_sha256: Mapped[str | None] = mapped_column(String(64), unique=True,
                                                          default=None)
    # Raised by every booking at the site: a booking computed on an older calendar is refused
    # (optimistic check), so two desks cannot fill one slot twice.
    booking_version: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Chair(Base):
    __tablename__ = "chairs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    number: Mapped[int]  # 1.. within the site, as the nurses call them
    label: Mapped[str | None] = mapped_column(String(60), default=None)
    retired_at: Mapped[datetime | None] = mapped_column(default=None)


class SiteClosure(Base):
    __tablename__ = "site_closures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(200))


class StaffShift(Base):
    """One staff member at one site for part of one local day. Leave is a cancelled shift."""

    __tablename__ = "staff_shifts"
    __table_args__ = (Index("ix_staff_shifts_site_on", "site_id", "on"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    on: Mapped[date] = mapped_column(Date)
    starts: Mapped[time] = mapped_column(Time)  # site-local
    ends: Mapped[time] = mapped_column(Time)
    cancelled_at: Mapped[datetime | None] = mapped_column(default=None)
    cancel_reason: Mapped[str | None] = mapped_column(String(200), default=None)


class AppointmentKind(StrEnum):
    SCREENING = "screening"
    INFUSION = "infusion"
    FOLLOW_UP = "follow-up"


class AppointmentState(StrEnum):
    BOOKED = "booked"
    CANCELLED = "cancelled"
    NO_SHOW = "no-show"
    ATTENDED = "attended"
    MOVED = "moved"  # replaced by a later row (replaces_id points back here)


class AppointmentSeries(Base):
    """A series booked in one step, with the rules it was placed by, so moving one of its
    infusions re-flows the rest under the same rules."""

    __tablename__ = "appointment_series"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    course_id: Mapped[int | None] = mapped_column(ForeignKey("treatment_courses.id"),
                                                  default=None)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    count: Mapped[int]
    minutes: Mapped[int]
    min_gap_hours: Mapped[float]
    max_per_week: Mapped[int]
    within_days: Mapped[int]
    # Preferences, hard when given: weekday numbers (0 = Monday), site-local earliest start
    # and latest end.
    weekdays: Mapped[list[int] | None] = mapped_column(JSON, default=None)
    after: Mapped[time | None] = mapped_column(Time, default=None)
    before: Mapped[time | None] = mapped_column(Time, default=None)
    # Raised on each move, for the calendar file's SEQUENCE (RFC 5545 3.8.7.4).
    revision: Mapped[int] = mapped_column(default=0)
    booked_at: Mapped[datetime] = mapped_column(default=utcnow)
    booked_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"),
                                                          default=None)


class Appointment(Base):
    __tablename__ = "appointments"
    __table_args__ = (Index("ix_appointments_site_starts_at", "site_id", "starts_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    chair_id: Mapped[int | None] = mapped_column(ForeignKey("chairs.id"), default=None)
    # The nurse watching an infusion, or the prescriber seeing a visit.
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"),
                                                      default=None)
    kind: Mapped[AppointmentKind] = mapped_column(str_enum(AppointmentKind, 16))
    course_id: Mapped[int | None] = mapped_column(ForeignKey("treatment_courses.id"),
                                                  default=None)
    infusion_number: Mapped[int | None] = mapped_column(default=None)
    # The series booked in one step that this appointment belongs to (a move re-flows it).
    series_id: Mapped[int | None] = mapped_column(ForeignKey("appointment_series.id"),
                                                  index=True, default=None)
    starts_at: Mapped[datetime]
    minutes: Mapped[int]
    state: Mapped[AppointmentState] = mapped_column(str_enum(AppointmentState, 16),
                                                    default=AppointmentState.BOOKED)
    state_reason: Mapped[str | None] = mapped_column(Text, default=None)
    # Set when this appointment replaced an earlier one (a move): the earlier row is kept.
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"),
                                                    default=None)
    instructions_acknowledged_at: Mapped[datetime | None] = mapped_column(default=None)
    booked_at: Mapped[datetime] = mapped_column(default=utcnow)
    booked_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"),
                                                          default=None)


class WaitlistEntry(Base):
    """A patient who wants an earlier slot at a site; offered freed slots in order."""

    __tablename__ = "waitlist_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    kind: Mapped[AppointmentKind] = mapped_column(str_enum(AppointmentKind, 16))
    note: Mapped[str | None] = mapped_column(String(300), default=None)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    added_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"),
                                                         default=None)
    offered_appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointments.id"), default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
