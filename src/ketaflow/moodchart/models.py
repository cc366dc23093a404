"""Mood links and entries. Entries are never changed or deleted: a wrong one is marked entered in
error (kept, shown struck through, left out of the chart and the warnings)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ketaflow.db import Base, utcnow


class MoodLink(Base):
    """A patient's own link to the daily entry page (token as credential, only its SHA-256
    stored): used any number of times until a clinician revokes it or it expires."""

    __tablename__ = "mood_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id"), default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)


class MoodEntry(Base):
    """One report of a day (several a day allowed), from the patient's link or entered by a
    clinician, possibly for an earlier day."""

    __tablename__ = "mood_entries"
    __table_args__ = (Index("ix_mood_entries_patient_day", "patient_id", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    day: Mapped[date] = mapped_column(Date)  # the patient's calendar day the entry is about
    depressed: Mapped[int]
    elevated: Mapped[int]
    irritable: Mapped[int]
    anxious: Mapped[int]
    sleep_h: Mapped[float | None] = mapped_column(default=None)
    # {medication id (as text): taken that day (true/false)} for the medications current then.
    medications_taken: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    life_event: Mapped[str | None] = mapped_column(Text, default=None)
    life_event_impact: Mapped[int | None] = mapped_column(default=None)  # -4..+4
    psychotic_symptoms: Mapped[bool] = mapped_column(Boolean, default=False)
    menses: Mapped[bool | None] = mapped_column(Boolean, default=None)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    source: Mapped[str] = mapped_column(String(16))  # "patient" (link) or "clinician"
    # The entry form's one-time key: a double tap or a reload on the phone stores one entry
    # (the link has no signed-in user for the staff pages' submission keys).
    form_key: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    mood_link_id: Mapped[int | None] = mapped_column(ForeignKey("mood_links.id"), default=None)
    entered_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id"), default=None)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    entered_in_error_at: Mapped[datetime | None] = mapped_column(default=None)
    entered_in_error_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id"), default=None)
    entered_in_error_reason: Mapped[str | None] = mapped_column(Text, default=None)
