"""One reminder plan per patient. The messages themselves are outbox rows (ketaflow.jobs)."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import Boolean, ForeignKey, Integer, String, Time
from sqlalchemy.orm import Mapped, mapped_column

from ketaflow.db import Base, str_enum, utcnow
from ketaflow.jobs.models import Channel


class ReminderPlan(Base):
    """What the patient is reminded of, when (wall times in `time_zone`), and how often.

    Changed in place (a preference, not a clinical record): each change is an audit event
    naming the fields changed, and `version` counts them."""

    __tablename__ = "reminder_plans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), unique=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    time_zone: Mapped[str] = mapped_column(String(64))  # IANA, e.g. America/New_York
    mood_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    mood_at: Mapped[time] = mapped_column(Time)
    scales_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    scales_weekday: Mapped[int] = mapped_column(Integer)  # 0 Monday .. 6 Sunday
    scales_at: Mapped[time] = mapped_column(Time)
    infusion_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    infusion_at: Mapped[time] = mapped_column(Time)  # on the day before each planned infusion
    repeat_every_h: Mapped[int] = mapped_column(Integer)
    repeat_count: Mapped[int] = mapped_column(Integer)  # repeats after the first reminder
    quiet_start: Mapped[time] = mapped_column(Time)
    quiet_end: Mapped[time] = mapped_column(Time)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, 8), default=Channel.EMAIL)
    # Changing the nonce voids every opt-out link already mailed (the link is an HMAC of it).
    opt_out_nonce: Mapped[str] = mapped_column(String(32))
    opted_out_at: Mapped[datetime | None] = mapped_column(default=None)
    # None with opted_out_at set: the patient opted out through the link in a mail.
    opted_out_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The staff member who last set the plan; portal and mood links the planner issues are
    # created on their behalf (a link needs a creator).
    updated_by_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
