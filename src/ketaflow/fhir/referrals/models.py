"""Identifiers other systems gave our patients, as referrals sent them. Our own MRN stays on
`patients.mrn`; these are only ever added, never changed (a patient keeps every one)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ketaflow.db import Base, utcnow


class PatientIdentifier(Base):
    __tablename__ = "patient_identifiers"
    # One system's value names one person: the same value on two patients would merge them.
    __table_args__ = (UniqueConstraint("system", "value",
                                       name="uq_patient_identifiers_system_value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    # FHIR Identifier.system is a URI; 255 fits every OID and URL seen in referrals.
    system: Mapped[str] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(String(255))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"),
                                                            default=None)
