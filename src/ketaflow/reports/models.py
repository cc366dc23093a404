"""The service codes the clinic bills a ketamine course under (CPT, HCPCS...), as the clinic's
admin typed them. ketaflow ships none: a code in a payer packet must be the clinic's own choice.

A code is never deleted or edited in place: retiring it keeps the row (who, when), so an earlier
packet's codes can still be explained; a corrected code is a new row.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ketaflow.db import Base, utcnow


class ServiceCode(Base):
    __tablename__ = "clinic_service_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_system: Mapped[str] = mapped_column(String(40))   # "CPT", "HCPCS", "ICD-10-PCS"...
    code: Mapped[str] = mapped_column(String(20))
    label: Mapped[str] = mapped_column(String(200))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    added_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id"), default=None)
    retired_at: Mapped[datetime | None] = mapped_column(default=None)
    retired_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id"), default=None)
