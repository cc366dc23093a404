"""The clinic profile, kept as versions: each save adds a row and the newest is in force.

There is one clinic, so one profile; its earlier versions are kept (who changed what, when), as
every other record in ketaflow is, and each save is audited.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ketaflow.db import Base, utcnow


class ClinicProfile(Base):
    """What patients and printouts are told about the clinic (one version of it)."""

    __tablename__ = "clinic_profiles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(Text, default=None)
    phone: Mapped[str | None] = mapped_column(String(40), default=None)
    # IANA zone; when set it wins over KETAFLOW_CLINIC_TIMEZONE (see clinic.service).
    timezone: Mapped[str | None] = mapped_column(String(64), default=None)
    crisis_line: Mapped[str | None] = mapped_column(String(200), default=None)
    # ISO 3166-1 alpha-2 code of a listed national line (clinic.crisis_lines.NATIONAL_LINES).
    national_line_country: Mapped[str | None] = mapped_column(String(2), default=None)
    # A national line typed by the clinic (used when no listed country is chosen).
    national_line_custom: Mapped[str | None] = mapped_column(String(200), default=None)
    after_hours: Mapped[str | None] = mapped_column(Text, default=None)
    saved_at: Mapped[datetime] = mapped_column(default=utcnow)
    saved_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id"), default=None)
