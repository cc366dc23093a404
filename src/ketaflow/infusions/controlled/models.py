"""Controlled-substance ledger rows: append-only, corrections are reversal entries."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Delete, Float, ForeignKey, Integer, String, Text, Update, event
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column

from ketaflow.db import Base, str_enum, utcnow
from ketaflow.infusions.rules import EntryKind


class LedgerImmutableError(RuntimeError):
    """Raised when code tries to change or remove a ledger row."""


class LedgerRow(Base):
    __tablename__ = "controlled_substance_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[EntryKind] = mapped_column(str_enum(EntryKind, 16))
    lot_number: Mapped[str] = mapped_column(String(64), index=True)
    amount_mg: Mapped[float] = mapped_column(Float)
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("infusion_sessions.id"), default=None, index=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    witness_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), default=None)
    reverses_id: Mapped[int | None] = mapped_column(
        ForeignKey("controlled_substance_entries.id"), default=None)
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    # Receipt details (only on RECEIVED entries).
    drug: Mapped[str | None] = mapped_column(String(100), default=None)
    concentration_mg_per_ml: Mapped[float | None] = mapped_column(Float, default=None)
    expiry_date: Mapped[date | None] = mapped_column(Date, default=None)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


@event.listens_for(LedgerRow, "before_update")
@event.listens_for(LedgerRow, "before_delete")
def _refuse_change(_mapper: Any, _connection: Any, target: LedgerRow) -> None:
    raise LedgerImmutableError(f"ledger entry {target.id} is append-only")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_changes(state: ORMExecuteState) -> None:
    statement = state.statement
    table_name = getattr(getattr(statement, "table", None), "name", None)
    if isinstance(statement, Update | Delete) and table_name == LedgerRow.__tablename__:
        raise LedgerImmutableError("ledger entries are append-only")
