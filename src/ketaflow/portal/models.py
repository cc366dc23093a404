"""Portal links: a random token (only its SHA-256 stored) that lets a patient answer once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ketaflow.db import Base, utcnow


class PortalLink(Base):
    __tablename__ = "portal_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    # The token is long and random, so a plain SHA-256 (not a slow hash) is enough to store it.
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    # Instrument ids in the order the patient answers them, comma-separated.
    instruments: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id"), default=None
    )
    expires_at: Mapped[datetime]
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    emailed_at: Mapped[datetime | None] = mapped_column(default=None)

    @property
    def instrument_ids(self) -> tuple[str, ...]:
        return tuple(part for part in self.instruments.split(",") if part)
